/* log: leveled messages to stderr (or a sink set by tests).
 * Never pass a credential: log a fingerprint of it instead. */
#ifndef HOG_LOG_H
#define HOG_LOG_H

#include "rc.h"

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parse "error", "warn", "info", "debug" or "trace"; RC_INVALID otherwise. */
enum rc log_level_parse(const char *name, enum log_level *out);
const char *log_level_str(enum log_level level);

/* Where formatted lines go (without trailing newline); NULL restores stderr.
 * The sink must not log. */
typedef void log_sink_fn(enum log_level level, const char *line, void *ctx);
void log_set_sink(log_sink_fn *sink, void *ctx);

void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
