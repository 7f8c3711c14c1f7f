/* vclock: hogmock's clock, real by default or virtual (moved only by the admin API), in
 * Unix milliseconds. Transient states and exec timing read it; it never sleeps by itself. */
#ifndef HOG_VCLOCK_H
#define HOG_VCLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vclock;

/* A new clock (vclock_free); a virtual one starts at the real time of its creation. */
struct vclock *vclock_new(bool is_virtual);
void vclock_free(struct vclock *c);
bool vclock_is_virtual(const struct vclock *c);
/* Now, in Unix milliseconds. Thread-safe. */
uint64_t vclock_now_ms(const struct vclock *c);
/* Move a virtual clock forward by ms, or to ms; false (and nothing changes) on a real
 * clock or when set would move it backwards. */
bool vclock_advance(struct vclock *c, uint64_t ms);
bool vclock_set(struct vclock *c, uint64_t unix_ms);
/* RFC 3339 UTC with milliseconds ("2026-12-01T21:22:51.123Z") into out (at least 32 bytes). */
void vclock_format(uint64_t unix_ms, char *out, size_t size);

#endif
