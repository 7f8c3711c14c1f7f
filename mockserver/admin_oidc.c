/* admin_oidc: the admin API's issuers and trust (TrustMappings) endpoints, over oidc.h.
 * Definitions are checked by oidc; a bad one is 422 with the pointer oidc names. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "oidc.h"
#include "problem.h"
#include "server.h"
#include "xmalloc.h"

/* ---- issuers ---------------------------------------------------------------------------- */

static void admin_list_issuers(struct req *r)
{
    admin_answer_items(r, oidc_list_issuers(r->hm->oidc));
}

static void admin_add_issuer(struct req *r)
{
    struct oidc *o = r->hm->oidc;
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(r->json, "issuer");
    struct buf err = BUF_INIT;
    cJSON *list, *it, *found = NULL;

    if (oidc_add_issuer(o, r->json, &err) != RC_OK) {
        admin_invalid_body(r, "the issuer definition is not valid", buf_cstr(&err));
        buf_release(&err);
        return;
    }
    buf_release(&err);
    list = oidc_list_issuers(o);
    cJSON_ArrayForEach(it, list) {
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(it, "issuer");

        if (cJSON_IsString(u) && strcmp(u->valuestring, url->valuestring) == 0)
            found = it;
    }
    if (found)
        req_json(r, 201, cJSON_DetachItemViaPointer(list, found));
    else
        req_problem(r, 409, "invalid_state", "the issuer was removed while it was being added");
    cJSON_Delete(list);
}

static void admin_remove_issuer(struct req *r)
{
    const char *url = req_query_str(r, "issuer");

    if (url && oidc_remove_issuer(r->hm->oidc, url) == RC_OK)
        req_empty(r, 204);
    else
        req_problem(r, 404, "not_found", "no trusted issuer is '%.300s'", url ? url : "");
}

/* ---- trust ------------------------------------------------------------------------------ */

static void admin_list_trust(struct req *r)
{
    admin_answer_items(r, oidc_list_trust(r->hm->oidc));
}

/* Does the stored mapping m come from the definition def? Every member of def but
 * display_name is in m with the same value, and m has no key field def lacks (the
 * issuer of a github_oidc mapping may have been defaulted). */
static bool mapping_of(const cJSON *m, const cJSON *def)
{
    static const char *const keys[] = {
        "kind", "issuer", "namespace", "service_account", "repository", "ref", "environment",
        "workflow", "job_workflow_ref", "login", "principal_id", NULL,
    };
    const char *const *k;

    for (k = keys; *k; k++) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(m, *k);
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(def, *k);

        if (!b && a && strcmp(*k, "issuer") == 0)
            continue;
        if (!a != !b || (a && !cJSON_Compare(a, b, true)))
            return false;
    }
    return true;
}

static void admin_add_trust(struct req *r)
{
    struct oidc *o = r->hm->oidc;
    struct buf err = BUF_INIT;
    cJSON *list, *it, *found = NULL;

    if (oidc_add_trust(o, r->json, &err) != RC_OK) {
        admin_invalid_body(r, "the TrustMapping is not valid", buf_cstr(&err));
        buf_release(&err);
        return;
    }
    buf_release(&err);
    list = oidc_list_trust(o);
    cJSON_ArrayForEach(it, list)
        if (mapping_of(it, r->json))
            found = it;
    if (found)
        req_json(r, 201, cJSON_DetachItemViaPointer(list, found));
    else
        req_problem(r, 409, "invalid_state", "the TrustMapping was removed while it was being "
                    "added");
    cJSON_Delete(list);
}

static void admin_clear_trust(struct req *r)
{
    oidc_clear_trust(r->hm->oidc);
    req_empty(r, 204);
}

const struct route admin_oidc_routes[] = {
    { "adminListIssuers", admin_list_issuers },
    { "adminAddIssuer", admin_add_issuer },
    { "adminRemoveIssuer", admin_remove_issuer },
    { "adminListTrust", admin_list_trust },
    { "adminAddTrust", admin_add_trust },
    { "adminClearTrust", admin_clear_trust },
    { NULL, NULL },
};
