/* mint_cli: `hogmock mint`, tokens signed with a PEM key and no running hogmock, for
 * verifiers set up elsewhere (a cluster's trust configuration, a CI check). The token is
 * all it prints on stdout; the key is read, never printed. */
#ifndef HOG_MINT_CLI_H
#define HOG_MINT_CLI_H

/* Run `hogmock mint` with argv[0] "mint" and its options; the exit status: 0 minted, 1
 * the key cannot be used, 2 bad usage. */
int mint_cli_main(int argc, char **argv);

#endif
