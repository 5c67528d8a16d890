/* common.h: what every TLS backend needs and no library provides: the
 * socket-level status table, build facts from BUILDINFO, the check of which
 * library file was loaded, list splitting, and the applied-settings facts.
 * Library-neutral; linked into every build next to the one backend. */
#ifndef TB_BACKENDS_COMMON_H
#define TB_BACKENDS_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "tls.h"

/* The one classification of a connection that ended at the socket: eof
 * (the peer's FIN, no close_notify) and the errno values of a peer that
 * went away are TB_CLOSED, anything else TB_ERROR.  Backends call it for
 * their library's "system call failed / EOF" result. */
enum tb_status tb_tls_io_status(int saved_errno, int eof);

/* Why a backend call failed, kept raw (no formatting in the failing path)
 * until tb_tls_conn_error() asks; tb_err_text() then makes the text. */
enum tb_err_kind {
	TB_ERR_NONE,
	TB_ERR_ERRNO,	/* a socket call failed: sys_errno */
	TB_ERR_LIBRARY, /* the library's error code, and sys_errno if set */
	TB_ERR_RESULT,	/* an unexpected result code from the library */
};

struct tb_err {
	unsigned long code;
	int sys_errno;
	int kind; /* enum tb_err_kind */
};

/* Records a failure; returns TB_ERROR for the caller to pass on. */
enum tb_status tb_err_set(struct tb_err *e, int kind, unsigned long code,
			  int sys_errno);
/* The text of a recorded failure, with lib_text for library codes; valid
 * until the next call. */
const char *tb_err_text(const struct tb_err *e,
			void (*lib_text)(unsigned long code, char *buf,
					 size_t len));

/* flavor, header_version, runtime_version and prefix (the keys every
 * backend reports) into f; returns how many were written (4). */
size_t tb_identity_facts(struct tb_tls_fact *f, const char *header_version,
			 const char *runtime_version);

/* One buildinfo.<key> fact per "key: value" line of a prefix build's
 * BUILDINFO, at most max; returns how many.  The strings live in static
 * storage: call once. */
size_t tb_buildinfo_facts(struct tb_tls_fact *f, size_t max);

/* The shared object holding sym (a function of the library), or NULL. */
const char *tb_loaded_file(const void *sym);

/* 0 when the shared object holding sym lies in the build's library
 * directory (TB_LIB_DIR; always 0 without one), else -1 and a reason
 * naming what (e.g. "libssl") was loaded from where. */
int tb_check_loaded_from(const void *sym, const char *what, char *err,
			 size_t errlen);

/* Walks a list: returns the next entry (not terminated; *len bytes) and
 * advances *p past it and one separator from seps, or NULL at the end.
 * Empty entries are returned too (len 0), so a caller can refuse them. */
const char *tb_list_next(const char **p, const char *seps, size_t *len);

/* Libraries that accept a list when any entry is known and drop the rest
 * silently: try each plain entry alone with accepts() (1: known), so the
 * error names the bad one.  Entries with OpenSSL list operators (!x, -x,
 * +x, @x, [a|b]) are left to the call on the whole list.  0 when all are
 * known; -1 with the first unknown entry (or the reason the list cannot
 * be split) in bad. */
int tb_list_find_bad(const char *list, const char *seps,
		     int (*accepts)(void *arg, const char *entry), void *arg,
		     char *bad, size_t badlen);

/* The one wording of a library limit, for a refusal at start-up:
 * "<library> has no <what> (<has_it>)", e.g. "OpenSSL 3.0.19 has no
 * X25519MLKEM768 (OpenSSL 3.5 or later has it)". */
void tb_lacks(char *err, size_t errlen, const char *library, const char *what,
	      const char *has_it);

/* Why a library may lack a group: what has it, by NamedGroup id. */
struct tb_group_reason {
	uint16_t group;
	const char *has_it;
};

/* When group is in reasons[0..n-1]: its tb_lacks() line (the group by
 * its IANA name) in err, and 1; else 0 (the caller's "unknown"). */
int tb_lacks_group(char *err, size_t errlen, const char *library,
		   uint16_t group, const struct tb_group_reason *reasons,
		   size_t n);

/* Key families the backends treat differently. */
enum tb_key_family {
	TB_KEY_UNKNOWN,
	TB_KEY_RSA,
	TB_KEY_EC,
	TB_KEY_EDDSA,
	TB_KEY_MLDSA,
};

/* The family of the key in a PEM private key file and its name ("RSA",
 * "ECDSA P-256", "Ed25519", "ML-DSA-65", ...; "unknown"), read from the
 * encoding alone (PKCS#8, or the traditional RSA and EC forms), so that a
 * library which cannot parse the key is refused with what it lacks rather
 * than its parse error.  TB_KEY_UNKNOWN when unreadable or not one of
 * these. */
enum tb_key_family tb_key_type(const char *key_file, const char **name);

/* Session-ticket keys, one table for every backend.  A backend seals
 * each ticket it issues with tb_ticket_key_now() and opens a ticket with
 * the key tb_ticket_key_find() returns for the ticket's key name, both
 * from its library's ticket-key callback: AES-256-CBC for the state and
 * HMAC-SHA256 over name, IV and ciphertext (RFC 5077's layout, OpenSSL's
 * own default), so every library does the same work per ticket.
 *
 * The table is made before the workers fork and never written again:
 * every worker holds the same keys, and a ticket one worker issued opens
 * on any other.  With a lifetime S the key in use is the one for epoch
 * floor(realtime / S), so all workers change key in the same second
 * without talking; a ticket opens during its own epoch and the next
 * (S to 2S seconds after issue), never later.  Keys are drawn once, so
 * they repeat every TB_TICKET_EPOCHS epochs; a key name carries its
 * epoch, which is what refuses an old ticket. */
enum {
	TB_TICKET_NAME_LEN = 16, /* the key name at the head of a ticket */
	TB_TICKET_AES_LEN = 32,	 /* AES-256 */
	TB_TICKET_HMAC_LEN = 32, /* HMAC-SHA256 */
	TB_TICKET_IV_LEN = 16,
	TB_TICKET_EPOCHS = 64, /* keys drawn for a rotating table */
};

struct tb_ticket_key {
	unsigned char aes[TB_TICKET_AES_LEN];
	unsigned char hmac[TB_TICKET_HMAC_LEN];
};

struct tb_ticket_keys;

/* lifetime_s 0: one key for the server's life.  NULL with a reason in err
 * (the system's random source failed, or out of memory). */
struct tb_ticket_keys *tb_ticket_keys_new(long lifetime_s, char *err,
					  size_t errlen);
void tb_ticket_keys_free(struct tb_ticket_keys *k);
/* The key that seals a ticket issued now, and its name into name. */
const struct tb_ticket_key *
tb_ticket_key_now(const struct tb_ticket_keys *k,
		  unsigned char name[TB_TICKET_NAME_LEN]);
/* The key named name when it still opens tickets, else NULL; *renew is 1
 * when it is the previous epoch's (the client should get a ticket under
 * the current key), else 0. */
const struct tb_ticket_key *
tb_ticket_key_find(const struct tb_ticket_keys *k,
		   const unsigned char name[TB_TICKET_NAME_LEN], int *renew);
/* "shared by all workers, one key" or "...; rotated every S s, ...", for
 * tls_settings. */
const char *tb_ticket_keys_text(const struct tb_ticket_keys *k);

/* Early data on one connection (tls.h), the part every library shares.
 * reading: the library's early-data read is still the one to call;
 * given: tb_tls_handshake returned TB_OK on early data.  The first early
 * data comes before the core has a buffer to read into: it is kept here
 * and handed out by the next reads (tb_early_take). */
struct tb_early {
	unsigned char *data; /* kept early data, NULL when none is left */
	size_t len, off;
	uint8_t reading;
	uint8_t given;
};

/* One read of the library's early data into buf: TB_OK with *n > 0 for
 * data, TB_OK with *n == 0 once there is no more (not sent, rejected, or
 * all read; the function then clears reading), else the status. */
typedef enum tb_status (*tb_early_read_fn)(void *conn, void *buf, size_t len,
					   size_t *n);

/* The early-data part of tb_tls_handshake: reads while e->reading.  The
 * first data makes the handshake TB_OK with *now 1, the data kept; data
 * after that comes only while a closing connection finishes its handshake
 * (tls.h) and is dropped.  TB_OK with *now 0: go on with the library's
 * handshake call.  Errors in err. */
enum tb_status tb_early_handshake(struct tb_early *e, tb_early_read_fn read,
				  void *conn, struct tb_err *err, int *now);
/* Up to len kept bytes into buf; how many (0 once none are left). */
size_t tb_early_take(struct tb_early *e, void *buf, size_t len);
void tb_early_free(struct tb_early *e);

/* tb_tls_ctx_facts storage: a backend writes the four values and
 * tls_object_reuse (as applied, with a reason where they differ from what
 * was asked), then tb_settings_facts() points the list at them and adds
 * what every backend applies alike: the ticket keys (keys: the backend's
 * table, or NULL without tickets), the session cache's reach, the PSK mode
 * and early data (cfg NULL: the plaintext backend, none of them), and
 * io. */
struct tb_settings {
	char session_cache_size[64];
	char session_lifetime_s[64];
	char idle_buffers[96];
	char tickets_per_handshake[64];
	const char *psk_ke_note; /* how the library applies psk_ke, or NULL */
	char psk_mode[256];
	/* With early data on: the library's protection against a replayed
	 * 0-RTT flight, and what it costs. */
	const char *anti_replay;
	char early_data[96];
	const char *tls_object_reuse; /* static text: "yes (...)", "no (...)" */
	struct tb_tls_fact facts[12];
};

const struct tb_tls_fact *tb_settings_facts(struct tb_settings *s,
					    const struct tb_tls_config *cfg,
					    const struct tb_ticket_keys *keys,
					    enum tb_io_mode io);
/* "N", or "N (why)" when applied differs from asked. */
void tb_settings_number(char *buf, size_t len, long applied, long asked,
			const char *why);
/* "release" or "keep", then " (why)" when why is not NULL. */
void tb_settings_idle(char *buf, size_t len, enum tb_idle_buffers applied,
		      const char *why);

#endif
