/* admin_faults: the admin API's fault plans (/__hogmock/faults): add, list with their
 * counters, delete one, clear. The plans themselves live in faults.c. */
#include <cjson/cJSON.h>

#include "admin.h"
#include "faults.h"
#include "server.h"

static void admin_list_faults(struct req *r)
{
    admin_answer_items(r, faults_list(r->hm->faults));
}

static void admin_add_fault(struct req *r)
{
    struct buf err = BUF_INIT;
    cJSON *plan = NULL;

    if (faults_add(r->hm->faults, r->json, &plan, &err) != RC_OK)
        admin_invalid_body(r, "the fault plan is not valid", buf_cstr(&err));
    else
        req_json(r, 201, plan);
    buf_release(&err);
}

static void admin_delete_fault(struct req *r)
{
    const char *id = req_path_str(r, "id");

    if (id && faults_delete(r->hm->faults, id) == RC_OK)
        req_empty(r, 204);
    else
        req_problem(r, 404, "not_found", "no fault plan '%.64s'", id ? id : "");
}

static void admin_clear_faults(struct req *r)
{
    faults_clear(r->hm->faults);
    req_empty(r, 204);
}

const struct route admin_faults_routes[] = {
    { "adminListFaults", admin_list_faults, 0 },
    { "adminAddFault", admin_add_fault, 0 },
    { "adminDeleteFault", admin_delete_fault, 0 },
    { "adminClearFaults", admin_clear_faults, 0 },
    { NULL, NULL, 0 },
};
