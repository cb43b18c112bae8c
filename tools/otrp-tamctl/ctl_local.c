// SPDX-License-Identifier: MIT
/*
 * The direct transport: API requests answered in-process by the daemon's own
 * handlers on the database file, acting as the local user (who can read the
 * file, so is an administrator). Uploads stream from the file and spool next
 * to the database, exactly as the daemon does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tamctl.h"
#include "tam/limits.h"
#include "tam/version.h"

/* The api's store hook has no context argument; the CLI has one connection. */
static struct store *the_store;

static struct store *
local_store(struct tam_err *err)
{
	if (the_store == NULL)
		tam_err_set(err, TAM_EDB, "no database open");
	return the_store;
}

int
ctl_open(struct ctl *c, bool create)
{
	struct tam_err err = { 0 };
	char *slash;
	int rc;

	if (c->st != NULL)
		return CTL_EXIT_OK;
	rc = store_open(c->db, create ? STORE_CREATE : 0, &c->st, &err);
	if (rc == TAM_ENOTFOUND && !create)
		tam_err_set(&err, rc, "%s: no database here; create it with `otrp-tamctl init`", c->db);
	if (rc != TAM_OK)
		return ctl_fail(rc, &err);
	c->m.st = c->st;
	c->m.actor = c->actor;
	the_store = c->st;
	snprintf(c->spool, sizeof(c->spool), "%s", c->db);
	if ((slash = strrchr(c->spool, '/')) != NULL)
		*(slash == c->spool ? slash + 1 : slash) = '\0';
	else
		snprintf(c->spool, sizeof(c->spool), ".");
	c->api.store = local_store;
	c->api.version = TAMD_VERSION;
	c->api.db_path = c->db;
	c->api.spool_dir = c->spool;
	atomic_store(&c->api.max_upload, (uint64_t)TAM_MAX_TA_BYTES);
	c->n_routes = api_routes(&c->api, c->routes, HTTP_MAX_ROUTES);
	return CTL_EXIT_OK;
}

static int
read_file_piece(void *cls, uint8_t *buf, size_t max, size_t *got)
{
	FILE *f = cls;

	*got = fread(buf, 1, max, f);
	return ferror(f) ? -1 : 0;
}

/* Copy a streamed answer into out_file (atomically, via a temporary name). */
static int
save_reader(struct http_body_reader *rd, const char *out_file)
{
	char tmp[4200];
	uint8_t buf[65536];
	uint64_t pos = 0;
	FILE *f;
	int rc = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", out_file);
	if ((f = fopen(tmp, "wb")) == NULL)
		return -1;
	while (pos < rd->size && rc == 0) {
		size_t want = rd->size - pos < sizeof(buf) ? (size_t)(rd->size - pos) : sizeof(buf);
		long n = rd->read(rd->cls, pos, buf, want);
		if (n <= 0 || fwrite(buf, 1, (size_t)n, f) != (size_t)n)
			rc = -1;
		else
			pos += (uint64_t)n;
	}
	if (fclose(f) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, out_file) != 0)
		rc = -1;
	if (rc != 0)
		unlink(tmp);
	return rc;
}

int
ctl_local_request(struct ctl *c, const char *method, const char *path,
    const char *const *query, const char *body, size_t len, const char *upload_file,
    const char *const *headers, const char *out_file, struct ctl_resp *r)
{
	struct http_local lr = { 0 };
	struct http_answer ans = { 0 };
	struct tam_err err = { 0 };
	unsigned status = 0;
	FILE *up = NULL;
	int rc;

	if ((rc = ctl_open(c, false)) != CTL_EXIT_OK)
		return rc;
	lr.method = method;
	lr.path = path;
	lr.query = query;
	lr.headers = headers;
	lr.actor = c->actor;
	lr.body = (const uint8_t *)body;
	lr.len = len;
	if (upload_file != NULL) {
		if ((up = fopen(upload_file, "rb")) == NULL) {
			fprintf(stderr, "otrp-tamctl: %s: %s\n", upload_file, strerror(errno));
			return errno == ENOENT ? CTL_EXIT_NOTFOUND : CTL_EXIT_OTHER;
		}
		lr.read = read_file_piece;
		lr.read_cls = up;
	}
	rc = http_dispatch_local(c->routes, c->n_routes, &lr, &status, &ans, &err);
	if (up != NULL)
		fclose(up);
	if (rc != TAM_OK) {
		http_answer_clear(&ans);
		return ctl_fail(rc, &err);
	}
	r->status = (long)status;
	if (ans.reader.read != NULL && out_file != NULL && status == 200) {
		if (save_reader(&ans.reader, out_file) != 0) {
			fprintf(stderr, "otrp-tamctl: cannot write %s: %s\n", out_file, strerror(errno));
			http_answer_clear(&ans);
			return CTL_EXIT_OTHER;
		}
	} else if (ans.body != NULL && ans.len > 0) {
		r->json = json_loadb(ans.body, ans.len, 0, NULL);
	}
	http_answer_clear(&ans);
	return CTL_EXIT_OK;
}
