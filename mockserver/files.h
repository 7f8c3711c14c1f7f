/* files: the file system of each hogbox (and snapshot) on the store: atomic writes,
 * normalised absolute paths, modes, directories. Handlers for writeFile and readFile. */
#ifndef HOG_FILES_H
#define HOG_FILES_H

#include <stdbool.h>

#include "buf.h"
#include "rc.h"

struct store;

/* While the store is locked (inside the caller's transaction): give a new box the
 * fresh tree: /, /tmp, /root, /home, /etc, /usr, /usr/bin, /var. */
enum rc files_init_box(struct store *s, const char *box_id);
/* While locked: copy every file and directory of owner from to owner to (box -> snapshot
 * when snapshotting, snapshot -> box when creating from a snapshot); *bytes gets the
 * total size of file contents. */
enum rc files_copy(struct store *s, const char *from, const char *to, long long *bytes);
/* While locked: drop everything owner holds. */
enum rc files_drop(struct store *s, const char *owner);

/* Normalise an absolute path ("/a/./b//c/../d" -> "/a/b/d", "/a/b/" -> "/a/b") into out
 * (reset first); RC_INVALID when relative or empty. ".." above "/" stays at "/", as
 * Linux does ("/../etc" = "/etc"), so no path leaves the box's tree. */
enum rc files_normalise(const char *path, struct buf *out);

/* Read one file of a box for exec's cat, taking the lock: RC_OK, RC_NOT_FOUND, or
 * RC_INVALID for a directory. */
enum rc files_read(struct store *s, const char *box_id, const char *path, struct buf *content);

/* What path (normalised here) is in a box, taking the lock: RC_OK with *is_dir set, or
 * RC_NOT_FOUND (also for a relative path). */
enum rc files_stat(struct store *s, const char *box_id, const char *path, bool *is_dir);

#endif
