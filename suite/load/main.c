/* main.c: tlsbench-load starts its threads, runs the phases (window.c),
 * waits for the threads, merges their counters, reports and picks the exit
 * status (0 all ok, 1 failures or cut short, 2 usage). */
#include "load.h"

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <openssl/ssl.h>

static struct tl_run run;

void
tl_stop(struct tl_run *r, const char *reason)
{
	pthread_mutex_lock(&r->lock);
	if (r->reason[0] == '\0')
		snprintf(r->reason, sizeof(r->reason), "%s", reason);
	atomic_store(&r->stop, 1);
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

/* Only an atomic store: the threads notice it on their next tick. */
static void
on_signal(int sig)
{
	(void)sig;
	atomic_store(&run.stop, 1);
}

static char *
build_request(const struct tl_options *o, size_t *len)
{
	size_t cap = strlen(o->url.path) + strlen(o->url.authority) + 128;
	char *req = malloc(cap);
	int n;

	if (req == NULL)
		return NULL;
	n = snprintf(req, cap,
		     "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: tlsbench-load"
		     "\r\n%s\r\n",
		     o->head ? "HEAD" : "GET", o->url.path, o->url.authority,
		     o->close ? "Connection: close\r\n" : "");
	*len = (size_t)n;
	return req;
}

/* The one-line reason a run did not pass, or "" when it did. */
static void
judge(const struct tl_result *r, char *reason, size_t len)
{
	const struct tl_stats *st = &r->stats;
	size_t n;

	if (!run.warmup_done && (st->slots_never_resumed || st->slots_cold) &&
	    strstr(run.reason, "--max-time")) {
		/* What the warm-up waited for says more than the time. */
		n = (size_t)snprintf(reason, len,
				     "warm-up incomplete (%s):", run.reason);
		if (st->slots_never_resumed && n < len)
			n += (size_t)snprintf(
				reason + n, len - n,
				" %llu of %d slots never resumed a session "
				"(does the server resume?)",
				(unsigned long long)st->slots_never_resumed,
				r->opt->connections);
		if (st->slots_cold && n < len)
			snprintf(reason + n, len - n,
				 " %llu of %d slots completed fewer than %llu "
				 "requests",
				 (unsigned long long)st->slots_cold,
				 r->opt->connections,
				 (unsigned long long)r->opt->warmup_per_slot);
		return;
	}
	if (run.reason[0]) {
		snprintf(reason, len, "%s", run.reason);
		return;
	}
	if (st->failed) {
		n = (size_t)snprintf(reason, len,
				     "%llu of %llu requests failed:",
				     (unsigned long long)st->failed,
				     (unsigned long long)(st->ok + st->failed));
		for (int i = 0; i < TL_ERR_COUNT && n < len; i++) {
			if (st->errors[i] == 0)
				continue;
			n += (size_t)snprintf(reason + n, len - n,
					      " %s %llu (%s)",
					      tl_error_names[i],
					      (unsigned long long)st->errors[i],
					      st->error_detail[i]);
		}
		return;
	}
	if (st->ok == 0) {
		snprintf(reason, len, "no request completed");
		return;
	}
	reason[0] = '\0';
}

int
main(int argc, char **argv)
{
	static struct tl_options opt;
	static struct tl_result result;
	struct tl_thread *threads;
	struct sigaction sa;
	sigset_t block, old;
	pthread_condattr_t ca;
	char err[512], reason[1024];
	int64_t last_end = 0;

	tl_options_parse(argc, argv, &opt);
	signal(SIGPIPE, SIG_IGN);
	/* OpenSSL allocates and frees a lot per handshake; glibc would hand
	 * freed heap back to the kernel (and grow it again page by page on
	 * the next connection): a syscall storm in the client's CPU time. */
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	mallopt(M_MMAP_THRESHOLD, 4 << 20);
	if (opt.url.tls) {
		/* Bad TLS options are usage errors: find them before load. */
		SSL_CTX *ctx = tl_tls_context(&opt, err, sizeof(err));
		if (ctx == NULL) {
			fprintf(stderr, "tlsbench-load: %s\n", err);
			return 2;
		}
		SSL_CTX_free(ctx);
	}

	run.opt = &opt;
	run.threads = opt.threads;
	pthread_mutex_init(&run.lock, NULL);
	/* Waits time out on the same clock as everything else. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&run.cond, &ca);
	run.request = build_request(&opt, &run.request_len);
	if (opt.replay)
		return tl_replay_run(&opt, run.request, run.request_len);
	threads = calloc((size_t)opt.threads, sizeof(*threads));
	if (run.request == NULL || threads == NULL) {
		fprintf(stderr, "tlsbench-load: out of memory\n");
		return 1;
	}
	run.thread = threads;
	for (int i = 0; i < opt.threads; i++) {
		struct tl_thread *t = &threads[i];
		uint64_t nt = (uint64_t)opt.threads;
		t->run = &run;
		t->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (t->wake_fd < 0) {
			perror("tlsbench-load: eventfd");
			return 1;
		}
		t->index = i;
		t->cpu = opt.ncpus ? opt.cpus[i % opt.ncpus] : -1;
		t->slots = opt.connections / opt.threads +
			   (i < opt.connections % opt.threads);
		if (opt.requests)
			t->quota = opt.requests / nt +
				   ((uint64_t)i < opt.requests % nt);
		t->rate = opt.rate / opt.threads;
	}
	pthread_barrier_init(&run.ready, NULL, (unsigned)opt.threads + 1);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* Signals go to this thread only; the workers poll the flag. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (int i = 0; i < opt.threads; i++) {
		if (pthread_create(&threads[i].tid, NULL, tl_thread_main,
				   &threads[i]) != 0) {
			fprintf(stderr,
				"tlsbench-load: cannot start thread "
				"%d\n",
				i);
			exit(1);
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	pthread_barrier_wait(&run.ready);
	run.start_ns = tl_now_ns();
	run.hard_end_ns = run.start_ns + (int64_t)(opt.max_time * 1e9);
	atomic_store(&run.phase, opt.warmup > 0 || opt.warmup_per_slot
					 ? TL_PHASE_WARMUP
					 : TL_PHASE_QUIESCE);
	pthread_barrier_wait(&run.ready);
	tl_window_run(&run);

	result.opt = &opt;
	result.threads = opt.threads;
	tl_stats_init(&result.stats);
	for (int i = 0; i < opt.threads; i++) {
		pthread_join(threads[i].tid, NULL);
		tl_stats_merge(&result.stats, &threads[i].stats);
		if (threads[i].end_ns > last_end)
			last_end = threads[i].end_ns;
	}
	if (atomic_load(&run.stop) && run.reason[0] == '\0')
		snprintf(run.reason, sizeof(run.reason), "interrupted");
	if (run.window_ns && last_end > run.window_ns)
		result.duration_s = (double)(last_end - run.window_ns) / 1e9;
	result.warmup_s =
		(double)((run.warmup_done ? run.warmup_end_ns : tl_now_ns()) -
			 run.start_ns) /
		1e9;
	judge(&result, reason, sizeof(reason));
	result.reason = reason;

	if (opt.json)
		tl_report_json(&result);
	else
		tl_report_text(&result);
	fflush(stdout);
	if (reason[0]) {
		fprintf(stderr, "tlsbench-load: %s\n", reason);
		return 1;
	}
	for (int i = 0; i < opt.threads; i++)
		close(threads[i].wake_fd);
	free(threads);
	free((char *)run.request);
	return 0;
}
