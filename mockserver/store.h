/* store: hogmock's state in SQLite: one connection, one lock, cached prepared statements,
 * the schema created on open. Holds no HTTP or business rules; modules bring their SQL. */
#ifndef HOG_STORE_H
#define HOG_STORE_H

#include <sqlite3.h>

#include "buf.h"
#include "rc.h"

struct store;

/* Open path (NULL: a private in-memory database; a file: WAL, synchronous NORMAL), the
 * schema created if missing and brought up to date if older. *out is new (store_close);
 * on failure a message is appended to err. */
enum rc store_open(const char *path, struct store **out, struct buf *err);
/* Finalize every statement and close; NULL is a no-op. */
void store_close(struct store *s);

/* All database access happens between store_lock and store_unlock (one writer at a time,
 * and the only way to reach the connection). Not recursive. */
sqlite3 *store_lock(struct store *s);
void store_unlock(struct store *s);

/* The prepared statement for sql, compiled on first use and cached by the text's address
 * (so pass string literals); reset and cleared, ready to bind. Only while locked. NULL
 * (and a log line) when it does not compile, which is a bug. */
sqlite3_stmt *store_stmt(struct store *s, const char *sql);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK, while locked. */
enum rc store_begin(struct store *s);
enum rc store_commit(struct store *s);
void store_rollback(struct store *s);

/* Run one statement with no result (DDL, a reset), while locked. */
enum rc store_exec(struct store *s, const char *sql);

/* Bind a NUL-terminated text (copied; NULL binds NULL). */
int store_bind_text(sqlite3_stmt *st, int idx, const char *text);
/* A text column as a new string (caller frees); NULL for SQL NULL. */
char *store_column_dup(sqlite3_stmt *st, int col);

#endif
