/* fixtures_cli: `hogmock fixtures`, replay fixtures without a running hogmock: derive them
 * from a spec's examples, or check a directory of them as replay mode would load it. */
#ifndef HOG_FIXTURES_CLI_H
#define HOG_FIXTURES_CLI_H

/* Run `hogmock fixtures` with argv[0] "fixtures" and its command and options; the exit
 * status: 0 done, 1 a bad spec, an unwritable directory or a bad fixture, 2 bad usage. */
int fixtures_cli_main(int argc, char **argv);

#endif
