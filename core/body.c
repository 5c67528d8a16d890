/* body.c: the random [A-Z0-9] body and the prebuilt 20 KiB responses. */
#include "body.h"

#include <stdlib.h>
#include <string.h>

struct prebuilt {
	char *text;
	size_t len;
	size_t header_len;
	size_t date_off; /* where the Date value sits in text */
};

static char *body;
static struct prebuilt defaults[3]; /* indexed by enum tb_http_connection */
static int64_t date_second;	    /* the second date and the prebuilt carry */
static char date[TB_HTTP_DATE_LEN];

/* splitmix64: tiny, seedable with any value, and good enough that the
 * body does not compress to nothing (compression is off anyway). */
static uint64_t
splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

int
tb_body_init(uint64_t seed)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	static const char date_field[] = "\r\nDate: ";
	uint64_t state = seed;
	size_t i;
	int c;

	body = malloc(TB_BODY_SIZE);
	if (body == NULL)
		return -1;
	for (i = 0; i < TB_BODY_SIZE; i++) {
		/* The high 32 bits scaled to [0, 36): no modulo bias worth
		 * naming. */
		uint64_t r = splitmix64(&state) >> 32;

		body[i] = alphabet[(r * 36) >> 32];
	}
	/* Dated 1970 until the first tb_body_date call. */
	tb_http_date(date, 0);
	date_second = 0;
	for (c = 0; c < 3; c++) {
		struct prebuilt *p = &defaults[c];
		const char *field;

		p->text = malloc(TB_HTTP_RESPONSE_MAX + TB_HTTP_DEFAULT_SIZE);
		if (p->text == NULL) {
			tb_body_free();
			return -1;
		}
		p->header_len = tb_http_response_header(
			p->text, TB_HTTP_DEFAULT_SIZE,
			(enum tb_http_connection)c, date);
		memcpy(p->text + p->header_len, body, TB_HTTP_DEFAULT_SIZE);
		p->len = p->header_len + TB_HTTP_DEFAULT_SIZE;
		field = strstr(p->text, date_field);
		p->date_off = (size_t)(field - p->text) + strlen(date_field);
	}
	return 0;
}

void
tb_body_free(void)
{
	int c;

	for (c = 0; c < 3; c++) {
		free(defaults[c].text);
		defaults[c].text = NULL;
	}
	free(body);
	body = NULL;
}

const char *
tb_body_at(uint64_t off, size_t max, size_t *len)
{
	size_t start = (size_t)(off % TB_BODY_SIZE);
	size_t room = TB_BODY_CHUNK - start % TB_BODY_CHUNK;

	*len = max < room ? max : room;
	return body + start;
}

const char *
tb_body_date(int64_t now)
{
	int c;

	if (now == date_second)
		return date;
	date_second = now;
	tb_http_date(date, now);
	for (c = 0; c < 3; c++)
		memcpy(defaults[c].text + defaults[c].date_off, date,
		       TB_HTTP_DATE_LEN);
	return date;
}

const char *
tb_body_default_response(enum tb_http_connection conn, size_t *len,
			 size_t *header_len)
{
	*len = defaults[conn].len;
	*header_len = defaults[conn].header_len;
	return defaults[conn].text;
}

size_t
tb_body_unshare(const char *p, char *buf)
{
	int c;

	for (c = 0; c < 3; c++) {
		const struct prebuilt *d = &defaults[c];
		uintptr_t off = (uintptr_t)p - (uintptr_t)d->text;

		if (off < d->header_len) {
			size_t n = d->header_len - (size_t)off;

			memcpy(buf, p, n);
			return n;
		}
	}
	return 0;
}
