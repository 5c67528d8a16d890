/* common.c: the library-neutral parts of every TLS backend (common.h). */
#define _GNU_SOURCE /* dladdr */
#include "common.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "tb_build.h"
#include "tls_names.h"

enum tb_status
tb_tls_io_status(int saved_errno, int eof)
{
	/* A peer that drops TCP without close_notify has ended its connection,
	 * not attacked it: HTTP framing (Content-Length) guards against
	 * truncation.  ECONNRESET (an RST: SO_LINGER 0, or data unread at its
	 * close), EPIPE (writing after its RST), ENOTCONN (gone before the
	 * library's first socket call) and ETIMEDOUT (keepalive or
	 * retransmission gave up: the peer vanished) all say the same: the
	 * other end is gone.  Counted as a close by every backend, so
	 * tls_errors compares; any other errno is a local failure (EBADF,
	 * ENOMEM, ...) and an error. */
	if (eof)
		return TB_CLOSED;
	switch (saved_errno) {
	case ECONNRESET:
	case EPIPE:
	case ENOTCONN:
	case ETIMEDOUT:
		return TB_CLOSED;
	}
	return TB_ERROR;
}

enum tb_status
tb_err_set(struct tb_err *e, int kind, unsigned long code, int sys_errno)
{
	e->kind = kind;
	e->code = code;
	e->sys_errno = sys_errno;
	return TB_ERROR;
}

const char *
tb_err_text(const struct tb_err *e,
	    void (*lib_text)(unsigned long code, char *buf, size_t len))
{
	static char text[320];
	size_t used;

	switch (e->kind) {
	case TB_ERR_ERRNO:
		snprintf(text, sizeof(text), "socket: %s",
			 strerror(e->sys_errno));
		return text;
	case TB_ERR_LIBRARY:
		lib_text(e->code, text, sizeof(text) - 64);
		if (e->sys_errno != 0) {
			used = strlen(text);
			snprintf(text + used, sizeof(text) - used, ": %s",
				 strerror(e->sys_errno));
		}
		return text;
	case TB_ERR_RESULT:
		snprintf(text, sizeof(text),
			 "unexpected result %lu from the library", e->code);
		return text;
	}
	return "no error recorded";
}

size_t
tb_identity_facts(struct tb_tls_fact *f, const char *header_version,
		  const char *runtime_version)
{
	f[0] = (struct tb_tls_fact){"flavor", TB_LIB_FLAVOR};
	f[1] = (struct tb_tls_fact){"header_version", header_version};
	f[2] = (struct tb_tls_fact){"runtime_version", runtime_version};
	f[3] = (struct tb_tls_fact){
		"prefix", TB_LIB_PREFIX[0] != '\0' ? TB_LIB_PREFIX : "system"};
	return 4;
}

size_t
tb_buildinfo_facts(struct tb_tls_fact *f, size_t max)
{
	static const char prefix[] = "buildinfo.";
	/* Each line becomes "buildinfo.<key>\0<value>\0": the line plus the
	 * prefix and one byte. */
	static char store[sizeof(TB_BUILDINFO) * 2 + 64 * sizeof(prefix)];
	const char *line = TB_BUILDINFO;
	char *out = store, *end = store + sizeof(store);
	size_t n = 0;

	while (*line != '\0' && n < max) {
		const char *eol = strchr(line, '\n');
		size_t linelen =
			eol != NULL ? (size_t)(eol - line) : strlen(line);
		const char *sep = memmem(line, linelen, ": ", 2);

		if (sep != NULL && sep > line &&
		    (size_t)(end - out) > sizeof(prefix) + linelen + 1) {
			size_t klen = (size_t)(sep - line);
			size_t vlen = linelen - klen - 2;

			f[n].key = out;
			out += sprintf(out, "%s%.*s", prefix, (int)klen, line) +
			       1;
			f[n].value = out;
			memcpy(out, sep + 2, vlen);
			out[vlen] = '\0';
			out += vlen + 1;
			n++;
		}
		line += linelen + (eol != NULL);
	}
	return n;
}

const char *
tb_loaded_file(const void *sym)
{
	Dl_info info;

	/* dladdr's prototype takes a data pointer; a function's address
	 * converts on every platform dladdr exists on. */
	if (dladdr(sym, &info) == 0 || info.dli_fname == NULL)
		return NULL;
	return info.dli_fname;
}

int
tb_check_loaded_from(const void *sym, const char *what, char *err,
		     size_t errlen)
{
	char real_dir[PATH_MAX], real_file[PATH_MAX];
	const char *file;
	size_t len;

	if (TB_LIB_DIR[0] == '\0')
		return 0;
	file = tb_loaded_file(sym);
	if (file == NULL || realpath(file, real_file) == NULL) {
		snprintf(err, errlen, "cannot tell which %s was loaded", what);
		return -1;
	}
	if (realpath(TB_LIB_DIR, real_dir) == NULL) {
		snprintf(err, errlen, "library dir %s: %s", TB_LIB_DIR,
			 strerror(errno));
		return -1;
	}
	len = strlen(real_dir);
	if (strncmp(real_file, real_dir, len) != 0 || real_file[len] != '/') {
		/* Debian's BoringSSL and a tuned build share sonames, so only
		 * the file's directory tells them apart. */
		snprintf(err, errlen,
			 "%s loaded from %s, not from the build's %s (check "
			 "LD_LIBRARY_PATH, LD_PRELOAD and the RPATH)",
			 what, real_file, real_dir);
		return -1;
	}
	return 0;
}

const char *
tb_list_next(const char **p, const char *seps, size_t *len)
{
	const char *start = *p;

	if (*start == '\0')
		return NULL;
	*len = strcspn(start, seps);
	*p = start + *len;
	if (**p != '\0')
		++*p;
	return start;
}

int
tb_list_find_bad(const char *list, const char *seps,
		 int (*accepts)(void *arg, const char *entry), void *arg,
		 char *bad, size_t badlen)
{
	char entry[256];
	const char *p = list, *e;
	size_t len;

	while ((e = tb_list_next(&p, seps, &len)) != NULL) {
		if (len == 0)
			continue;
		if (len >= sizeof(entry)) {
			snprintf(bad, badlen, "%.40s...", e);
			return -1;
		}
		memcpy(entry, e, len);
		entry[len] = '\0';
		if (strchr("!-+@", entry[0]) != NULL ||
		    strpbrk(entry, "[|]") != NULL)
			continue;
		if (!accepts(arg, entry)) {
			snprintf(bad, badlen, "%s", entry);
			return -1;
		}
	}
	return 0;
}

void
tb_lacks(char *err, size_t errlen, const char *library, const char *what,
	 const char *has_it)
{
	snprintf(err, errlen, "%s has no %s (%s)", library, what, has_it);
}

int
tb_lacks_group(char *err, size_t errlen, const char *library, uint16_t group,
	       const struct tb_group_reason *reasons, size_t n)
{
	char buf[16];

	for (size_t i = 0; i < n; i++)
		if (reasons[i].group == group) {
			tb_lacks(err, errlen, library,
				 tb_tls_group_name(group, buf, sizeof(buf)),
				 reasons[i].has_it);
			return 1;
		}
	return 0;
}

/* ---- tb_key_type: just enough PEM and DER to name a private key ---- */

/* Base64 body of the first PEM block into der; its label into label.
 * Returns the DER length, or 0. */
static size_t
pem_first_block(const char *pem, char *label, size_t labellen, uint8_t *der,
		size_t cap)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
		"wxyz0123456789+/";
	const char *p = strstr(pem, "-----BEGIN "), *end, *q;
	uint32_t acc = 0;
	size_t n = 0, len;
	int bits = 0;

	if (p == NULL)
		return 0;
	p += 11;
	end = strstr(p, "-----");
	if (end == NULL || (len = (size_t)(end - p)) >= labellen)
		return 0;
	memcpy(label, p, len);
	label[len] = '\0';
	for (q = end + 5; *q != '\0' && *q != '-' && *q != '='; q++) {
		const char *c = strchr(b64, *q);

		if (c == NULL)
			continue; /* line breaks */
		acc = acc << 6 | (uint32_t)(c - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == cap)
				return 0;
			der[n++] = (uint8_t)(acc >> bits);
		}
	}
	return n;
}

/* One DER element at *p (< end): its tag, and its contents in *body and
 * *len; *p moves past it.  0, or -1 when malformed. */
static int
der_next(const uint8_t **p, const uint8_t *end, int *tag, const uint8_t **body,
	 size_t *len)
{
	const uint8_t *s = *p;
	size_t l;

	if (end - s < 2)
		return -1;
	*tag = s[0];
	l = s[1];
	s += 2;
	if (l & 0x80) {
		unsigned k = l & 0x7f;

		if (k == 0 || k > 3 || (size_t)(end - s) < k)
			return -1;
		for (l = 0; k > 0; k--)
			l = l << 8 | *s++;
	}
	if ((size_t)(end - s) < l)
		return -1;
	*body = s;
	*len = l;
	*p = s + l;
	return 0;
}

struct oid_name {
	const char *der; /* the OID's content bytes */
	size_t len;
	enum tb_key_family family;
	const char *name;
};

#define OID(s) s, sizeof(s) - 1

/* Algorithm OIDs of PKCS#8, then the named curves of EC keys. */
static const struct oid_name key_oids[] = {
	{OID("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01"), TB_KEY_RSA, "RSA"},
	{OID("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0a"), TB_KEY_RSA, "RSA-PSS"},
	{OID("\x2a\x86\x48\xce\x3d\x02\x01"), TB_KEY_EC, "ECDSA"},
	{OID("\x2b\x65\x70"), TB_KEY_EDDSA, "Ed25519"},
	{OID("\x2b\x65\x71"), TB_KEY_EDDSA, "Ed448"},
	{OID("\x60\x86\x48\x01\x65\x03\x04\x03\x11"), TB_KEY_MLDSA,
	 "ML-DSA-44"},
	{OID("\x60\x86\x48\x01\x65\x03\x04\x03\x12"), TB_KEY_MLDSA,
	 "ML-DSA-65"},
	{OID("\x60\x86\x48\x01\x65\x03\x04\x03\x13"), TB_KEY_MLDSA,
	 "ML-DSA-87"},
};

static const struct oid_name curve_oids[] = {
	{OID("\x2a\x86\x48\xce\x3d\x03\x01\x07"), TB_KEY_EC, "ECDSA P-256"},
	{OID("\x2b\x81\x04\x00\x22"), TB_KEY_EC, "ECDSA P-384"},
	{OID("\x2b\x81\x04\x00\x23"), TB_KEY_EC, "ECDSA P-521"},
};

static const struct oid_name *
find_oid(const struct oid_name *t, size_t n, const uint8_t *der, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].len == len && memcmp(t[i].der, der, len) == 0)
			return &t[i];
	return NULL;
}

/* The curve OID in [0] of an ECPrivateKey (RFC 5915) body. */
static const struct oid_name *
ec_curve(const uint8_t *p, const uint8_t *end)
{
	const uint8_t *body, *oid;
	size_t len, oid_len;
	int tag;

	while (der_next(&p, end, &tag, &body, &len) == 0)
		if (tag == 0xa0 &&
		    der_next(&body, body + len, &tag, &oid, &oid_len) == 0 &&
		    tag == 0x06)
			return find_oid(curve_oids,
					sizeof(curve_oids) /
						sizeof(curve_oids[0]),
					oid, oid_len);
	return NULL;
}

enum tb_key_family
tb_key_type(const char *key_file, const char **name)
{
	/* start-up only, so static: an ML-DSA-87 key is 10 KB of PEM */
	static char pem[24576];
	static uint8_t der[16384];
	char label[64];
	const struct oid_name *alg = NULL, *curve = NULL;
	const uint8_t *p = der, *end, *body, *alg_body;
	size_t n, len, alg_len;
	int tag;
	FILE *f = fopen(key_file, "r");

	*name = "unknown";
	if (f == NULL)
		return TB_KEY_UNKNOWN;
	n = fread(pem, 1, sizeof(pem) - 1, f);
	fclose(f);
	pem[n] = '\0';
	n = pem_first_block(pem, label, sizeof(label), der, sizeof(der));
	end = der + n;
	/* every form is one SEQUENCE */
	if (n == 0 || der_next(&p, end, &tag, &body, &len) != 0 || tag != 0x30)
		return TB_KEY_UNKNOWN;
	p = body;
	end = body + len;
	if (strcmp(label, "RSA PRIVATE KEY") == 0) {
		alg = &key_oids[0];
	} else if (strcmp(label, "EC PRIVATE KEY") == 0) {
		alg = &key_oids[2];
		curve = ec_curve(p, end);
	} else if (strcmp(label, "PRIVATE KEY") == 0 &&
		   /* PKCS#8: version, then AlgorithmIdentifier */
		   der_next(&p, end, &tag, &body, &len) == 0 && tag == 0x02 &&
		   der_next(&p, end, &tag, &alg_body, &alg_len) == 0 &&
		   tag == 0x30) {
		p = alg_body;
		end = alg_body + alg_len;
		if (der_next(&p, end, &tag, &body, &len) == 0 && tag == 0x06)
			alg = find_oid(key_oids,
				       sizeof(key_oids) / sizeof(key_oids[0]),
				       body, len);
		if (alg != NULL && alg->family == TB_KEY_EC &&
		    der_next(&p, end, &tag, &body, &len) == 0 && tag == 0x06)
			curve = find_oid(curve_oids,
					 sizeof(curve_oids) /
						 sizeof(curve_oids[0]),
					 body, len);
	}
	if (alg == NULL)
		return TB_KEY_UNKNOWN;
	*name = curve != NULL ? curve->name : alg->name;
	return alg->family;
}

struct tb_ticket_keys {
	long lifetime_s;      /* 0: one key, never changed */
	unsigned nkeys;	      /* 1, or TB_TICKET_EPOCHS */
	unsigned char tag[8]; /* this table's half of every key name */
	char text[160];
	struct tb_ticket_key keys[];
};

/* len bytes from the kernel's random source; -1 with errno set. */
static int
fill_random(void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

struct tb_ticket_keys *
tb_ticket_keys_new(long lifetime_s, char *err, size_t errlen)
{
	unsigned nkeys = lifetime_s > 0 ? TB_TICKET_EPOCHS : 1;
	struct tb_ticket_keys *k =
		calloc(1, sizeof(*k) + nkeys * sizeof(k->keys[0]));

	if (k == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	k->lifetime_s = lifetime_s > 0 ? lifetime_s : 0;
	k->nkeys = nkeys;
	if (fill_random(k->tag, sizeof(k->tag)) != 0 ||
	    fill_random(k->keys, nkeys * sizeof(k->keys[0])) != 0) {
		snprintf(err, errlen, "ticket keys: getrandom: %s",
			 strerror(errno));
		free(k);
		return NULL;
	}
	if (k->lifetime_s == 0)
		snprintf(k->text, sizeof(k->text),
			 "shared by all workers; one key for the server's "
			 "life");
	else
		snprintf(k->text, sizeof(k->text),
			 "shared by all workers; a new key every %ld s, the "
			 "previous one still opens tickets (keys repeat every "
			 "%d rotations)",
			 k->lifetime_s, TB_TICKET_EPOCHS);
	return k;
}

void
tb_ticket_keys_free(struct tb_ticket_keys *k)
{
	if (k == NULL)
		return;
	explicit_bzero(k->keys, k->nkeys * sizeof(k->keys[0]));
	free(k);
}

/* The wall clock, not the monotonic one, so a test (or an operator) can
 * tell which epoch a moment falls in; every worker reads the same. */
static uint64_t
ticket_epoch(const struct tb_ticket_keys *k)
{
	struct timespec now;

	if (k->lifetime_s == 0)
		return 0;
	clock_gettime(CLOCK_REALTIME, &now);
	return (uint64_t)now.tv_sec / (uint64_t)k->lifetime_s;
}

const struct tb_ticket_key *
tb_ticket_key_now(const struct tb_ticket_keys *k,
		  unsigned char name[TB_TICKET_NAME_LEN])
{
	uint64_t epoch = ticket_epoch(k);
	int i;

	/* The name: the table's tag, then the epoch, big-endian. */
	memcpy(name, k->tag, sizeof(k->tag));
	for (i = 0; i < 8; i++)
		name[8 + i] = (unsigned char)(epoch >> (56 - 8 * i));
	return &k->keys[epoch % k->nkeys];
}

const struct tb_ticket_key *
tb_ticket_key_find(const struct tb_ticket_keys *k,
		   const unsigned char name[TB_TICKET_NAME_LEN], int *renew)
{
	uint64_t epoch = 0, now;
	int i;

	*renew = 0;
	if (memcmp(name, k->tag, sizeof(k->tag)) != 0)
		return NULL; /* another server's, or a forgery */
	for (i = 0; i < 8; i++)
		epoch = epoch << 8 | name[8 + i];
	now = ticket_epoch(k);
	if (epoch + 1 == now)
		*renew = 1;
	else if (epoch != now)
		return NULL; /* two or more epochs old, or from the future */
	return &k->keys[epoch % k->nkeys];
}

const char *
tb_ticket_keys_text(const struct tb_ticket_keys *k)
{
	return k->text;
}

enum tb_status
tb_early_handshake(struct tb_early *e, tb_early_read_fn read, void *conn,
		   struct tb_err *err, int *now)
{
	/* One record's plaintext: what one early-data read returns. */
	unsigned char buf[16384];
	enum tb_status st;
	size_t n;

	*now = 0;
	while (e->reading) {
		st = read(conn, buf, sizeof(buf), &n);
		if (st != TB_OK)
			return st;
		if (n == 0 || e->given)
			continue;
		e->data = malloc(n);
		if (e->data == NULL)
			return tb_err_set(err, TB_ERR_ERRNO, 0, ENOMEM);
		memcpy(e->data, buf, n);
		e->len = n;
		e->off = 0;
		e->given = 1;
		*now = 1;
		return TB_OK;
	}
	return TB_OK;
}

size_t
tb_early_take(struct tb_early *e, void *buf, size_t len)
{
	size_t n = e->len - e->off < len ? e->len - e->off : len;

	if (e->data == NULL)
		return 0;
	memcpy(buf, e->data + e->off, n);
	e->off += n;
	if (e->off == e->len)
		tb_early_free(e);
	return n;
}

void
tb_early_free(struct tb_early *e)
{
	free(e->data);
	e->data = NULL;
	e->len = e->off = 0;
}

const struct tb_tls_fact *
tb_settings_facts(struct tb_settings *s, const struct tb_tls_config *cfg,
		  const struct tb_ticket_keys *keys, enum tb_io_mode io)
{
	int cache = cfg != NULL && (cfg->resumption == TB_RESUME_CACHE ||
				    cfg->resumption == TB_RESUME_BOTH);

	s->facts[0] = (struct tb_tls_fact){"session_cache_size",
					   s->session_cache_size};
	s->facts[1] = (struct tb_tls_fact){"session_lifetime_s",
					   s->session_lifetime_s};
	s->facts[2] = (struct tb_tls_fact){"idle_buffers", s->idle_buffers};
	s->facts[3] = (struct tb_tls_fact){"tickets_per_handshake",
					   s->tickets_per_handshake};
	s->facts[4] = (struct tb_tls_fact){
		"ticket_keys",
		keys != NULL ? tb_ticket_keys_text(keys) : "none"};
	/* Every library's cache lives in the process: nothing is shared
	 * between workers but the ticket keys. */
	s->facts[5] = (struct tb_tls_fact){
		"session_cache",
		cache ? "per worker: a session from the cache (a TLS 1.2 "
			"session ID, a TLS 1.3 stateful ticket) resumes only "
			"on the worker that issued it, 1 in N with N workers"
		      : "off"};
	if (cfg == NULL)
		snprintf(s->psk_mode, sizeof(s->psk_mode), "none (no TLS)");
	else if (cfg->psk_mode == TB_PSK_KE)
		snprintf(s->psk_mode, sizeof(s->psk_mode),
			 "ke (TLS 1.3 resumes with psk_ke, no key exchange, "
			 "when the client offers it%s%s)",
			 s->psk_ke_note != NULL ? "; " : "",
			 s->psk_ke_note != NULL ? s->psk_ke_note : "");
	else
		snprintf(s->psk_mode, sizeof(s->psk_mode),
			 "dhe (TLS 1.3 resumes with psk_dhe_ke)");
	s->facts[6] = (struct tb_tls_fact){"psk_mode", s->psk_mode};
	if (cfg != NULL && cfg->max_early_data > 0)
		snprintf(s->early_data, sizeof(s->early_data),
			 "on: up to %u bytes, answered at once (0.5-RTT)",
			 (unsigned)cfg->max_early_data);
	else
		snprintf(s->early_data, sizeof(s->early_data), "off");
	s->facts[7] = (struct tb_tls_fact){"early_data", s->early_data};
	s->facts[8] = (struct tb_tls_fact){
		"anti_replay", cfg == NULL || cfg->max_early_data == 0
				       ? "n/a (no early data)"
			       : s->anti_replay != NULL ? s->anti_replay
							: "none"};
	s->facts[9] =
		(struct tb_tls_fact){"tls_object_reuse", s->tls_object_reuse};
	s->facts[10] = (struct tb_tls_fact){"io", io == TB_IO_CORE ? "core"
								   : "native"};
	s->facts[11] = (struct tb_tls_fact){NULL, NULL};
	return s->facts;
}

void
tb_settings_number(char *buf, size_t len, long applied, long asked,
		   const char *why)
{
	if (applied == asked || why == NULL)
		snprintf(buf, len, "%ld", applied);
	else
		snprintf(buf, len, "%ld (%s)", applied, why);
}

void
tb_settings_idle(char *buf, size_t len, enum tb_idle_buffers applied,
		 const char *why)
{
	const char *name = applied == TB_IDLE_KEEP ? "keep" : "release";

	if (why == NULL)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "%s (%s)", name, why);
}
