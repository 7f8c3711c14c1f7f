/* server: hogmock's shared state and its HTTP side (libmicrohttpd, the request pipeline:
 * route, authenticate, validate, handle, journal). Handlers see only req.h. */
#ifndef HOG_SERVER_H
#define HOG_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "hogmock.h"
#include "openapi.h"
#include "req.h"
#include "schema.h"

struct MHD_Daemon;
struct store;
struct vclock;
struct journal;
struct auth;
struct programs;
struct services;
struct oidc;
struct issuers;
struct faults;
struct faultwire;
struct upstream;
struct violations;
struct fixture_set;

/* One loaded API description and its handlers, by operation index. */
struct api_side {
    struct openapi *api;
    struct schema *schema;
    handler_fn **handlers;       /* openapi_op_count entries; NULL: not simulated */
    unsigned *flags;             /* the routes' ROUTE_* flags, same index */
};

struct hogmock {
    struct hogmock_config cfg;  /* strings point into owned copies below */
    struct hog_limits limits;
    struct api_side pub;        /* /v1: the hogplane spec */
    struct api_side admin;      /* /__hogmock: openapi/hogmock-admin.yaml; the bundled one
                                 * is loaded on a thread of its own while hogmock starts
                                 * serving (admin_wait), a --admin-spec one before */
    pthread_t admin_loader;
    bool admin_loading;         /* admin_loader was started (and is joined at stop) */
    atomic_bool admin_loaded;   /* admin is ready, or admin_rc says why not */
    enum rc admin_rc;
    struct buf admin_err;
    pthread_mutex_t admin_lock;
    pthread_cond_t admin_cond;
    struct store *store;
    struct vclock *clock;
    struct journal *journal;
    struct auth *auth;
    struct programs *programs;
    struct services *services;
    struct oidc *oidc;          /* trusted issuers and TrustMappings */
    struct issuers *issuers;    /* hogmock's own OIDC issuers (--issuer) */
    struct faults *faults;      /* fault plans (admin API, --faults) */
    struct faultwire *faultwire; /* the timer that wakes connections parked by faults */
    struct upstream *upstream;  /* proxy and record modes: the real host; else NULL */
    struct violations *violations; /* what the real host's answers got wrong */
    struct fixture_set *fixtures; /* replay mode: the fixtures it answers from; else NULL */
    struct MHD_Daemon *daemon;
    uint16_t port;
    char url[80];
    struct MHD_Daemon *ts_daemon; /* the Tailscale ingress (--tailscale-listen), or NULL */
    char ts_url[80];
    atomic_uint_fast64_t next_id;  /* request and resource id counter */
    atomic_int inflight;        /* requests between their URI and their completion */
    atomic_int threads;         /* handler and stream threads still running */
    atomic_bool stopping;       /* hogmock_stop has begun: exec streams are cut */
    atomic_bool drain_over;     /* requests in flight had their time: waits end now */
    pthread_mutex_t streams_lock;
    struct req_waker *streams;  /* streamed answers not yet over, to wake at stop */
    uint64_t sse_keepalive_ms;
    uint64_t id_salt;           /* makes ids differ between runs */
    int64_t idem_purged_at;     /* hogmock's clock when expired Idempotency-Keys were last
                                 * forgotten (sim.c, under the store lock) */
    char *owned[16];            /* copies of config strings */
};

/* A new random-looking id "<prefix><16 lowercase hex/base32 chars>" (hb_, snap_, req_),
 * unique within this process and unlikely to repeat across runs; written to out (>= 40). */
void hogmock_new_id(struct hogmock *hm, const char *prefix, char *out, size_t size);

/* Wait ms milliseconds of real time, in slices, unless hogmock is stopping and the time
 * it gives requests in flight is over: false when it stopped waiting because of that. */
bool hogmock_nap(struct hogmock *hm, uint64_t ms);

/* The handler tables of each module; server.c joins them to the spec's operations. */
extern const struct route sim_routes[];
extern const struct route files_routes[];
extern const struct route exec_routes[];
extern const struct route stream_routes[];
extern const struct route boxproxy_routes[];
extern const struct route auth_routes[];
extern const struct route admin_routes[];
extern const struct route admin_oidc_routes[];
extern const struct route issuer_routes[];
extern const struct route admin_faults_routes[];
extern const struct route admin_upstream_routes[];
extern const struct route replay_admin_routes[];

#endif
