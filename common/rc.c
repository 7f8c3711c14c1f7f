#include "rc.h"

const char *rc_str(enum rc rc)
{
    static const char *const names[RC__COUNT] = {
        [RC_OK] = "ok",
        [RC_ERR] = "error",
        [RC_INVALID] = "invalid value",
        [RC_PARSE] = "malformed input",
        [RC_NOT_FOUND] = "not found",
        [RC_IO] = "input/output error",
        [RC_TOO_LARGE] = "too large",
        [RC_TOO_DEEP] = "nested too deeply",
        [RC_UNSUPPORTED] = "unsupported",
        [RC_METHOD_NOT_ALLOWED] = "method not allowed",
        [RC_CYCLE] = "reference cycle",
        [RC_CONFLICT] = "conflict",
        [RC_DENIED] = "denied",
        [RC_TIMEOUT] = "timed out",
        [RC_AGAIN] = "incomplete",
        [RC_STOPPED] = "stopped",
    };

    if ((unsigned)rc >= RC__COUNT || !names[rc])
        return "unknown error";
    return names[rc];
}
