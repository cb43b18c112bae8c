// SPDX-License-Identifier: MIT
/*
 * otrp-tamctl: the administration CLI. Every command is a request to the
 * management API: over HTTP(S) with a bearer token (--url), or in-process on
 * the database file (-d, like kadmin.local) through the very same handlers,
 * so validation, scoping and audit are identical whichever way a change comes.
 */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tamctl.h"
#include "tam/limits.h"
#include "tam/log.h"
#include "tam/pki.h"
#include "tam/version.h"

#define DEFAULT_DB "/var/lib/otrp-tamd/tamd.db"
/* A token file holds one token; anything longer is not one. */
#define MAX_TOKEN_FILE 512

static const struct ctl_cmd commands[] = {
	{ "init", cmd_init, "init --key FILE --cert FILE [--tamid ID]",
	    "create the database and set the TAM identity (database only)" },
	{ "trust-anchor", cmd_trust_anchor, "trust-anchor add|list|show|remove ...",
	    "CA certificates TEE certificates must chain to" },
	{ "sp", cmd_sp, "sp add|list|show|remove ...", "service providers and their signing certificates" },
	{ "ta", cmd_ta, "ta sign|upload|list|versions|download|withdraw|pdata ...",
	    "trusted applications and their versions" },
	{ "device", cmd_device, "device enroll|list|show|decommission ...", "devices (TEEs)" },
	{ "assign", cmd_assign,
	    "assign [--sp SPID | --devices LIST] [--allow-downgrade] [DEVICE] TAID [VERSION]",
	    "this TA belongs on this device (or on many)" },
	{ "unassign", cmd_unassign, "unassign DEVICE TAID", "this TA no longer belongs on this device" },
	{ "token", cmd_token, "token create|list|revoke ...", "management API tokens" },
	{ "audit", cmd_audit, "audit [--actor A] [--object O] [--since T] [--until T] [--limit N]",
	    "who changed what" },
	{ "version", cmd_version, "version", "versions of the tool and the database schema" },
};

/* Where ctl_parse records --json, wherever it appears. */
static bool *json_flag;

static void
usage(FILE *f)
{
	fprintf(f, "usage: otrp-tamctl [-d DB | -u URL] [--token-file FILE] [--cacert FILE] [--json]"
	    " COMMAND ...\n"
	    "  -d, --db FILE        database (default $OTRP_TAMD_DB or " DEFAULT_DB ")\n"
	    "  -u, --url URL        management API instead of the database ($OTRP_TAMCTL_URL)\n"
	    "  --token-file FILE    API token file (else $OTRP_TAMCTL_TOKEN)\n"
	    "  --token TOKEN        API token (visible to other users in ps: prefer the others)\n"
	    "  --cacert FILE        CA certificates for an https URL\n"
	    "  --json               print JSON (one document on stdout) instead of tables\n"
	    "\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-62s %s\n", commands[i].usage, commands[i].help);
	fprintf(f, "\nexit codes: 0 ok, 1 usage, 2 not found, 3 conflict, 4 auth, 5 other\n"
	    "`otrp-tamctl COMMAND --help` shows a command's own usage.\n");
}

int
ctl_usage_error(const char *use, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "otrp-tamctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: otrp-tamctl %s\n", use);
	return CTL_EXIT_USAGE;
}

int
ctl_parse(int argc, char **argv, const struct ctl_opt *opts, const char **pos, int min,
    int max, const char *use)
{
	int npos = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const struct ctl_opt *o = NULL;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			printf("usage: otrp-tamctl %s\n", use);
			return -1;
		}
		if (strcmp(a, "--json") == 0) {
			if (json_flag != NULL)
				*json_flag = true;
			continue;
		}
		if (strncmp(a, "--", 2) == 0) {
			for (const struct ctl_opt *p = opts; p != NULL && p->name != NULL; p++)
				if (strcmp(p->name, a) == 0)
					o = p;
			if (o == NULL)
				return ctl_usage_error(use, "unknown option %s", a);
			if (o->value == NULL) {
				*o->flag = true;
				continue;
			}
			if (i + 1 >= argc)
				return ctl_usage_error(use, "option %s needs a value", a);
			*o->value = argv[++i];
			continue;
		}
		if (npos >= max)
			return ctl_usage_error(use, "unexpected argument \"%s\"", a);
		pos[npos++] = a;
	}
	if (npos < min)
		return ctl_usage_error(use, "missing arguments");
	for (int i = npos; i < max; i++)
		pos[i] = NULL;
	return CTL_EXIT_OK;
}

int
ctl_parse_repeated(int *argc, char **argv, const char *name, const char **vals, size_t max,
    size_t *n, const char *use)
{
	int keep = 1;

	*n = 0;
	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], name) != 0) {
			argv[keep++] = argv[i];
			continue;
		}
		if (i + 1 >= *argc)
			return ctl_usage_error(use, "option %s needs a value", name);
		if (*n >= max)
			return ctl_usage_error(use, "option %s may be given at most %zu times", name,
			    max);
		vals[(*n)++] = argv[++i];
	}
	*argc = keep;
	argv[keep] = NULL;
	return CTL_EXIT_OK;
}

int
ctl_fail(int code, const struct tam_err *err)
{
	fprintf(stderr, "otrp-tamctl: %s\n", err != NULL && err->msg[0] ? err->msg : tam_err_name(code));
	switch (code) {
	case TAM_ENOTFOUND: return CTL_EXIT_NOTFOUND;
	case TAM_ECONFLICT: return CTL_EXIT_CONFLICT;
	case TAM_EDENIED: return CTL_EXIT_AUTH;
	case TAM_EUSAGE: return CTL_EXIT_USAGE;
	default: return CTL_EXIT_OTHER;
	}
}

int
ctl_read_file(const char *path, size_t max, uint8_t **data, size_t *len)
{
	struct tam_err err = { 0 };
	int rc = tam_file_read(path, max, data, len, &err);

	return rc == TAM_OK ? CTL_EXIT_OK : ctl_fail(rc, &err);
}

int
ctl_dispatch(struct ctl *c, const char *noun, const struct ctl_cmd *cmds, size_t n, int argc,
    char **argv)
{
	FILE *f = stderr;

	if (argc >= 2) {
		for (size_t i = 0; i < n; i++)
			if (strcmp(argv[1], cmds[i].name) == 0)
				return cmds[i].run(c, argc - 1, argv + 1);
		if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
			f = stdout;
		else
			fprintf(stderr, "otrp-tamctl: unknown %s command \"%s\"\n", noun, argv[1]);
	}
	fprintf(f, "usage:\n");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "  otrp-tamctl %-56s %s\n", cmds[i].usage, cmds[i].help);
	return f == stdout ? CTL_EXIT_OK : CTL_EXIT_USAGE;
}

/* ---- requests ---- */

void
ctl_resp_clear(struct ctl_resp *r)
{
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

static int
request(struct ctl *c, const char *method, const char *path, const char *const *query,
    const char *body, size_t len, const char *upload_file, const char *const *headers,
    const char *out_file, struct ctl_resp *r)
{
	memset(r, 0, sizeof(*r));
	if (c->url != NULL)
		return ctl_http_request(c, method, path, query, body, len, upload_file, headers,
		    out_file, r);
	return ctl_local_request(c, method, path, query, body, len, upload_file, headers, out_file,
	    r);
}

int
ctl_request(struct ctl *c, const char *method, const char *path, const char *const *query,
    const json_t *body, struct ctl_resp *r)
{
	static const char *const json_hdr[] = { "Content-Type", "application/json", NULL };
	char *text = NULL;
	int rc;

	if (body != NULL && (text = json_dumps(body, JSON_COMPACT)) == NULL) {
		fprintf(stderr, "otrp-tamctl: out of memory\n");
		return CTL_EXIT_OTHER;
	}
	rc = request(c, method, path, query, text, text != NULL ? strlen(text) : 0, NULL,
	    text != NULL ? json_hdr : NULL, NULL, r);
	free(text);
	return rc;
}

/* "sha-256=:<base64>:" of a file, read in pieces. */
static int
file_digest(const char *file, char out[64])
{
	uint8_t buf[65536], md[32];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned mdlen = 0;
	char *b64 = NULL;
	FILE *f;
	size_t n;
	int rc = -1;

	if (ctx == NULL || (f = fopen(file, "rb")) == NULL) {
		EVP_MD_CTX_free(ctx);
		return -1;
	}
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1) {
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			if (EVP_DigestUpdate(ctx, buf, n) != 1)
				break;
		if (!ferror(f) && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 &&
		    tam_b64_encode(md, sizeof(md), &b64) == TAM_OK) {
			snprintf(out, 64, "sha-256=:%s:", b64);
			rc = 0;
		}
	}
	free(b64);
	fclose(f);
	EVP_MD_CTX_free(ctx);
	return rc;
}

int
ctl_upload(struct ctl *c, const char *path, const char *const *query, const char *file,
    const char *content_type, struct ctl_resp *r)
{
	char digest[64];
	const char *headers[] = { "Content-Type", content_type, "Content-Digest", digest, NULL };

	if (file_digest(file, digest) != 0) {
		fprintf(stderr, "otrp-tamctl: %s: %s\n", file, strerror(errno));
		return errno == ENOENT ? CTL_EXIT_NOTFOUND : CTL_EXIT_OTHER;
	}
	return request(c, "POST", path, query, NULL, 0, file, headers, NULL, r);
}

int
ctl_put_file(struct ctl *c, const char *path, const char *file, size_t max,
    const char *content_type, struct ctl_resp *r)
{
	const char *headers[] = { "Content-Type", content_type, NULL };
	uint8_t *data = NULL;
	size_t len = 0;
	int rc;

	if ((rc = ctl_read_file(file, max, &data, &len)) != 0)
		return rc;
	rc = request(c, "PUT", path, NULL, (const char *)data, len, NULL, headers, NULL, r);
	free(data);
	return rc;
}

int
ctl_download(struct ctl *c, const char *path, const char *out_file, struct ctl_resp *r)
{
	return request(c, "GET", path, NULL, NULL, 0, NULL, NULL, out_file, r);
}

int
ctl_check(const struct ctl_resp *r)
{
	const char *detail = ctl_str(r->json, "detail"), *code = ctl_str(r->json, "code");

	if (r->status >= 200 && r->status < 300)
		return CTL_EXIT_OK;
	if (strcmp(detail, "-") != 0)
		fprintf(stderr, "otrp-tamctl: %s [%s]\n", detail, code);
	else
		fprintf(stderr, "otrp-tamctl: the server answered HTTP %ld\n", r->status);
	switch (r->status) {
	case 400: return CTL_EXIT_USAGE;
	case 401:
	case 403: return CTL_EXIT_AUTH;
	case 404: return CTL_EXIT_NOTFOUND;
	case 409: return CTL_EXIT_CONFLICT;
	default: return CTL_EXIT_OTHER;
	}
}

int
ctl_list_all(struct ctl *c, const char *path, const char *const *query, size_t max,
    json_t **items)
{
	const char *q[16];
	char *cursor = NULL;
	struct ctl_resp r;
	size_t nq = 0;
	int rc;

	if ((*items = json_array()) == NULL)
		return CTL_EXIT_OTHER;
	for (size_t i = 0; query != NULL && query[i] != NULL && nq + 4 < 14; i += 2) {
		q[nq++] = query[i];
		q[nq++] = query[i + 1];
	}
	for (;;) {
		size_t k = nq;
		q[k++] = "limit";
		q[k++] = "500";
		if (cursor != NULL) {
			q[k++] = "cursor";
			q[k++] = cursor;
		}
		q[k] = NULL;
		if ((rc = ctl_request(c, "GET", path, q, NULL, &r)) != CTL_EXIT_OK ||
		    (rc = ctl_check(&r)) != CTL_EXIT_OK)
			break;
		json_array_extend(*items, json_object_get(r.json, "items"));
		free(cursor);
		cursor = NULL;
		if (json_string_value(json_object_get(r.json, "next_cursor")) != NULL &&
		    (max == 0 || json_array_size(*items) < max))
			cursor = strdup(json_string_value(json_object_get(r.json, "next_cursor")));
		ctl_resp_clear(&r);
		if (cursor == NULL)
			return CTL_EXIT_OK;
	}
	ctl_resp_clear(&r);
	free(cursor);
	json_decref(*items);
	*items = NULL;
	return rc;
}

int
ctl_run(struct ctl *c, const char *method, const char *path, const char *const *query,
    const json_t *body, struct ctl_resp *out)
{
	struct ctl_resp r;
	int rc;

	if ((rc = ctl_request(c, method, path, query, body, &r)) != CTL_EXIT_OK)
		return rc;
	if ((rc = ctl_check(&r)) == CTL_EXIT_OK && c->json && r.json != NULL)
		ctl_print_json(r.json);
	if (out != NULL && rc == CTL_EXIT_OK)
		*out = r;
	else
		ctl_resp_clear(&r);
	return rc;
}

int
ctl_list_cmd(struct ctl *c, int argc, char **argv, const char *use, const char *path,
    json_t **items)
{
	const char *pos[1];
	int rc;

	*items = NULL;
	if ((rc = ctl_parse(argc, argv, NULL, pos, 0, 0, use)) != 0 ||
	    (rc = ctl_list_all(c, path, NULL, 0, items)) != 0)
		return rc;
	if (c->json) {
		ctl_print_json(*items);
		json_decref(*items);
		*items = NULL;
	}
	return CTL_EXIT_OK;
}

int
ctl_named_cmd(struct ctl *c, int argc, char **argv, const char *use, const char *what,
    const char *method, const char *prefix, const char *suffix, struct ctl_resp *out)
{
	const char *pos[1];
	char path[600];
	int rc;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if ((rc = ctl_parse(argc, argv, NULL, pos, 1, 1, use)) != 0 ||
	    (rc = ctl_check_segment(pos[0], what, use)) != 0)
		return rc;
	snprintf(path, sizeof(path), "%s/%s%s", prefix, pos[0], suffix);
	rc = ctl_run(c, method, path, NULL, NULL, out);
	if (rc == CTL_EXIT_OK && out != NULL && c->json)
		ctl_resp_clear(out);
	return rc;
}

int
ctl_check_segment(const char *v, const char *what, const char *use)
{
	if (!tam_valid_name(v, 256))
		return ctl_usage_error(use, "%s must be 1-255 of [A-Za-z0-9._:-]", what);
	return CTL_EXIT_OK;
}

int
ctl_read_pem(const char *path, char **pem)
{
	uint8_t *data = NULL;
	size_t len = 0;
	bool text = true;
	X509 *x = NULL;
	BIO *b = NULL;
	char *p;
	long n;
	int rc;

	*pem = NULL;
	if ((rc = ctl_read_file(path, TAM_MAX_PEM_BYTES, &data, &len)) != CTL_EXIT_OK)
		return rc;
	for (size_t i = 0; i < len && text; i++)
		text = data[i] >= 0x20 ? data[i] != 0x7f : data[i] == '\n' || data[i] == '\r' ||
		    data[i] == '\t';
	if (text) {
		*pem = strndup((const char *)data, len);
	} else if (pki_cert_load(data, len, &x, NULL) == TAM_OK) {
		/* DER: the API carries PEM text. */
		if ((b = BIO_new(BIO_s_mem())) != NULL && PEM_write_bio_X509(b, x) == 1 &&
		    (n = BIO_get_mem_data(b, &p)) > 0)
			*pem = strndup(p, (size_t)n);
	}
	BIO_free(b);
	X509_free(x);
	free(data);
	if (*pem == NULL) {
		fprintf(stderr, "otrp-tamctl: %s: not a certificate (PEM or DER)\n", path);
		return CTL_EXIT_OTHER;
	}
	return CTL_EXIT_OK;
}

/* ---- output ---- */

void
ctl_print_json(const json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (s != NULL)
		printf("%s\n", s);
	free(s);
}

const char *
ctl_str(const json_t *o, const char *name)
{
	const char *s = json_string_value(json_object_get(o, name));

	return s != NULL ? s : "-";
}

int
cmd_version(struct ctl *c, int argc, char **argv)
{
	static const char use[] = "version";
	const char *pos[1];
	int rc;

	if ((rc = ctl_parse(argc, argv, NULL, pos, 0, 0, use)) != 0)
		return rc;
	printf("otrp-tamctl %s\nschema %d\n", TAMD_VERSION, store_schema_latest());
	if (c->url == NULL && access(c->db, F_OK) == 0 && ctl_open(c, false) == CTL_EXIT_OK)
		printf("database %s schema %d\n", c->db, store_schema_version(c->st));
	return CTL_EXIT_OK;
}

/* The token from --token, --token-file or $OTRP_TAMCTL_TOKEN, trimmed. */
static int
load_token(struct ctl *c, const char *flag, const char *file)
{
	const char *env = getenv("OTRP_TAMCTL_TOKEN");
	uint8_t *data = NULL;
	size_t len = 0, n;
	int rc;

	if (flag != NULL) {
		c->token = strdup(flag);
	} else if (file != NULL) {
		if ((rc = ctl_read_file(file, MAX_TOKEN_FILE, &data, &len)) != CTL_EXIT_OK)
			return rc;
		c->token = strndup((const char *)data, len);
		tam_wipe(data, len);
		free(data);
	} else if (env != NULL) {
		c->token = strdup(env);
	} else {
		return CTL_EXIT_OK;
	}
	if (c->token == NULL)
		return CTL_EXIT_OTHER;
	n = strlen(c->token);
	while (n > 0 && (c->token[n - 1] == '\n' || c->token[n - 1] == '\r' ||
	    c->token[n - 1] == ' ' || c->token[n - 1] == '\t'))
		c->token[--n] = '\0';
	return CTL_EXIT_OK;
}

int
main(int argc, char **argv)
{
	const char *token_flag = NULL, *token_file = NULL;
	struct ctl c = { 0 };
	struct passwd *pw;
	int i = 1, rc;

	c.db = getenv("OTRP_TAMD_DB") ? getenv("OTRP_TAMD_DB") : DEFAULT_DB;
	c.url = getenv("OTRP_TAMCTL_URL");
	if (c.url != NULL && c.url[0] == '\0')
		c.url = NULL;
	json_flag = &c.json;
	json_object_seed(0);
	while (i < argc && argv[i][0] == '-') {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if ((strcmp(a, "-d") == 0 || strcmp(a, "--db") == 0) && v != NULL) {
			c.db = v;
			c.url = NULL;
		} else if ((strcmp(a, "-u") == 0 || strcmp(a, "--url") == 0) && v != NULL) {
			c.url = v;
		} else if (strcmp(a, "--token-file") == 0 && v != NULL) {
			token_file = v;
		} else if (strcmp(a, "--token") == 0 && v != NULL) {
			token_flag = v;
		} else if (strcmp(a, "--cacert") == 0 && v != NULL) {
			c.cacert = v;
		} else if (strcmp(a, "--json") == 0) {
			c.json = true;
			i++;
			continue;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return CTL_EXIT_OK;
		} else {
			fprintf(stderr, "otrp-tamctl: unknown option %s, or it lacks its value\n", a);
			usage(stderr);
			return CTL_EXIT_USAGE;
		}
		i += 2;
	}
	if (i >= argc) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if ((rc = load_token(&c, token_flag, token_file)) != CTL_EXIT_OK)
		return rc;
	/* The shared code logs as the daemon does; a CLI user wants warnings only. */
	tam_log_set_level(TAM_LOG_WARN);
	pw = getpwuid(geteuid());
	snprintf(c.actor, sizeof(c.actor), "cli:%s", pw != NULL ? pw->pw_name : "unknown");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "otrp-tamctl: libcurl failed to initialize\n");
		return CTL_EXIT_OTHER;
	}
	rc = -2;
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
		if (strcmp(argv[i], commands[k].name) == 0)
			rc = commands[k].run(&c, argc - i, argv + i);
	if (rc == -2) {
		fprintf(stderr, "otrp-tamctl: unknown command \"%s\"\n", argv[i]);
		usage(stderr);
		rc = CTL_EXIT_USAGE;
	}
	store_close(c.st);
	if (c.token != NULL)
		tam_wipe(c.token, strlen(c.token));
	free(c.token);
	curl_global_cleanup();
	return rc < 0 ? CTL_EXIT_OK : rc;
}
