/* rc: the one error enum of the kit and its names.
 * Values are numbered and never renumbered; add new ones at the end. */
#ifndef HOG_RC_H
#define HOG_RC_H

enum rc {
    RC_OK = 0,
    RC_ERR = 1,             /* failure with no better code */
    RC_INVALID = 2,         /* invalid argument or value */
    RC_PARSE = 3,           /* malformed input: YAML, JSON, base64, ... */
    RC_NOT_FOUND = 4,       /* no such file, route, key or reference */
    RC_IO = 5,              /* read or write failed; errno tells more */
    RC_TOO_LARGE = 6,       /* input over a configured size */
    RC_TOO_DEEP = 7,        /* nesting over the recursion bound */
    RC_UNSUPPORTED = 8,     /* understood but deliberately not handled */
    RC_METHOD_NOT_ALLOWED = 9, /* path known, method not */
    RC_CYCLE = 10,          /* reference cycle */
    RC_CONFLICT = 11,       /* not allowed in the current state */
    RC_DENIED = 12,         /* authentication or permission refused */
    RC_TIMEOUT = 13,        /* deadline passed */
    RC_AGAIN = 14,          /* not yet: more input needed */
    RC_STOPPED = 15,        /* a callback asked to stop */
    RC__COUNT
};

/* A short lowercase name for rc ("not found"); never NULL. */
const char *rc_str(enum rc rc);

#endif
