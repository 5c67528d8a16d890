/* http_response.c: the Date value and the response headers and texts.
 *
 * Every final response carries Date (RFC 9110 6.6.1: an origin server with
 * a clock must send it in 2xx, 3xx and 4xx; 5xx may, and get it too for
 * one shape of header), Server, and a Content-Length that frames it (none
 * in 304, 8.6).  The header fields come in one fixed order, Date second, so
 * body.c can refresh the Date of its prebuilt responses in place.
 */
#include "http.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const struct {
	int status;
	const char *reason;
} reasons[] = {
	{304, "Not Modified"},
	{400, "Bad Request"},
	{404, "Not Found"},
	{405, "Method Not Allowed"},
	{408, "Request Timeout"},
	{412, "Precondition Failed"},
	{413, "Content Too Large"},
	{414, "URI Too Long"},
	{417, "Expectation Failed"},
	{421, "Misdirected Request"},
	{431, "Request Header Fields Too Large"},
	{501, "Not Implemented"},
	{505, "HTTP Version Not Supported"},
};

static void
put_digits(char *p, int value, int digits)
{
	while (digits-- > 0) {
		p[digits] = (char)('0' + value % 10);
		value /= 10;
	}
}

void
tb_http_date(char *out, int64_t t)
{
	static const char days[] = "SunMonTueWedThuFriSat";
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	/* By hand, not strftime: %a and %b follow the locale, and IMF-fixdate
	 * (RFC 9110 5.6.7) wants "Sun, 06 Nov 1994 08:49:37 GMT" whatever it
	 * is. */
	memcpy(out, "Xxx, 00 Xxx 0000 00:00:00 GMT", TB_HTTP_DATE_LEN);
	memcpy(out, days + 3 * tm.tm_wday, 3);
	put_digits(out + 5, tm.tm_mday, 2);
	memcpy(out + 8, months + 3 * tm.tm_mon, 3);
	put_digits(out + 12, (tm.tm_year + 1900) % 10000, 4);
	put_digits(out + 17, tm.tm_hour, 2);
	put_digits(out + 20, tm.tm_min, 2);
	put_digits(out + 23, tm.tm_sec, 2);
}

static const char *
connection_field(enum tb_http_connection conn)
{
	if (conn == TB_HTTP_CLOSE)
		return "Connection: close\r\n";
	if (conn == TB_HTTP_KEEP_ALIVE)
		return "Connection: keep-alive\r\n";
	return "";
}

size_t
tb_http_response_header(char *buf, uint64_t size, enum tb_http_connection conn,
			const char *date)
{
	int n = snprintf(buf, TB_HTTP_RESPONSE_MAX,
			 "HTTP/1.1 200 OK\r\n"
			 "Server: tlsbench\r\n"
			 "Date: %.*s\r\n"
			 "Content-Type: text/plain\r\n"
			 "Content-Length: %llu\r\n"
			 "%s\r\n",
			 TB_HTTP_DATE_LEN, date, (unsigned long long)size,
			 connection_field(conn));

	return n < 0 ? 0 : (size_t)n;
}

size_t
tb_http_response(char *buf, int status, enum tb_http_connection conn,
		 const char *date, size_t *header_len)
{
	const char *reason = NULL;
	char framing[80] = "";
	size_t i;
	int n;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			reason = reasons[i].reason;
	if (reason == NULL)
		return 0;
	/* The body is the reason phrase on a line; a 304 has none, and no
	 * Content-Type or Content-Length (RFC 9110 15.4.5, 8.6). */
	if (status != 304)
		snprintf(framing, sizeof(framing),
			 "Content-Type: text/plain\r\n"
			 "Content-Length: %zu\r\n",
			 strlen(reason) + 1);
	n = snprintf(buf, TB_HTTP_RESPONSE_MAX,
		     "HTTP/1.1 %d %s\r\n"
		     "Server: tlsbench\r\n"
		     "Date: %.*s\r\n"
		     "%s%s%s\r\n",
		     status, reason, TB_HTTP_DATE_LEN, date, framing,
		     /* 15.5.6: a 405 lists what the resource allows. */
		     status == 405 ? "Allow: GET, HEAD\r\n" : "",
		     connection_field(conn));
	if (n < 0 || (size_t)n >= TB_HTTP_RESPONSE_MAX)
		return 0;
	*header_len = (size_t)n;
	if (status == 304)
		return (size_t)n;
	n = snprintf(buf + n, TB_HTTP_RESPONSE_MAX - (size_t)n, "%s\n", reason);
	if (n < 0 || *header_len + (size_t)n >= TB_HTTP_RESPONSE_MAX)
		return 0;
	return *header_len + (size_t)n;
}
