// SPDX-License-Identifier: MIT
/*
 * otrp-tamd: the TAM daemon. Reads its configuration (file, then command-line
 * overrides), loads the TAM identity, starts the OTrP listener, tells systemd
 * it is ready, and then waits for signals: SIGHUP reloads what can change
 * without a restart, SIGTERM/SIGINT drain and stop. Fatal errors are only
 * possible here, before serving starts. Each server thread gets its own
 * database connection on first use; all are closed after the listener stops.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <systemd/sd-daemon.h>

#include "tam/api.h"
#include "tam/config.h"
#include "tam/engine.h"
#include "tam/http.h"
#include "tam/limits.h"
#include "tam/log.h"
#include "tam/metrics.h"
#include "tam/mgmt.h"
#include "tam/otrp.h"
#include "tam/pki.h"
#include "tam/ratelimit.h"
#include "tam/store.h"
#include "tam/version.h"


#define OCSP_REFRESH_SECONDS 60             /* staples are reread this often while running */
#define PRUNE_AUDIT_ROWS 10000              /* audit rows pruned a round: the write lock stays short */
#define MAX_OVERRIDES 64
#define MAX_ANCHOR_FILES 256
#define RECLAIM_PAGES 2048                  /* pages given back per housekeeping round (8 MiB) */
#define FILES_BESIDES_CONNECTIONS 64        /* database, WAL, keys, logs, listeners ... */

struct options {
	const char *config;                     /* -c, or NULL for the default path */
	const char *overrides[MAX_OVERRIDES][2]; /* key, value: re-applied on every reload */
	size_t n_overrides;
	const char *port_file;
	bool check_only;
};

/* Connections opened by server threads, closed at shutdown. */
static struct {
	pthread_mutex_t mu;
	struct store **all;
	size_t n;
	const char *path;
} conns = { PTHREAD_MUTEX_INITIALIZER, NULL, 0, NULL };

static __thread struct store *thread_store;

static struct otrp_engine *engine;
/* Per client address: sessions opened, and messages refused or taken unsigned. */
static struct ratelimit *open_limit, *failure_limit;

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: otrp-tamd [-c FILE] [--check-config] [-o SECTION.KEY=VALUE]... [options]\n"
	    "  -c, --config FILE        configuration file (default " TAM_CONFIG_DEFAULT_PATH
	    ", if present)\n"
	    "  -o, --set KEY=VALUE      override one configuration key, e.g. -o limits.threads=4\n"
	    "  -n, --check-config       validate configuration, database and keys, then exit\n"
	    "      --port-file FILE     write the bound OTrP port to FILE once listening\n"
	    "  -V, --version            print the version\n"
	    "  -h, --help               this text\n"
	    "shortcuts for common keys:\n"
	    "  -d, --db FILE            database.path\n"
	    "  -l, --listen ADDRESS     otrp.listen\n"
	    "  -p, --port PORT          otrp.port (0 picks a free one)\n"
	    "      --path PATH          otrp.path\n"
	    "      --max-body BYTES     limits.max_body\n"
	    "      --threads N          limits.threads\n"
	    "      --request-ttl SEC    limits.request_ttl\n"
	    "      --no-auto-register   trust.auto_register=no\n"
	    "      --log-level LEVEL    log.level\n"
	    "Every key is documented in otrp-tamd.conf(5) and conf/otrp-tamd.conf.\n");
}

static int
add_override(struct options *o, const char *key, const char *value)
{
	if (o->n_overrides >= MAX_OVERRIDES) {
		fprintf(stderr, "otrp-tamd: more than %d overrides\n", MAX_OVERRIDES);
		return -1;
	}
	o->overrides[o->n_overrides][0] = key;
	o->overrides[o->n_overrides][1] = value;
	o->n_overrides++;
	return 0;
}

static int
parse_args(int argc, char **argv, struct options *o)
{
	enum { O_PATH = 256, O_MAXBODY, O_THREADS, O_TTL, O_NOAUTO, O_PORTFILE, O_LOGLEVEL };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "set", required_argument, NULL, 'o' },
		{ "db", required_argument, NULL, 'd' },
		{ "listen", required_argument, NULL, 'l' },
		{ "port", required_argument, NULL, 'p' },
		{ "path", required_argument, NULL, O_PATH },
		{ "max-body", required_argument, NULL, O_MAXBODY },
		{ "threads", required_argument, NULL, O_THREADS },
		{ "request-ttl", required_argument, NULL, O_TTL },
		{ "no-auto-register", no_argument, NULL, O_NOAUTO },
		{ "port-file", required_argument, NULL, O_PORTFILE },
		{ "log-level", required_argument, NULL, O_LOGLEVEL },
		{ "check-config", no_argument, NULL, 'n' },
		{ "check", no_argument, NULL, 'n' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static char dotted[MAX_OVERRIDES][64];
	const char *key = NULL;
	char *eq;
	int c;

	while ((c = getopt_long(argc, argv, "c:o:d:l:p:nVh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; continue;
		case 'o':
			eq = strchr(optarg, '=');
			if (eq == NULL || (size_t)(eq - optarg) >= sizeof(dotted[0]) ||
			    o->n_overrides >= MAX_OVERRIDES) {
				fprintf(stderr, "otrp-tamd: -o takes SECTION.KEY=VALUE, not \"%s\"\n", optarg);
				return -1;
			}
			memcpy(dotted[o->n_overrides], optarg, (size_t)(eq - optarg));
			dotted[o->n_overrides][eq - optarg] = '\0';
			if (add_override(o, dotted[o->n_overrides], eq + 1) != 0)
				return -1;
			continue;
		case 'd': key = "database.path"; break;
		case 'l': key = "otrp.listen"; break;
		case 'p': key = "otrp.port"; break;
		case O_PATH: key = "otrp.path"; break;
		case O_MAXBODY: key = "limits.max_body"; break;
		case O_THREADS: key = "limits.threads"; break;
		case O_TTL: key = "limits.request_ttl"; break;
		case O_LOGLEVEL: key = "log.level"; break;
		case O_NOAUTO:
			if (add_override(o, "trust.auto_register", "no") != 0)
				return -1;
			continue;
		case O_PORTFILE: o->port_file = optarg; continue;
		case 'n': o->check_only = true; continue;
		case 'V': printf("otrp-tamd %s\n", TAMD_VERSION); exit(0);
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
		if (add_override(o, key, optarg) != 0)
			return -1;
	}
	if (optind != argc) {
		fprintf(stderr, "otrp-tamd: unexpected argument \"%s\"\n", argv[optind]);
		return -1;
	}
	/* A bad value on the command line is a usage error, found before anything starts. */
	{
		struct tam_config scratch;
		struct tam_err err = { 0 };
		tam_config_defaults(&scratch);
		for (size_t i = 0; i < o->n_overrides; i++)
			if (tam_config_set(&scratch, o->overrides[i][0], o->overrides[i][1], &err) != TAM_OK) {
				fprintf(stderr, "otrp-tamd: %s\n", err.msg);
				return -1;
			}
	}
	return 0;
}

/* Defaults, then the file, then the command line; validated as a whole. */
static int
read_config(const struct options *o, struct tam_config *c, struct tam_err *err)
{
	const char *path = o->config != NULL ? o->config : TAM_CONFIG_DEFAULT_PATH;
	int rc;

	tam_config_defaults(c);
	rc = tam_config_load(path, c, err);
	if (rc == TAM_ENOTFOUND && o->config == NULL)
		rc = TAM_OK;   /* no file at the default path: built-in defaults */
	if (rc != TAM_OK)
		return rc;
	for (size_t i = 0; i < o->n_overrides; i++) {
		rc = tam_config_set(c, o->overrides[i][0], o->overrides[i][1], err);
		if (rc != TAM_OK) {
			char inner[TAM_ERR_MSG_MAX];
			memcpy(inner, err->msg, sizeof(inner));
			return tam_err_set(err, rc, "command line: %s", inner);
		}
	}
	return tam_config_validate(c, err);
}

/* What trust.anchor_dir holds: CA certificates and the CRLs of TEE CAs. */
struct anchor_dir {
	STACK_OF(X509) *anchors;
	STACK_OF(X509_CRL) *crls;
};

static void
anchor_dir_clear(struct anchor_dir *a)
{
	sk_X509_pop_free(a->anchors, X509_free);
	sk_X509_CRL_pop_free(a->crls, X509_CRL_free);
	a->anchors = NULL;
	a->crls = NULL;
}

/* Does n end in suffix (and is it more than that, and not hidden)? */
static bool
name_ends(const char *n, const char *suffix)
{
	size_t l = strlen(n), k = strlen(suffix);

	return n[0] != '.' && l > k && strcmp(n + l - k, suffix) == 0;
}

static int
anchor_file(const char *path, STACK_OF(X509) *all, struct tam_err *err)
{
	STACK_OF(X509) *certs = NULL;
	uint8_t *pem = NULL;
	size_t len = 0;
	int rc;

	if ((rc = tam_file_read(path, TAM_MAX_PEM_BYTES, &pem, &len, err)) == TAM_OK)
		rc = pki_certs_from_pem(pem, len, &certs, err);
	free(pem);
	while (rc == TAM_OK && sk_X509_num(certs) > 0) {
		X509 *x = sk_X509_shift(certs);
		if (!pki_cert_is_ca(x)) {
			X509_free(x);
			rc = tam_err_set(err, TAM_EINVAL, "%s: holds a certificate that is not a CA", path);
		} else if (sk_X509_push(all, x) == 0) {
			X509_free(x);
			rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		}
	}
	sk_X509_pop_free(certs, X509_free);
	return rc;
}

/* The CRLs in data (read from path), current ones only, onto all. */
static int
crls_take(const char *path, const uint8_t *data, size_t len, STACK_OF(X509_CRL) *all,
    struct tam_err *err)
{
	STACK_OF(X509_CRL) *crls = NULL;
	int rc;

	if ((rc = pki_crls_load(data, len, &crls, err)) != TAM_OK && err != NULL) {
		char why[TAM_ERR_MSG_MAX];
		memcpy(why, err->msg, sizeof(why));
		tam_err_set(err, rc, "%s: %s", path, why);
	}
	while (rc == TAM_OK && sk_X509_CRL_num(crls) > 0) {
		X509_CRL *c = sk_X509_CRL_shift(crls);
		const ASN1_TIME *next = X509_CRL_get0_nextUpdate(c);
		/* A stale CRL would refuse every TEE of its CA: better to refuse the file. */
		if (next == NULL || X509_cmp_time(next, NULL) <= 0) {
			X509_CRL_free(c);
			rc = tam_err_set(err, TAM_EINVAL, "%s: a CRL %s", path,
			    next == NULL ? "without nextUpdate" : "past its nextUpdate");
		} else if (sk_X509_CRL_push(all, c) == 0) {
			X509_CRL_free(c);
			rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		}
	}
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	return rc;
}

static int
crl_file(const char *path, STACK_OF(X509_CRL) *all, struct tam_err *err)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int rc;

	if ((rc = tam_file_read(path, TAM_MAX_PEM_BYTES, &data, &len, err)) == TAM_OK)
		rc = crls_take(path, data, len, all, err);
	free(data);
	return rc;
}

/*
 * Every CA certificate in the *.pem / *.crt files of dir and every CRL in its
 * *.crl files (PEM or DER); a non-CA or unreadable file fails the load.
 */
static int
load_anchor_dir(const char *dir, struct anchor_dir *out, struct tam_err *err)
{
	struct dirent *e;
	size_t files = 0;
	DIR *d;
	int rc = TAM_OK;

	memset(out, 0, sizeof(*out));
	if (dir[0] == '\0')
		return TAM_OK;
	if ((d = opendir(dir)) == NULL)
		return tam_err_set(err, TAM_EIO, "trust.anchor_dir %s: %s", dir, strerror(errno));
	if ((out->anchors = sk_X509_new_null()) == NULL ||
	    (out->crls = sk_X509_CRL_new_null()) == NULL) {
		closedir(d);
		anchor_dir_clear(out);
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	}
	while (rc == TAM_OK && (e = readdir(d)) != NULL) {
		char path[TAM_CONFIG_PATH_MAX + 256];
		bool crl = name_ends(e->d_name, ".crl");

		if (!crl && !name_ends(e->d_name, ".pem") && !name_ends(e->d_name, ".crt"))
			continue;
		if (++files > MAX_ANCHOR_FILES) {
			rc = tam_err_set(err, TAM_ETOO_LARGE, "trust.anchor_dir %s: more than %d files",
			    dir, MAX_ANCHOR_FILES);
			break;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		rc = crl ? crl_file(path, out->crls, err) : anchor_file(path, out->anchors, err);
	}
	closedir(d);
	if (rc != TAM_OK)
		anchor_dir_clear(out);
	return rc;
}

#define MAX_OCSP_FILES 16

/*
 * The OCSP staple: the *.der responses of identity.ocsp_dir, checked and
 * ordered for the TAM's chain. A missing, stale, revoked or unreadable one
 * fails (identity.ocsp_stale = refuse), or is logged and left out (warn).
 */
static int
load_ocsp(const struct tam_config *c, const struct pki_signer *signer, bool running,
    json_t **staple, struct tam_err *err)
{
	uint8_t *ders[MAX_OCSP_FILES] = { 0 };
	size_t lens[MAX_OCSP_FILES], n = 0;
	struct dirent *e;
	DIR *d;
	int rc = TAM_OK;

	*staple = NULL;
	if (c->ocsp_dir[0] == '\0')
		return TAM_OK;
	if (pki_signer_chain(signer) == NULL)
		return tam_err_set(err, TAM_EINVAL, "identity.ocsp_dir: the TAM key has no certificate");
	if ((d = opendir(c->ocsp_dir)) == NULL)
		return tam_err_set(err, TAM_EIO, "identity.ocsp_dir %s: %s", c->ocsp_dir,
		    strerror(errno));
	while (rc == TAM_OK && (e = readdir(d)) != NULL) {
		char path[TAM_CONFIG_PATH_MAX + 256];

		if (!name_ends(e->d_name, ".der"))
			continue;
		if (n == MAX_OCSP_FILES) {
			rc = tam_err_set(err, TAM_ETOO_LARGE, "identity.ocsp_dir %s: more than %d files",
			    c->ocsp_dir, MAX_OCSP_FILES);
			break;
		}
		snprintf(path, sizeof(path), "%s/%s", c->ocsp_dir, e->d_name);
		if ((rc = tam_file_read(path, TAM_MAX_PEM_BYTES, &ders[n], &lens[n], err)) == TAM_OK)
			n++;
	}
	closedir(d);
	if (rc == TAM_OK) {
		rc = pki_ocsp_staple(pki_signer_chain(signer), (const uint8_t *const *)ders, lens, n,
		    tam_now(), staple, err);
		/* While running nothing can be refused: what went stale is dropped, loudly. */
		if (rc != TAM_OK && (running || strcmp(c->ocsp_stale, "warn") == 0)) {
			if (running)
				log_error("event=ocsp.stale staple=%zu error=\"%s\" note=\"stapling the good "
				    "ones; refresh identity.ocsp_dir\"", json_array_size(*staple), err->msg);
			else
				log_warn("event=ocsp.stale staple=%zu error=\"%s\" note=\"stapling the good "
				    "ones; TEEs that check may refuse this TAM\"", json_array_size(*staple),
				    err->msg);
			rc = TAM_OK;
		} else if (rc == TAM_OK && !running) {
			log_info("event=ocsp.load responses=%zu", json_array_size(*staple));
		}
	}
	if (rc != TAM_OK) {
		json_decref(*staple);
		*staple = NULL;
	}
	for (size_t i = 0; i < n; i++)
		free(ders[i]);
	return rc;
}

/* The staples of the identity and of the alternate one (NULL without it); both or neither. */
static int
load_staples(const struct tam_config *c, struct pki_signer *const ids[2], bool running,
    json_t *staples[2], struct tam_err *err)
{
	int rc;

	staples[0] = staples[1] = NULL;
	for (int i = 0; i < 2; i++)
		if (ids[i] != NULL && (rc = load_ocsp(c, ids[i], running, &staples[i], err)) != TAM_OK) {
			json_decref(staples[0]);
			staples[0] = NULL;
			return rc;
		}
	return TAM_OK;
}

static void
staples_clear(json_t *staples[2])
{
	json_decref(staples[0]);
	json_decref(staples[1]);
	staples[0] = staples[1] = NULL;
}

static void
set_staples(json_t *staples[2])
{
	otrp_engine_set_ocsp(engine, false, staples[0]);
	otrp_engine_set_ocsp(engine, true, staples[1]);
	staples[0] = staples[1] = NULL;
}

/* The listener's TLS material, read from the files the configuration names. */
struct tls_files {
	uint8_t *cert;                /* PEM chain, NUL-terminated; NULL: plain HTTP */
	uint8_t *key;                 /* PEM key, wiped before it is freed */
	size_t key_len;
	uint8_t *ca;                  /* PEM CAs for client certificates; NULL: none asked */
	uint8_t *crl;                 /* CRLs of those CAs, as read (PEM or DER); NULL: none */
	size_t crl_len;
	struct pki_trust *trust;      /* the same CAs and CRLs, for checking client chains */
};

static void
tls_files_clear(struct tls_files *t)
{
	if (t->key != NULL)
		tam_wipe(t->key, t->key_len);
	free(t->key);
	free(t->cert);
	free(t->ca);
	free(t->crl);
	pki_trust_free(t->trust);
	memset(t, 0, sizeof(*t));
}

/*
 * The client CAs' CRLs into t's trust: a client certificate its CA revoked
 * is refused (pki_trust_add_crl). A stale CRL would refuse every client of
 * its CA, so it refuses the file instead, as in trust.anchor_dir.
 */
static int
tls_crls_load(const char *path, struct tls_files *t, struct tam_err *err)
{
	STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
	int rc;

	if (crls == NULL)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	if ((rc = tam_file_read(path, TAM_MAX_PEM_BYTES, &t->crl, &t->crl_len, err)) == TAM_OK)
		rc = crls_take(path, t->crl, t->crl_len, crls, err);
	for (int i = 0; rc == TAM_OK && i < sk_X509_CRL_num(crls); i++)
		rc = pki_trust_add_crl(t->trust, sk_X509_CRL_value(crls, i), err);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	return rc;
}

/* The files of one listener; empty cert_path: plain HTTP. */
static int
tls_files_load(const char *cert_path, const char *key_path, const char *ca_path,
    const char *crl_path, struct tls_files *t, struct tam_err *err)
{
	STACK_OF(X509) *cas = NULL;
	size_t len;
	int rc;

	memset(t, 0, sizeof(*t));
	if (cert_path[0] == '\0')
		return TAM_OK;
	if ((rc = tam_file_read(cert_path, TAM_MAX_PEM_BYTES, &t->cert, &len, err)) != TAM_OK ||
	    (rc = pki_private_file_read(key_path, &t->key, &t->key_len, err)) != TAM_OK)
		goto fail;
	if (ca_path[0] == '\0')
		return TAM_OK;
	if ((rc = tam_file_read(ca_path, TAM_MAX_PEM_BYTES, &t->ca, &len, err)) != TAM_OK ||
	    (rc = pki_certs_from_pem(t->ca, len, &cas, err)) != TAM_OK ||
	    (rc = pki_trust_new(&t->trust, err)) != TAM_OK)
		goto fail;
	for (int i = 0; i < sk_X509_num(cas) && rc == TAM_OK; i++)
		rc = pki_trust_add(t->trust, sk_X509_value(cas, i), err);
	sk_X509_pop_free(cas, X509_free);
	cas = NULL;
	if (rc == TAM_OK && crl_path[0] != '\0')
		rc = tls_crls_load(crl_path, t, err);
	if (rc == TAM_OK)
		return TAM_OK;
fail:
	sk_X509_pop_free(cas, X509_free);
	tls_files_clear(t);
	return rc;
}

static struct store *
store_for_thread(struct tam_err *err)
{
	struct store **grown;
	struct store *st = NULL;

	if (thread_store != NULL)
		return thread_store;
	if (store_open(conns.path, 0, &st, err) != TAM_OK)
		return NULL;
	pthread_mutex_lock(&conns.mu);
	grown = realloc(conns.all, (conns.n + 1) * sizeof(*grown));
	if (grown == NULL) {
		pthread_mutex_unlock(&conns.mu);
		store_close(st);
		tam_err_set(err, TAM_ENOMEM, "out of memory");
		return NULL;
	}
	conns.all = grown;
	conns.all[conns.n++] = st;
	pthread_mutex_unlock(&conns.mu);
	thread_store = st;
	return st;
}

/* The profiles of the OTrP routes: the route's arg points at one. */
static const enum otrp_profile profile_default = OTRP_PROFILE_DEFAULT;
static const enum otrp_profile profile_aist = OTRP_PROFILE_AIST;

/*
 * The client's budget for this message: an empty POST spends one session
 * open; anything else needs the client to be under its failure budget (a
 * client that keeps sending what fails is not served until it slows down).
 */
static int
rate_check(const char *client, size_t len, struct http_answer *ans, struct tam_err *err)
{
	const char *kind = len == 0 ? "open" : "failure";
	struct ratelimit_verdict v = len == 0 ? ratelimit_take(open_limit, client, tam_monotonic_ms()) :
	    ratelimit_peek(failure_limit, client, tam_monotonic_ms());

	if (v.allowed)
		return TAM_OK;
	/* once per episode, not per request: the refusals themselves must not flood the log */
	if (v.first)
		log_info("event=ratelimit client=%s kind=%s retry_after=%u", client, kind,
		    v.retry_after);
	if (http_answer_header(ans, "Retry-After", "%u", v.retry_after) != TAM_OK)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	return tam_err_set(err, TAM_ERATE_LIMITED, "too many %s from this client; retry in %u s",
	    len == 0 ? "new sessions" : "refused messages", v.retry_after);
}

/* What counts against the failure budget: the client's fault, or taken unverified. */
static void
rate_count(const char *client, int rc, const struct otrp_reply *reply)
{
	unsigned status = rc != TAM_OK ? http_status_for(rc) : 0;

	if ((rc == TAM_OK && reply->unverified) ||
	    (status >= 400 && status < 500 && rc != TAM_ECONFLICT && rc != TAM_ERATE_LIMITED))
		(void)ratelimit_take(failure_limit, client, tam_monotonic_ms());
}

/*
 * Every large-TA stream is taken (limits.streamed_answers): nothing was
 * written, so the broker sends the same answer again after Retry-After.
 */
static int
busy_answer(struct http_answer *ans, struct tam_err *err)
{
	log_info("event=otrp.busy detail=\"%s\" retry_after=%d", err->msg, TAM_STREAM_RETRY_SECONDS);
	ans->status = 503;
	ans->no_content = true;
	if (http_answer_header(ans, "Retry-After", "%d", TAM_STREAM_RETRY_SECONDS) != TAM_OK)
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	return TAM_OK;
}

static int
handle_otrp(void *arg, const struct http_request *req, const uint8_t *body, size_t len,
    struct http_answer *ans, struct tam_err *err)
{
	struct otrp_reply reply = { 0 };
	struct otrp_origin from = { *(const enum otrp_profile *)arg, "" };
	char peer[64], client[TAM_RATELIMIT_KEY_MAX];
	struct timespec t0, t1;
	struct store *st;
	int rc;

	if (http_request_peer(req, peer, sizeof(peer)) == 0)
		from.peer = peer;
	http_request_client_key(req, client, sizeof(client));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = rate_check(client, len, ans, err);
	if (rc == TAM_OK && (st = store_for_thread(err)) == NULL)
		rc = err->code ? err->code : TAM_EDB;
	else if (rc == TAM_OK)
		rc = otrp_engine_handle(engine, st, &from, body, len, &reply, err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (len > 0)
		rate_count(client, rc, &reply);
	metrics_request(rc != TAM_OK ? http_status_for(rc) : reply.done ? 204 : 200,
	    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (rc == TAM_EBUSY)
		return busy_answer(ans, err);
	if (rc != TAM_OK) {
		metrics_message_rejected(rc);
		if (rc == TAM_EDB)
			metrics_db_error();
		return rc;
	}
	if (reply.opened)
		metrics_session_started();
	if (reply.answered_op != TAM_OP_NONE)
		metrics_operation(reply.answered_op, reply.answered_pass);
	if (reply.done)
		metrics_session_completed(reply.result);
	ans->no_content = reply.done;
	if (reply.retry_after > 0 &&
	    (rc = http_answer_header(ans, "Retry-After", "%d", reply.retry_after)) != TAM_OK) {
		otrp_reply_clear(&reply);
		return tam_err_set(err, rc, "out of memory");
	}
	ans->body = reply.body;
	ans->len = reply.len;
	if (reply.stream.read != NULL)
		ans->reader = (struct http_body_reader){ reply.stream.size, reply.stream.read,
		    reply.stream.free, reply.stream.cls };
	return TAM_OK;
}

/* A signer from a key file and a PEM chain file. */
static int
signer_from_files(const char *key, const char *cert, const char *tamid,
    struct pki_signer **signer, struct tam_err *err)
{
	uint8_t *chain = NULL;
	size_t len = 0;
	int rc;

	if ((rc = tam_file_read(cert, TAM_MAX_PEM_BYTES, &chain, &len, err)) != TAM_OK)
		return rc;
	rc = pki_signer_load(key, chain, len, tamid, signer, err);
	free(chain);
	return rc;
}

/* The identity of the configuration file if it names one, else the database's. */
static int
load_signer(const struct tam_config *c, struct store *st, struct pki_signer **signer,
    struct tam_err *err)
{
	struct store_identity id = { 0 };
	const char *tamid = c->tamid[0] != '\0' ? c->tamid : NULL;
	int rc;

	if (c->tam_key[0] != '\0')
		return signer_from_files(c->tam_key, c->tam_cert, tamid, signer, err);
	rc = store_identity_get(st, &id, err);
	if (rc == TAM_ENOTFOUND)
		return tam_err_set(err, rc, "database has no TAM identity; run `otrp-tamctl init` "
		    "or set identity.key and identity.cert");
	if (rc != TAM_OK)
		return rc;
	rc = pki_signer_load(id.key_path, id.chain_pem, id.chain_len,
	    tamid != NULL ? tamid : id.tamid, signer, err);
	store_identity_clear(&id);
	return rc;
}

/*
 * identity.alt_key: the same TAM, by the name its certificate carries (a TEE
 * ties SDs to it), with a key of the other algorithm; *alt stays NULL when
 * none is configured.
 */
static int
load_alt_signer(const struct tam_config *c, const struct pki_signer *signer,
    struct pki_signer **alt, struct tam_err *err)
{
	STACK_OF(X509) *mine = pki_signer_chain(signer), *theirs;
	char id1[256], id2[256];
	int rc;

	*alt = NULL;
	if (c->alt_key[0] == '\0')
		return TAM_OK;
	if (mine == NULL)
		return tam_err_set(err, TAM_EINVAL, "identity.alt_key: the TAM key has no certificate");
	if ((rc = signer_from_files(c->alt_key, c->alt_cert, pki_signer_tamid(signer), alt,
	    err)) != TAM_OK)
		return rc;
	theirs = pki_signer_chain(*alt);
	if ((rc = pki_cert_tamid(sk_X509_value(mine, 0), id1, sizeof(id1), err)) != TAM_OK ||
	    (rc = pki_cert_tamid(sk_X509_value(theirs, 0), id2, sizeof(id2), err)) != TAM_OK)
		goto fail;
	if (strcmp(id1, id2) != 0) {
		rc = tam_err_set(err, TAM_EINVAL, "identity.alt_cert names TAM \"%.100s\", the TAM "
		    "certificate \"%.100s\": both must name the same TAM", id2, id1);
		goto fail;
	}
	if (strcmp(pki_signer_alg(*alt), pki_signer_alg(signer)) == 0) {
		rc = tam_err_set(err, TAM_EINVAL, "identity.alt_key signs with %s like the TAM key; "
		    "the alternate identity is for the other algorithm", pki_signer_alg(signer));
		goto fail;
	}
	return TAM_OK;
fail:
	pki_signer_free(*alt);
	*alt = NULL;
	return rc;
}

/* Block the signals main waits for, so no server thread ever receives them. */
static void
block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Listeners taken out of service by a TLS reload, stopped once idle. */
#define MAX_RETIRED 8

struct retired {
	struct http_server *srv;
	struct tls_files tls;         /* what srv still reads from */
	int64_t deadline;             /* stop it at this time even if busy */
};

/* A listener, what it was started with, and the ones it replaced. */
struct listener {
	const char *name;             /* "otrp" or "api" */
	struct http_server *srv;      /* NULL when not serving */
	struct tls_files tls;
	struct retired old[MAX_RETIRED];
	size_t n_old;
};

static struct api_ctx api_ctx = { .store = store_for_thread, .version = TAMD_VERSION };
/* Uploads spool next to the database: a state directory the service may write. */
static char spool_dir[TAM_CONFIG_PATH_MAX];

static int
listener_tls_load(const struct listener *l, const struct tam_config *c, struct tls_files *t,
    struct tam_err *err)
{
	if (strcmp(l->name, "otrp") == 0)
		return tls_files_load(c->otrp_tls_cert, c->otrp_tls_key, c->otrp_tls_client_ca,
		    c->otrp_tls_client_crl, t, err);
	return tls_files_load(c->api_tls_cert, c->api_tls_key, c->api_tls_client_ca,
	    c->api_tls_client_crl, t, err);
}

/* Old sessions and requests go, and the space they took goes back to the file system. */
static void
housekeeping(struct store *st, const struct tam_config *c)
{
	struct tam_err err = { 0 };
	int64_t now = tam_now(), freed = 0, audit = 0, bundles = 0;

	if (store_purge(st, now - c->keep_sessions, &err) != TAM_OK ||
	    (c->keep_audit > 0 &&
	    store_audit_prune(st, now - c->keep_audit, PRUNE_AUDIT_ROWS, &audit, &err) != TAM_OK) ||
	    (c->keep_withdrawn > 0 &&
	    store_withdrawn_prune(st, now - c->keep_withdrawn, &bundles, &err) != TAM_OK) ||
	    store_reclaim(st, RECLAIM_PAGES, &freed, &err) != TAM_OK)
		log_warn("event=housekeeping error=\"%s\"", err.msg);
	else if (freed > 0 || audit > 0 || bundles > 0)
		log_info("event=housekeeping audit_rows_pruned=%lld bundles_removed=%lld "
		    "reclaimed_pages=%lld", (long long)audit, (long long)bundles, (long long)freed);
}

/*
 * A database from before incremental auto-vacuum is converted once (a
 * VACUUM: it rewrites the file); one that cannot be now is served anyway
 * and tried again at the next start.
 */
static void
vacuum_once(struct store *st)
{
	struct tam_err err = { 0 };
	bool vacuumed = false;

	if (store_auto_vacuum_enable(st, &vacuumed, &err) != TAM_OK)
		log_warn("event=store_vacuum error=\"%s\" note=\"freed space stays in the file; "
		    "tried again at the next start\"", err.msg);
	else if (vacuumed)
		log_info("event=store_vacuum note=\"incremental auto-vacuum enabled\"");
}

/*
 * Personalization data sealed under its TA's key and IV, as before migration
 * 13, gets a key and IV of its own before any device is served, so the old
 * layout is never sent again; one that fails is logged and not sent.
 */
static void
reseal_pdata_once(struct store *st)
{
	struct mgmt m = { .st = st, .actor = "tamd" };
	struct tam_err err = { 0 };
	int64_t n = 0, failed = 0;

	if (mgmt_pdata_reseal_legacy(&m, &n, &failed, &err) != TAM_OK)
		log_warn("event=ta.pdata_reseal error=\"%s\" note=\"tried again at the next start\"",
		    err.msg);
	else if (n > 0 || failed > 0)
		log_info("event=ta.pdata_reseal resealed=%lld failed=%lld", (long long)n,
		    (long long)failed);
}

/*
 * Each connection is a file descriptor: with fewer than the listeners' limits
 * need, accept(2) fails under load instead of the limits answering.
 */
static void
check_nofile(const struct tam_config *c)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)c->connection_limit * (c->api_enabled ? 2 : 1) +
	    FILES_BESIDES_CONNECTIONS;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
		log_warn("event=startup note=\"open files limit %llu is below the %llu that "
		    "limits.connection_limit needs; raise LimitNOFILE= (systemd) or ulimit -n\"",
		    (unsigned long long)rl.rlim_cur, (unsigned long long)need);
}

/* The http settings of listener l under configuration c; routes live in *routes. */
static void
listener_cfg(const struct listener *l, const struct tam_config *c, const struct tls_files *tls,
    struct http_route routes[HTTP_MAX_ROUTES], struct http_cfg *h)
{
	memset(h, 0, sizeof(*h));
	h->name = l->name;
	if (strcmp(l->name, "otrp") == 0) {
		routes[0] = (struct http_route){ "POST", c->otrp_path, OTRP_MEDIA_TYPE, handle_otrp,
			(void *)&profile_default, NULL, NULL };
		h->n_routes = 1;
		if (c->aist_path[0] != '\0')
			routes[h->n_routes++] = (struct http_route){ "POST", c->aist_path,
				OTRP_MEDIA_TYPE, handle_otrp, (void *)&profile_aist, NULL, NULL };
		h->address = c->otrp_address;
		h->port = (uint16_t)c->otrp_port;
		h->threads = c->threads;
	} else {
		h->n_routes = api_routes(&api_ctx, routes, HTTP_MAX_ROUTES);
		h->address = c->api_address;
		h->port = (uint16_t)c->api_port;
		h->threads = c->threads;
	}
	h->routes = routes;
	/* limits.max_body is the OTrP body limit; API bodies are small JSON (uploads stream). */
	h->max_body = strcmp(l->name, "otrp") == 0 ? c->max_body : API_MAX_JSON_BODY;
	h->conn_limit = c->connection_limit;
	h->per_ip_limit = c->per_ip_connection_limit;
	h->conn_timeout = c->connection_timeout;
	h->header_timeout = c->header_timeout;
	h->body_timeout = c->body_timeout;
	h->tls_cert_pem = (const char *)tls->cert;
	h->tls_key_pem = (const char *)tls->key;
	h->tls_client_ca_pem = (const char *)tls->ca;
	h->client_trust = tls->trust;
}

static bool
same_bytes(const uint8_t *a, const uint8_t *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp((const char *)a, (const char *)b) == 0;
}

/* Stop retired listeners that are idle or out of time; all of them when force. */
static void
reap_retired(struct listener *l, bool force)
{
	size_t i = 0;

	while (i < l->n_old) {
		struct retired *r = &l->old[i];
		if (!force && http_server_active(r->srv) > 0 && tam_now() < r->deadline) {
			i++;
			continue;
		}
		http_server_stop(r->srv);
		tls_files_clear(&r->tls);
		l->old[i] = l->old[--l->n_old];
	}
}

/*
 * New TLS material: a new listener takes the socket over, the old one serves
 * its open connections until they finish. Refused (old settings stay) if the
 * files do not work.
 */
static int
reload_tls(struct listener *l, const struct tam_config *running, struct tls_files *next,
    unsigned grace, struct tam_err *err)
{
	struct http_route routes[HTTP_MAX_ROUTES];
	struct http_server *fresh = NULL;
	struct http_cfg h;
	int rc;

	if (l->srv == NULL) {
		tls_files_clear(next);
		return TAM_OK;
	}
	if (same_bytes(l->tls.cert, next->cert) && same_bytes(l->tls.key, next->key) &&
	    same_bytes(l->tls.ca, next->ca) && l->tls.crl_len == next->crl_len &&
	    (next->crl == NULL || memcmp(l->tls.crl, next->crl, next->crl_len) == 0)) {
		tls_files_clear(next);
		return TAM_OK;
	}
	if ((l->tls.cert == NULL) != (next->cert == NULL)) {
		tls_files_clear(next);
		return tam_err_set(err, TAM_EUSAGE, "switching between HTTP and HTTPS needs a restart");
	}
	reap_retired(l, l->n_old == MAX_RETIRED);
	listener_cfg(l, running, next, routes, &h);
	rc = http_server_replace(l->srv, &h, &fresh, err);
	if (fresh == NULL) {
		tls_files_clear(next);
		return rc;   /* the old listener keeps its socket: nothing changed */
	}
	l->old[l->n_old].srv = l->srv;
	l->old[l->n_old].tls = l->tls;
	l->old[l->n_old].deadline = tam_now() + grace;
	l->n_old++;
	l->srv = fresh;
	if (rc == TAM_OK) {
		l->tls = *next;
		memset(next, 0, sizeof(*next));
		log_info("event=tls.reload listener=%s result=ok", l->name);
		return TAM_OK;
	}
	/* fresh runs the old settings again, which the retired listener still reads. */
	l->tls = l->old[l->n_old - 1].tls;
	memset(&l->old[l->n_old - 1].tls, 0, sizeof(l->old[l->n_old - 1].tls));
	tls_files_clear(next);
	return rc;
}

/* Apply the settings that can change while serving. */
static void
apply_live(const struct tam_config *c, struct http_server *srv)
{
	tam_log_set_level((enum tam_log_level)c->log_level);
	otrp_engine_set_limits(engine, c->request_ttl, c->auto_register);
	atomic_store(&api_ctx.max_upload, c->max_upload);
	ratelimit_set(open_limit, c->open_rate, c->open_burst);
	ratelimit_set(failure_limit, c->failure_rate, c->failure_burst);
	atomic_store(&api_ctx.sp_quota_bytes, c->sp_quota_bytes);
	atomic_store(&api_ctx.sp_quota_versions, c->sp_quota_versions);
	if (srv != NULL)
		http_server_set_max_body(srv, c->max_body);
}

/* Keys that need a restart keep their running values until then. */
static void
keep_restart_keys(const struct tam_config *running, struct tam_config *next)
{
	next->otrp_port = running->otrp_port;
	memcpy(next->otrp_address, running->otrp_address, sizeof(next->otrp_address));
	memcpy(next->otrp_path, running->otrp_path, sizeof(next->otrp_path));
	memcpy(next->aist_path, running->aist_path, sizeof(next->aist_path));
	memcpy(next->aist_tam_key, running->aist_tam_key, sizeof(next->aist_tam_key));
	memcpy(next->db_path, running->db_path, sizeof(next->db_path));
	next->api_enabled = running->api_enabled;
	next->api_port = running->api_port;
	memcpy(next->api_address, running->api_address, sizeof(next->api_address));
	next->threads = running->threads;
	next->connection_limit = running->connection_limit;
	next->per_ip_connection_limit = running->per_ip_connection_limit;
	next->connection_timeout = running->connection_timeout;
	next->header_timeout = running->header_timeout;
	next->body_timeout = running->body_timeout;
}

/*
 * SIGHUP: read everything again; a bad configuration is refused whole and the
 * running one kept. Keys that need a restart keep their running value.
 */
static void
reload(const struct options *o, struct pki_signer *const ids[2], struct tam_config *running,
    struct listener *ls, size_t nls)
{
	struct tam_config next;
	struct tam_err err = { 0 };
	struct tls_files tls[2] = { { 0 } };
	struct anchor_dir anchors = { 0 };
	json_t *staples[2] = { NULL, NULL };
	char diff[2048];
	bool restart, loaded = false;

	sd_notify(0, "RELOADING=1");
	if (read_config(o, &next, &err) == TAM_OK &&
	    load_anchor_dir(next.trust_anchor_dir, &anchors, &err) == TAM_OK &&
	    load_staples(&next, ids, false, staples, &err) == TAM_OK) {
		loaded = true;
		for (size_t i = 0; i < nls && loaded; i++)
			loaded = listener_tls_load(&ls[i], &next, &tls[i], &err) == TAM_OK;
	}
	if (!loaded) {
		for (size_t i = 0; i < nls; i++)
			tls_files_clear(&tls[i]);
		anchor_dir_clear(&anchors);
		staples_clear(staples);
		log_error("event=reload result=refused error=\"%s\" note=\"keeping the running configuration\"",
		    err.msg);
		sd_notify(0, "READY=1\nSTATUS=reload refused; running configuration kept");
		return;
	}
	tam_config_diff(running, &next, diff, sizeof(diff), &restart);
	keep_restart_keys(running, &next);
	/* One listener's TLS may already be swapped when the next refuses its files: that one stays. */
	for (size_t i = 0; i < nls; i++)
		if (reload_tls(&ls[i], &next, &tls[i], next.shutdown_timeout, &err) != TAM_OK) {
			for (size_t j = i + 1; j < nls; j++)
				tls_files_clear(&tls[j]);
			anchor_dir_clear(&anchors);
			staples_clear(staples);
			log_error("event=reload result=refused error=\"%s TLS: %s\" note=\"keeping the "
			    "running configuration\"", ls[i].name, err.msg);
			sd_notify(0, "READY=1\nSTATUS=reload refused; running configuration kept");
			return;
		}
	apply_live(&next, ls[0].srv);
	otrp_engine_set_extra_anchors(engine, anchors.anchors, anchors.crls, next.tee_eku);
	set_staples(staples);
	*running = next;
	if (restart)
		log_info("event=reload result=ok changes=\"%s\" note=\"some changes need a restart\"",
		    diff[0] ? diff : "none");
	else
		log_info("event=reload result=ok changes=\"%s\"", diff[0] ? diff : "none");
	sd_notify(0, "READY=1\nSTATUS=serving");
}

/*
 * The staple again, from the files as they are now: responses that went
 * stale while the daemon ran leave it (and say so), refreshed files join it.
 */
static void
refresh_ocsp(const struct tam_config *c, struct pki_signer *const ids[2])
{
	struct tam_err err = { 0 };
	json_t *staples[2];

	if (c->ocsp_dir[0] == '\0')
		return;
	if (load_staples(c, ids, true, staples, &err) != TAM_OK) {
		log_error("event=ocsp.refresh result=failed error=\"%s\" note=\"keeping the staple\"",
		    err.msg);
		return;
	}
	set_staples(staples);
}

static void
serve_until_signal(const struct options *o, struct pki_signer *const ids[2],
    struct tam_config *c, struct store *st, struct listener *ls, size_t nls, const sigset_t *set)
{
	int64_t next_housekeeping = tam_now() + c->housekeeping_every;
	int64_t next_ocsp = tam_now() + OCSP_REFRESH_SECONDS;

	for (;;) {
		/* Wake every second while retired listeners wait to be stopped. */
		int64_t nap = c->housekeeping_every < OCSP_REFRESH_SECONDS ? c->housekeeping_every :
		    OCSP_REFRESH_SECONDS;
		struct timespec ts = { ls[0].n_old + ls[1].n_old > 0 ? 1 : (time_t)nap, 0 };
		int sig = sigtimedwait(set, NULL, &ts);

		if (sig == SIGHUP) {
			reload(o, ids, c, ls, nls);
			continue;
		}
		if (sig == SIGINT || sig == SIGTERM) {
			log_info("event=signal signal=%s action=stop", sig == SIGINT ? "INT" : "TERM");
			return;
		}
		if (sig < 0 && errno != EAGAIN && errno != EINTR) {
			log_error("event=sigtimedwait error=\"%s\"", strerror(errno));
			return;
		}
		for (size_t i = 0; i < nls; i++)
			reap_retired(&ls[i], false);
		if (tam_now() >= next_housekeeping) {
			housekeeping(st, c);
			next_housekeeping = tam_now() + c->housekeeping_every;
		}
		if (tam_now() >= next_ocsp) {
			refresh_ocsp(c, ids);
			next_ocsp = tam_now() + OCSP_REFRESH_SECONDS;
		}
	}
}

static int
write_ports(const char *path, const struct listener *ls)
{
	char buf[32];
	struct tam_err err = { 0 };
	int n = snprintf(buf, sizeof(buf), "%u\n%u\n", http_server_port(ls[0].srv),
	    ls[1].srv != NULL ? http_server_port(ls[1].srv) : 0);

	if (tam_file_write_atomic(path, buf, (size_t)n, 0644, &err) != TAM_OK) {
		log_error("event=startup error=\"%s\"", err.msg);
		return -1;
	}
	return 0;
}

static int
listener_start(struct listener *l, const struct tam_config *c, struct tam_err *err)
{
	struct http_route routes[HTTP_MAX_ROUTES];
	struct http_cfg h;

	listener_cfg(l, c, &l->tls, routes, &h);
	return http_server_start(&h, &l->srv, err);
}

int
main(int argc, char **argv)
{
	struct options o = { 0 };
	struct tam_config cfg;
	struct otrp_engine_cfg ecfg = { 0 };
	struct pki_signer *ids[2] = { NULL, NULL }, *aist_signer = NULL;
	json_t *staples[2] = { NULL, NULL };
	struct listener ls[2] = { { .name = "otrp" }, { .name = "api" } };
	struct store *main_store = NULL;
	struct anchor_dir anchors = { 0 };
	struct tam_err err = { 0 };
	sigset_t set;
	int status = 1, left;

	if (parse_args(argc, argv, &o) != 0)
		return 2;
	/* Large TA bodies otherwise churn mmap/munmap on every request (see deps notes). */
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	json_object_seed(0);
	block_signals(&set);

	if (read_config(&o, &cfg, &err) != TAM_OK) {
		fprintf(stderr, "otrp-tamd: %s\n", err.msg);
		goto out;
	}
	tam_log_set_level((enum tam_log_level)cfg.log_level);
	if (load_anchor_dir(cfg.trust_anchor_dir, &anchors, &err) != TAM_OK ||
	    listener_tls_load(&ls[0], &cfg, &ls[0].tls, &err) != TAM_OK ||
	    listener_tls_load(&ls[1], &cfg, &ls[1].tls, &err) != TAM_OK ||
	    store_open(cfg.db_path, o.check_only ? STORE_READONLY : 0, &main_store, &err) != TAM_OK ||
	    load_signer(&cfg, main_store, &ids[0], &err) != TAM_OK ||
	    load_alt_signer(&cfg, ids[0], &ids[1], &err) != TAM_OK ||
	    (cfg.aist_tam_key[0] != '\0' && (pki_signer_load_raw(cfg.aist_tam_key,
	    pki_signer_tamid(ids[0]), &aist_signer, &err) != TAM_OK ||
	    (jose_key_type(pki_signer_public(aist_signer)) != JOSE_KTY_RSA &&
	    tam_err_set(&err, TAM_EINVAL, "aist.tam_key: the AIST agent knows RSA keys only") != 0))) ||
	    load_staples(&cfg, ids, false, staples, &err) != TAM_OK) {
		fprintf(stderr, "otrp-tamd: %s\n", err.msg);
		goto out;
	}
	if (o.check_only) {
		printf("configuration OK (tamid %s, alg %s%s%s, %d extra trust anchors, %d CRLs%s)\n",
		    pki_signer_tamid(ids[0]), pki_signer_alg(ids[0]), ids[1] != NULL ? " and " : "",
		    ids[1] != NULL ? pki_signer_alg(ids[1]) : "",
		    anchors.anchors != NULL ? sk_X509_num(anchors.anchors) : 0,
		    anchors.crls != NULL ? sk_X509_CRL_num(anchors.crls) : 0,
		    ls[0].tls.cert != NULL ? ", TLS" : "");
		status = 0;
		goto out;
	}
	ecfg.signer = ids[0];
	ecfg.alt_signer = ids[1];
	ecfg.aist_signer = aist_signer;
	ecfg.request_ttl = cfg.request_ttl;
	ecfg.auto_register = cfg.auto_register;
	/* Uploads and streamed TAs spool beside the database (its file system, its permissions). */
	snprintf(spool_dir, sizeof(spool_dir), "%s", cfg.db_path);
	if (strrchr(spool_dir, '/') != NULL)
		*strrchr(spool_dir, '/') = '\0';
	else
		snprintf(spool_dir, sizeof(spool_dir), ".");
	if (spool_dir[0] == '\0')
		snprintf(spool_dir, sizeof(spool_dir), "/");
	ecfg.stream_above = cfg.stream_ta_above;
	ecfg.streams = cfg.streamed_answers;
	ecfg.streams_per_device = cfg.streamed_answers_per_device;
	ecfg.spool_dir = spool_dir;
	if (otrp_engine_new(&ecfg, &engine, &err) != TAM_OK ||
	    (ratelimit_new(cfg.open_rate, cfg.open_burst, &open_limit) != TAM_OK &&
	    tam_err_set(&err, TAM_ENOMEM, "cannot make the rate limits") != 0) ||
	    (ratelimit_new(cfg.failure_rate, cfg.failure_burst, &failure_limit) != TAM_OK &&
	    tam_err_set(&err, TAM_ENOMEM, "cannot make the rate limits") != 0) ||
	    (ratelimit_new(TAM_AUDIT_REFUSALS_PER_MINUTE, TAM_AUDIT_REFUSALS_PER_MINUTE,
	    &api_ctx.refusal_budget) != TAM_OK &&
	    tam_err_set(&err, TAM_ENOMEM, "cannot make the audit budgets") != 0) ||
	    (ratelimit_new(TAM_AUDIT_REFUSALS_PER_MINUTE, TAM_AUDIT_REFUSALS_PER_MINUTE,
	    &api_ctx.download_budget) != TAM_OK &&
	    tam_err_set(&err, TAM_ENOMEM, "cannot make the audit budgets") != 0)) {
		fprintf(stderr, "otrp-tamd: %s\n", err.msg);
		goto out;
	}
	vacuum_once(main_store);
	reseal_pdata_once(main_store);
	check_nofile(&cfg);
	otrp_engine_set_extra_anchors(engine, anchors.anchors, anchors.crls, cfg.tee_eku);
	memset(&anchors, 0, sizeof(anchors));
	set_staples(staples);
	conns.path = cfg.db_path;
	api_ctx.db_path = cfg.db_path;
	api_ctx.spool_dir = spool_dir;
	atomic_store(&api_ctx.max_upload, cfg.max_upload);
	atomic_store(&api_ctx.sp_quota_bytes, cfg.sp_quota_bytes);
	atomic_store(&api_ctx.sp_quota_versions, cfg.sp_quota_versions);
	if (listener_start(&ls[0], &cfg, &err) != TAM_OK ||
	    (cfg.api_enabled && listener_start(&ls[1], &cfg, &err) != TAM_OK)) {
		fprintf(stderr, "otrp-tamd: %s\n", err.msg);
		goto out;
	}
	if (o.port_file != NULL && write_ports(o.port_file, ls) != 0)
		goto out;
	log_info("event=startup version=%s tamid=%s alg=%s alt_alg=%s listen=%s port=%u path=%s "
	    "tls=%s client_certs=%s api_port=%u", TAMD_VERSION, pki_signer_tamid(ids[0]),
	    pki_signer_alg(ids[0]), ids[1] != NULL ? pki_signer_alg(ids[1]) : "none", cfg.otrp_address, http_server_port(ls[0].srv), cfg.otrp_path,
	    ls[0].tls.cert ? "yes" : "no", ls[0].tls.trust ? "required" : "no",
	    ls[1].srv != NULL ? http_server_port(ls[1].srv) : 0);
	fprintf(stderr, "otrp-tamd listening on %s://%s%s%s:%u%s\n",
	    ls[0].tls.cert != NULL ? "https" : "http", strchr(cfg.otrp_address, ':') ? "[" : "",
	    cfg.otrp_address, strchr(cfg.otrp_address, ':') ? "]" : "", http_server_port(ls[0].srv),
	    cfg.otrp_path);
	if (cfg.aist_path[0] != '\0')
		fprintf(stderr, "otrp-tamd AIST interop profile on the same listener at %s\n",
		    cfg.aist_path);
	if (ls[1].srv != NULL)
		fprintf(stderr, "otrp-tamd management API (/api/v1, health, metrics) on %s://%s%s%s:%u/\n",
		    ls[1].tls.cert != NULL ? "https" : "http", strchr(cfg.api_address, ':') ? "[" : "",
		    cfg.api_address, strchr(cfg.api_address, ':') ? "]" : "", http_server_port(ls[1].srv));
	sd_notifyf(0, "READY=1\nSTATUS=serving OTrP on port %u\nMAINPID=%lu",
	    http_server_port(ls[0].srv), (unsigned long)getpid());
	serve_until_signal(&o, ids, &cfg, main_store, ls, 2, &set);
	sd_notify(0, "STOPPING=1");
	left = http_server_drain(ls[0].srv, cfg.shutdown_timeout);
	if (left > 0)
		log_warn("event=shutdown note=\"%d requests still running after %us; closing them\"",
		    left, cfg.shutdown_timeout);
	status = 0;
out:
	for (size_t i = 0; i < 2; i++) {
		reap_retired(&ls[i], true);
		http_server_stop(ls[i].srv);
	}
	for (size_t i = 0; i < conns.n; i++)
		store_close(conns.all[i]);
	free(conns.all);
	otrp_engine_free(engine);
	ratelimit_free(open_limit);
	ratelimit_free(failure_limit);
	ratelimit_free(api_ctx.refusal_budget);
	ratelimit_free(api_ctx.download_budget);
	for (size_t i = 0; i < 2; i++)
		tls_files_clear(&ls[i].tls);
	anchor_dir_clear(&anchors);
	staples_clear(staples);
	pki_signer_free(ids[0]);
	pki_signer_free(ids[1]);
	pki_signer_free(aist_signer);
	store_close(main_store);
	if (status == 0 && !o.check_only)
		log_info("event=shutdown");
	return status;
}
