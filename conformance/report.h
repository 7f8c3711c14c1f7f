/* report: what a run found, for people (console lines, per-suite table, the closing
 * count) and for machines (JUnit XML, JSON, per-failure artifact directories). */
#ifndef HOG_REPORT_H
#define HOG_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "baseline.h"
#include "rc.h"
#include "runner.h"

struct tally {
    size_t passed, failed, errors, skipped, known, stale, not_run;
};

/* Count results: a known failure counts in known only, a stale entry in stale and
 * failed, a result not reached in not_run only. */
void report_tally(const struct result *results, size_t n, struct tally *t);

/* The line of one result ("PASS id (12 ms)"), then for a failure its message, expected
 * vs got, and the journal excerpt, indented. color: ANSI colors for a terminal. */
void report_result(FILE *out, const struct result *r, const struct baseline *b, bool color);

/* The per-suite table, baseline notes, new failures as baseline entries, and last the
 * line "N passed, M failed" (", K skipped" when some were). */
void report_summary(FILE *out, const struct run *run, const struct result *results, size_t n,
                    const struct baseline *b);

/* JUnit XML (one testsuite per suite), JSON (everything), artifacts (a directory per
 * failing scenario). RC_IO with err set when a file cannot be written. */
enum rc report_junit(const char *path, const struct run *run, const struct result *results,
                     size_t n, struct buf *err);
enum rc report_json(const char *path, const struct run *run, const struct result *results,
                    size_t n, const struct baseline *b, struct buf *err);
enum rc report_artifacts(const char *dir, const struct run *run, const struct result *results,
                         size_t n, struct buf *err);

#endif
