// SPDX-License-Identifier: MIT
/*
 * otrp-tamd: the TAM daemon. Loads the TAM identity from the database, starts
 * the OTrP listener and waits for signals; fatal errors are only possible
 * here, before serving starts. Each server thread gets its own database
 * connection on first use; all are closed after the listener has stopped.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "tam/engine.h"
#include "tam/http.h"
#include "tam/limits.h"
#include "tam/log.h"
#include "tam/pki.h"
#include "tam/store.h"

#ifndef TAMD_VERSION
#define TAMD_VERSION "0.1.0"
#endif

#define DEFAULT_DB "/var/lib/otrp-tamd/tamd.db"
#define HOUSEKEEPING_SECONDS 60
#define KEEP_FINISHED_SECONDS (7 * 24 * 3600)

struct options {
	const char *db;
	const char *listen;
	unsigned port;
	const char *path;
	size_t max_body;
	unsigned threads;
	int64_t request_ttl;
	bool auto_register;
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

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: otrp-tamd [-n] [-d db] [-l address] [-p port] [options]\n"
	    "  -d, --db FILE            database created by `otrp-tamctl init` (default " DEFAULT_DB ")\n"
	    "  -l, --listen ADDRESS     numeric address to bind (default 127.0.0.1)\n"
	    "  -p, --port PORT          OTrP port, 0 picks a free one (default 8080)\n"
	    "      --path PATH          OTrP endpoint path (default /tam)\n"
	    "      --max-body BYTES     largest accepted POST body (default %u)\n"
	    "      --threads N          server threads (default 2)\n"
	    "      --request-ttl SEC    how long a request stays answerable (default %d)\n"
	    "      --no-auto-register   refuse certificate TEEs that were not enrolled\n"
	    "      --port-file FILE     write the bound port to FILE once listening\n"
	    "      --log-level LEVEL    error, warn, info (default) or debug\n"
	    "  -n, --check              load database and keys, print \"configuration OK\", exit\n"
	    "  -V, --version            print the version\n"
	    "  -h, --help               this text\n",
	    TAM_MAX_BODY_BYTES, TAM_DEFAULT_REQUEST_TTL);
}

static int
parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;

	errno = 0;
	if (*s < '0' || *s > '9')
		return -1;
	*out = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || *out > max)
		return -1;
	return 0;
}

static int
parse_args(int argc, char **argv, struct options *o)
{
	enum { O_PATH = 256, O_MAXBODY, O_THREADS, O_TTL, O_NOAUTO, O_PORTFILE, O_LOGLEVEL };
	static const struct option longopts[] = {
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
		{ "check", no_argument, NULL, 'n' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long v;
	int c, lvl;

	while ((c = getopt_long(argc, argv, "d:l:p:nVh", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': o->db = optarg; break;
		case 'l': o->listen = optarg; break;
		case 'p':
			if (parse_uint(optarg, 65535, &v) != 0)
				goto bad;
			o->port = (unsigned)v;
			break;
		case O_PATH: o->path = optarg; break;
		case O_MAXBODY:
			if (parse_uint(optarg, 1ull << 30, &v) != 0 || v == 0)
				goto bad;
			o->max_body = (size_t)v;
			break;
		case O_THREADS:
			if (parse_uint(optarg, 64, &v) != 0 || v == 0)
				goto bad;
			o->threads = (unsigned)v;
			break;
		case O_TTL:
			if (parse_uint(optarg, 86400, &v) != 0 || v == 0)
				goto bad;
			o->request_ttl = (int64_t)v;
			break;
		case O_NOAUTO: o->auto_register = false; break;
		case O_PORTFILE: o->port_file = optarg; break;
		case O_LOGLEVEL:
			if ((lvl = tam_log_level_parse(optarg)) < 0)
				goto bad;
			tam_log_set_level((enum tam_log_level)lvl);
			break;
		case 'n': o->check_only = true; break;
		case 'V': printf("otrp-tamd %s\n", TAMD_VERSION); exit(0);
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "otrp-tamd: unexpected argument \"%s\"\n", argv[optind]);
		return -1;
	}
	return 0;
bad:
	fprintf(stderr, "otrp-tamd: bad value \"%s\" for option %s\n", optarg, argv[optind - 1]);
	return -1;
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

static int
handle_otrp(void *arg, const uint8_t *body, size_t len, struct http_answer *ans,
    struct tam_err *err)
{
	struct otrp_reply reply = { 0 };
	struct store *st;
	int rc;

	(void)arg;
	if ((st = store_for_thread(err)) == NULL)
		return err->code ? err->code : TAM_EDB;
	rc = otrp_engine_handle(engine, st, body, len, &reply, err);
	if (rc != TAM_OK)
		return rc;
	ans->no_content = reply.done;
	ans->body = reply.body;
	ans->len = reply.len;
	return TAM_OK;
}

static int
write_port_file(const char *path, uint16_t port)
{
	char buf[16];
	struct tam_err err = { 0 };
	int n = snprintf(buf, sizeof(buf), "%u\n", port);

	if (tam_file_write_atomic(path, buf, (size_t)n, 0644, &err) != TAM_OK) {
		log_error("event=startup error=\"%s\"", err.msg);
		return -1;
	}
	return 0;
}

static int
load_signer(struct store *st, struct pki_signer **signer, struct tam_err *err)
{
	struct store_identity id = { 0 };
	int rc;

	rc = store_identity_get(st, &id, err);
	if (rc == TAM_ENOTFOUND)
		return tam_err_set(err, rc, "database has no TAM identity; run `otrp-tamctl init`");
	if (rc != TAM_OK)
		return rc;
	rc = pki_signer_load(id.key_path, id.chain_pem, id.chain_len, id.tamid, signer, err);
	store_identity_clear(&id);
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

static void
housekeeping(struct store *st)
{
	struct tam_err err = { 0 };

	if (store_purge(st, tam_now() - KEEP_FINISHED_SECONDS, &err) != TAM_OK)
		log_warn("event=housekeeping error=\"%s\"", err.msg);
}

static void
serve_until_signal(struct store *st, const sigset_t *set)
{
	struct timespec ts = { HOUSEKEEPING_SECONDS, 0 };

	for (;;) {
		int sig = sigtimedwait(set, NULL, &ts);
		if (sig == SIGHUP) {
			log_info("event=signal signal=HUP note=\"nothing to reload: settings come from the command line\"");
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
		if (sig < 0 && errno == EAGAIN)
			housekeeping(st);
	}
}

int
main(int argc, char **argv)
{
	struct options o = {
		.db = DEFAULT_DB, .listen = "127.0.0.1", .port = 8080, .path = "/tam",
		.max_body = TAM_MAX_BODY_BYTES, .threads = 2,
		.request_ttl = TAM_DEFAULT_REQUEST_TTL, .auto_register = true,
	};
	struct otrp_engine_cfg ecfg = { 0 };
	struct http_cfg hcfg = { 0 };
	struct pki_signer *signer = NULL;
	struct http_server *srv = NULL;
	struct store *main_store = NULL;
	struct tam_err err = { 0 };
	sigset_t set;
	int status = 1;

	if (parse_args(argc, argv, &o) != 0)
		return 2;
	/* Large TA bodies otherwise churn mmap/munmap on every request (see deps notes). */
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	json_object_seed(0);
	block_signals(&set);

	if (store_open(o.db, o.check_only ? STORE_READONLY : 0, &main_store, &err) != TAM_OK ||
	    load_signer(main_store, &signer, &err) != TAM_OK) {
		fprintf(stderr, "otrp-tamd: %s\n", err.msg);
		goto out;
	}
	if (o.check_only) {
		printf("configuration OK (tamid %s, alg %s)\n", pki_signer_tamid(signer),
		    pki_signer_alg(signer));
		status = 0;
		goto out;
	}
	ecfg.signer = signer;
	ecfg.request_ttl = o.request_ttl;
	ecfg.auto_register = o.auto_register;
	if (otrp_engine_new(&ecfg, &engine, &err) != TAM_OK) {
		fprintf(stderr, "otrp-tamd: %s\n", err.msg);
		goto out;
	}
	conns.path = o.db;
	hcfg.address = o.listen;
	hcfg.port = (uint16_t)o.port;
	hcfg.path = o.path;
	hcfg.max_body = o.max_body;
	hcfg.threads = o.threads;
	hcfg.conn_limit = 1024;
	hcfg.conn_timeout = 30;
	hcfg.handler = handle_otrp;
	if (http_server_start(&hcfg, &srv, &err) != TAM_OK) {
		fprintf(stderr, "otrp-tamd: %s\n", err.msg);
		goto out;
	}
	if (o.port_file != NULL && write_port_file(o.port_file, http_server_port(srv)) != 0)
		goto out;
	log_info("event=startup version=%s tamid=%s alg=%s listen=%s port=%u path=%s",
	    TAMD_VERSION, pki_signer_tamid(signer), pki_signer_alg(signer), o.listen,
	    http_server_port(srv), o.path);
	fprintf(stderr, "otrp-tamd listening on http://%s%s%s:%u%s\n",
	    strchr(o.listen, ':') ? "[" : "", o.listen, strchr(o.listen, ':') ? "]" : "",
	    http_server_port(srv), o.path);
	serve_until_signal(main_store, &set);
	status = 0;
out:
	http_server_stop(srv);
	for (size_t i = 0; i < conns.n; i++)
		store_close(conns.all[i]);
	free(conns.all);
	otrp_engine_free(engine);
	pki_signer_free(signer);
	store_close(main_store);
	if (status == 0 && !o.check_only)
		log_info("event=shutdown");
	return status;
}
