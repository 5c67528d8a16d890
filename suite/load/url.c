/* url.c: parses the target URL and resolves its host, once, before load. */
#include "load.h"

#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Only address literals and "localhost": the benchmark must not depend on,
 * or wait for, DNS. */
static int
resolve(struct tl_url *u, char *err, size_t errlen)
{
	struct addrinfo hints = {0}, *res = NULL;
	char port[16];

	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = AI_NUMERICSERV;
	if (strcasecmp(u->host, "localhost") == 0) {
		/* IPv4 first: servers commonly listen on 127.0.0.1 only. */
		hints.ai_family = AF_INET;
	} else {
		hints.ai_family = AF_UNSPEC;
		hints.ai_flags |= AI_NUMERICHOST;
		u->host_is_ip = true;
	}
	snprintf(port, sizeof(port), "%d", u->port);
	int rc = getaddrinfo(u->host, port, &hints, &res);
	if (rc != 0 || res == NULL) {
		snprintf(err, errlen,
			 "cannot use host \"%s\": %s (give an IP address or "
			 "localhost)",
			 u->host, gai_strerror(rc));
		return -1;
	}
	memcpy(&u->addr, res->ai_addr, res->ai_addrlen);
	u->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int
tl_url_parse(const char *text, struct tl_url *u, char *err, size_t errlen)
{
	const char *p, *auth, *host, *host_end, *auth_end;

	memset(u, 0, sizeof(*u));
	if (strncasecmp(text, "https://", 8) == 0) {
		u->tls = true;
		p = text + 8;
	} else if (strncasecmp(text, "http://", 7) == 0) {
		p = text + 7;
	} else {
		snprintf(err, errlen,
			 "URL \"%s\" must start with https:// or http://",
			 text);
		return -1;
	}
	auth = p;
	auth_end = p + strcspn(p, "/?#");
	if (*p == '[') {
		host = p + 1;
		host_end = memchr(host, ']', (size_t)(auth_end - host));
		if (host_end == NULL) {
			snprintf(err, errlen, "URL \"%s\": missing ']'", text);
			return -1;
		}
		p = host_end + 1;
	} else {
		host = p;
		host_end = memchr(p, ':', (size_t)(auth_end - p));
		if (host_end == NULL)
			host_end = auth_end;
		p = host_end;
	}
	if (host_end == host || (size_t)(host_end - host) >= sizeof(u->host)) {
		snprintf(err, errlen, "URL \"%s\": bad host", text);
		return -1;
	}
	memcpy(u->host, host, (size_t)(host_end - host));
	u->port = u->tls ? 443 : 80;
	if (p < auth_end) {
		char *end;
		long port;
		if (*p != ':' || p + 1 == auth_end)
			goto bad_port;
		port = strtol(p + 1, &end, 10);
		if (end != auth_end || port < 1 || port > 65535)
			goto bad_port;
		u->port = (int)port;
	}
	if ((size_t)(auth_end - text) >= sizeof(u->authority) ||
	    strlen(auth_end) + 2 >= sizeof(u->path)) {
		snprintf(err, errlen, "URL \"%s\" is too long", text);
		return -1;
	}
	memcpy(u->authority, auth, (size_t)(auth_end - auth));
	if (*auth_end == '/')
		snprintf(u->path, sizeof(u->path), "%s", auth_end);
	else
		snprintf(u->path, sizeof(u->path), "/%s", auth_end);
	/* A fragment is never sent. */
	u->path[strcspn(u->path, "# \r\n")] = '\0';
	return resolve(u, err, errlen);

bad_port:
	snprintf(err, errlen, "URL \"%s\": bad port", text);
	return -1;
}
