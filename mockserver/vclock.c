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

void vclock_format(uint64_t unix_ms, char *out, size_t size)
{
    time_t secs = (time_t)(unix_ms / 1000u);
    struct tm tm;
    char base[24];

    gmtime_r(&secs, &tm);
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, size, "%s.%03uZ", base, (unsigned)(unix_ms % 1000u));
}
