/* options.c: the command line of tlsbench-load and its --help. */
#include "load.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tb_build.h"

static const char usage_text[] =
	"usage: tlsbench-load [options] URL\n"
	"\n"
	"An HTTPS/HTTP/1.1 load generator that tells full, resumed and "
	"keep-alive TLS\n"
	"apart.  URL is https://HOST[:PORT]/PATH or http://...; HOST is an "
	"IP address\n"
	"(127.0.0.1, [::1]) or localhost.  The client uses one OpenSSL, "
	"the system's\n"
	"or the build's -Dload_openssl_prefix (--version names it).\n"
	"\n"
	"Load:\n"
	"  -c, --connections N   concurrent connections (default 1)\n"
	"  -n, --requests N      requests to make in the window, exactly\n"
	"  -d, --duration S      instead: start requests for S seconds; those "
	"in flight\n"
	"                        then finish, none is abandoned\n"
	"  -t, --threads N       threads, each with its own event loop and "
	"an equal\n"
	"                        share of connections, requests and rate "
	"(default 1)\n"
	"      --cpu LIST        pin thread i to the i-th CPU of LIST "
	"(e.g. 1 or 2-3,5)\n"
	"  -R, --rate R          open loop: start R requests/s on a fixed "
	"schedule;\n"
	"                        latency counts from each request's "
	"scheduled start\n"
	"                        (no coordinated omission); a request "
	"started more than\n"
	"                        1 ms late for want of a free connection "
	"is a late start\n"
	"      --close           one request per connection "
	"(Connection: close): every\n"
	"                        request pays a TCP connect and a TLS "
	"handshake\n"
	"      --resume MODE     none (default): every handshake is full; "
	"ticket: offer\n"
	"                        the connection slot's last session "
	"(tickets on);\n"
	"                        id: the same with tickets off, so a TLS 1.2 "
	"server must\n"
	"                        use its session-ID cache (TLS 1.3 has no "
	"IDs: there\n"
	"                        id behaves as ticket and the server's "
	"cache decides)\n"
	"      --warmup S        run at least S seconds of load first, not "
	"counted (a\n"
	"                        failed warm-up request ends the run)\n"
	"      --warmup-per-slot K\n"
	"                        the warm-up lasts until every connection "
	"slot completed\n"
	"                        K requests and, with --close and --resume, "
	"one resumed\n"
	"                        handshake (default 0: off; with --warmup "
	"both must hold)\n"
	"      --control-fd FD   at the window's edges, with nothing in "
	"flight, write\n"
	"                        \"window-start\" (then \"window-end\") "
	"and a newline to FD\n"
	"                        and wait for one line (\"go\") from it; FD "
	"is one end of a\n"
	"                        socket pair the caller passed in\n"
	"      --timeout S       per-request timeout, connect included "
	"(default 10)\n"
	"      --max-time S      hard bound on the whole run, warm-up "
	"included\n"
	"                        (default 600)\n"
	"  -m, --method M        GET (default) or HEAD\n"
	"\n"
	"TLS:\n"
	"      --tls V           1.2 or 1.3: offer only that version "
	"(default: both)\n"
	"      --ciphers L       TLS 1.2 cipher list (OpenSSL syntax)\n"
	"      --ciphersuites L  TLS 1.3 suites, colon separated\n"
	"      --groups L        key exchange groups, e.g. X25519:P-256\n"
	"      --sni NAME        server name to send and verify (default: "
	"the URL host\n"
	"                        when it is a name; none for an address)\n"
	"      --alpn LIST       comma-separated ALPN protocols "
	"(default: none sent)\n"
	"      --cacert FILE     trust the CA certificates in FILE (PEM) "
	"instead of the\n"
	"                        system store\n"
	"      --insecure        do not verify the server certificate "
	"(verification is on\n"
	"                        by default, as in real clients)\n"
	"      --early-data      send the request as TLS 1.3 early data on "
	"resumptions\n"
	"                        whose ticket allows it (needs --resume "
	"ticket); a\n"
	"                        rejected one is sent again after the "
	"handshake\n"
	"      --psk-mode M      PSK key exchange offered on TLS 1.3 "
	"resumption: dhe\n"
	"                        (default, psk_dhe_ke), both (psk_dhe_ke "
	"and psk_ke: the\n"
	"                        server picks) or ke (refused: OpenSSL "
	"always offers dhe)\n"
	"      --replay-early-data\n"
	"                        a check, not load: one full handshake for a "
	"ticket, then\n"
	"                        the same session twice with the request as "
	"early data;\n"
	"                        prints whether each early data was "
	"accepted\n"
	"\n"
	"Checks and output:\n"
	"      --expect-length N every 2xx body must be N bytes, else "
	"body_mismatch\n"
	"      --expect-sha256 H every 2xx body must have SHA-256 H (hex; "
	"costs client CPU)\n"
	"      --json            print one JSON object on stdout instead of "
	"the summary\n"
	"  -h, --help            this text;  --version: the version and the "
	"client's\n"
	"                        OpenSSL\n"
	"\n"
	"Exit status: 0 when every request succeeded; 1 when any failed or the "
	"run was\n"
	"cut short (one-line reason on stderr); 2 on a usage error.\n"
	"\n"
	"Notes: each full handshake uses a fresh key share.  Many --close "
	"connections/s\n"
	"on loopback can exhaust ephemeral ports (connect errors naming "
	"EADDRNOTAVAIL);\n"
	"the system fix is net.ipv4.tcp_tw_reuse=1 or a wider "
	"net.ipv4.ip_local_port_range.\n";

enum {
	OPT_CPU = 256,
	OPT_CLOSE,
	OPT_RESUME,
	OPT_TLS,
	OPT_CIPHERS,
	OPT_CIPHERSUITES,
	OPT_GROUPS,
	OPT_SNI,
	OPT_ALPN,
	OPT_INSECURE,
	OPT_CACERT,
	OPT_WARMUP,
	OPT_WARMUP_PER_SLOT,
	OPT_CONTROL_FD,
	OPT_EARLY_DATA,
	OPT_PSK_MODE,
	OPT_REPLAY,
	OPT_TIMEOUT,
	OPT_MAX_TIME,
	OPT_EXPECT_SHA256,
	OPT_EXPECT_LENGTH,
	OPT_JSON,
	OPT_VERSION,
};

static const struct option long_options[] = {
	{"connections", required_argument, NULL, 'c'},
	{"requests", required_argument, NULL, 'n'},
	{"duration", required_argument, NULL, 'd'},
	{"threads", required_argument, NULL, 't'},
	{"rate", required_argument, NULL, 'R'},
	{"method", required_argument, NULL, 'm'},
	{"help", no_argument, NULL, 'h'},
	{"cpu", required_argument, NULL, OPT_CPU},
	{"close", no_argument, NULL, OPT_CLOSE},
	{"resume", required_argument, NULL, OPT_RESUME},
	{"tls", required_argument, NULL, OPT_TLS},
	{"ciphers", required_argument, NULL, OPT_CIPHERS},
	{"ciphersuites", required_argument, NULL, OPT_CIPHERSUITES},
	{"groups", required_argument, NULL, OPT_GROUPS},
	{"sni", required_argument, NULL, OPT_SNI},
	{"alpn", required_argument, NULL, OPT_ALPN},
	{"insecure", no_argument, NULL, OPT_INSECURE},
	{"cacert", required_argument, NULL, OPT_CACERT},
	{"warmup", required_argument, NULL, OPT_WARMUP},
	{"warmup-per-slot", required_argument, NULL, OPT_WARMUP_PER_SLOT},
	{"control-fd", required_argument, NULL, OPT_CONTROL_FD},
	{"early-data", no_argument, NULL, OPT_EARLY_DATA},
	{"psk-mode", required_argument, NULL, OPT_PSK_MODE},
	{"replay-early-data", no_argument, NULL, OPT_REPLAY},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"max-time", required_argument, NULL, OPT_MAX_TIME},
	{"expect-sha256", required_argument, NULL, OPT_EXPECT_SHA256},
	{"expect-length", required_argument, NULL, OPT_EXPECT_LENGTH},
	{"json", no_argument, NULL, OPT_JSON},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

static void __attribute__((noreturn, format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("tlsbench-load: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see tlsbench-load --help)\n", stderr);
	exit(2);
}

static uint64_t
parse_count(const char *flag, const char *s, uint64_t min, uint64_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < min || v > max)
		usage_error("%s wants a whole number from %llu to %llu, got "
			    "\"%s\"",
			    flag, (unsigned long long)min,
			    (unsigned long long)max, s);
	return v;
}

static double
parse_seconds(const char *flag, const char *s, double min, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < min || v > max)
		usage_error("%s wants a number from %g to %g, got \"%s\"", flag,
			    min, max, s);
	return v;
}

/* "1", "0,2", "2-3,5": the CPUs threads are pinned to, in order. */
static void
parse_cpus(const char *s, struct tl_options *o)
{
	const char *p = s;

	o->ncpus = 0;
	while (*p) {
		char *end;
		long a = strtol(p, &end, 10), b;
		if (end == p || a < 0 || a >= TL_MAX_CPUS)
			goto bad;
		b = a;
		p = end;
		if (*p == '-') {
			b = strtol(p + 1, &end, 10);
			if (end == p + 1 || b < a || b >= TL_MAX_CPUS)
				goto bad;
			p = end;
		}
		for (long c = a; c <= b && o->ncpus < TL_MAX_CPUS; c++)
			o->cpus[o->ncpus++] = (int)c;
		if (*p == ',')
			p++;
		else if (*p)
			goto bad;
	}
	if (o->ncpus > 0)
		return;
bad:
	usage_error("--cpu wants a list like 0 or 2-3,5, got \"%s\"", s);
}

static void
parse_sha256(const char *s, struct tl_options *o)
{
	if (strlen(s) != 64)
		goto bad;
	for (int i = 0; i < 32; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1 ||
		    !strchr("0123456789abcdefABCDEF", s[2 * i]) ||
		    !strchr("0123456789abcdefABCDEF", s[2 * i + 1]))
			goto bad;
		o->sha256[i] = (unsigned char)v;
	}
	o->expect_sha256 = true;
	return;
bad:
	usage_error("--expect-sha256 wants 64 hex digits, got \"%s\"", s);
}

void
tl_options_parse(int argc, char **argv, struct tl_options *o)
{
	char err[512];
	int ch;
	bool have_n = false, have_d = false;

	memset(o, 0, sizeof(*o));
	o->connections = 1;
	o->threads = 1;
	o->timeout = 10;
	o->max_time = 600;
	o->expect_length = -1;
	o->control_fd = -1;

	while ((ch = getopt_long(argc, argv, "c:n:d:t:R:m:h", long_options,
				 NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->connections =
				(int)parse_count("-c", optarg, 1, 1000000);
			break;
		case 'n':
			o->requests =
				parse_count("-n", optarg, 1, UINT64_C(1) << 50);
			have_n = true;
			break;
		case 'd':
			o->duration = parse_seconds("-d", optarg, 0.001, 1e7);
			have_d = true;
			break;
		case 't':
			o->threads = (int)parse_count("-t", optarg, 1, 1024);
			break;
		case 'R':
			o->rate = parse_seconds("-R", optarg, 0.001, 1e8);
			break;
		case 'm':
			if (strcasecmp(optarg, "GET") == 0)
				o->head = false;
			else if (strcasecmp(optarg, "HEAD") == 0)
				o->head = true;
			else
				usage_error("-m wants GET or HEAD, got \"%s\"",
					    optarg);
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case OPT_VERSION:
			printf("tlsbench-load %s\nclient_library: %s\n",
			       TB_VERSION, tl_tls_library());
			exit(0);
		case OPT_CPU:
			parse_cpus(optarg, o);
			break;
		case OPT_CLOSE:
			o->close = true;
			break;
		case OPT_RESUME:
			if (strcmp(optarg, "none") == 0)
				o->resume = TL_RESUME_NONE;
			else if (strcmp(optarg, "ticket") == 0)
				o->resume = TL_RESUME_TICKET;
			else if (strcmp(optarg, "id") == 0)
				o->resume = TL_RESUME_ID;
			else
				usage_error("--resume wants none, ticket or "
					    "id, got \"%s\"",
					    optarg);
			break;
		case OPT_TLS:
			if (strcmp(optarg, "1.2") == 0)
				o->tls_version = 12;
			else if (strcmp(optarg, "1.3") == 0)
				o->tls_version = 13;
			else
				usage_error("--tls wants 1.2 or 1.3, got "
					    "\"%s\"",
					    optarg);
			break;
		case OPT_CIPHERS:
			o->ciphers = optarg;
			break;
		case OPT_CIPHERSUITES:
			o->ciphersuites = optarg;
			break;
		case OPT_GROUPS:
			o->groups = optarg;
			break;
		case OPT_SNI:
			o->sni = optarg;
			break;
		case OPT_ALPN:
			o->alpn = optarg;
			break;
		case OPT_INSECURE:
			o->insecure = true;
			break;
		case OPT_CACERT:
			o->cacert = optarg;
			break;
		case OPT_WARMUP:
			o->warmup = parse_seconds("--warmup", optarg, 0, 1e6);
			break;
		case OPT_WARMUP_PER_SLOT:
			o->warmup_per_slot = parse_count("--warmup-per-slot",
							 optarg, 0, 1000000);
			break;
		case OPT_CONTROL_FD:
			o->control_fd = (int)parse_count("--control-fd", optarg,
							 0, 1 << 20);
			if (fcntl(o->control_fd, F_GETFD) == -1)
				usage_error("--control-fd %d is not an open "
					    "file descriptor (pass one end of "
					    "a socket pair to the child)",
					    o->control_fd);
			break;
		case OPT_EARLY_DATA:
			o->early_data = true;
			break;
		case OPT_PSK_MODE:
			if (strcmp(optarg, "dhe") == 0)
				o->psk_mode = TL_PSK_DHE;
			else if (strcmp(optarg, "ke") == 0)
				o->psk_mode = TL_PSK_KE;
			else if (strcmp(optarg, "both") == 0)
				o->psk_mode = TL_PSK_BOTH;
			else
				usage_error("--psk-mode wants dhe, ke or both, "
					    "got \"%s\"",
					    optarg);
			break;
		case OPT_REPLAY:
			o->replay = true;
			break;
		case OPT_TIMEOUT:
			o->timeout =
				parse_seconds("--timeout", optarg, 0.001, 1e6);
			break;
		case OPT_MAX_TIME:
			o->max_time =
				parse_seconds("--max-time", optarg, 0.001, 1e7);
			break;
		case OPT_EXPECT_SHA256:
			parse_sha256(optarg, o);
			break;
		case OPT_EXPECT_LENGTH:
			o->expect_length = (int64_t)parse_count(
				"--expect-length", optarg, 0, INT64_MAX);
			break;
		case OPT_JSON:
			o->json = true;
			break;
		default:
			usage_error("unknown or incomplete option");
		}
	}
	if (optind != argc - 1)
		usage_error(optind >= argc ? "give one URL"
					   : "give exactly one URL");
	o->url_text = argv[optind];
	if (o->replay) {
		/* The check needs a ticket that allows early data: TLS 1.3. */
		o->resume = TL_RESUME_TICKET;
		o->early_data = true;
		if (o->tls_version == 12)
			usage_error("--replay-early-data needs TLS 1.3");
		have_n = true;
		o->requests = 3;
	}
	if (have_n == have_d)
		usage_error("give exactly one of -n REQUESTS and -d SECONDS");
	if (o->early_data && o->resume != TL_RESUME_TICKET)
		usage_error("--early-data needs --resume ticket (early data "
			    "rides on a TLS 1.3 ticket)");
	if (o->early_data && o->tls_version == 12)
		usage_error("--early-data needs TLS 1.3");
	if (o->psk_mode != TL_PSK_DHE && o->resume == TL_RESUME_NONE)
		usage_error("--psk-mode applies to resumption: give --resume "
			    "ticket or id");
	if (o->insecure && o->cacert)
		usage_error("--insecure and --cacert exclude each other");
	if (tl_url_parse(o->url_text, &o->url, err, sizeof(err)) != 0)
		usage_error("%s", err);
	if ((o->early_data || o->psk_mode != TL_PSK_DHE) && !o->url.tls)
		usage_error("--early-data and --psk-mode need an https:// URL");
	if (o->threads > o->connections)
		o->threads = o->connections;
	if (o->requests && (uint64_t)o->threads > o->requests)
		o->threads = (int)o->requests;
}
