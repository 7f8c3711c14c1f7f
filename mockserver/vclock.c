#include "vclock.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* The proleptic Gregorian date of a day counted from 1970-01-01 (days >= 0), by
 * H. Hinnant's civil_from_days: gmtime_r takes glibc's time zone lock on every call,
 * which the request threads would share. */
static void civil(uint64_t days, unsigned *y, unsigned *m, unsigned *d)
{
    uint64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
    uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;

    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = (unsigned)(yoe + era * 400 + (*m <= 2));
}

void vclock_format(uint64_t unix_ms, char *out, size_t size)
{
    uint64_t secs = unix_ms / 1000u, sod = secs % 86400u;
    unsigned y, mo, d;
    char text[32], *p = text;
    size_t n;

    civil(secs / 86400u, &y, &mo, &d);
    if (y > 9999) {
        time_t t = (time_t)secs;
        struct tm tm;

        if (!gmtime_r(&t, &tm) || !strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm))
            snprintf(text, sizeof(text), "%llu", (unsigned long long)secs);
        snprintf(out, size, "%s.%03uZ", text, (unsigned)(unix_ms % 1000u));
        return;
    }
    /* By hand rather than strftime and printf: every journal entry has one. */
    p = digits(p, y, 4);
    *p++ = '-';
    p = digits(p, mo, 2);
    *p++ = '-';
    p = digits(p, d, 2);
    *p++ = 'T';
    p = digits(p, (unsigned)(sod / 3600u), 2);
    *p++ = ':';
    p = digits(p, (unsigned)(sod / 60u % 60u), 2);
    *p++ = ':';
    p = digits(p, (unsigned)(sod % 60u), 2);
    *p++ = '.';
    p = digits(p, (unsigned)(unix_ms % 1000u), 3);
    *p++ = 'Z';
    n = (size_t)(p - text);
    if (!size)
        return;
    if (n >= size)
        n = size - 1;
    memcpy(out, text, n);
    out[n] = '\0';
}
