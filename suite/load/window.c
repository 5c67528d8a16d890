/* window.c: the measurement protocol, run on the main thread.
 *
 * warm-up  the load runs, counted apart, until --warmup seconds passed and
 *          every thread reported its slots warm (--warmup-per-slot);
 * quiesce  no new request starts; every in-flight one finishes (kept-alive
 *          connections stay open and idle);
 *          with --control-fd: "window-start\n" out, one line ("go") in;
 * window   starts at "go": exactly -n requests, or -d seconds of starts,
 *          every one completed, none abandoned;
 *          with --control-fd: "window-end\n" out, one line in;
 * finish   the threads close their connections and end.
 *
 * Both pauses hold no request in flight, so the caller can read the
 * server's counters at rest and count the same window as the client.  The
 * threads tell the main thread what they reached through tl_window_report;
 * the main thread announces a phase by storing it and writing each
 * thread's eventfd.  Every wait is bounded by --max-time and by the stop
 * flag (a signal, an unreachable server).
 */
#include "load.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define POLL_MS 100 /* how often a wait looks at the stop flag */

void
tl_window_report(struct tl_run *run, enum tl_report what)
{
	pthread_mutex_lock(&run->lock);
	if (what == TL_REPORT_WARM)
		run->warm++;
	else if (what == TL_REPORT_IDLE)
		run->idle++;
	else
		run->done++;
	pthread_cond_broadcast(&run->cond);
	pthread_mutex_unlock(&run->lock);
}

static bool
stopped(struct tl_run *run)
{
	return atomic_load(&run->stop) != 0;
}

static void
announce(struct tl_run *run, enum tl_phase phase)
{
	uint64_t one = 1;

	atomic_store(&run->phase, (int)phase);
	for (int i = 0; i < run->threads; i++)
		if (write(run->thread[i].wake_fd, &one, sizeof(one)) < 0 &&
		    errno != EAGAIN)
			tl_stop(run, "cannot wake a thread (eventfd write)");
}

/* Waits until *count reaches every thread and, for the warm-up, until
 * not_before; false when the run stopped first. */
static bool
wait_threads(struct tl_run *run, const int *count, int64_t not_before)
{
	bool ok;

	pthread_mutex_lock(&run->lock);
	for (;;) {
		int64_t now = tl_now_ns();
		if (stopped(run) || now >= run->hard_end_ns) {
			ok = false;
			break;
		}
		if (*count >= run->threads && now >= not_before) {
			ok = true;
			break;
		}
		/* Bounded: a signal only sets the stop flag. */
		int64_t until = now + POLL_MS * 1000000LL;
		if (not_before > now && not_before < until)
			until = not_before;
		struct timespec ts = {.tv_sec = (time_t)(until / 1000000000),
				      .tv_nsec = (long)(until % 1000000000)};
		pthread_cond_timedwait(&run->cond, &run->lock, &ts);
	}
	pthread_mutex_unlock(&run->lock);
	if (!ok && !stopped(run)) {
		char reason[128];
		snprintf(reason, sizeof(reason), "--max-time %g s reached",
			 run->opt->max_time);
		tl_stop(run, reason);
	}
	return ok;
}

/* fd ready for events within the run's bounds; false with a reason set. */
static bool
control_wait(struct tl_run *run, int fd, short events)
{
	struct pollfd p = {.fd = fd, .events = events};

	for (;;) {
		int64_t left = run->hard_end_ns - tl_now_ns();
		if (stopped(run))
			return false;
		if (left <= 0) {
			char reason[160];
			snprintf(reason, sizeof(reason),
				 "--max-time %g s reached waiting on "
				 "--control-fd",
				 run->opt->max_time);
			tl_stop(run, reason);
			return false;
		}
		int ms = left / 1000000 < POLL_MS ? (int)(left / 1000000) + 1
						  : POLL_MS;
		int n = poll(&p, 1, ms);
		if (n > 0)
			return true;
		if (n < 0 && errno != EINTR) {
			tl_stop(run, "--control-fd: poll failed");
			return false;
		}
	}
}

/* Writes the line, then reads one line back and wants "go". */
static bool
control_exchange(struct tl_run *run, const char *line)
{
	int fd = run->opt->control_fd;
	char got[64], reason[200];
	size_t len = strlen(line), off = 0, have = 0;

	while (off < len) {
		if (!control_wait(run, fd, POLLOUT))
			return false;
		ssize_t n = write(fd, line + off, len - off);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			snprintf(reason, sizeof(reason),
				 "--control-fd: cannot write \"%.*s\" (%s)",
				 (int)len - 1, line, strerror(errno));
			tl_stop(run, reason);
			return false;
		}
		off += (size_t)n;
	}
	/* One byte at a time: nothing past the line is taken from the fd. */
	for (;;) {
		char c;
		if (!control_wait(run, fd, POLLIN))
			return false;
		ssize_t n = read(fd, &c, 1);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			snprintf(reason, sizeof(reason),
				 "--control-fd: closed by the caller while "
				 "waiting for \"go\" after \"%.*s\"",
				 (int)len - 1, line);
			tl_stop(run, reason);
			return false;
		}
		if (c == '\n')
			break;
		if (have < sizeof(got) - 1)
			got[have++] = c;
	}
	got[have] = '\0';
	if (have && got[have - 1] == '\r')
		got[--have] = '\0';
	if (strcmp(got, "go") != 0) {
		snprintf(reason, sizeof(reason),
			 "--control-fd: expected \"go\", got \"%s\"", got);
		tl_stop(run, reason);
		return false;
	}
	return true;
}

void
tl_window_run(struct tl_run *run)
{
	const struct tl_options *o = run->opt;
	bool control = o->control_fd >= 0;

	if (atomic_load(&run->phase) == TL_PHASE_WARMUP) {
		int64_t min_end = run->start_ns + (int64_t)(o->warmup * 1e9);
		if (!wait_threads(run, &run->warm, min_end))
			goto finish;
		announce(run, TL_PHASE_QUIESCE);
	}
	if (!wait_threads(run, &run->idle, 0))
		goto finish;
	run->warmup_done = true;
	run->warmup_end_ns = tl_now_ns();
	if (control && !control_exchange(run, "window-start\n"))
		goto finish;

	/* The clocks first: a thread reads them once it sees the phase. */
	run->window_ns = tl_now_ns();
	run->end_ns = o->duration > 0
			      ? run->window_ns + (int64_t)(o->duration * 1e9)
			      : 0;
	announce(run, TL_PHASE_WINDOW);
	if (!wait_threads(run, &run->done, 0))
		goto finish;
	if (control)
		control_exchange(run, "window-end\n");
finish:
	announce(run, TL_PHASE_FINISH);
}
