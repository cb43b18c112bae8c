// SPDX-License-Identifier: MIT
/*
 * Configuration: the key table, and a strict front end to libinih. inih does
 * the INI syntax; this file refuses what inih would tolerate (unknown keys,
 * duplicates, overlong lines, NUL bytes, values out of bounds) and reports
 * each problem with its file, line and key.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "tam/config.h"
#include "tam/limits.h"
#include "tam/log.h"

#define F(field) offsetof(struct tam_config, field), sizeof(((struct tam_config *)0)->field)
#define LINE_MAX_BYTES 1000

static const struct tam_config_key keys[] = {
	{ "otrp", "listen", TAM_CFG_ADDRESS, F(otrp_address), 0, 0, "127.0.0.1", false,
	    "numeric IPv4 or IPv6 address the OTrP listener binds" },
	{ "otrp", "port", TAM_CFG_UINT, F(otrp_port), 0, 65535, "8080", false,
	    "OTrP port; 0 lets the kernel pick one" },
	{ "otrp", "path", TAM_CFG_STRING, F(otrp_path), 0, 0, "/tam", false,
	    "URL path of the OTrP endpoint" },
	{ "otrp", "tls_cert", TAM_CFG_PATH, F(otrp_tls_cert), 0, 0, "", true,
	    "PEM server certificate chain; empty serves plain HTTP (files are re-read on SIGHUP)" },
	{ "otrp", "tls_key", TAM_CFG_PATH, F(otrp_tls_key), 0, 0, "", true,
	    "PEM private key of tls_cert (mode 0600)" },
	{ "otrp", "tls_client_ca", TAM_CFG_PATH, F(otrp_tls_client_ca), 0, 0, "", true,
	    "PEM CA certificates; when set, brokers must present a client certificate that chains to one" },
	{ "otrp", "tls_client_crl", TAM_CFG_PATH, F(otrp_tls_client_crl), 0, 0, "", true,
	    "CRLs (PEM or DER) of the tls_client_ca CAs; a client certificate they revoke is refused" },
	{ "api", "enabled", TAM_CFG_BOOL, F(api_enabled), 0, 0, "yes", false,
	    "serve the management listener (the REST API /api/v1, /healthz, /metrics)" },
	{ "api", "listen", TAM_CFG_ADDRESS, F(api_address), 0, 0, "127.0.0.1", false,
	    "numeric address the management listener binds; keep it private" },
	{ "api", "port", TAM_CFG_UINT, F(api_port), 0, 65535, "8081", false,
	    "operations port; 0 lets the kernel pick one" },
	{ "api", "tls_cert", TAM_CFG_PATH, F(api_tls_cert), 0, 0, "", true,
	    "PEM server certificate chain for the management listener; empty serves plain HTTP" },
	{ "api", "tls_key", TAM_CFG_PATH, F(api_tls_key), 0, 0, "", true,
	    "PEM private key of api.tls_cert (mode 0600)" },
	{ "api", "tls_client_ca", TAM_CFG_PATH, F(api_tls_client_ca), 0, 0, "", true,
	    "PEM CA certificates; when set, clients of the management listener need a certificate" },
	{ "api", "tls_client_crl", TAM_CFG_PATH, F(api_tls_client_crl), 0, 0, "", true,
	    "CRLs (PEM or DER) of the api.tls_client_ca CAs; a client certificate they revoke is refused" },
	{ "database", "path", TAM_CFG_PATH, F(db_path), 0, 0, "/var/lib/otrp-tamd/tamd.db", false,
	    "SQLite database created by otrp-tamctl init" },
	{ "identity", "key", TAM_CFG_PATH, F(tam_key), 0, 0, "", false,
	    "TAM private key (mode 0600); empty uses the one recorded by otrp-tamctl init" },
	{ "identity", "cert", TAM_CFG_PATH, F(tam_cert), 0, 0, "", false,
	    "PEM TAM certificate chain, leaf first; required with identity.key" },
	{ "identity", "tamid", TAM_CFG_STRING, F(tamid), 0, 0, "", false,
	    "TAM identity sent to TEEs; empty derives it from the certificate" },
	{ "identity", "alt_key", TAM_CFG_PATH, F(alt_key), 0, 0, "", false,
	    "a second TAM private key of the other algorithm (RSA or EC P-256, mode 0600), for "
	    "TEEs that cannot verify the first; empty: none" },
	{ "identity", "alt_cert", TAM_CFG_PATH, F(alt_cert), 0, 0, "", false,
	    "PEM certificate chain of identity.alt_key, naming the same TAM; required with it" },
	{ "aist", "endpoint", TAM_CFG_STRING, F(aist_path), 0, 0, "", false,
	    "URL path (on the OTrP listener) of the AIST interop profile's endpoint; empty: off" },
	{ "aist", "tam_key", TAM_CFG_PATH, F(aist_tam_key), 0, 0, "", false,
	    "the TAM private key compiled into the AIST device builds (JWK or PEM, mode 0600)" },
	{ "identity", "ocsp_dir", TAM_CFG_PATH, F(ocsp_dir), 0, 0, "", true,
	    "directory of DER OCSP responses (*.der) for the TAM certificate and its intermediate CAs, "
	    "stapled in every GetDeviceStateRequest; empty staples none" },
	{ "identity", "ocsp_stale", TAM_CFG_STRING, F(ocsp_stale), 0, 0, "refuse", true,
	    "when an OCSP response is missing, expired or not good: refuse (to start, or the reload) or warn" },
	{ "trust", "anchor_dir", TAM_CFG_PATH, F(trust_anchor_dir), 0, 0, "", true,
	    "directory of extra TEE trust anchors (*.pem, *.crt) and CRLs of TEE CAs (*.crl), read at start and on SIGHUP" },
	{ "trust", "auto_register", TAM_CFG_BOOL, F(auto_register), 0, 0, "yes", true,
	    "register a TEE whose certificate chains to an anchor on first contact" },
	{ "trust", "tee_eku", TAM_CFG_STRING, F(tee_eku), 0, 0, "", true,
	    "extendedKeyUsage OID (dotted numbers) every TEE certificate must list; empty: none, "
	    "but a TLS certificate (clientAuth, serverAuth) is never a TEE" },
	{ "limits", "max_body", TAM_CFG_SIZE, F(max_body), 1024, 1u << 30, "1M", true,
	    "largest OTrP POST body; larger ones get 413" },
	{ "limits", "max_upload", TAM_CFG_SIZE, F(max_upload), 1024, 512u << 20, "128M", true,
	    "largest TA bundle uploaded over the management API; larger ones get 413" },
	{ "limits", "sp_quota_bytes", TAM_CFG_SIZE, F(sp_quota_bytes), 0, (uint64_t)1 << 50, "8G",
	    true, "bytes of TA bundles one SP may store, withdrawn versions included (they are kept); "
	    "an upload past it gets 507; 0 means no limit" },
	{ "limits", "sp_quota_versions", TAM_CFG_UINT, F(sp_quota_versions), 0, 1u << 24, "1000",
	    true, "TA versions one SP may store, withdrawn ones included; an upload past it gets 507; "
	    "0 means no limit" },
	{ "limits", "request_ttl", TAM_CFG_UINT, F(request_ttl), 1, 86400, "300", true,
	    "seconds an OTrP request stays answerable" },
	{ "limits", "threads", TAM_CFG_UINT, F(threads), 1, 64, "2", false,
	    "server threads" },
	{ "limits", "connection_limit", TAM_CFG_UINT, F(connection_limit), 1, 65536, "1024", false,
	    "concurrent connections from all clients" },
	{ "limits", "per_ip_connection_limit", TAM_CFG_UINT, F(per_ip_connection_limit), 0, 65536,
	    "16", false, "concurrent connections from one address; 0 means no limit" },
	{ "limits", "connection_timeout", TAM_CFG_UINT, F(connection_timeout), 1, 3600, "30", false,
	    "seconds a connection may stay idle before it is closed" },
	{ "limits", "header_timeout", TAM_CFG_UINT, F(header_timeout), 1, 3600, "10", false,
	    "seconds in all a client has for a request line and headers, however busily it sends "
	    "(also a kept-alive connection's wait for its next request); near connection_limit, "
	    "one second" },
	{ "limits", "body_timeout", TAM_CFG_UINT, F(body_timeout), 1, 86400, "60", false,
	    "seconds in all a client has for a request body (not streamed TA uploads, which only "
	    "connection_timeout bounds)" },
	{ "limits", "open_rate", TAM_CFG_UINT, F(open_rate), 0, 60000, "600", true,
	    "OTrP sessions one client address may open a minute (empty POSTs); more get 429 with "
	    "Retry-After; 0 means no limit" },
	{ "limits", "open_burst", TAM_CFG_UINT, F(open_burst), 1, 100000, "60", true,
	    "sessions one client address may open at once before open_rate applies" },
	{ "limits", "failure_rate", TAM_CFG_UINT, F(failure_rate), 0, 60000, "60", true,
	    "OTrP messages a minute one client address may send that are refused, or are unsigned "
	    "refusals and broker errors; past that, all its messages get 429; 0 means no limit" },
	{ "limits", "failure_burst", TAM_CFG_UINT, F(failure_burst), 1, 100000, "30", true,
	    "such messages one client address may send at once before failure_rate applies" },
	{ "limits", "shutdown_timeout", TAM_CFG_UINT, F(shutdown_timeout), 0, 3600, "10", true,
	    "seconds SIGTERM waits for requests in flight" },
	{ "limits", "stream_ta_above", TAM_CFG_SIZE, F(stream_ta_above), 1, 1u << 30, "2M", false,
	    "an InstallTA/UpdateTA whose sealed TA is larger is made from the database as it is sent, "
	    "never held whole" },
	{ "limits", "streamed_answers", TAM_CFG_UINT, F(streamed_answers), 1, 1024, "4", false,
	    "such answers being sent at once; beyond them a device gets 503 with Retry-After" },
	{ "limits", "streamed_answers_per_device", TAM_CFG_UINT, F(streamed_answers_per_device), 1,
	    64, "1", false, "such answers being sent at once to one device" },
	{ "retention", "sessions", TAM_CFG_SECONDS, F(keep_sessions), 1, 3650u * 86400, "1h", true,
	    "how long finished sessions and their requests are kept (the audit keeps what they did)" },
	{ "retention", "audit", TAM_CFG_SECONDS, F(keep_audit), 0, 36500u * 86400, "365d", true,
	    "how long audit rows are kept; 0 keeps them for ever" },
	{ "retention", "withdrawn", TAM_CFG_SECONDS, F(keep_withdrawn), 0, 36500u * 86400, "30d", true,
	    "how long a withdrawn version's bundle stays stored (its record stays); 0 for ever" },
	{ "retention", "interval", TAM_CFG_SECONDS, F(housekeeping_every), 1, 86400, "1m", true,
	    "how often housekeeping prunes what retention allows and gives space back" },
	{ "log", "level", TAM_CFG_LOGLEVEL, F(log_level), 0, 0, "info", true,
	    "error, warn, info or debug" },
};

const struct tam_config_key *
tam_config_keys(size_t *n)
{
	*n = sizeof(keys) / sizeof(keys[0]);
	return keys;
}

static const struct tam_config_key *
find_key(const char *section, const char *name)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/* The factor of a one-letter suffix of a number of type t; 0: none allowed. */
static uint64_t
suffix_factor(enum tam_config_type t, char c)
{
	if (t == TAM_CFG_SIZE)
		return c == 'K' || c == 'k' ? 1u << 10 : c == 'M' || c == 'm' ? 1u << 20 :
		    c == 'G' || c == 'g' ? 1u << 30 : 0;
	if (t == TAM_CFG_SECONDS)
		return c == 's' ? 1 : c == 'm' ? 60 : c == 'h' ? 3600 : c == 'd' ? 86400 : 0;
	return 0;
}

static int
parse_uint(const char *v, uint64_t min, uint64_t max, enum tam_config_type t, uint64_t *out)
{
	unsigned long long n;
	uint64_t f;
	char *end;

	if (*v < '0' || *v > '9')
		return -1;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0)
		return -1;
	if (*end != '\0' && end[1] == '\0') {
		if ((f = suffix_factor(t, *end)) == 0 || n > UINT64_MAX / f)
			return -1;
		n *= f;
		end++;
	}
	if (*end != '\0' || n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

static int
parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* Store value into the field of k; err names the key but not where it came from. */
static int
apply(struct tam_config *c, const struct tam_config_key *k, const char *v, struct tam_err *err)
{
	void *field = (char *)c + k->offset;
	struct in6_addr a6;
	struct in_addr a4;
	uint64_t n;
	bool b;
	int lvl;

	switch (k->type) {
	case TAM_CFG_ADDRESS:
		if (inet_pton(AF_INET, v, &a4) != 1 && inet_pton(AF_INET6, v, &a6) != 1)
			return tam_err_set(err, TAM_EUSAGE, "%s.%s: \"%.64s\" is not a numeric IP address",
			    k->section, k->name, v);
		/* FALLTHROUGH */
	case TAM_CFG_STRING:
	case TAM_CFG_PATH:
		if (strlen(v) >= k->size)
			return tam_err_set(err, TAM_EUSAGE, "%s.%s: longer than %zu bytes", k->section,
			    k->name, k->size - 1);
		if (k->type == TAM_CFG_STRING && strcmp(k->name, "path") == 0 && v[0] != '/')
			return tam_err_set(err, TAM_EUSAGE, "%s.%s: must start with /", k->section, k->name);
		memcpy(field, v, strlen(v) + 1);
		return TAM_OK;
	case TAM_CFG_UINT:
	case TAM_CFG_SIZE:
	case TAM_CFG_SECONDS:
		if (parse_uint(v, k->min, k->max, k->type, &n) != 0)
			return tam_err_set(err, TAM_EUSAGE, "%s.%s: \"%.64s\" is not a%s number from %llu to %llu",
			    k->section, k->name, v, k->type == TAM_CFG_SIZE ? " byte" :
			    k->type == TAM_CFG_SECONDS ? " seconds (s, m, h, d)" : "n integer",
			    (unsigned long long)k->min, (unsigned long long)k->max);
		if (k->size == sizeof(unsigned))
			*(unsigned *)field = (unsigned)n;
		else if (k->size == sizeof(uint64_t) && k->type == TAM_CFG_SIZE)
			*(size_t *)field = (size_t)n;
		else
			*(int64_t *)field = (int64_t)n;
		return TAM_OK;
	case TAM_CFG_BOOL:
		if (parse_bool(v, &b) != 0)
			return tam_err_set(err, TAM_EUSAGE, "%s.%s: \"%.64s\" is not yes or no", k->section,
			    k->name, v);
		*(bool *)field = b;
		return TAM_OK;
	case TAM_CFG_LOGLEVEL:
		if ((lvl = tam_log_level_parse(v)) < 0)
			return tam_err_set(err, TAM_EUSAGE,
			    "%s.%s: \"%.64s\" is not error, warn, info or debug", k->section, k->name, v);
		*(int *)field = lvl;
		return TAM_OK;
	}
	return tam_err_set(err, TAM_EINVAL, "%s.%s: unknown type", k->section, k->name);
}

void
tam_config_defaults(struct tam_config *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (apply(c, &keys[i], keys[i].def, NULL) != TAM_OK)
			abort(); /* a default outside its own bounds is a bug in the table */
}

struct parse_state {
	struct tam_config *c;
	bool seen[sizeof(keys) / sizeof(keys[0])];
	struct tam_err inner;          /* why the handler refused, without the line */
};

static int
on_pair(void *user, const char *section, const char *name, const char *value)
{
	struct parse_state *ps = user;
	const struct tam_config_key *k = find_key(section, name);

	if (k == NULL) {
		if (section[0] == '\0')
			tam_err_set(&ps->inner, TAM_EUSAGE, "key \"%.64s\" outside any [section]", name);
		else
			tam_err_set(&ps->inner, TAM_EUSAGE, "unknown key \"%.64s\" in [%.64s]", name, section);
		return 0;
	}
	if (ps->seen[k - keys]) {
		tam_err_set(&ps->inner, TAM_EUSAGE, "%s.%s: set twice", k->section, k->name);
		return 0;
	}
	ps->seen[k - keys] = true;
	return apply(ps->c, k, value, &ps->inner) == TAM_OK;
}

/* Refuse what inih would silently cut or misread. */
static int
precheck(const char *text, size_t len, const char *source, struct tam_err *err)
{
	size_t line = 1, col = 0;

	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\0')
			return tam_err_set(err, TAM_EUSAGE, "%s:%zu: NUL byte", source, line);
		if (text[i] == '\n') {
			line++;
			col = 0;
		} else if (++col > LINE_MAX_BYTES) {
			return tam_err_set(err, TAM_EUSAGE, "%s:%zu: line longer than %d bytes", source,
			    line, LINE_MAX_BYTES);
		}
	}
	return TAM_OK;
}

int
tam_config_parse(const char *text, size_t len, const char *source, struct tam_config *c,
    struct tam_err *err)
{
	struct parse_state ps = { .c = c };
	char *copy;
	int line, rc;

	if ((rc = precheck(text, len, source, err)) != TAM_OK)
		return rc;
	copy = malloc(len + 1);
	if (copy == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	memcpy(copy, text, len);
	copy[len] = '\0';
	/* inih's process-wide switches; only the main thread parses configuration. */
	ini_allow_multiline = false;
	ini_allow_inline_comments = false;
	ini_allow_no_value = false;
	ini_stop_on_first_error = true;
	ini_use_stack = false;
	ini_max_line = LINE_MAX_BYTES + 3;
	line = ini_parse_string(copy, on_pair, &ps);
	free(copy);
	if (line == 0)
		return TAM_OK;
	if (line < 0)
		return tam_err_set(err, TAM_ENOMEM, "%s: out of memory", source);
	if (ps.inner.code != 0)
		return tam_err_set(err, ps.inner.code, "%s:%d: %s", source, line, ps.inner.msg);
	return tam_err_set(err, TAM_EUSAGE, "%s:%d: not a [section], key = value or # comment",
	    source, line);
}

int
tam_config_load(const char *path, struct tam_config *c, struct tam_err *err)
{
	uint8_t *text = NULL;
	size_t len = 0;
	int rc;

	if ((rc = tam_file_read(path, TAM_CONFIG_MAX_BYTES, &text, &len, err)) != TAM_OK)
		return rc;
	rc = tam_config_parse((const char *)text, len, path, c, err);
	free(text);
	return rc;
}

int
tam_config_set(struct tam_config *c, const char *dotted_key, const char *value,
    struct tam_err *err)
{
	const char *dot = strchr(dotted_key, '.');
	char section[32];

	if (dot == NULL || (size_t)(dot - dotted_key) >= sizeof(section))
		return tam_err_set(err, TAM_EUSAGE, "\"%.64s\" is not section.key", dotted_key);
	memcpy(section, dotted_key, (size_t)(dot - dotted_key));
	section[dot - dotted_key] = '\0';
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, dot + 1) == 0)
			return apply(c, &keys[i], value, err);
	return tam_err_set(err, TAM_EUSAGE, "unknown key \"%.64s\"", dotted_key);
}

/* An OID as dotted numbers: a first arc of 0, 1 or 2, at least two arcs, no empty ones. */
static bool
dotted_oid(const char *s)
{
	size_t arcs = 0;

	if (s[0] < '0' || s[0] > '2' || s[1] != '.')
		return false;
	while (*s != '\0') {
		size_t n = strspn(s, "0123456789");
		if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
			return false;
		arcs++;
		s += n;
		if (*s == '.' && s[1] == '\0')
			return false;
		if (*s == '.')
			s++;
		else if (*s != '\0')
			return false;
	}
	return arcs >= 2;
}

int
tam_config_validate(const struct tam_config *c, struct tam_err *err)
{
	if ((c->otrp_tls_cert[0] == '\0') != (c->otrp_tls_key[0] == '\0'))
		return tam_err_set(err, TAM_EUSAGE, "otrp.tls_cert and otrp.tls_key go together");
	if (c->otrp_tls_client_ca[0] != '\0' && c->otrp_tls_cert[0] == '\0')
		return tam_err_set(err, TAM_EUSAGE, "otrp.tls_client_ca needs otrp.tls_cert");
	if (c->otrp_tls_client_crl[0] != '\0' && c->otrp_tls_client_ca[0] == '\0')
		return tam_err_set(err, TAM_EUSAGE, "otrp.tls_client_crl needs otrp.tls_client_ca");
	if ((c->api_tls_cert[0] == '\0') != (c->api_tls_key[0] == '\0'))
		return tam_err_set(err, TAM_EUSAGE, "api.tls_cert and api.tls_key go together");
	if (c->api_tls_client_ca[0] != '\0' && c->api_tls_cert[0] == '\0')
		return tam_err_set(err, TAM_EUSAGE, "api.tls_client_ca needs api.tls_cert");
	if (c->api_tls_client_crl[0] != '\0' && c->api_tls_client_ca[0] == '\0')
		return tam_err_set(err, TAM_EUSAGE, "api.tls_client_crl needs api.tls_client_ca");
	if ((c->tam_key[0] == '\0') != (c->tam_cert[0] == '\0'))
		return tam_err_set(err, TAM_EUSAGE, "identity.key and identity.cert go together");
	if ((c->alt_key[0] == '\0') != (c->alt_cert[0] == '\0'))
		return tam_err_set(err, TAM_EUSAGE, "identity.alt_key and identity.alt_cert go together");
	if (c->db_path[0] == '\0')
		return tam_err_set(err, TAM_EUSAGE, "database.path is empty");
	if (strcmp(c->ocsp_stale, "refuse") != 0 && strcmp(c->ocsp_stale, "warn") != 0)
		return tam_err_set(err, TAM_EUSAGE, "identity.ocsp_stale must be refuse or warn");
	if (c->tee_eku[0] != '\0' && !dotted_oid(c->tee_eku))
		return tam_err_set(err, TAM_EUSAGE,
		    "trust.tee_eku must be an OID in dotted numbers, like 1.3.6.1.4.1.99999.1");
	if ((c->aist_path[0] == '\0') != (c->aist_tam_key[0] == '\0'))
		return tam_err_set(err, TAM_EUSAGE, "aist.endpoint and aist.tam_key go together");
	if (c->aist_path[0] != '\0' && (c->aist_path[0] != '/' ||
	    strcmp(c->aist_path, c->otrp_path) == 0))
		return tam_err_set(err, TAM_EUSAGE,
		    "aist.endpoint must start with / and differ from otrp.path");
	return TAM_OK;
}

/* The value of k in c, as the file would spell it. */
static void
format_value(const struct tam_config *c, const struct tam_config_key *k, char *out, size_t outlen)
{
	const void *field = (const char *)c + k->offset;
	static const char *const levels[] = { "error", "warn", "info", "debug" };

	switch (k->type) {
	case TAM_CFG_STRING:
	case TAM_CFG_PATH:
	case TAM_CFG_ADDRESS:
		snprintf(out, outlen, "%s", (const char *)field);
		break;
	case TAM_CFG_UINT:
	case TAM_CFG_SIZE:
	case TAM_CFG_SECONDS:
		if (k->size == sizeof(unsigned))
			snprintf(out, outlen, "%u", *(const unsigned *)field);
		else if (k->type == TAM_CFG_SIZE)
			snprintf(out, outlen, "%zu", *(const size_t *)field);
		else
			snprintf(out, outlen, "%lld", (long long)*(const int64_t *)field);
		break;
	case TAM_CFG_BOOL:
		snprintf(out, outlen, "%s", *(const bool *)field ? "yes" : "no");
		break;
	case TAM_CFG_LOGLEVEL:
		snprintf(out, outlen, "%s", levels[*(const int *)field & 3]);
		break;
	}
}

void
tam_config_diff(const struct tam_config *a, const struct tam_config *b, char *out, size_t outlen,
    bool *restart_needed)
{
	size_t used = 0;

	*restart_needed = false;
	if (outlen > 0)
		out[0] = '\0';
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct tam_config_key *k = &keys[i];
		char va[TAM_CONFIG_PATH_MAX], vb[TAM_CONFIG_PATH_MAX];
		int n;

		format_value(a, k, va, sizeof(va));
		format_value(b, k, vb, sizeof(vb));
		if (strcmp(va, vb) == 0)
			continue;
		if (!k->reloadable)
			*restart_needed = true;
		n = snprintf(out + used, outlen - used, "%s%s.%s: \"%s\" -> \"%s\"%s", used ? "; " : "",
		    k->section, k->name, va, vb, k->reloadable ? "" : " (needs restart)");
		if (n < 0 || (size_t)n >= outlen - used)
			break;
		used += (size_t)n;
	}
}
