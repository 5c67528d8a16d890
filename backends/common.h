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

/* tb_tls_ctx_facts storage: a backend writes the four values (as
 * applied, with a reason where they differ from what was asked), then
 * tb_settings_facts() points the list at them. */
struct tb_settings {
	char session_cache_size[64];
	char session_lifetime_s[64];
	char idle_buffers[96];
	char tickets_per_handshake[64];
	struct tb_tls_fact facts[5];
};

const struct tb_tls_fact *tb_settings_facts(struct tb_settings *s);
/* "N", or "N (why)" when applied differs from asked. */
void tb_settings_number(char *buf, size_t len, long applied, long asked,
			const char *why);
/* "release" or "keep", then " (why)" when why is not NULL. */
void tb_settings_idle(char *buf, size_t len, enum tb_idle_buffers applied,
		      const char *why);

#endif
