#include "mint_cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "issuer.h"
#include "jose.h"
#include "xmalloc.h"

static const char usage[] =
    "NAME\n"
    "    hogmock mint - sign a test token with an OIDC issuer's key, offline\n"
    "\n"
    "SYNOPSIS\n"
    "    hogmock mint --issuer-key FILE --issuer URL [--kind k8s|github] [OPTION]...\n"
    "    hogmock mint --issuer-key FILE --print-jwks\n"
    "\n"
    "DESCRIPTION\n"
    "    Prints one JWT on stdout, signed with the private key in FILE (PEM: RSA 2048 bits\n"
    "    or more for RS256, EC P-256 for ES256; its kid is the key's RFC 7638 thumbprint)\n"
    "    and shaped like a real token of the issuer kind: a projected Kubernetes\n"
    "    ServiceAccount token (k8s) or a GitHub Actions OIDC token (github), with the\n"
    "    same claims POST /__hogmock/mint writes. Point a verifier at the public half of\n"
    "    the key (--print-jwks) and it can check its issuer, audience and TrustMapping\n"
    "    set-up with these tokens, well-formed or broken on purpose.\n"
    "\n"
    "    fixtures/auth/issuer-k8s.pem and issuer-github.pem are test keys, public in this\n"
    "    repository: never let a real system trust them.\n"
    "\n"
    "OPTIONS\n"
    "    --issuer-key FILE    the issuer's private key, PEM (required)\n"
    "    --issuer URL         the token's iss, as the verifier knows the issuer (required\n"
    "                         unless --print-jwks)\n"
    "    --kind k8s|github    the kind of token (default k8s)\n"
    "    --audience AUD       aud (default hogland); repeat it for several\n"
    "    --lifetime SECONDS   exp - iat, 1 to 31536000 (default 3600)\n"
    "    --kid KID            the header's kid instead of the key's\n"
    "    --claims JSON        an object applied last: a member replaces that claim, null\n"
    "                         removes it\n"
    "    --broken KIND        a token a careful verifier refuses: alg_none, wrong_key,\n"
    "                         hs256_confusion, expired, not_yet_valid, wrong_audience,\n"
    "                         bad_base64url, jwe_shaped, no_kid or unknown_kid\n"
    "    --print-jwks         print the key's public JWKS instead of a token\n"
    "    -h, --help           show this text\n"
    "\n"
    "  k8s\n"
    "    --namespace NS       default 'default'\n"
    "    --service-account SA default 'default'; sub is system:serviceaccount:NS:SA\n"
    "    --pod NAME           the pod the token is bound to (default none)\n"
    "\n"
    "  github\n"
    "    --repository OWNER/REPO  default acme/agents\n"
    "    --ref REF            default refs/heads/main; sub is repo:OWNER/REPO:ref:REF\n"
    "    --environment ENV    sub becomes repo:OWNER/REPO:environment:ENV\n"
    "    --workflow NAME      default ci\n"
    "\n"
    "EXIT STATUS\n"
    "    0 printed; 1 the key cannot be read or used; 2 bad usage.\n"
    "\n"
    "EXAMPLES\n"
    "    hogmock mint --issuer-key fixtures/auth/issuer-k8s.pem \\\n"
    "        --issuer https://oidc.example.com/id/TEST --namespace agents --service-account runner\n"
    "    hogmock mint --issuer-key fixtures/auth/issuer-github.pem --kind github \\\n"
    "        --issuer https://token.actions.githubusercontent.com --repository acme/agents \\\n"
    "        --broken wrong_audience\n"
    "    hogmock mint --issuer-key fixtures/auth/issuer-k8s.pem --print-jwks\n";

#define BAD_USAGE(...) cli_usage_error("hogmock mint", "hogmock mint --help", __VA_ARGS__)

/* The request member an option sets; NULL for the options that are not members. */
static const char *const string_options[][2] = {
    { "--namespace", "namespace" },
    { "--service-account", "service_account" },
    { "--pod", "pod" },
    { "--repository", "repository" },
    { "--ref", "ref" },
    { "--environment", "environment" },
    { "--workflow", "workflow" },
    { "--kid", "kid" },
    { "--broken", "broken" },
};
#define NSTRING_OPTIONS (sizeof(string_options) / sizeof(string_options[0]))

static bool is_other_option(const char *opt)
{
    static const char *const others[] = {
        "--issuer-key", "--issuer", "--kind", "--audience", "--lifetime", "--claims",
        "--print-jwks",
    };
    size_t i;

    for (i = 0; i < sizeof(others) / sizeof(others[0]); i++)
        if (strcmp(opt, others[i]) == 0)
            return true;
    return false;
}

/* "/service_account: why" -> "--service-account: why", as the command line says it. */
static void say_invalid(const char *msg)
{
    const char *sep = msg[0] == '/' ? strstr(msg, ": ") : NULL;
    size_t i;

    if (sep) {
        const char *name = msg + 1;
        size_t n = (size_t)(sep - name);

        for (i = 0; i < NSTRING_OPTIONS; i++) {
            if (strlen(string_options[i][1]) == n && strncmp(string_options[i][1], name, n) == 0) {
                BAD_USAGE("%s: %s", string_options[i][0], sep + 2);
                return;
            }
        }
        if (n == strlen("lifetime_seconds") && strncmp(name, "lifetime_seconds", n) == 0) {
            BAD_USAGE("--lifetime: %s", sep + 2);
            return;
        }
        BAD_USAGE("--%.*s: %s", (int)n, name, sep + 2);
        return;
    }
    BAD_USAGE("%s", msg);
}

int mint_cli_main(int argc, char **argv)
{
    const char *key_file = NULL, *iss = NULL, *kind_name = "k8s";
    cJSON *req = cJSON_CreateObject(), *audiences = cJSON_CreateArray();
    struct jose_key *key = NULL;
    struct mint_result m = { 0 };
    struct buf err = BUF_INIT;
    enum issuer_kind kind;
    bool print_jwks = false;
    int i, status = 2;
    size_t k;

    xmalloc_init_cjson();
    for (i = 1; i < argc; i++) {
        const char *arg = argv[i], *opt = arg, *val;
        char name[32];
        bool eq;

        if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
            fputs(usage, stdout);
            status = 0;
            goto out;
        }
        if (strncmp(opt, "--", 2) != 0) {
            BAD_USAGE("unexpected argument '%s'", opt);
            goto out;
        }
        eq = cli_option(argc, argv, i, name, sizeof(name), &opt, &val);
        for (k = 0; k < NSTRING_OPTIONS; k++)
            if (strcmp(opt, string_options[k][0]) == 0)
                break;
        if (k == NSTRING_OPTIONS && !is_other_option(opt)) {
            BAD_USAGE("unknown option '%s'", arg);
            goto out;
        }
        if (strcmp(opt, "--print-jwks") == 0) {
            if (eq) {
                BAD_USAGE("--print-jwks takes no value");
                goto out;
            }
            print_jwks = true;
            continue;
        }
        if (!val) {
            BAD_USAGE("%s needs a value", opt);
            goto out;
        }
        if (!eq)
            i++;
        if (k < NSTRING_OPTIONS) {
            cJSON_DeleteItemFromObjectCaseSensitive(req, string_options[k][1]);
            cJSON_AddStringToObject(req, string_options[k][1], val);
        } else if (strcmp(opt, "--issuer-key") == 0) {
            key_file = val;
        } else if (strcmp(opt, "--issuer") == 0) {
            iss = val;
        } else if (strcmp(opt, "--kind") == 0) {
            kind_name = val;
        } else if (strcmp(opt, "--audience") == 0) {
            cJSON_AddItemToArray(audiences, cJSON_CreateString(val));
        } else if (strcmp(opt, "--lifetime") == 0) {
            char *end;
            long long n;

            errno = 0;
            n = strtoll(val, &end, 10);
            if (!*val || *end || errno || n < 1 || n > ISSUER_LIFETIME_MAX) {
                BAD_USAGE("--lifetime needs a number of seconds from 1 to %d, not '%s'",
                          ISSUER_LIFETIME_MAX, val);
                goto out;
            }
            cJSON_DeleteItemFromObjectCaseSensitive(req, "lifetime_seconds");
            cJSON_AddNumberToObject(req, "lifetime_seconds", (double)n);
        } else if (strcmp(opt, "--claims") == 0) {
            cJSON *claims = cJSON_Parse(val);

            if (!cJSON_IsObject(claims)) {
                cJSON_Delete(claims);
                BAD_USAGE("--claims needs a JSON object, as in '{\"sub\": \"x\"}'");
                goto out;
            }
            cJSON_DeleteItemFromObjectCaseSensitive(req, "claims");
            cJSON_AddItemToObject(req, "claims", claims);
        }
    }
    if (!key_file) {
        BAD_USAGE("--issuer-key FILE is required");
        goto out;
    }
    if (issuer_kind_parse(kind_name, &kind) != RC_OK) {
        BAD_USAGE("--kind takes k8s or github, not '%s'", kind_name);
        goto out;
    }
    if (!print_jwks && (!iss || !*iss)) {
        BAD_USAGE("--issuer URL is required: the iss the verifier expects");
        goto out;
    }
    if (cJSON_GetArraySize(audiences) > 0) {
        cJSON_AddItemToObject(req, "audience", audiences);
        audiences = NULL;
    }

    status = 1;
    if (jose_key_load_pem(key_file, NULL, NULL, &key, &err) != JOSE_OK) {
        fprintf(stderr, "hogmock mint: %s\n", buf_cstr(&err));
        goto out;
    }
    if (print_jwks) {
        cJSON *jwks = cJSON_CreateObject();
        char *text;

        cJSON_AddItemToArray(cJSON_AddArrayToObject(jwks, "keys"), jose_key_to_jwk(key));
        text = cJSON_Print(jwks);
        printf("%s\n", text);
        cJSON_free(text);
        cJSON_Delete(jwks);
        status = 0;
        goto out;
    }
    if (!key->has_private) {
        fprintf(stderr, "hogmock mint: '%s' holds a public key; signing needs the private one\n",
                key_file);
        goto out;
    }
    switch (issuer_mint(kind, iss, key, NULL, req, (int64_t)time(NULL), &m, &err)) {
    case RC_OK:
        printf("%s\n", m.token);
        status = 0;
        break;
    case RC_INVALID:
        say_invalid(buf_cstr(&err));
        status = 2;
        break;
    default:
        fprintf(stderr, "hogmock mint: %s\n", buf_cstr(&err));
        break;
    }
out:
    fflush(stdout);
    mint_result_release(&m);
    jose_key_free(key);
    cJSON_Delete(req);
    cJSON_Delete(audiences);
    buf_release(&err);
    return status;
}
