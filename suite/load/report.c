/* report.c: merges the threads' counters and prints the run, as a summary
 * for people or as one JSON object for the suite. */
#include "load.h"

#include <stdio.h>
#include <string.h>

const char *const tl_error_names[TL_ERR_COUNT] = {
	[TL_ERR_CONNECT] = "connect",
	[TL_ERR_HANDSHAKE] = "handshake",
	[TL_ERR_TIMEOUT] = "timeout",
	[TL_ERR_STATUS] = "status",
	[TL_ERR_SHORT_BODY] = "short_body",
	[TL_ERR_RESET] = "reset",
	[TL_ERR_BODY_MISMATCH] = "body_mismatch",
	[TL_ERR_OTHER] = "other",
};

const char *const tl_resume_names[3] = {
	[TL_RESUME_NONE] = "none",
	[TL_RESUME_TICKET] = "ticket",
	[TL_RESUME_ID] = "id",
};

const char *const tl_psk_mode_names[3] = {
	[TL_PSK_DHE] = "dhe",
	[TL_PSK_KE] = "ke",
	[TL_PSK_BOTH] = "both",
};

static const char *const hs_kind_names[TL_HS_KINDS] = {
	[TL_HS_FULL] = "full",
	[TL_HS_RESUMED] = "resumed",
};

void
tl_stats_init(struct tl_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->doc_length = -1;
	tl_hist_reset(&s->latency);
	tl_hist_reset(&s->connect);
	tl_hist_reset(&s->handshake);
	tl_hist_reset(&s->ttfb);
}

void
tl_stats_merge(struct tl_stats *into, const struct tl_stats *from)
{
	into->ok += from->ok;
	into->failed += from->failed;
	for (int i = 0; i < TL_ERR_COUNT; i++) {
		into->errors[i] += from->errors[i];
		if (into->error_detail[i][0] == '\0')
			memcpy(into->error_detail[i], from->error_detail[i],
			       sizeof(into->error_detail[i]));
	}
	for (int i = 0; i < 600; i++)
		into->status[i] += from->status[i];
	into->hs_full += from->hs_full;
	into->hs_resumed += from->hs_resumed;
	into->bytes_body += from->bytes_body;
	into->bytes_response += from->bytes_response;
	into->late_starts += from->late_starts;
	into->started += from->started;
	into->abandoned += from->abandoned;
	into->early_offered += from->early_offered;
	into->early_accepted += from->early_accepted;
	into->early_rejected += from->early_rejected;
	into->resumed_psk_ke += from->resumed_psk_ke;
	into->resumed_psk_dhe_ke += from->resumed_psk_dhe_ke;
	for (int k = 0; k < TL_HS_KINDS; k++) {
		struct tl_wire_sum *a = &into->wire[k];
		const struct tl_wire_sum *b = &from->wire[k];
		a->handshakes += b->handshakes;
		a->client_sent += b->client_sent;
		a->server_sent += b->server_sent;
		a->client_records += b->client_records;
		a->server_records += b->server_records;
		a->segs_n += b->segs_n;
		a->client_segments += b->client_segments;
		a->server_segments += b->server_segments;
		a->ticket_bytes += b->ticket_bytes;
		a->ticket_records += b->ticket_records;
		a->early_bytes += b->early_bytes;
		a->read_ahead += b->read_ahead;
	}
	into->warmup_ok += from->warmup_ok;
	into->warmup_failed += from->warmup_failed;
	into->warmup_full += from->warmup_full;
	into->warmup_resumed += from->warmup_resumed;
	into->slots_cold += from->slots_cold;
	into->slots_never_resumed += from->slots_never_resumed;
	if (from->doc_length != -1) {
		if (into->doc_length == -1)
			into->doc_length = from->doc_length;
		else if (into->doc_length != from->doc_length)
			into->doc_length = -2;
	}
	tl_hist_merge(&into->latency, &from->latency);
	tl_hist_merge(&into->connect, &from->connect);
	tl_hist_merge(&into->handshake, &from->handshake);
	tl_hist_merge(&into->ttfb, &from->ttfb);
	into->cpu_user_s += from->cpu_user_s;
	into->cpu_sys_s += from->cpu_sys_s;
	if (into->version[0] == '\0') {
		memcpy(into->version, from->version, sizeof(into->version));
		memcpy(into->cipher, from->cipher, sizeof(into->cipher));
		memcpy(into->group, from->group, sizeof(into->group));
	}
	if (into->sigalg[0] == '\0')
		memcpy(into->sigalg, from->sigalg, sizeof(into->sigalg));
}

static const char *
tls_requested(const struct tl_options *o)
{
	if (!o->url.tls)
		return "none";
	return o->tls_version == 13   ? "1.3"
	       : o->tls_version == 12 ? "1.2"
				      : "any";
}

static double
cpu_share(const struct tl_result *r)
{
	double wall = r->duration_s * r->threads;

	return wall > 0 ? (r->stats.cpu_user_s + r->stats.cpu_sys_s) / wall : 0;
}

static double
rps(const struct tl_result *r)
{
	return r->duration_s > 0 ? (double)r->stats.ok / r->duration_s : 0;
}

static void
text_latency_row(const char *name, const struct tl_hist *h)
{
	struct tl_hist_summary s;

	tl_hist_summarize(h, &s);
	if (s.count == 0) {
		printf("  %-10s %10s\n", name, "-");
		return;
	}
	printf("  %-10s %10.3f %10.3f %10.3f %10.3f %10.3f %10.3f %10.3f\n",
	       name, s.min / 1000, s.mean / 1000, s.p50 / 1000, s.p90 / 1000,
	       s.p99 / 1000, s.p999 / 1000, s.max / 1000);
}

void
tl_report_text(const struct tl_result *r)
{
	const struct tl_options *o = r->opt;
	const struct tl_stats *st = &r->stats;
	bool any_error = false;

	printf("Server URL:             %s\n", o->url_text);
	printf("Concurrency Level:      %d (threads %d)\n", o->connections,
	       r->threads);
	printf("Connections:            %s",
	       o->close ? "close (one request each)" : "keep-alive");
	if (o->url.tls)
		printf(", resume %s", tl_resume_names[o->resume]);
	printf("\n");
	if (o->url.tls)
		printf("TLS:                    %s %s %s %s (requested %s)\n",
		       st->version[0] ? st->version : "-",
		       st->cipher[0] ? st->cipher : "-",
		       st->group[0] ? st->group : "-",
		       st->sigalg[0] ? st->sigalg : "-", tls_requested(o));
	if (o->url.tls)
		printf("Client library:         %s\n", tl_tls_library());
	printf("Warm-up:                %.3f seconds, %llu requests "
	       "(handshakes full %llu, resumed %llu)\n",
	       r->warmup_s, (unsigned long long)st->warmup_ok,
	       (unsigned long long)st->warmup_full,
	       (unsigned long long)st->warmup_resumed);
	if (o->rate > 0)
		printf("Target rate:            %.2f [#/sec], late starts "
		       "%llu\n",
		       o->rate, (unsigned long long)st->late_starts);
	printf("Time taken for tests:   %.3f seconds\n", r->duration_s);
	printf("Complete requests:      %llu\n", (unsigned long long)st->ok);
	printf("Failed requests:        %llu\n",
	       (unsigned long long)st->failed);
	for (int i = 0; i < TL_ERR_COUNT; i++) {
		if (st->errors[i] == 0)
			continue;
		printf("   %-13s %8llu   %s\n", tl_error_names[i],
		       (unsigned long long)st->errors[i], st->error_detail[i]);
		any_error = true;
	}
	(void)any_error;
	printf("Requests per second:    %.2f [#/sec] (mean)\n", rps(r));
	if (st->doc_length == -2)
		printf("Document Length:        varied\n");
	else if (st->doc_length >= 0)
		printf("Document Length:        %lld bytes\n",
		       (long long)st->doc_length);
	printf("Body bytes received:    %llu\n",
	       (unsigned long long)st->bytes_body);
	printf("Status codes:          ");
	bool any = false;
	for (int i = 100; i < 600; i++)
		if (st->status[i]) {
			printf(" %d: %llu", i,
			       (unsigned long long)st->status[i]);
			any = true;
		}
	printf("%s\n", any ? "" : " -");
	if (o->url.tls) {
		printf("Handshakes:             full %llu, resumed %llu "
		       "(psk_dhe_ke %llu, psk_ke %llu)\n",
		       (unsigned long long)st->hs_full,
		       (unsigned long long)st->hs_resumed,
		       (unsigned long long)st->resumed_psk_dhe_ke,
		       (unsigned long long)st->resumed_psk_ke);
		if (o->early_data)
			printf("Early data:             offered %llu, accepted "
			       "%llu, rejected %llu\n",
			       (unsigned long long)st->early_offered,
			       (unsigned long long)st->early_accepted,
			       (unsigned long long)st->early_rejected);
		for (int k = 0; k < TL_HS_KINDS; k++) {
			const struct tl_wire_sum *w = &st->wire[k];
			double n = (double)w->handshakes;
			if (w->handshakes == 0)
				continue;
			printf("Wire per %-7s (mean): client %.0f B in %.1f "
			       "records, server %.0f B in %.1f records, "
			       "tickets %.0f B\n",
			       hs_kind_names[k], (double)w->client_sent / n,
			       (double)w->client_records / n,
			       (double)w->server_sent / n,
			       (double)w->server_records / n,
			       (double)w->ticket_bytes / n);
		}
	}
	printf("\nLatency (ms)        min       mean        p50        p90 "
	       "       p99      p99.9        max\n");
	text_latency_row(o->rate > 0 ? "total*" : "total", &st->latency);
	text_latency_row("connect", &st->connect);
	if (o->url.tls)
		text_latency_row("handshake", &st->handshake);
	text_latency_row("ttfb", &st->ttfb);
	if (o->rate > 0)
		printf("  * from each request's scheduled start\n");
	printf("\nClient CPU:             user %.3f s, sys %.3f s, %.1f%% of "
	       "%d thread(s)",
	       st->cpu_user_s, st->cpu_sys_s, 100 * cpu_share(r), r->threads);
	if (st->ok)
		printf(", %.1f us/request",
		       1e6 * (st->cpu_user_s + st->cpu_sys_s) / (double)st->ok);
	printf("\n");
}

void
tl_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* A mean over n, or null when nothing is behind it. */
static void
json_mean(const char *name, uint64_t sum, uint64_t n, bool comma)
{
	if (n)
		printf("\"%s\":%.2f", name, (double)sum / (double)n);
	else
		printf("\"%s\":null", name);
	if (comma)
		putchar(',');
}

static void
json_wire(const struct tl_stats *st)
{
	printf("\"handshake_bytes\":{");
	for (int k = 0; k < TL_HS_KINDS; k++) {
		const struct tl_wire_sum *w = &st->wire[k];
		uint64_t n = w->handshakes;
		printf("%s\"%s\":{\"handshakes\":%llu,", k ? "," : "",
		       hs_kind_names[k], (unsigned long long)n);
		json_mean("client_sent", w->client_sent, n, true);
		json_mean("server_sent", w->server_sent, n, true);
		json_mean("client_records", w->client_records, n, true);
		json_mean("server_records", w->server_records, n, true);
		json_mean("client_segments", w->client_segments, w->segs_n,
			  true);
		json_mean("server_segments", w->server_segments, w->segs_n,
			  true);
		json_mean("ticket_bytes", w->ticket_bytes, n, true);
		json_mean("ticket_records", w->ticket_records, n, true);
		json_mean("early_data_bytes", w->early_bytes, n, true);
		json_mean("server_read_ahead", w->read_ahead, n, false);
		putchar('}');
	}
	printf("},");
}

static void
json_hist(const char *name, const struct tl_hist *h)
{
	struct tl_hist_summary s;

	tl_hist_summarize(h, &s);
	printf("\"%s\":{\"count\":%llu,\"min\":%.1f,\"mean\":%.1f,\"p50\":%.1f,"
	       "\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f},",
	       name, (unsigned long long)s.count, s.min, s.mean, s.p50, s.p90,
	       s.p99, s.p999, s.max);
}

void
tl_report_json(const struct tl_result *r)
{
	const struct tl_options *o = r->opt;
	const struct tl_stats *st = &r->stats;
	bool first = true;

	printf("{\"url\":");
	tl_json_string(o->url_text);
	printf(",\"connections\":%d,\"threads\":%d,\"mode\":\"%s\","
	       "\"resume\":\"%s\",\"tls_version_requested\":\"%s\",",
	       o->connections, r->threads, o->close ? "close" : "keepalive",
	       tl_resume_names[o->resume], tls_requested(o));
	printf("\"duration_s\":%.6f,\"requests_ok\":%llu,"
	       "\"requests_failed\":%llu,\"rps\":%.2f,\"bytes_body\":%llu,"
	       "\"bytes_response\":%llu,",
	       r->duration_s, (unsigned long long)st->ok,
	       (unsigned long long)st->failed, rps(r),
	       (unsigned long long)st->bytes_body,
	       (unsigned long long)st->bytes_response);
	printf("\"errors\":{");
	for (int i = 0; i < TL_ERR_COUNT; i++)
		printf("%s\"%s\":%llu", i ? "," : "", tl_error_names[i],
		       (unsigned long long)st->errors[i]);
	printf("},\"status_codes\":{");
	for (int i = 100; i < 600; i++)
		if (st->status[i]) {
			printf("%s\"%d\":%llu", first ? "" : ",", i,
			       (unsigned long long)st->status[i]);
			first = false;
		}
	printf("},\"handshakes_full\":%llu,\"handshakes_resumed\":%llu,",
	       (unsigned long long)st->hs_full,
	       (unsigned long long)st->hs_resumed);
	json_hist("latency_us", &st->latency);
	json_hist("connect_us", &st->connect);
	json_hist("handshake_us", &st->handshake);
	json_hist("ttfb_us", &st->ttfb);
	printf("\"client_cpu_user_s\":%.3f,\"client_cpu_sys_s\":%.3f,"
	       "\"client_cpu_share\":%.4f,\"rate_target\":%.3f,"
	       "\"late_starts\":%llu,",
	       st->cpu_user_s, st->cpu_sys_s, cpu_share(r), o->rate,
	       (unsigned long long)st->late_starts);
	printf("\"window_requests_started\":%llu,"
	       "\"window_requests_completed\":%llu,"
	       "\"inflight_abandoned\":%llu,\"warmup_s\":%.6f,"
	       "\"warmup_requests\":%llu,\"warmup_failed\":%llu,"
	       "\"warmup_full\":%llu,\"warmup_resumed\":%llu,"
	       "\"warmup_per_slot\":%llu,\"slots_never_resumed\":%llu,"
	       "\"slots_short_of_warmup\":%llu,",
	       (unsigned long long)st->started,
	       (unsigned long long)(st->ok + st->failed),
	       (unsigned long long)st->abandoned, r->warmup_s,
	       (unsigned long long)st->warmup_ok,
	       (unsigned long long)st->warmup_failed,
	       (unsigned long long)st->warmup_full,
	       (unsigned long long)st->warmup_resumed,
	       (unsigned long long)o->warmup_per_slot,
	       (unsigned long long)st->slots_never_resumed,
	       (unsigned long long)st->slots_cold);
	printf("\"early_data\":%s,\"early_offered\":%llu,"
	       "\"early_accepted\":%llu,\"early_rejected\":%llu,"
	       "\"psk_mode\":\"%s\",\"resumed_psk_ke\":%llu,"
	       "\"resumed_psk_dhe_ke\":%llu,",
	       o->early_data ? "true" : "false",
	       (unsigned long long)st->early_offered,
	       (unsigned long long)st->early_accepted,
	       (unsigned long long)st->early_rejected,
	       tl_psk_mode_names[o->psk_mode],
	       (unsigned long long)st->resumed_psk_ke,
	       (unsigned long long)st->resumed_psk_dhe_ke);
	json_wire(st);
	printf("\"client_library\":");
	tl_json_string(tl_tls_library());
	printf(",\"negotiated\":{\"version\":");
	tl_json_string(st->version);
	printf(",\"cipher\":");
	tl_json_string(st->cipher);
	printf(",\"group\":");
	tl_json_string(st->group);
	printf(",\"sigalg\":");
	tl_json_string(st->sigalg);
	printf("},\"reason\":");
	tl_json_string(r->reason);
	printf("}\n");
}
