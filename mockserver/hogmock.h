/* hogmock: the mock hogplane as a library: configure, start on a socket, stop.
 * The binary (main.c) and the in-process integration tests both drive it through this. */
#ifndef HOG_HOGMOCK_H
#define HOG_HOGMOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "log.h"
#include "rc.h"

/* What /v1/limits reports and create enforces; hogmock_limits_default() documents the
 * defaults. They can only narrow what the spec's schemas allow. */
struct hog_range {
    int64_t min, max, def;
};

struct hog_limits {
    struct hog_range cpus, memory_mib, disk_gib, exec_timeout_seconds;
    int64_t memory_multiple_of;
    int64_t exec_output_max_bytes;
    int64_t file_max_bytes;
    int64_t max_hogboxes;
};

/* Where answers come from: the simulation, fixtures, or a real host behind. */
enum hogmock_mode {
    HOGMOCK_SIM = 0,
    HOGMOCK_REPLAY,
    HOGMOCK_PROXY,
    HOGMOCK_RECORD,
};

struct hogmock_config {
    const char *listen;         /* "HOST:PORT"; default "127.0.0.1:0" */
    const char *spec_path;      /* NULL: the bundled openapi/hogplane.yaml */
    const char *admin_spec_path; /* NULL: the bundled openapi/hogmock-admin.yaml */
    const char *db_path;        /* NULL: in memory; a file is opened in WAL mode */
    const char *tokens_path;    /* NULL: no tokens at start */
    const char *limits_path;    /* NULL: the default limits */
    const char *ready_file;     /* NULL: none; gets the URL once listening */
    const char *admin_token;    /* NULL: admin API on loopback only, no token */
    const char *auth_config_path; /* NULL: none; trusted OIDC issuers and TrustMappings */
    const char *tailscale_listen; /* NULL: none; "HOST:PORT" of the Tailscale ingress listener */
    const char *const *issuers; /* NULL or NULL-terminated: built-in OIDC issuers to run, "k8s"
                                 * or "github", or "NAME=PEMFILE" with a key; read at start */
    unsigned threads;           /* 0: two per core */
    uint64_t boot_ms;           /* how long a new box stays "creating" */
    uint64_t snapshot_ms;       /* how long a box stays "snapshotting" */
    bool virtual_clock;         /* time moves only through the admin clock API */
    size_t journal_max;         /* 0: 100000 entries */
    size_t json_body_max;       /* 0: 1 MiB */
    uint64_t sse_keepalive_ms;  /* 0: 15000; a silent exec stream gets ": keepalive" this often */
    enum hogmock_mode mode;     /* sim (default), replay, proxy or record */
    const char *fixtures_dir;   /* replay: where fixtures are read; record: where written */
    const char *upstream;       /* proxy and record: the real host's base URL */
    const char *faults_path;    /* NULL: none; fault plans loaded at start */
};

struct hogmock;

/* A config with every default set. */
void hogmock_config_init(struct hogmock_config *cfg);
/* The documented default limits. */
void hogmock_limits_default(struct hog_limits *limits);

/* Load everything cfg names, bind the socket and start serving. *out is new (stop it with
 * hogmock_stop). On failure a one-line message is appended to err and *out is NULL. */
enum rc hogmock_start(const struct hogmock_config *cfg, struct hogmock **out, struct buf *err);
/* "http://127.0.0.1:40123": the URL it listens on; borrowed until hogmock_stop. */
const char *hogmock_url(const struct hogmock *hm);
uint16_t hogmock_port(const struct hogmock *hm);
/* The Tailscale ingress URL, borrowed until hogmock_stop; NULL without tailscale_listen. */
const char *hogmock_tailscale_url(const struct hogmock *hm);
/* Stop accepting, let requests in flight finish (up to a few seconds), free everything.
 * NULL is a no-op. */
void hogmock_stop(struct hogmock *hm);

#endif
