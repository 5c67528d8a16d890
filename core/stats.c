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

#include "tls_names.h"

struct tb_stats {
	int workers;
	struct timespec start;
	struct tb_stats_slot *slots; /* shared with the workers */
	char *tls_settings;	     /* `, "tls_settings": {...}` */
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
	free(s->tls_settings);
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

static int
same_params(const struct tb_tls_params *a, const struct tb_tls_params *b)
{
	return a->version == b->version && a->cipher == b->cipher &&
	       a->group == b->group && a->sigalg == b->sigalg &&
	       a->resumed == b->resumed && a->resumed_by == b->resumed_by &&
	       a->early_data == b->early_data;
}

static void
count_resumed(struct tb_stats_slot *s, const struct tb_tls_params *p)
{
	tb_count(&s->handshakes_resumed, 1);
	if (p->resumed_by == TB_RESUMED_TICKET)
		tb_count(&s->resumed_ticket, 1);
	else if (p->resumed_by == TB_RESUMED_ID)
		tb_count(&s->resumed_id, 1);
	/* RFC 8446 4.2.9: only psk_dhe_ke sends a key share. */
	if (p->version >= 0x0304)
		tb_count(p->group == 0 ? &s->resumed_psk_ke
				       : &s->resumed_psk_dhe_ke,
			 1);
}

void
tb_count_handshake(struct tb_stats_slot *s, const struct tb_tls_params *p)
{
	uint32_t n = s->negotiated_used, i;

	if (p->resumed)
		count_resumed(s, p);
	else
		tb_count(&s->handshakes_full, 1);
	if (p->early_data != TB_EARLY_NONE) {
		tb_count(&s->early_data_offered, 1);
		tb_count(p->early_data == TB_EARLY_ACCEPTED
				 ? &s->early_data_accepted
				 : &s->early_data_rejected,
			 1);
	}

	for (i = 0; i < n; i++) {
		if (same_params(&s->negotiated[i].params, p)) {
			tb_count(&s->negotiated[i].count, 1);
			return;
		}
	}
	if (n == TB_NEGOTIATED_MAX) {
		tb_count(&s->negotiated_other, 1);
		return;
	}
	/* The entry is whole before the reader can see it. */
	s->negotiated[n].params = *p;
	__atomic_store_n(&s->negotiated[n].count, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&s->negotiated_used, n + 1, __ATOMIC_RELEASE);
}

/* s as a JSON string body: the names and facts are plain ASCII, but a
 * quote or backslash must not break the line. */
static size_t
json_str(char *out, size_t room, const char *s)
{
	size_t n = 0;

	for (; *s != '\0' && n + 2 < room; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			out[n++] = '\\';
		out[n++] = ch < 0x20 ? '?' : (char)ch;
	}
	out[n] = '\0';
	return n;
}

int
tb_stats_set_tls_settings(struct tb_stats *s, const struct tb_tls_fact *facts)
{
	size_t room = 64, off;
	const struct tb_tls_fact *f;

	for (f = facts; f != NULL && f->key != NULL; f++)
		room += 2 * (strlen(f->key) + strlen(f->value)) + 8;
	free(s->tls_settings);
	s->tls_settings = malloc(room);
	if (s->tls_settings == NULL)
		return -1;
	off = (size_t)snprintf(s->tls_settings, room, ", \"tls_settings\": {");
	for (f = facts; f != NULL && f->key != NULL; f++) {
		off += (size_t)snprintf(s->tls_settings + off, room - off,
					"%s\"", f == facts ? "" : ", ");
		off += json_str(s->tls_settings + off, room - off, f->key);
		off += (size_t)snprintf(s->tls_settings + off, room - off,
					"\": \"");
		off += json_str(s->tls_settings + off, room - off, f->value);
		off += (size_t)snprintf(s->tls_settings + off, room - off,
					"\"");
	}
	snprintf(s->tls_settings + off, room - off, "}");
	return 0;
}

/* Every worker's tuples merged into all (room for workers *
 * TB_NEGOTIATED_MAX); returns how many distinct ones. */
static size_t
merge_negotiated(const struct tb_stats *s, struct tb_negotiated *all,
		 uint64_t *other)
{
	size_t n = 0, k;
	int w;

	*other = 0;
	for (w = 0; w < s->workers; w++) {
		const struct tb_stats_slot *slot = &s->slots[w];
		uint32_t used = __atomic_load_n(&slot->negotiated_used,
						__ATOMIC_ACQUIRE);

		*other += __atomic_load_n(&slot->negotiated_other,
					  __ATOMIC_RELAXED);
		for (uint32_t i = 0; i < used; i++) {
			const struct tb_negotiated *e = &slot->negotiated[i];
			uint64_t count =
				__atomic_load_n(&e->count, __ATOMIC_RELAXED);

			for (k = 0; k < n; k++)
				if (same_params(&all[k].params, &e->params))
					break;
			if (k == n)
				all[n++] = (struct tb_negotiated){e->params, 0};
			all[k].count += count;
		}
	}
	return n;
}

#define name_of(names, v)                                                      \
	((v) < sizeof(names) / sizeof((names)[0]) ? (names)[v] : "?")

static const char *const resumed_by_name[] = {
	[TB_RESUMED_UNKNOWN] = "-",
	[TB_RESUMED_TICKET] = "ticket",
	[TB_RESUMED_ID] = "id",
};

static const char *const early_data_name[] = {
	[TB_EARLY_NONE] = "-",
	[TB_EARLY_ACCEPTED] = "accepted",
	[TB_EARLY_REJECTED] = "rejected",
};

/* `, "negotiated": [...]`, the names made here. */
static size_t
write_negotiated(char *out, size_t room, const struct tb_negotiated *all,
		 size_t n, uint64_t other)
{
	char b1[16], b2[16], b3[16], b4[16];
	size_t off, i;

	off = (size_t)snprintf(out, room, ", \"negotiated\": [");
	for (i = 0; i < n && off < room; i++) {
		const struct tb_tls_params *p = &all[i].params;

		off += (size_t)snprintf(
			out + off, room - off,
			"%s{\"version\": \"%s\", \"cipher\": \"%s\", "
			"\"group\": \"%s\", \"sigalg\": \"%s\", "
			"\"resumed\": %d, \"resumed_by\": \"%s\", "
			"\"early_data\": \"%s\", \"count\": %llu}",
			i > 0 ? ", " : "",
			tb_tls_version_name(p->version, b1, sizeof(b1)),
			tb_tls_cipher_name(p->cipher, b2, sizeof(b2)),
			tb_tls_group_name(p->group, b3, sizeof(b3)),
			tb_tls_sigalg_name(p->sigalg, b4, sizeof(b4)),
			p->resumed, name_of(resumed_by_name, p->resumed_by),
			name_of(early_data_name, p->early_data),
			(unsigned long long)all[i].count);
	}
	if (off < room)
		off += (size_t)snprintf(out + off, room - off,
					"], \"negotiated_other\": %llu",
					(unsigned long long)other);
	return off < room ? off : room - 1;
}

int
tb_stats_write(const struct tb_stats *s, int fd, const struct tb_usage *u)
{
	struct tb_stats_slot sum;
	struct tb_negotiated *all;
	struct timespec now;
	uint64_t other;
	size_t off, room, nneg;
	char *line;
	ssize_t n;
	int i, rc;

	all = calloc((size_t)s->workers * TB_NEGOTIATED_MAX, sizeof(*all));
	if (all == NULL)
		return -1;
	memset(&sum, 0, sizeof(sum));
	for (i = 0; i < s->workers; i++) {
		const struct tb_stats_slot *w = &s->slots[i];

		sum.conns_accepted +=
			__atomic_load_n(&w->conns_accepted, __ATOMIC_RELAXED);
		sum.conns_active +=
			__atomic_load_n(&w->conns_active, __ATOMIC_RELAXED);
#define TB_STATS_SUM(name)                                                     \
	sum.name += __atomic_load_n(&w->name, __ATOMIC_RELAXED);
		TB_STATS_COUNTERS(TB_STATS_SUM)
#undef TB_STATS_SUM
	}
	nneg = merge_negotiated(s, all, &other);
	room = 3072 + nneg * 400 +
	       (s->tls_settings != NULL ? strlen(s->tls_settings) : 0);
	line = malloc(room);
	if (line == NULL) {
		free(all);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	off = (size_t)snprintf(
		line, room,
		"{\"pid\": %d, \"workers\": %d, \"uptime_s\": %.3f, "
		"\"conns_accepted\": %llu, \"conns_active\": %llu",
		(int)getpid(), s->workers,
		(double)(now.tv_sec - s->start.tv_sec) +
			(double)(now.tv_nsec - s->start.tv_nsec) / 1e9,
		(unsigned long long)sum.conns_accepted,
		(unsigned long long)sum.conns_active);
#define TB_STATS_JSON(name)                                                    \
	off += (size_t)snprintf(line + off, room - off,                        \
				", \"" #name "\": %llu",                       \
				(unsigned long long)sum.name);
	TB_STATS_COUNTERS(TB_STATS_JSON)
#undef TB_STATS_JSON
	off += (size_t)snprintf(
		line + off, room - off,
		", \"cpu_user_us\": %llu, \"cpu_sys_us\": %llu, "
		"\"max_rss_kib\": %llu",
		(unsigned long long)u->user_us, (unsigned long long)u->sys_us,
		(unsigned long long)u->max_rss_kib);
	off += write_negotiated(line + off, room - off, all, nneg, other);
	off += (size_t)snprintf(line + off, room - off, "%s}\n",
				s->tls_settings != NULL ? s->tls_settings : "");

	/* One write with O_APPEND: a line is never interleaved or split. */
	n = write(fd, line, off);
	rc = n == (ssize_t)off ? 0 : -1;
	free(line);
	free(all);
	return rc;
}
