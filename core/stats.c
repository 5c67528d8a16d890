/* stats.c: the shared counter slots, process usage, and the JSON line. */
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

struct tb_stats {
	int workers;
	struct timespec start;
	struct tb_stats_slot *slots; /* shared with the workers */
};

struct tb_stats *
tb_stats_new(int workers)
{
	struct tb_stats *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->workers = workers;
	clock_gettime(CLOCK_MONOTONIC, &s->start);
	s->slots =
		mmap(NULL, sizeof(*s->slots) * (size_t)workers,
		     PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s->slots == MAP_FAILED) {
		free(s);
		return NULL;
	}
	return s;
}

void
tb_stats_free(struct tb_stats *s)
{
	if (s == NULL)
		return;
	munmap(s->slots, sizeof(*s->slots) * (size_t)s->workers);
	free(s);
}

struct tb_stats_slot *
tb_stats_slot(struct tb_stats *s, int worker)
{
	return &s->slots[worker];
}

static uint64_t
timeval_us(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * 1000000 + (uint64_t)tv->tv_usec;
}

void
tb_usage_add_rusage(struct tb_usage *u, const struct rusage *ru)
{
	u->user_us += timeval_us(&ru->ru_utime);
	u->sys_us += timeval_us(&ru->ru_stime);
	u->max_rss_kib += (uint64_t)ru->ru_maxrss;
}

void
tb_usage_add_self(struct tb_usage *u)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) == 0)
		tb_usage_add_rusage(u, &ru);
}

static int
read_small_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* utime and stime from /proc/<pid>/stat (fields 14 and 15, counted after
 * the command name, which may hold spaces), VmHWM from .../status. */
int
tb_usage_add_pid(struct tb_usage *u, pid_t pid)
{
	char path[64], buf[4096];
	unsigned long long utime, stime;
	long hz = sysconf(_SC_CLK_TCK);
	const char *p;
	int field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_small_file(path, buf, sizeof(buf)) != 0)
		return -1;
	p = strrchr(buf, ')');
	if (p == NULL)
		return -1;
	/* p + 2 starts field 3 (state); skip to field 14. */
	p += 2;
	for (field = 3; field < 14 && p != NULL; field++) {
		p = strchr(p, ' ');
		if (p != NULL)
			p++;
	}
	if (p == NULL || sscanf(p, "%llu %llu", &utime, &stime) != 2)
		return -1;
	if (hz <= 0)
		hz = 100;
	u->user_us += utime * 1000000ULL / (unsigned long long)hz;
	u->sys_us += stime * 1000000ULL / (unsigned long long)hz;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (read_small_file(path, buf, sizeof(buf)) == 0) {
		p = strstr(buf, "\nVmHWM:");
		if (p != NULL)
			u->max_rss_kib += strtoull(p + 7, NULL, 10);
	}
	return 0;
}

int
tb_stats_write(const struct tb_stats *s, int fd, const struct tb_usage *u)
{
	struct tb_stats_slot sum;
	struct timespec now;
	char line[2048];
	size_t off;
	ssize_t n;
	int i;

	memset(&sum, 0, sizeof(sum));
	for (i = 0; i < s->workers; i++) {
		const struct tb_stats_slot *w = &s->slots[i];

		sum.conns_accepted +=
			__atomic_load_n(&w->conns_accepted, __ATOMIC_RELAXED);
#define TB_STATS_SUM(name)                                                     \
	sum.name += __atomic_load_n(&w->name, __ATOMIC_RELAXED);
		TB_STATS_COUNTERS(TB_STATS_SUM)
#undef TB_STATS_SUM
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	off = (size_t)snprintf(
		line, sizeof(line),
		"{\"pid\": %d, \"workers\": %d, \"uptime_s\": %.3f, "
		"\"conns_accepted\": %llu, \"conns_active\": %llu",
		(int)getpid(), s->workers,
		(double)(now.tv_sec - s->start.tv_sec) +
			(double)(now.tv_nsec - s->start.tv_nsec) / 1e9,
		(unsigned long long)sum.conns_accepted,
		(unsigned long long)(sum.conns_accepted - sum.conns_completed -
				     sum.conns_failed - sum.conns_timed_out));
#define TB_STATS_JSON(name)                                                    \
	off += (size_t)snprintf(line + off, sizeof(line) - off,                \
				", \"" #name "\": %llu",                       \
				(unsigned long long)sum.name);
	TB_STATS_COUNTERS(TB_STATS_JSON)
#undef TB_STATS_JSON
	off += (size_t)snprintf(
		line + off, sizeof(line) - off,
		", \"cpu_user_us\": %llu, \"cpu_sys_us\": %llu, "
		"\"max_rss_kib\": %llu}\n",
		(unsigned long long)u->user_us, (unsigned long long)u->sys_us,
		(unsigned long long)u->max_rss_kib);

	/* One write with O_APPEND: a line is never interleaved or split. */
	n = write(fd, line, off);
	return n == (ssize_t)off ? 0 : -1;
}
