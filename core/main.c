/* main.c: tlsbench-server start-up, worker processes, signals, shutdown.
 *
 * Everything shared is made before fork: the TLS context (so all workers
 * share session ticket keys and a resumed session works on any of them),
 * the body, the listening sockets and the counter slots.  Each worker then
 * runs its own event loop on its own SO_REUSEPORT socket.
 *
 * `listening URL` is a promise to scripts: every documented signal is
 * handled from then on.  So the handled signals are blocked before
 * anything else happens (one that arrives early stays pending instead of
 * taking its default action, which for SIGUSR1 is to kill us), and the
 * line is printed only once every event loop has its handlers and its
 * listener in place: by the single process itself, or by the master after
 * each worker has said so through a pipe.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "body.h"
#include "cli.h"
#include "server.h"
#include "stats.h"
#include "tls.h"

#define PROG "tlsbench-server"
/* How long the master waits for workers to stop before SIGKILL. */
#define STOP_GRACE_MS 5000

struct server {
	struct tb_options opt;
	char url[128];	   /* announced by the `listening` line */
	sigset_t run_mask; /* the mask before the handled signals were
			      blocked: what a loop restores once ready */
	int ready_fd;	   /* a worker's end of the start-up pipe, or -1 */
	struct tb_tls_ctx *tls;
	struct tb_stats *stats;
	int *listen_fds;
	pid_t *pids;	      /* workers; 0 once reaped */
	struct rusage *usage; /* of reaped workers */
	int stats_fd; /* opened once: a server out of fds still reports */
};

static volatile sig_atomic_t got_usr1, got_stop, got_chld;

static void
master_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else if (sig == SIGCHLD)
		got_chld = 1;
	else
		got_stop = 1;
}

/* Every signal the server handles, blocked from the first instruction of
 * main until a loop has its handler: a signal sent right after `listening`
 * (or before) waits instead of killing the process.  old gets the mask to
 * restore. */
static void
block_handled_signals(sigset_t *old)
{
	sigset_t block;

	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, old);
}

static void
server_free(struct server *s)
{
	if (s->tls != NULL)
		tb_tls_ctx_free(s->tls);
	tb_stats_free(s->stats);
	free(s->listen_fds);
	free(s->pids);
	free(s->usage);
	tb_body_free();
	tb_options_free(&s->opt);
	if (s->stats_fd > STDERR_FILENO)
		close(s->stats_fd);
}

/* Connections are file descriptors: take the hard limit, and leave room
 * under it for listeners, logs and the library. */
static void
raise_fd_limit(struct tb_options *o)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (o->max_conns == 0) {
		rlim_t n = rl.rlim_cur > 128 ? rl.rlim_cur - 64 : 64;

		o->max_conns = n > 100000000 ? 100000000 : (long)n;
	}
}

static int
check_cpus(const struct tb_options *o)
{
	cpu_set_t allowed;
	int i;

	if (o->cpus == NULL)
		return 0;
	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0)
		CPU_ZERO(&allowed);
	for (i = 0; i < o->ncpus; i++) {
		if (!CPU_ISSET(o->cpus[i], &allowed)) {
			fprintf(stderr,
				PROG
				": --cpu: CPU %d is not available to "
				"this process (see nproc, taskset -p $$)\n",
				o->cpus[i]);
			return -1;
		}
	}
	return 0;
}

static void
pin_cpu(const struct tb_options *o, int index)
{
	cpu_set_t set;
	int cpu;

	if (o->cpus == NULL)
		return;
	cpu = o->cpus[index % o->ncpus];
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		fprintf(stderr, PROG ": worker %d: cannot pin to CPU %d: %s\n",
			index, cpu, strerror(errno));
}

static void
write_stats(struct server *s, int workers_running)
{
	struct tb_usage u = {0}, self = {0};
	int i;

	tb_usage_add_self(&self);
	u.user_us = self.user_us;
	u.sys_us = self.sys_us;
	if (!workers_running) {
		/* The single process is the worker. */
		u.max_rss_kib = self.max_rss_kib;
	} else {
		/* max_rss_kib sums the workers' peaks (the master's few
		 * hundred KiB are left out): the memory the server needs. */
		for (i = 0; i < s->opt.workers; i++) {
			if (s->pids[i] > 0)
				tb_usage_add_pid(&u, s->pids[i]);
			else
				tb_usage_add_rusage(&u, &s->usage[i]);
		}
	}
	if (tb_stats_write(s->stats, s->stats_fd, &u) != 0)
		fprintf(stderr, PROG ": --stats-file %s: %s\n",
			s->opt.stats_file ? s->opt.stats_file : "(stdout)",
			strerror(errno));
}

static void
announce(const struct server *s)
{
	printf("listening %s\n", s->url);
	fflush(stdout);
}

/* ---- one event loop: the single process, or a worker ---- */

struct loop {
	struct server *s;
	struct tb_worker w;
	int single;
};

static void
loop_stop_cb(evutil_socket_t sig, short what, void *arg)
{
	struct loop *l = arg;

	(void)sig;
	(void)what;
	tb_worker_stop(&l->w);
	event_base_loopbreak(l->w.base);
}

static void
loop_stats_cb(evutil_socket_t sig, short what, void *arg)
{
	struct loop *l = arg;

	(void)sig;
	(void)what;
	write_stats(l->s, 0);
}

/* The loop can take every signal it handles and every connection: say so
 * (the single process to the world, a worker to the master), then let the
 * signals that waited in the meantime in. */
static void
loop_ready(struct server *s, int single)
{
	if (single) {
		announce(s);
	} else {
		char one = 1;

		while (write(s->ready_fd, &one, 1) < 0 && errno == EINTR)
			;
		close(s->ready_fd);
		s->ready_fd = -1;
	}
	sigprocmask(SIG_SETMASK, &s->run_mask, NULL);
}

/* Runs until SIGTERM (or SIGINT/SIGUSR1 in single mode); 0 or 1. */
static int
run_loop(struct server *s, int index, int single)
{
	struct loop l = {.s = s, .single = single};
	struct event *sigs[3] = {NULL, NULL, NULL};
	struct event_base *base = event_base_new();
	int rc = 1, i;

	if (base == NULL) {
		fprintf(stderr, PROG ": worker %d: cannot create event base\n",
			index);
		close(s->listen_fds[index]);
		return 1;
	}
	/* Two priorities: signals (0) run before connection work (1, the
	 * default), so a stats request or a stop is answered within one loop
	 * turn even when a thousand handshakes are queued. */
	event_base_priority_init(base, 2);
	if (tb_worker_init(&l.w, base, &s->opt, s->tls,
			   tb_stats_slot(s->stats, index),
			   s->listen_fds[index]) != 0) {
		fprintf(stderr, PROG ": worker %d: out of memory\n", index);
		event_base_free(base);
		return 1;
	}
	sigs[0] = evsignal_new(base, SIGTERM, loop_stop_cb, &l);
	if (single) {
		sigs[1] = evsignal_new(base, SIGINT, loop_stop_cb, &l);
		sigs[2] = evsignal_new(base, SIGUSR1, loop_stats_cb, &l);
	}
	for (i = 0; i < 3; i++)
		if (sigs[i] != NULL) {
			event_priority_set(sigs[i], 0);
			evsignal_add(sigs[i], NULL);
		}
	loop_ready(s, single);

	rc = event_base_dispatch(base) < 0 ? 1 : 0;

	tb_worker_free(&l.w);
	for (i = 0; i < 3; i++)
		if (sigs[i] != NULL)
			event_free(sigs[i]);
	event_base_free(base);
	return rc;
}

/* ---- several workers ---- */

static void
worker_main(struct server *s, int index)
{
	int i, rc;

	/* The master answers SIGUSR1 and SIGINT (a terminal's ^C reaches the
	 * whole process group); workers stop only on the master's SIGTERM,
	 * which stays blocked (pending, not lost) until the loop handles it. */
	signal(SIGUSR1, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	/* Never outlive a master killed with SIGKILL. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	for (i = 0; i < s->opt.workers; i++)
		if (i != index)
			close(s->listen_fds[i]);
	pin_cpu(&s->opt, index);
	rc = run_loop(s, index, 0);
	server_free(s);
	exit(rc);
}

static int
live_workers(const struct server *s)
{
	int i, n = 0;

	for (i = 0; i < s->opt.workers; i++)
		n += s->pids[i] > 0;
	return n;
}

static void
reap(struct server *s, int block, int stopping)
{
	struct rusage ru;
	int status, i;
	pid_t pid;

	while ((pid = wait4(-1, &status, block ? 0 : WNOHANG, &ru)) > 0) {
		for (i = 0; i < s->opt.workers; i++) {
			if (s->pids[i] != pid)
				continue;
			s->pids[i] = 0;
			s->usage[i] = ru;
			if (stopping && WIFEXITED(status) &&
			    WEXITSTATUS(status) == 0)
				break;
			if (WIFSIGNALED(status))
				fprintf(stderr,
					PROG ": worker %d (pid %d) killed by "
					     "signal %d (%s)\n",
					i, (int)pid, WTERMSIG(status),
					strsignal(WTERMSIG(status)));
			else
				fprintf(stderr,
					PROG ": worker %d (pid %d) exited with "
					     "status %d\n",
					i, (int)pid, WEXITSTATUS(status));
			break;
		}
		if (block && live_workers(s) == 0)
			break;
	}
}

static void
stop_workers(struct server *s)
{
	struct timespec tick = {0, 10 * 1000 * 1000};
	int i, waited;

	for (i = 0; i < s->opt.workers; i++)
		if (s->pids[i] > 0)
			kill(s->pids[i], SIGTERM);
	for (waited = 0; waited < STOP_GRACE_MS && live_workers(s) > 0;
	     waited += 10) {
		reap(s, 0, 1);
		if (live_workers(s) > 0)
			nanosleep(&tick, NULL);
	}
	for (i = 0; i < s->opt.workers; i++) {
		if (s->pids[i] > 0) {
			fprintf(stderr,
				PROG ": worker %d (pid %d) ignored SIGTERM for "
				     "%d ms: killing it\n",
				i, (int)s->pids[i], STOP_GRACE_MS);
			kill(s->pids[i], SIGKILL);
		}
	}
	if (live_workers(s) > 0)
		reap(s, 1, 1);
}

/* Each worker writes one byte to the start-up pipe when its loop is ready;
 * 0 once all have, -1 when one died first (its end closed without a byte). */
static int
await_workers(const struct server *s, int fd)
{
	int got = 0;

	while (got < s->opt.workers) {
		char buf[64];
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (int)n;
	}
	return 0;
}

static int
run_master(struct server *s)
{
	struct sigaction sa;
	int i, rc = 0, pipe_fds[2];

	/* The handled signals are blocked since start-up (see main); the
	 * handlers only set flags, read between sigsuspend() calls. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = master_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
		fprintf(stderr, PROG ": pipe: %s\n", strerror(errno));
		return 1;
	}

	for (i = 0; i < s->opt.workers; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			close(pipe_fds[0]);
			s->ready_fd = pipe_fds[1];
			worker_main(s, i);
		}
		if (pid < 0) {
			fprintf(stderr, PROG ": fork: %s\n", strerror(errno));
			got_stop = 1;
			rc = 1;
			break;
		}
		s->pids[i] = pid;
	}
	/* The workers own the listening sockets and the pipe's write end. */
	for (i = 0; i < s->opt.workers; i++)
		close(s->listen_fds[i]);
	close(pipe_fds[1]);
	if (rc == 0 && await_workers(s, pipe_fds[0]) != 0) {
		fprintf(stderr, PROG ": a worker died during start-up\n");
		got_stop = 1;
		rc = 1;
	}
	close(pipe_fds[0]);
	if (rc == 0)
		announce(s);

	while (!got_stop) {
		sigsuspend(&s->run_mask);
		if (got_chld) {
			got_chld = 0;
			reap(s, 0, 0);
			if (live_workers(s) == 0) {
				fprintf(stderr, PROG ": all workers died\n");
				rc = 1;
				break;
			}
		}
		if (got_usr1) {
			got_usr1 = 0;
			write_stats(s, 1);
		}
	}
	stop_workers(s);
	write_stats(s, 1);
	return rc;
}

int
main(int argc, char **argv)
{
	struct server s;
	char err[512];
	int rc;

	memset(&s, 0, sizeof(s));
	s.stats_fd = STDOUT_FILENO;
	s.ready_fd = -1;
	/* Writes to a vanished peer must fail with EPIPE, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	block_handled_signals(&s.run_mask);
	switch (tb_cli_parse(argc, argv, &s.opt)) {
	case TB_CLI_RUN:
		break;
	case TB_CLI_EXIT_OK:
		tb_options_free(&s.opt);
		return 0;
	case TB_CLI_EXIT_USAGE:
		tb_options_free(&s.opt);
		return 2;
	}
	if (tb_tls_check_runtime(err, sizeof(err)) != 0) {
		fprintf(stderr, PROG ": %s\n", err);
		server_free(&s);
		return 2;
	}
	if (check_cpus(&s.opt) != 0) {
		server_free(&s);
		return 2;
	}
	raise_fd_limit(&s.opt);
	if (s.opt.stats_file != NULL) {
		s.stats_fd =
			open(s.opt.stats_file,
			     O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (s.stats_fd < 0) {
			fprintf(stderr, PROG ": --stats-file %s: %s\n",
				s.opt.stats_file, strerror(errno));
			server_free(&s);
			return 2;
		}
	}
	s.tls = tb_tls_ctx_new(&s.opt.tls, err, sizeof(err));
	if (s.tls == NULL) {
		fprintf(stderr, PROG ": %s\n", err);
		server_free(&s);
		return 2;
	}
	s.listen_fds = calloc((size_t)s.opt.workers, sizeof(int));
	s.pids = calloc((size_t)s.opt.workers, sizeof(pid_t));
	s.usage = calloc((size_t)s.opt.workers, sizeof(struct rusage));
	s.stats = tb_stats_new(s.opt.workers);
	if (s.listen_fds == NULL || s.pids == NULL || s.usage == NULL ||
	    s.stats == NULL ||
	    tb_stats_set_tls_settings(s.stats, tb_tls_ctx_facts(s.tls)) != 0 ||
	    tb_body_init(s.opt.seed) != 0) {
		fprintf(stderr, PROG ": out of memory\n");
		server_free(&s);
		return 1;
	}
	rc = tb_listen_open(s.opt.listen, s.opt.workers, s.opt.defer_accept,
			    s.listen_fds, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, PROG ": %s\n", err);
		server_free(&s);
		return rc == -2 ? 2 : 1;
	}
	tb_listen_url(s.listen_fds[0], tb_tls_url_scheme(), s.url,
		      sizeof(s.url));

	if (s.opt.workers == 1) {
		pin_cpu(&s.opt, 0);
		rc = run_loop(&s, 0, 1);
		write_stats(&s, 0);
	} else {
		rc = run_master(&s);
	}
	server_free(&s);
	return rc;
}
