#include "vclock.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "xmalloc.h"

struct vclock {
    bool is_virtual;
    _Atomic uint64_t now;   /* virtual time only */
};

static uint64_t real_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct vclock *vclock_new(bool is_virtual)
{
    struct vclock *c = xcalloc(1, sizeof(*c));

    c->is_virtual = is_virtual;
    atomic_store(&c->now, real_now_ms());
    return c;
}

void vclock_free(struct vclock *c)
{
    free(c);
}

bool vclock_is_virtual(const struct vclock *c)
{
    return c->is_virtual;
}

uint64_t vclock_now_ms(const struct vclock *c)
{
    return c->is_virtual ? atomic_load(&((struct vclock *)c)->now) : real_now_ms();
}

bool vclock_advance(struct vclock *c, uint64_t ms)
{
    if (!c->is_virtual)
        return false;
    atomic_fetch_add(&c->now, ms);
    return true;
}

bool vclock_set(struct vclock *c, uint64_t unix_ms)
{
    uint64_t cur;

    if (!c->is_virtual)
        return false;
    cur = atomic_load(&c->now);
    do {
        if (unix_ms < cur)
            return false;
    } while (!atomic_compare_exchange_weak(&c->now, &cur, unix_ms));
    return true;
}

/* n as width decimal digits at p (zero-padded). */
static char *digits(char *p, unsigned n, int width)
{
    int i;

    for (i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + n % 10);
        n /= 10;
    }
    return p + width;
}

void vclock_format(uint64_t unix_ms, char *out, size_t size)
{
    time_t secs = (time_t)(unix_ms / 1000u);
    struct tm tm;
    char text[32], *p = text;

    gmtime_r(&secs, &tm);
    if (tm.tm_year + 1900 < 1000 || tm.tm_year + 1900 > 9999) {
        strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(out, size, "%s.%03uZ", text, (unsigned)(unix_ms % 1000u));
        return;
    }
    /* Four-digit years by hand rather than strftime and printf: every journal entry has
     * one. */
    p = digits(p, (unsigned)(tm.tm_year + 1900), 4);
    *p++ = '-';
    p = digits(p, (unsigned)tm.tm_mon + 1, 2);
    *p++ = '-';
    p = digits(p, (unsigned)tm.tm_mday, 2);
    *p++ = 'T';
    p = digits(p, (unsigned)tm.tm_hour, 2);
    *p++ = ':';
    p = digits(p, (unsigned)tm.tm_min, 2);
    *p++ = ':';
    p = digits(p, (unsigned)tm.tm_sec, 2);
    *p++ = '.';
    p = digits(p, (unsigned)(unix_ms % 1000u), 3);
    *p++ = 'Z';
    *p = '\0';
    snprintf(out, size, "%s", text);
}
