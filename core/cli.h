/* cli.h: the server's command line. */
#ifndef TB_CLI_H
#define TB_CLI_H

#include <stdint.h>

#include "tls.h"

struct tb_options {
	struct tb_tls_config tls;
	const char *listen; /* "HOST:PORT" or "[V6]:PORT" */
	int workers;
	int *cpus; /* --cpu list, ncpus entries; NULL when not given */
	int ncpus;
	const char *stats_file; /* NULL: stdout */
	uint64_t seed;
	double header_timeout; /* seconds */
	double idle_timeout;
	double write_timeout;
	long max_conns;	  /* per worker; 0: RLIMIT_NOFILE soft limit - 64 */
	int defer_accept; /* seconds of TCP_DEFER_ACCEPT; 0: off */
};

enum tb_cli_result {
	TB_CLI_RUN,	   /* options are valid: start the server */
	TB_CLI_EXIT_OK,	   /* --help or --version was printed */
	TB_CLI_EXIT_USAGE, /* a one-line error was printed: exit 2 */
};

enum tb_cli_result tb_cli_parse(int argc, char **argv, struct tb_options *o);
void tb_options_free(struct tb_options *o);

#endif
