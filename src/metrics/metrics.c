// SPDX-License-Identifier: MIT
/*
 * Prometheus metrics. Every label value comes from a fixed list compiled in
 * here (anything else counts as "other"), so a hostile peer cannot create
 * series; counters are atomics, so serving threads never wait on them.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "tam/err.h"
#include "tam/metrics.h"

/* How sessions end; the engine's result up to its first ':' picks one. */
static const char *const results[] = { "ok", "tee-fail", "broker", "blocked", "no-progress", "other" };
#define N_RESULTS (sizeof(results) / sizeof(results[0]))

/* Rejection reasons: the stable error names of err.c. */
static const int reject_codes[] = {
	TAM_EMALFORMED, TAM_EUNSUPPORTED, TAM_EVERSION, TAM_EALG, TAM_ESIGNATURE, TAM_EDECRYPT,
	TAM_ECERT_UNTRUSTED, TAM_ECERT_EXPIRED, TAM_ECERT_INVALID, TAM_ECERT_REVOKED,
	TAM_EDEVICE_UNKNOWN,
	TAM_EDEVICE_MISMATCH, TAM_ERID_UNKNOWN, TAM_ERID_REPLAYED, TAM_ERID_EXPIRED,
	TAM_EMSG_UNEXPECTED, TAM_ETOO_LARGE, TAM_EDENIED, TAM_ECONFLICT, TAM_EDB,
	TAM_ERATE_LIMITED,
};
#define N_REJECT (sizeof(reject_codes) / sizeof(reject_codes[0]))

static const enum tam_op_kind ops[] = { TAM_OP_CREATE_SD, TAM_OP_INSTALL_TA, TAM_OP_UPDATE_TA,
	TAM_OP_DELETE_TA, TAM_OP_UPDATE_SD, TAM_OP_DELETE_SD };
#define N_OPS (sizeof(ops) / sizeof(ops[0]))

/* Seconds; the last bucket is +Inf. */
static const double buckets[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5 };
#define N_BUCKETS (sizeof(buckets) / sizeof(buckets[0]))

/* HTTP status classes answered on the OTrP listener. */
static const unsigned statuses[] = { 200, 204, 400, 403, 404, 405, 406, 409, 413, 415, 429,
	500 };
#define N_STATUS (sizeof(statuses) / sizeof(statuses[0]))

static struct {
	atomic_ullong started;
	atomic_ullong completed[N_RESULTS];
	atomic_ullong rejected[N_REJECT + 1];        /* + other */
	atomic_ullong op[N_OPS][2];                  /* [op][pass] */
	atomic_ullong status[N_STATUS + 1];          /* + other */
	atomic_ullong bucket[N_BUCKETS + 1];         /* cumulative at render time */
	atomic_ullong latency_us;                    /* sum, microseconds */
	atomic_ullong db_errors;
	atomic_ullong uploads[2];                    /* [ok] */
	atomic_ullong upload_bytes;
} m;

void
metrics_session_started(void)
{
	atomic_fetch_add(&m.started, 1);
}

void
metrics_session_completed(const char *result)
{
	size_t i, n = strcspn(result, ":");

	for (i = 0; i < N_RESULTS - 1; i++)
		if (strlen(results[i]) == n && strncmp(results[i], result, n) == 0)
			break;
	atomic_fetch_add(&m.completed[i], 1);
}

void
metrics_message_rejected(int code)
{
	size_t i;

	for (i = 0; i < N_REJECT; i++)
		if (reject_codes[i] == code)
			break;
	atomic_fetch_add(&m.rejected[i], 1);
}

void
metrics_operation(enum tam_op_kind op, bool pass)
{
	for (size_t i = 0; i < N_OPS; i++)
		if (ops[i] == op)
			atomic_fetch_add(&m.op[i][pass], 1);
}

void
metrics_request(unsigned status, double seconds)
{
	size_t i;

	for (i = 0; i < N_STATUS; i++)
		if (statuses[i] == status)
			break;
	atomic_fetch_add(&m.status[i], 1);
	for (i = 0; i < N_BUCKETS; i++)
		if (seconds <= buckets[i])
			break;
	atomic_fetch_add(&m.bucket[i], 1);
	atomic_fetch_add(&m.latency_us, (unsigned long long)(seconds * 1e6));
}

void
metrics_db_error(void)
{
	atomic_fetch_add(&m.db_errors, 1);
}

void
metrics_upload(bool ok, uint64_t bytes)
{
	atomic_fetch_add(&m.uploads[ok], 1);
	atomic_fetch_add(&m.upload_bytes, (unsigned long long)bytes);
}

static int
put(struct tam_buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
put(struct tam_buf *out, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return TAM_EINVAL;
	return tam_buf_append(out, line, (size_t)n);
}

int
metrics_render(struct tam_buf *out, const struct metrics_gauges *g, const char *version)
{
	unsigned long long cum = 0, total = 0;
	int rc = 0;

#define P(...) do { if (rc == 0) rc = put(out, __VA_ARGS__); } while (0)
	P("# HELP tam_build_info Version of the running otrp-tamd.\n# TYPE tam_build_info gauge\n");
	P("tam_build_info{version=\"%s\"} 1\n", version);
	P("# HELP otrp_sessions_started_total OTrP sessions opened (empty POSTs).\n");
	P("# TYPE otrp_sessions_started_total counter\n");
	P("otrp_sessions_started_total %llu\n", (unsigned long long)atomic_load(&m.started));
	P("# HELP otrp_sessions_completed_total OTrP sessions that ended with 204, by result.\n");
	P("# TYPE otrp_sessions_completed_total counter\n");
	for (size_t i = 0; i < N_RESULTS; i++)
		P("otrp_sessions_completed_total{result=\"%s\"} %llu\n", results[i],
		    (unsigned long long)atomic_load(&m.completed[i]));
	P("# HELP otrp_messages_rejected_total TEE responses refused, by reason.\n");
	P("# TYPE otrp_messages_rejected_total counter\n");
	for (size_t i = 0; i <= N_REJECT; i++)
		P("otrp_messages_rejected_total{reason=\"%s\"} %llu\n",
		    i < N_REJECT ? tam_err_name(reject_codes[i]) : "other",
		    (unsigned long long)atomic_load(&m.rejected[i]));
	P("# HELP otrp_operations_total Operations the TEE answered, by type and result.\n");
	P("# TYPE otrp_operations_total counter\n");
	for (size_t i = 0; i < N_OPS; i++)
		for (int pass = 1; pass >= 0; pass--)
			P("otrp_operations_total{op=\"%s\",result=\"%s\"} %llu\n", tam_op_kind_name(ops[i]),
			    pass ? "pass" : "fail", (unsigned long long)atomic_load(&m.op[i][pass]));
	P("# HELP otrp_http_responses_total Answers on the OTrP listener, by status.\n");
	P("# TYPE otrp_http_responses_total counter\n");
	for (size_t i = 0; i <= N_STATUS; i++) {
		if (i < N_STATUS)
			P("otrp_http_responses_total{status=\"%u\"} %llu\n", statuses[i],
			    (unsigned long long)atomic_load(&m.status[i]));
		else
			P("otrp_http_responses_total{status=\"other\"} %llu\n",
			    (unsigned long long)atomic_load(&m.status[i]));
	}
	P("# HELP otrp_request_duration_seconds Time to answer one OTrP POST.\n");
	P("# TYPE otrp_request_duration_seconds histogram\n");
	for (size_t i = 0; i <= N_BUCKETS; i++) {
		cum += atomic_load(&m.bucket[i]);
		if (i < N_BUCKETS)
			P("otrp_request_duration_seconds_bucket{le=\"%g\"} %llu\n", buckets[i], cum);
		else
			P("otrp_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n", cum);
	}
	total = cum;
	P("otrp_request_duration_seconds_sum %.6f\n", (double)atomic_load(&m.latency_us) / 1e6);
	P("otrp_request_duration_seconds_count %llu\n", total);
	P("# HELP tam_database_errors_total Database failures met while serving.\n");
	P("# TYPE tam_database_errors_total counter\n");
	P("tam_database_errors_total %llu\n", (unsigned long long)atomic_load(&m.db_errors));
	P("# HELP tam_ta_uploads_total TA uploads over the management API, by result.\n");
	P("# TYPE tam_ta_uploads_total counter\n");
	P("tam_ta_uploads_total{result=\"stored\"} %llu\n", (unsigned long long)atomic_load(&m.uploads[1]));
	P("tam_ta_uploads_total{result=\"refused\"} %llu\n", (unsigned long long)atomic_load(&m.uploads[0]));
	P("# HELP tam_ta_upload_bytes_total Bytes of TA bundles stored from uploads.\n");
	P("# TYPE tam_ta_upload_bytes_total counter\n");
	P("tam_ta_upload_bytes_total %llu\n", (unsigned long long)atomic_load(&m.upload_bytes));
	P("# HELP otrp_sessions_active Sessions with a request still answerable.\n");
	P("# TYPE otrp_sessions_active gauge\notrp_sessions_active %lld\n", (long long)g->sessions_open);
	P("# HELP tam_devices Devices, by state.\n# TYPE tam_devices gauge\n");
	P("tam_devices{state=\"active\"} %lld\n", (long long)g->devices_active);
	P("tam_devices{state=\"decommissioned\"} %lld\n", (long long)g->devices_decommissioned);
	P("# HELP tam_tas TAs and TA versions in the catalogue.\n# TYPE tam_tas gauge\n");
	P("tam_tas %lld\n# TYPE tam_ta_versions gauge\ntam_ta_versions %lld\n", (long long)g->tas,
	    (long long)g->ta_versions);
#undef P
	return rc;
}
