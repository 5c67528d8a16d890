/* cli.c: parses the server's flags; prints --help and --version. */
#define _GNU_SOURCE /* accept4, CPU_SETSIZE */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "floor.h"
#include "tb_build.h"

#define PROG "tlsbench-server"

static const char usage_text[] =
	"Usage: " PROG " --cert FILE --key FILE [options]\n"
	"An HTTPS/1.1 server for TLS benchmarks: GET or HEAD / and /20k give\n"
	"20480 random [A-Z0-9] bytes, /N, /Nk, /Nm other sizes up to 64m.\n"
	"\n"
	"  --cert FILE            certificate chain, PEM (leaf first)\n"
	"  --key FILE             private key, PEM\n"
	"                         (both optional with the plaintext backend)\n"
	"  --listen HOST:PORT     address; [::1]:PORT for IPv6; port 0 picks\n"
	"                         one (default 127.0.0.1:8443)\n"
	"  --workers N            processes, one event loop each (default 1)\n"
	"  --cpu LIST             pin worker i to the i-th CPU of LIST "
	"(0,2-3)\n"
	"  --tls-min 1.2|1.3      lowest TLS version (default 1.2)\n"
	"  --tls-max 1.2|1.3      highest TLS version (default 1.3)\n"
	"  --ciphers L            TLS 1.2 cipher list, OpenSSL syntax "
	"(default:\n"
	"                         ECDHE with AES-GCM or ChaCha20-Poly1305)\n"
	"  --ciphersuites L       TLS 1.3 suites, colon separated\n"
	"  --groups L             key exchange groups, e.g. X25519:P-256\n"
	"  --resumption MODE      none|cache|tickets|both (default both)\n"
	"  --session-cache-size N sessions a process caches (default 20480)\n"
	"  --session-lifetime S   seconds a session or ticket resumes\n"
	"                         (default 7200)\n"
	"  --ticket-key-lifetime S\n"
	"                         a new ticket key every S seconds, the\n"
	"                         previous one still accepted (default 0:\n"
	"                         one key); all workers use the same keys\n"
	"  --psk-mode dhe|ke      TLS 1.3 resumption with a fresh key\n"
	"                         exchange (dhe: psk_dhe_ke, the default)\n"
	"                         or, when the client offers it, without\n"
	"                         one (ke: psk_ke)\n"
	"  --early-data           accept TLS 1.3 0-RTT, up to 16384 bytes,\n"
	"                         with the library's anti-replay protection,\n"
	"                         and answer it at once (0.5-RTT)\n"
	"  --idle-buffers MODE    release|keep: record buffers of an idle\n"
	"                         connection (default release, as nginx)\n"
	"  --io MODE              native|core: who reads and writes the\n"
	"                         socket: the TLS library itself (default),\n"
	"                         or the server, one read per readable event\n"
	"                         and one write per flight, the library on\n"
	"                         memory\n"
	"  --stats-file F         append the JSON stats line here on SIGUSR1\n"
	"                         and at exit (default: stdout)\n"
	"  --seed N               body generator seed (default: random)\n"
	"  --header-timeout S     accept to end of request headers; also each\n"
	"                         later request from its first byte (default "
	"10)\n"
	"  --idle-timeout S       between keep-alive requests (default 15)\n"
	"  --write-timeout S      without write progress (default 30)\n"
	"  --max-conns N          open connections per worker (default: open\n"
	"                         file limit - 64)\n"
	"  --defer-accept S       accept a connection only once its first\n"
	"                         bytes arrived, waiting up to S seconds\n"
	"                         (TCP_DEFER_ACCEPT; default 0: off)\n"
	"  --help                 this text\n"
	"  --version              backend, library and build facts\n"
	"\n"
	"  --bench-crypto         print the crypto floor and exit: the time "
	"of\n"
	"                         one signature with --key plus one key share\n"
	"                         and shared secret (a KEM group: the\n"
	"                         encapsulation) for the first of --groups\n"
	"                         (X25519 by default), through the library\n"
	"  --iterations N         operations timed by --bench-crypto (default\n"
	"                         200)\n"
	"\n"
	"Prints `listening SCHEME://HOST:PORT` when ready.  SIGUSR1 writes a\n"
	"stats line; SIGTERM or SIGINT stops gracefully and writes a final "
	"one.\n"
	"Exit: 0 after a stop, 1 when all workers died, 2 on a usage error.\n";

enum {
	OPT_CERT = 256,
	OPT_KEY,
	OPT_LISTEN,
	OPT_WORKERS,
	OPT_CPU,
	OPT_TLS_MIN,
	OPT_TLS_MAX,
	OPT_CIPHERS,
	OPT_CIPHERSUITES,
	OPT_GROUPS,
	OPT_RESUMPTION,
	OPT_SESSION_CACHE_SIZE,
	OPT_SESSION_LIFETIME,
	OPT_TICKET_KEY_LIFETIME,
	OPT_PSK_MODE,
	OPT_EARLY_DATA,
	OPT_IDLE_BUFFERS,
	OPT_IO,
	OPT_STATS_FILE,
	OPT_SEED,
	OPT_HEADER_TIMEOUT,
	OPT_IDLE_TIMEOUT,
	OPT_WRITE_TIMEOUT,
	OPT_MAX_CONNS,
	OPT_DEFER_ACCEPT,
	OPT_HELP,
	OPT_VERSION,
	OPT_BENCH_CRYPTO,
	OPT_ITERATIONS,
};

static const struct option long_options[] = {
	{"cert", required_argument, NULL, OPT_CERT},
	{"key", required_argument, NULL, OPT_KEY},
	{"listen", required_argument, NULL, OPT_LISTEN},
	{"workers", required_argument, NULL, OPT_WORKERS},
	{"cpu", required_argument, NULL, OPT_CPU},
	{"tls-min", required_argument, NULL, OPT_TLS_MIN},
	{"tls-max", required_argument, NULL, OPT_TLS_MAX},
	{"ciphers", required_argument, NULL, OPT_CIPHERS},
	{"ciphersuites", required_argument, NULL, OPT_CIPHERSUITES},
	{"groups", required_argument, NULL, OPT_GROUPS},
	{"resumption", required_argument, NULL, OPT_RESUMPTION},
	{"session-cache-size", required_argument, NULL, OPT_SESSION_CACHE_SIZE},
	{"session-lifetime", required_argument, NULL, OPT_SESSION_LIFETIME},
	{"ticket-key-lifetime", required_argument, NULL,
	 OPT_TICKET_KEY_LIFETIME},
	{"psk-mode", required_argument, NULL, OPT_PSK_MODE},
	{"early-data", no_argument, NULL, OPT_EARLY_DATA},
	{"idle-buffers", required_argument, NULL, OPT_IDLE_BUFFERS},
	{"io", required_argument, NULL, OPT_IO},
	{"stats-file", required_argument, NULL, OPT_STATS_FILE},
	{"seed", required_argument, NULL, OPT_SEED},
	{"header-timeout", required_argument, NULL, OPT_HEADER_TIMEOUT},
	{"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
	{"write-timeout", required_argument, NULL, OPT_WRITE_TIMEOUT},
	{"max-conns", required_argument, NULL, OPT_MAX_CONNS},
	{"defer-accept", required_argument, NULL, OPT_DEFER_ACCEPT},
	{"help", no_argument, NULL, OPT_HELP},
	{"version", no_argument, NULL, OPT_VERSION},
	{"bench-crypto", no_argument, NULL, OPT_BENCH_CRYPTO},
	{"iterations", required_argument, NULL, OPT_ITERATIONS},
	{NULL, 0, NULL, 0},
};

static int
usage_error(const char *flag, const char *what, const char *got)
{
	fprintf(stderr, PROG ": %s: %s, got '%s' (see --help)\n", flag, what,
		got);
	return -1;
}

static int
parse_count(const char *flag, const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
		char what[64];

		snprintf(what, sizeof(what), "expected a number %ld..%ld", lo,
			 hi);
		return usage_error(flag, what, s);
	}
	*out = v;
	return 0;
}

static int
parse_seconds(const char *flag, const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v > 0) || v > 86400)
		return usage_error(flag,
				   "expected seconds > 0 (e.g. 10 or 0.5)", s);
	*out = v;
	return 0;
}

/* The options that take one word of a fixed list, each list written once:
 * the word, the value it sets. */
struct choice {
	const char *word;
	int value;
};

static const struct choice versions[] = {
	{"1.2", TB_TLS12}, {"1.3", TB_TLS13}, {NULL, 0}};
static const struct choice resumptions[] = {{"none", TB_RESUME_NONE},
					    {"cache", TB_RESUME_CACHE},
					    {"tickets", TB_RESUME_TICKETS},
					    {"both", TB_RESUME_BOTH},
					    {NULL, 0}};
static const struct choice psk_modes[] = {
	{"dhe", TB_PSK_DHE}, {"ke", TB_PSK_KE}, {NULL, 0}};
static const struct choice idle_buffers[] = {
	{"release", TB_IDLE_RELEASE}, {"keep", TB_IDLE_KEEP}, {NULL, 0}};
static const struct choice io_modes[] = {
	{"native", TB_IO_NATIVE}, {"core", TB_IO_CORE}, {NULL, 0}};

/* The value of word s in list, or a usage error that names the words:
 * "expected a or b", "expected a|b|c". */
static int
parse_choice(const char *flag, const char *s, const struct choice *list,
	     int *out)
{
	char expected[96] = "expected";
	size_t len = strlen(expected);
	int i, n;

	for (n = 0; list[n].word != NULL; n++) {
		if (strcmp(s, list[n].word) == 0) {
			*out = list[n].value;
			return 0;
		}
	}
	for (i = 0; i < n && len < sizeof(expected); i++) {
		const char *sep = n == 2 ? " or " : "|";

		len += (size_t)snprintf(expected + len, sizeof(expected) - len,
					"%s%s", i == 0 ? " " : sep,
					list[i].word);
	}
	return usage_error(flag, expected, s);
}

/* "0,2-3" into a list of CPU numbers, in order. */
static int
parse_cpus(const char *s, struct tb_options *o)
{
	const char *p = s;

	free(o->cpus);
	o->cpus = NULL;
	o->ncpus = 0;
	while (*p != '\0') {
		char *end;
		long a, b;

		errno = 0;
		a = strtol(p, &end, 10);
		if (end == p || a < 0 || a >= CPU_SETSIZE)
			goto bad;
		b = a;
		p = end;
		if (*p == '-') {
			b = strtol(p + 1, &end, 10);
			if (end == p + 1 || b < a || b >= CPU_SETSIZE)
				goto bad;
			p = end;
		}
		for (; a <= b; a++) {
			int *cpus = realloc(
				o->cpus, sizeof(int) * (size_t)(o->ncpus + 1));

			if (cpus == NULL)
				goto bad;
			o->cpus = cpus;
			o->cpus[o->ncpus++] = (int)a;
		}
		if (*p == ',')
			p++;
		else if (*p != '\0')
			goto bad;
	}
	if (o->ncpus > 0)
		return 0;
bad:
	return usage_error("--cpu", "expected a CPU list like 0,2-3", s);
}

static int
check_readable(const char *flag, const char *path)
{
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		fprintf(stderr, PROG ": %s %s: %s\n", flag, path,
			strerror(errno));
		return -1;
	}
	fclose(f);
	return 0;
}

/* The CPU features that decide which crypto code paths run. */
static void
print_cpu_flags(void)
{
	static const char *const wanted[] = {
		"aes", "vaes", "avx512ifma", "sha_ni", "adx", "bmi2", "avx2"};
	char line[8192];
	FILE *f = fopen("/proc/cpuinfo", "r");
	size_t i;

	printf("cpu_flags:");
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "flags", 5) != 0 || colon == NULL)
			continue;
		for (i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
			size_t n = strlen(wanted[i]);
			const char *p = colon;

			while ((p = strstr(p, wanted[i])) != NULL) {
				if (p[-1] == ' ' &&
				    (p[n] == ' ' || p[n] == '\n' ||
				     p[n] == '\0')) {
					printf(" %s", wanted[i]);
					break;
				}
				p += n;
			}
		}
		break;
	}
	printf("\n");
	if (f != NULL)
		fclose(f);
}

static void
print_version(void)
{
	const struct tb_tls_fact *fact;

	printf("tlsbench: %s\n", TB_VERSION);
	printf("backend: %s\n", tb_tls_backend_name());
	printf("library_version: %s\n", tb_tls_library_version());
	if (TB_LIB_DIR[0] != '\0')
		printf("library_dir: %s\n", TB_LIB_DIR);
	for (fact = tb_tls_build_facts(); fact->key != NULL; fact++)
		printf("%s: %s\n", fact->key, fact->value);
	/* A prefix build's BUILDINFO arrives as buildinfo.<key> facts. */
	print_cpu_flags();
}

static int
apply(int opt, const char *arg, struct tb_options *o)
{
	long v;
	int word;

	switch (opt) {
	case OPT_CERT:
		o->tls.cert_file = arg;
		return check_readable("--cert", arg);
	case OPT_KEY:
		o->tls.key_file = arg;
		return check_readable("--key", arg);
	case OPT_LISTEN:
		o->listen = arg;
		return 0;
	case OPT_WORKERS:
		if (parse_count("--workers", arg, 1, 256, &v) != 0)
			return -1;
		o->workers = (int)v;
		return 0;
	case OPT_CPU:
		return parse_cpus(arg, o);
	case OPT_TLS_MIN:
		return parse_choice("--tls-min", arg, versions,
				    &o->tls.min_version);
	case OPT_TLS_MAX:
		return parse_choice("--tls-max", arg, versions,
				    &o->tls.max_version);
	case OPT_CIPHERS:
		o->tls.ciphers = arg;
		return 0;
	case OPT_CIPHERSUITES:
		o->tls.ciphersuites = arg;
		return 0;
	case OPT_GROUPS:
		o->tls.groups = arg;
		return 0;
	case OPT_RESUMPTION:
		if (parse_choice("--resumption", arg, resumptions, &word) != 0)
			return -1;
		o->tls.resumption = (enum tb_resumption)word;
		return 0;
	case OPT_SESSION_CACHE_SIZE:
		return parse_count("--session-cache-size", arg, 1, 100000000,
				   &o->tls.session_cache_size);
	case OPT_SESSION_LIFETIME:
		/* A week: the longest TLS 1.3 ticket lifetime (RFC 8446). */
		return parse_count("--session-lifetime", arg, 1, 604800,
				   &o->tls.session_lifetime_s);
	case OPT_TICKET_KEY_LIFETIME:
		/* 0: no rotation; at most the longest ticket lifetime. */
		return parse_count("--ticket-key-lifetime", arg, 0, 604800,
				   &o->tls.ticket_key_lifetime_s);
	case OPT_PSK_MODE:
		if (parse_choice("--psk-mode", arg, psk_modes, &word) != 0)
			return -1;
		o->tls.psk_mode = (enum tb_psk_mode)word;
		return 0;
	case OPT_EARLY_DATA:
		/* One full record: OpenSSL's own limit for what it reads. */
		o->tls.max_early_data = 16384;
		return 0;
	case OPT_IDLE_BUFFERS:
		if (parse_choice("--idle-buffers", arg, idle_buffers, &word) !=
		    0)
			return -1;
		o->tls.idle_buffers = (enum tb_idle_buffers)word;
		return 0;
	case OPT_IO:
		if (parse_choice("--io", arg, io_modes, &word) != 0)
			return -1;
		o->tls.io = (enum tb_io_mode)word;
		return 0;
	case OPT_STATS_FILE:
		o->stats_file = arg;
		return 0;
	case OPT_SEED: {
		char *end;

		errno = 0;
		o->seed = strtoull(arg, &end, 0);
		if (errno != 0 || end == arg || *end != '\0' || arg[0] == '-')
			return usage_error("--seed",
					   "expected an unsigned "
					   "64-bit number",
					   arg);
		return 0;
	}
	case OPT_HEADER_TIMEOUT:
		return parse_seconds("--header-timeout", arg,
				     &o->header_timeout);
	case OPT_IDLE_TIMEOUT:
		return parse_seconds("--idle-timeout", arg, &o->idle_timeout);
	case OPT_WRITE_TIMEOUT:
		return parse_seconds("--write-timeout", arg, &o->write_timeout);
	case OPT_MAX_CONNS:
		if (parse_count("--max-conns", arg, 1, 100000000, &v) != 0)
			return -1;
		o->max_conns = v;
		return 0;
	case OPT_DEFER_ACCEPT:
		if (parse_count("--defer-accept", arg, 0, 3600, &v) != 0)
			return -1;
		o->defer_accept = (int)v;
		return 0;
	}
	return -1;
}

/* Flags that only mean something with another setting: refused without
 * it rather than ignored, whatever the backend. */
static int
check_resumption_flags(const struct tb_tls_config *t)
{
	int tickets = t->resumption == TB_RESUME_TICKETS ||
		      t->resumption == TB_RESUME_BOTH;
	int resumes13 =
		t->max_version >= TB_TLS13 && t->resumption != TB_RESUME_NONE;
	const char *flag13 = t->psk_mode == TB_PSK_KE ? "--psk-mode ke"
			     : t->max_early_data > 0  ? "--early-data"
						      : NULL;

	if (flag13 != NULL && !resumes13) {
		fprintf(stderr,
			PROG ": %s is TLS 1.3 resumption: it needs --tls-max "
			     "1.3 and a --resumption other than none\n",
			flag13);
		return -1;
	}
	if (t->ticket_key_lifetime_s > 0 && !tickets) {
		fprintf(stderr, PROG ": --ticket-key-lifetime needs tickets "
				     "(--resumption tickets or both)\n");
		return -1;
	}
	return 0;
}

/* The TLS 1.2 default for every backend: forward-secret AEAD suites only.
 * One list here, not each library's own default, so an unconfigured server
 * offers the same suites whatever the backend (the libraries' defaults
 * differ and some still offer CBC, 3DES or worse). */
static const char default_tls12_ciphers[] =
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

enum tb_cli_result
tb_cli_parse(int argc, char **argv, struct tb_options *o)
{
	int opt, want_version = 0, want_floor = 0;
	long iterations = 200;

	memset(o, 0, sizeof(*o));
	o->listen = "127.0.0.1:8443";
	o->workers = 1;
	o->tls.min_version = TB_TLS12;
	o->tls.max_version = TB_TLS13;
	o->tls.resumption = TB_RESUME_BOTH;
	/* The session policy of every backend: OpenSSL's own cache size
	 * (SSL_SESSION_CACHE_MAX_SIZE_DEFAULT) and a lifetime longer than any
	 * run (OpenSSL's own is 300 s, BoringSSL's 2 h in 1.2 but 2 days in
	 * 1.3, wolfSSL's 500 s); what each library applied is in the stats
	 * line's tls_settings. */
	o->tls.session_cache_size = 20480;
	o->tls.session_lifetime_s = 7200;
	/* What nginx does (SSL_MODE_RELEASE_BUFFERS): an idle keep-alive
	 * connection holds no record buffers. */
	o->tls.idle_buffers = TB_IDLE_RELEASE;
	/* Each library on the socket with its own buffering, as most
	 * applications deploy it; --io core measures them on equal I/O. */
	o->tls.io = TB_IO_NATIVE;
	o->tls.ciphers = default_tls12_ciphers;
	o->header_timeout = 10;
	o->idle_timeout = 15;
	o->write_timeout = 30;
	o->defer_accept = 0;
	if (getrandom(&o->seed, sizeof(o->seed), 0) != sizeof(o->seed))
		o->seed = 0x746c7362656e6368ULL; /* never expected to happen */

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
		if (opt == OPT_HELP) {
			fputs(usage_text, stdout);
			return TB_CLI_EXIT_OK;
		}
		if (opt == OPT_VERSION) {
			want_version = 1;
			continue;
		}
		if (opt == OPT_BENCH_CRYPTO) {
			want_floor = 1;
			continue;
		}
		if (opt == OPT_ITERATIONS) {
			if (parse_count("--iterations", optarg, 1, 1000000,
					&iterations) != 0)
				return TB_CLI_EXIT_USAGE;
			continue;
		}
		if (opt == '?' || opt == ':') {
			if (optopt != 0)
				fprintf(stderr,
					PROG ": %s needs an argument (see "
					     "--help)\n",
					argv[optind - 1]);
			else
				fprintf(stderr,
					PROG
					": unknown option %s (see --help)\n",
					argv[optind - 1]);
			return TB_CLI_EXIT_USAGE;
		}
		if (apply(opt, optarg, o) != 0)
			return TB_CLI_EXIT_USAGE;
	}
	if (want_version) {
		print_version();
		return TB_CLI_EXIT_OK;
	}
	if (optind < argc) {
		fprintf(stderr,
			PROG ": unexpected argument '%s' (see --help)\n",
			argv[optind]);
		return TB_CLI_EXIT_USAGE;
	}
	/* Only the key and the group matter to the floor; no server runs. */
	if (want_floor) {
		if (o->tls.key_file == NULL) {
			fprintf(stderr,
				PROG ": --bench-crypto needs --key FILE "
				     "(the certificate's private key)\n");
			return TB_CLI_EXIT_USAGE;
		}
		return tb_floor_run(o->tls.key_file, o->tls.groups,
				    (unsigned)iterations) == 0
			       ? TB_CLI_EXIT_OK
			       : TB_CLI_EXIT_USAGE;
	}
	if (o->tls.min_version > o->tls.max_version) {
		fprintf(stderr, PROG ": --tls-min is above --tls-max\n");
		return TB_CLI_EXIT_USAGE;
	}
	if (check_resumption_flags(&o->tls) != 0)
		return TB_CLI_EXIT_USAGE;
	/* A certificate is what the TLS backends need; the plaintext one
	 * (scheme http) has no use for it. */
	if (strcmp(tb_tls_url_scheme(), "https") == 0 &&
	    (o->tls.cert_file == NULL || o->tls.key_file == NULL)) {
		fprintf(stderr,
			PROG ": --cert and --key are required "
			     "(make a pair with: openssl req -x509 "
			     "-newkey rsa:2048 -nodes -keyout k.pem "
			     "-out c.pem -days 30 -subj /CN=localhost)\n");
		return TB_CLI_EXIT_USAGE;
	}
	return TB_CLI_RUN;
}

void
tb_options_free(struct tb_options *o)
{
	free(o->cpus);
	o->cpus = NULL;
}
