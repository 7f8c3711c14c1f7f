#include "report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "xmalloc.h"

#define JOURNAL_LINES 30

void report_tally(const struct result *results, size_t n, struct tally *t)
{
    size_t i;

    memset(t, 0, sizeof(*t));
    for (i = 0; i < n; i++) {
        const struct result *r = &results[i];

        if (!r->ran)
            t->not_run++;
        else if (r->known)
            t->known++;
        else if (r->stale)
            t->stale++, t->failed++;
        else if (r->outcome == OUTCOME_PASS)
            t->passed++;
        else if (r->outcome == OUTCOME_FAIL)
            t->failed++;
        else if (r->outcome == OUTCOME_ERROR)
            t->errors++, t->failed++;
        else
            t->skipped++;
    }
}

static void indent_lines(FILE *out, const char *prefix, const char *text, size_t max_lines)
{
    size_t lines = 0;

    while (text && *text) {
        size_t n = strcspn(text, "\n");

        if (lines++ == max_lines) {
            fprintf(out, "%s...\n", prefix);
            return;
        }
        fprintf(out, "%s%.*s\n", prefix, (int)n, text);
        text += n + (text[n] == '\n');
    }
}

void report_result(FILE *out, const struct result *r, const struct baseline *b, bool color)
{
    static const char *const colors[] = { "\033[32m", "\033[31m", "\033[31m", "\033[33m" };
    const char *word = outcome_str(r->outcome);

    if (!r->ran)
        return;
    if (color)
        fprintf(out, "%s%s\033[0m %s (%lld ms)\n", colors[r->outcome], word, r->sc->id, r->ms);
    else
        fprintf(out, "%s %s (%lld ms)\n", word, r->sc->id, r->ms);
    if (r->outcome == OUTCOME_SKIP) {
        fprintf(out, "    %s\n", buf_cstr(&r->message));
        return;
    }
    if (r->stale)
        fprintf(out, "    stale baseline entry: it passes now; remove it from %s\n",
                b && b->path ? b->path : "the baseline");
    if (r->outcome == OUTCOME_PASS)
        return;
    if (r->known)
        fprintf(out, "    known failure (baseline): %s\n", r->baseline_reason);
    fprintf(out, "    %s\n", buf_cstr(&r->message));
    indent_lines(out, "    ", buf_cstr(&r->details), 40);
    if (r->journal.len) {
        fprintf(out, "    journal (this scenario's requests):\n");
        indent_lines(out, "      ", buf_cstr(&r->journal), JOURNAL_LINES);
    }
}

struct suite_row {
    const char *suite;
    struct tally t;
    long long ms;
};

void report_summary(FILE *out, const struct run *run, const struct result *results, size_t n,
                    const struct baseline *b)
{
    struct suite_row *rows = xcalloc(n + 1, sizeof(*rows));
    struct tally all;
    size_t nrows = 0, i, j, newfail = 0;

    for (i = 0; i < n; i++) {
        for (j = 0; j < nrows && strcmp(rows[j].suite, results[i].sc->suite) != 0; j++)
            ;
        if (j == nrows)
            rows[nrows++].suite = results[i].sc->suite;
        {
            struct tally one;

            report_tally(&results[i], 1, &one);
            rows[j].t.passed += one.passed;
            rows[j].t.failed += one.failed - one.errors;
            rows[j].t.errors += one.errors;
            rows[j].t.skipped += one.skipped;
            rows[j].t.known += one.known;
            rows[j].ms += results[i].ms;
        }
    }
    fprintf(out, "\n%-24s %6s %6s %6s %6s %6s %8s\n", "suite", "pass", "fail", "error", "skip",
            "known", "ms");
    for (j = 0; j < nrows; j++)
        fprintf(out, "%-24s %6zu %6zu %6zu %6zu %6zu %8lld\n", rows[j].suite, rows[j].t.passed,
                rows[j].t.failed, rows[j].t.errors, rows[j].t.skipped, rows[j].t.known, rows[j].ms);
    free(rows);
    report_tally(results, n, &all);
    if (run->client) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(run->client, "name");
        const cJSON *ver = cJSON_GetObjectItemCaseSensitive(run->client, "version");

        fprintf(out, "\nclient: %s %s (adapter: %s), target %s, run %s, %lld ms\n",
                cJSON_IsString(name) ? name->valuestring : "?",
                cJSON_IsString(ver) ? ver->valuestring : "?", run->adapter,
                run->real ? "real" : "mock", run->run_id, run->ms);
    }
    if (!run->runnable && run->not_runnable)
        fprintf(out, "the adapter is not runnable: %s\n", run->not_runnable);
    if (all.known)
        fprintf(out, "%zu known failure%s (in the baseline %s), not counted below\n", all.known,
                all.known == 1 ? "" : "s", b && b->path ? b->path : "");
    if (all.stale)
        fprintf(out, "%zu stale baseline entr%s (passing now): counted as failed\n", all.stale,
                all.stale == 1 ? "y" : "ies");
    for (i = 0; i < n; i++)
        newfail += results[i].ran && !results[i].known
                   && (results[i].outcome == OUTCOME_FAIL || results[i].outcome == OUTCOME_ERROR);
    if (newfail && b && b->path) {
        struct buf e = BUF_INIT;

        fprintf(out, "new failures, ready to paste into %s:\n", b->path);
        for (i = 0; i < n; i++)
            if (results[i].ran && !results[i].known
                && (results[i].outcome == OUTCOME_FAIL || results[i].outcome == OUTCOME_ERROR))
                baseline_entry_format(&results[i], &e);
        fputs(buf_cstr(&e), out);
        buf_release(&e);
    }
    if (run->interrupted)
        fprintf(out, "interrupted: %zu scenario%s not run\n", all.not_run, all.not_run == 1 ? "" : "s");
    if (all.skipped)
        fprintf(out, "%zu passed, %zu failed, %zu skipped\n", all.passed, all.failed, all.skipped);
    else
        fprintf(out, "%zu passed, %zu failed\n", all.passed, all.failed);
    fflush(out);
}

/* ---- JUnit XML ---- */

/* Append s as XML text: escaped, invalid UTF-8 and characters XML 1.0 forbids as '?'.
 * Overlong forms, surrogates, U+FFFE, U+FFFF and beyond U+10FFFF are invalid too: a
 * parser refuses the whole file for one of them, escaped or not. */
static void xml_text(struct buf *out, const char *s)
{
    static const unsigned long least[] = { 0, 0, 0x80, 0x800, 0x10000 };
    const unsigned char *p = (const unsigned char *)(s ? s : "");

    while (*p) {
        unsigned char ch = *p;
        size_t len = ch < 0x80 ? 1 : (ch >> 5) == 6 ? 2 : (ch >> 4) == 14 ? 3 : (ch >> 3) == 30 ? 4 : 0;
        size_t k;

        if (len > 1) {
            unsigned long cp = ch & (0x7F >> len);

            for (k = 1; k < len && (p[k] & 0xC0) == 0x80; k++)
                cp = cp << 6 | (p[k] & 0x3F);
            if (k == len && cp >= least[len] && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF)
                && cp != 0xFFFE && cp != 0xFFFF) {
                buf_add(out, p, len);
                p += len;
                continue;
            }
            len = 0;
        }
        if (len == 0 || (ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r'))
            buf_addch(out, '?');
        else if (ch == '&')
            buf_addstr(out, "&amp;");
        else if (ch == '<')
            buf_addstr(out, "&lt;");
        else if (ch == '>')
            buf_addstr(out, "&gt;");
        else if (ch == '"')
            buf_addstr(out, "&quot;");
        else if (ch == '\n')
            buf_addstr(out, "&#10;");
        else
            buf_addch(out, (char)ch);
        p++;
    }
}

/* Text content: newlines kept as they are. */
static void xml_body(struct buf *out, const char *s)
{
    struct buf tmp = BUF_INIT;
    const char *p;

    xml_text(&tmp, s);
    for (p = buf_cstr(&tmp); *p; p++) {
        if (strncmp(p, "&#10;", 5) == 0) {
            buf_addch(out, '\n');
            p += 4;
        } else {
            buf_addch(out, *p);
        }
    }
    buf_release(&tmp);
}

static enum rc write_file(const char *path, const char *data, size_t len, struct buf *err)
{
    FILE *f = fopen(path, "wb");

    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        buf_addf(err, "unable to write '%s': %s", path, strerror(errno));
        if (f)
            fclose(f);
        return RC_IO;
    }
    return RC_OK;
}

enum rc report_junit(const char *path, const struct run *run, const struct result *results,
                     size_t n, struct buf *err)
{
    struct buf x = BUF_INIT;
    struct tally all;
    size_t i, j;
    enum rc rc;

    report_tally(results, n, &all);
    buf_addstr(&x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    /* The JUnit schemas CI systems check against have no skipped on testsuites: the
     * count is on each testsuite. */
    buf_addf(&x, "<testsuites name=\"hogconf\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
             "time=\"%.3f\">\n", n, all.failed - all.errors, all.errors, (double)run->ms / 1000.0);
    for (i = 0; i < n; i++) {
        const char *suite = results[i].sc->suite;
        struct tally t;
        size_t count = 0;
        long long ms = 0;
        bool first = true;

        for (j = 0; j < i; j++)
            if (strcmp(results[j].sc->suite, suite) == 0)
                first = false;
        if (!first)
            continue;
        memset(&t, 0, sizeof(t));
        for (j = i; j < n; j++) {
            struct tally one;

            if (strcmp(results[j].sc->suite, suite) != 0)
                continue;
            report_tally(&results[j], 1, &one);
            t.failed += one.failed - one.errors;
            t.errors += one.errors;
            t.skipped += one.skipped + one.known + one.not_run;
            ms += results[j].ms;
            count++;
        }
        buf_addstr(&x, "  <testsuite name=\"");
        xml_text(&x, suite);
        buf_addf(&x, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"%.3f\">\n",
                 count, t.failed, t.errors, t.skipped, (double)ms / 1000.0);
        for (j = i; j < n; j++) {
            const struct result *r = &results[j];
            struct buf text = BUF_INIT;

            if (strcmp(r->sc->suite, suite) != 0)
                continue;
            buf_addstr(&x, "    <testcase classname=\"");
            xml_text(&x, suite);
            buf_addstr(&x, "\" name=\"");
            xml_text(&x, r->sc->id);
            buf_addf(&x, "\" time=\"%.3f\">\n", (double)r->ms / 1000.0);
            if (!r->ran) {
                buf_addstr(&x, "      <skipped message=\"not run: the run was interrupted\"/>\n");
            } else if (r->outcome == OUTCOME_SKIP || r->known) {
                buf_reset(&text);
                if (r->known)
                    buf_addf(&text, "known failure (baseline: %s): ", r->baseline_reason);
                buf_addstr(&text, buf_cstr(&r->message));
                buf_addstr(&x, "      <skipped message=\"");
                xml_text(&x, buf_cstr(&text));
                buf_addstr(&x, "\"/>\n");
            } else if (r->stale) {
                buf_addstr(&x, "      <failure type=\"stale\" message=\"stale baseline entry: it "
                           "passes now; remove it from the baseline\"/>\n");
            } else if (r->outcome != OUTCOME_PASS) {
                const char *tag = r->outcome == OUTCOME_FAIL ? "failure" : "error";

                buf_addf(&x, "      <%s type=\"%s\" message=\"", tag, outcome_str(r->outcome));
                xml_text(&x, buf_cstr(&r->message));
                buf_addstr(&x, "\">");
                buf_addf(&text, "%s\n%s", buf_cstr(&r->message), buf_cstr(&r->details));
                if (r->journal.len)
                    buf_addf(&text, "journal:\n%s", buf_cstr(&r->journal));
                xml_body(&x, buf_cstr(&text));
                buf_addf(&x, "</%s>\n", tag);
            }
            if (r->adapter_log.len && r->outcome != OUTCOME_PASS && r->outcome != OUTCOME_SKIP) {
                buf_addstr(&x, "      <system-err>");
                xml_body(&x, buf_cstr(&r->adapter_log));
                buf_addstr(&x, "</system-err>\n");
            }
            buf_addstr(&x, "    </testcase>\n");
            buf_release(&text);
        }
        buf_addstr(&x, "  </testsuite>\n");
    }
    buf_addstr(&x, "</testsuites>\n");
    rc = write_file(path, x.data, x.len, err);
    buf_release(&x);
    return rc;
}

/* ---- JSON ---- */

static cJSON *lines_array(const char *text)
{
    cJSON *a = cJSON_CreateArray();

    while (text && *text) {
        size_t n = strcspn(text, "\n");
        char *line = xstrndup(text, n);

        cJSON_AddItemToArray(a, cJSON_CreateString(line));
        free(line);
        text += n + (text[n] == '\n');
    }
    return a;
}

enum rc report_json(const char *path, const struct run *run, const struct result *results,
                    size_t n, const struct baseline *b, struct buf *err)
{
    cJSON *doc = cJSON_CreateObject(), *sum, *list, *ad;
    struct tally all;
    char *text;
    size_t i;
    enum rc rc;

    report_tally(results, n, &all);
    cJSON_AddStringToObject(doc, "tool", "hogconf");
    cJSON_AddStringToObject(doc, "version", "0.1.0");
    cJSON_AddStringToObject(doc, "run_id", run->run_id);
    cJSON_AddNumberToObject(doc, "seed", (double)run->seed);
    cJSON_AddStringToObject(doc, "target", run->real ? "real" : "mock");
    if (run->real)
        cJSON_AddStringToObject(doc, "host", run->host);
    cJSON_AddNumberToObject(doc, "duration_ms", (double)run->ms);
    cJSON_AddBoolToObject(doc, "interrupted", run->interrupted);
    ad = cJSON_AddObjectToObject(doc, "adapter");
    cJSON_AddStringToObject(ad, "command", run->adapter);
    cJSON_AddItemToObject(ad, "client", run->client ? cJSON_Duplicate(run->client, true) : cJSON_CreateNull());
    cJSON_AddItemToObject(ad, "features", run->features ? cJSON_Duplicate(run->features, true) : cJSON_CreateArray());
    cJSON_AddBoolToObject(ad, "runnable", run->runnable);
    if (run->not_runnable)
        cJSON_AddStringToObject(ad, "error", run->not_runnable);
    sum = cJSON_AddObjectToObject(doc, "summary");
    cJSON_AddNumberToObject(sum, "total", (double)n);
    cJSON_AddNumberToObject(sum, "passed", (double)all.passed);
    cJSON_AddNumberToObject(sum, "failed", (double)all.failed);
    cJSON_AddNumberToObject(sum, "errors", (double)all.errors);
    cJSON_AddNumberToObject(sum, "skipped", (double)all.skipped);
    cJSON_AddNumberToObject(sum, "known_failures", (double)all.known);
    cJSON_AddNumberToObject(sum, "stale_baseline", (double)all.stale);
    cJSON_AddNumberToObject(sum, "not_run", (double)all.not_run);
    if (b && b->path)
        cJSON_AddStringToObject(doc, "baseline", b->path);
    list = cJSON_AddArrayToObject(doc, "scenarios");
    for (i = 0; i < n; i++) {
        const struct result *r = &results[i];
        cJSON *s = cJSON_CreateObject();

        cJSON_AddStringToObject(s, "id", r->sc->id);
        cJSON_AddStringToObject(s, "suite", r->sc->suite);
        cJSON_AddStringToObject(s, "title", r->sc->title);
        cJSON_AddStringToObject(s, "file", r->sc->path);
        cJSON_AddStringToObject(s, "status", !r->ran ? "NOT_RUN" : outcome_str(r->outcome));
        cJSON_AddNumberToObject(s, "ms", (double)r->ms);
        cJSON_AddStringToObject(s, "message", buf_cstr(&r->message));
        cJSON_AddItemToObject(s, "details", lines_array(buf_cstr(&r->details)));
        cJSON_AddBoolToObject(s, "known_failure", r->known);
        cJSON_AddBoolToObject(s, "stale_baseline", r->stale);
        if (r->baseline_reason)
            cJSON_AddStringToObject(s, "baseline_reason", r->baseline_reason);
        cJSON_AddItemToObject(s, "requires", cJSON_Duplicate(r->sc->requires, true));
        if (r->steps)
            cJSON_AddItemToObject(s, "steps", cJSON_Duplicate(r->steps, true));
        if (r->journal_json)
            cJSON_AddItemToObject(s, "journal", cJSON_Duplicate(r->journal_json, true));
        if (r->adapter_log.len)
            cJSON_AddStringToObject(s, "adapter_stderr", buf_cstr(&r->adapter_log));
        cJSON_AddItemToArray(list, s);
    }
    text = cJSON_Print(doc);
    rc = write_file(path, text, strlen(text), err);
    if (rc == RC_OK && text[0]) {
        FILE *f = fopen(path, "ab");

        if (f) {
            fputc('\n', f);
            fclose(f);
        }
    }
    cJSON_free(text);
    cJSON_Delete(doc);
    return rc;
}

/* ---- artifacts ---- */

static enum rc make_dir(const char *path, struct buf *err)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        buf_addf(err, "unable to make '%s': %s", path, strerror(errno));
        return RC_IO;
    }
    return RC_OK;
}

enum rc report_artifacts(const char *dir, const struct run *run, const struct result *results,
                         size_t n, struct buf *err)
{
    struct buf p = BUF_INIT, text = BUF_INIT;
    size_t i;
    enum rc rc = make_dir(dir, err);

    for (i = 0; i < n && rc == RC_OK; i++) {
        const struct result *r = &results[i];
        char *name, *s;

        if (!r->ran || (r->outcome != OUTCOME_FAIL && r->outcome != OUTCOME_ERROR && !r->stale))
            continue;
        name = xstrdup(r->sc->id);
        for (s = name; *s; s++)
            if (*s == '/')
                *s = '_';
        buf_reset(&p);
        buf_addf(&p, "%s/%s", dir, name);
        free(name);
        rc = make_dir(buf_cstr(&p), err);
        if (rc != RC_OK)
            break;
        buf_reset(&text);
        buf_addf(&text, "%s %s (%lld ms)\n%s\n%s", outcome_str(r->outcome), r->sc->id, r->ms,
                 buf_cstr(&r->message), buf_cstr(&r->details));
        if (r->known)
            buf_addf(&text, "known failure (baseline): %s\n", r->baseline_reason);
        if (r->stale)
            buf_addstr(&text, "stale baseline entry: it passes now\n");
        if (r->journal.len)
            buf_addf(&text, "journal:\n%s", buf_cstr(&r->journal));
        {
            size_t mark = p.len;

            buf_addstr(&p, "/result.txt");
            rc = write_file(buf_cstr(&p), text.data ? text.data : "", text.len, err);
            buf_truncate(&p, mark);
            buf_addstr(&p, "/adapter.ndjson");
            if (rc == RC_OK)
                rc = write_file(buf_cstr(&p), r->transcript.data ? r->transcript.data : "",
                                r->transcript.len, err);
            buf_truncate(&p, mark);
            buf_addstr(&p, "/adapter.stderr");
            if (rc == RC_OK)
                rc = write_file(buf_cstr(&p), r->adapter_log.data ? r->adapter_log.data : "",
                                r->adapter_log.len, err);
            buf_truncate(&p, mark);
            buf_addstr(&p, "/journal.json");
            if (rc == RC_OK) {
                cJSON *none = cJSON_CreateArray();
                char *j = cJSON_Print(r->journal_json ? r->journal_json : none);

                rc = write_file(buf_cstr(&p), j, strlen(j), err);
                cJSON_free(j);
                cJSON_Delete(none);
            }
            buf_truncate(&p, mark);
            buf_addstr(&p, "/hogmock.log");
            if (rc == RC_OK && r->mock_log.len)
                rc = write_file(buf_cstr(&p), r->mock_log.data, r->mock_log.len, err);
            else if (rc == RC_OK)
                rc = write_file(buf_cstr(&p), run->hogmock_log ? run->hogmock_log : "",
                                run->hogmock_log ? strlen(run->hogmock_log) : 0, err);
        }
    }
    buf_release(&p);
    buf_release(&text);
    return rc;
}
