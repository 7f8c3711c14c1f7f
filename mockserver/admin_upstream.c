/* admin_upstream: the admin API of proxy and record modes: what the real host's answers got
 * wrong (GET and DELETE /__hogmock/violations), described in openapi/hogmock-admin.yaml. */
#include <cjson/cJSON.h>

#include "admin.h"
#include "server.h"
#include "violations.h"

static void admin_violations(struct req *r)
{
    size_t total = 0;
    cJSON *items = violations_query(r->hm->violations, r->query_params, &total);

    admin_answer_page(r, items, total);
}

static void admin_clear_violations(struct req *r)
{
    violations_clear(r->hm->violations);
    req_empty(r, 204);
}

const struct route admin_upstream_routes[] = {
    { "adminViolations", admin_violations, 0 },
    { "adminClearViolations", admin_clear_violations, 0 },
    { NULL, NULL, 0 },
};
