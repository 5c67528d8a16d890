/* stats.h: counters shared by the workers and the stats line. */
#ifndef TB_STATS_H
#define TB_STATS_H

#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "tls.h"

/* Every counter of a worker, in the order of the JSON line (after
 * conns_accepted and conns_active, which are counted directly, so that
 * accepted = active + completed + failed + timed out is a real check).
 * wakeups: socket callbacks the event loop made (accept and connection
 * I/O), the loop's turns as far as the core sees them.  sys_*: the system
 * calls the core makes itself, by kind, failed ones included: accept4;
 * read and recv; write, writev and send; close; setsockopt and shutdown.
 * With --io native the library's own reads and writes are not among them
 * (strace sees those: suite/cost). */
#define TB_STATS_COUNTERS(X)                                                   \
	X(conns_completed)                                                     \
	X(conns_failed)                                                        \
	X(conns_timed_out)                                                     \
	X(handshakes_full)                                                     \
	X(handshakes_resumed)                                                  \
	X(handshakes_failed)                                                   \
	X(requests)                                                            \
	X(status_200)                                                          \
	X(status_400)                                                          \
	X(status_404)                                                          \
	X(status_405)                                                          \
	X(status_408)                                                          \
	X(status_411)                                                          \
	X(status_413)                                                          \
	X(status_431)                                                          \
	X(status_505)                                                          \
	X(status_304)                                                          \
	X(status_412)                                                          \
	X(status_414)                                                          \
	X(status_417)                                                          \
	X(status_421)                                                          \
	X(status_501)                                                          \
	X(bytes_sent)                                                          \
	X(tls_errors)                                                          \
	X(timeouts_header)                                                     \
	X(timeouts_idle)                                                       \
	X(timeouts_write)                                                      \
	X(accept_pauses)                                                       \
	X(resumed_ticket)                                                      \
	X(resumed_id)                                                          \
	X(resumed_psk_ke)                                                      \
	X(resumed_psk_dhe_ke)                                                  \
	X(early_data_offered)                                                  \
	X(early_data_accepted)                                                 \
	X(early_data_rejected)                                                 \
	X(wakeups)                                                             \
	X(sys_accept)                                                          \
	X(sys_read)                                                            \
	X(sys_write)                                                           \
	X(sys_close)                                                           \
	X(sys_other)

#define TB_STATS_FIELD(name) uint64_t name;

/* Distinct negotiated (version, cipher, group, sigalg, resumed, resumed_by,
 * early_data) tuples a worker counts; more go to one "other" count.  A
 * benchmark cell has one or two, a test a handful. */
#define TB_NEGOTIATED_MAX 16

struct tb_negotiated {
	struct tb_tls_params params;
	uint64_t count;
};

/* One worker's counters: only that worker writes them, the reporter only
 * reads, so no locks; a cache line of its own avoids false sharing. */
struct tb_stats_slot {
	uint64_t conns_accepted;
	uint64_t conns_active; /* accepted, not yet freed */
	TB_STATS_COUNTERS(TB_STATS_FIELD)
	uint64_t negotiated_other;
	uint32_t negotiated_used; /* entries published (release/acquire) */
	struct tb_negotiated negotiated[TB_NEGOTIATED_MAX];
} __attribute__((aligned(64)));

/* CPU and memory of the server's processes. */
struct tb_usage {
	uint64_t user_us;
	uint64_t sys_us;
	uint64_t max_rss_kib;
};

struct tb_stats;

/* Slots in a MAP_SHARED mapping: create before fork. */
struct tb_stats *tb_stats_new(int workers);
void tb_stats_free(struct tb_stats *s);
struct tb_stats_slot *tb_stats_slot(struct tb_stats *s, int worker);

/* Add one: relaxed atomics say "single writer, racy reader" to the
 * compiler and cost a plain increment. */
static inline void
tb_count(uint64_t *counter, uint64_t n)
{
	__atomic_store_n(counter,
			 __atomic_load_n(counter, __ATOMIC_RELAXED) + n,
			 __ATOMIC_RELAXED);
}

/* Take one off a gauge (conns_active). */
static inline void
tb_count_down(uint64_t *counter)
{
	__atomic_store_n(counter,
			 __atomic_load_n(counter, __ATOMIC_RELAXED) - 1,
			 __ATOMIC_RELAXED);
}

/* Count one completed handshake: full or resumed, how it resumed
 * (resumed_ticket or resumed_id where the library tells; TLS 1.3: psk_ke
 * when no group was exchanged, else psk_dhe_ke), what became of its early
 * data (offered: accepted or rejected), and under what it
 * negotiated: a walk over at most TB_NEGOTIATED_MAX entries, names made
 * only when a line is written. */
void tb_count_handshake(struct tb_stats_slot *s, const struct tb_tls_params *p);

/* The "tls_settings" object of every line (tb_tls_ctx_facts), rendered
 * once at start-up; 0 or -1 when out of memory. */
int tb_stats_set_tls_settings(struct tb_stats *s,
			      const struct tb_tls_fact *facts);

/* Add a process's CPU time, and its peak RSS to the sum of peaks. */
void tb_usage_add_self(struct tb_usage *u);
int tb_usage_add_pid(struct tb_usage *u, pid_t pid);
void tb_usage_add_rusage(struct tb_usage *u, const struct rusage *ru);

/* Write one JSON line to fd (opened O_APPEND, or stdout); 0 or -1. */
int tb_stats_write(const struct tb_stats *s, int fd, const struct tb_usage *u);

#endif
