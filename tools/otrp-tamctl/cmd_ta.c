// SPDX-License-Identifier: MIT
/*
 * otrp-tamctl ta: TA versions. `ta sign` is the SP's side (it runs where the
 * SP key is and needs neither database nor server); the rest talk to the API.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tamctl.h"
#include "tam/jose.h"
#include "tam/limits.h"
#include "tam/otrp.h"

static int
ta_sign(struct ctl *c, int argc, char **argv)
{
	static const char use[] = "ta sign --key SPKEY [--flattened] INPUT OUTPUT";
	const char *keyfile = NULL, *pos[2];
	bool flattened = false;
	const struct ctl_opt opts[] = {
		{ "--key", &keyfile, NULL }, { "--flattened", NULL, &flattened },
		{ NULL, NULL, NULL },
	};
	struct tam_err err = { 0 };
	struct jose_key *key = NULL;
	uint8_t *pem = NULL, *ta = NULL;
	size_t pem_len = 0, ta_len = 0;
	json_t *jws = NULL;
	char *out = NULL;
	int rc;

	(void)c;
	if ((rc = ctl_parse(argc, argv, opts, pos, 2, 2, use)) != 0)
		return rc;
	if (keyfile == NULL)
		return ctl_usage_error(use, "--key is required");
	if ((rc = ctl_read_file(keyfile, TAM_MAX_PEM_BYTES, &pem, &pem_len)) != 0 ||
	    (rc = ctl_read_file(pos[0], TAM_MAX_TA_BYTES, &ta, &ta_len)) != 0)
		goto out;
	rc = jose_key_from_pem(pem, pem_len, &key, &err);
	if (rc == TAM_OK && !jose_key_is_private(key))
		rc = tam_err_set(&err, TAM_EINVAL, "%s is not a private key", keyfile);
	if (rc == TAM_OK)
		rc = jose_jws_sign(key, jose_key_sig_alg(key), NULL, NULL, ta, ta_len, &jws, &err);
	/* Compact by default: the form an upload of any size streams through verification. */
	if (rc == TAM_OK && flattened && (out = json_dumps(jws, JSON_COMPACT)) == NULL)
		rc = tam_err_set(&err, TAM_ENOMEM, "out of memory");
	if (rc == TAM_OK && !flattened) {
		const char *p = json_string_value(json_object_get(jws, "protected"));
		const char *l = json_string_value(json_object_get(jws, "payload"));
		const char *s = json_string_value(json_object_get(jws, "signature"));
		size_t n = strlen(p) + strlen(l) + strlen(s) + 3;
		if ((out = malloc(n)) == NULL)
			rc = tam_err_set(&err, TAM_ENOMEM, "out of memory");
		else
			snprintf(out, n, "%s.%s.%s", p, l, s);
	}
	if (rc == TAM_OK)
		rc = tam_file_write_atomic(pos[1], out, strlen(out), 0644, &err);
	rc = rc == TAM_OK ? CTL_EXIT_OK : ctl_fail(rc, &err);
out:
	if (pem != NULL)
		tam_wipe(pem, pem_len);
	free(pem);
	free(ta);
	free(out);
	json_decref(jws);
	jose_key_free(key);
	return rc;
}

/* What a TaVersion requires, as "TAID@VERSION,TAID" into buf ("-" when nothing). */
static const char *
requires_text(const json_t *v, char *buf, size_t size)
{
	const json_t *r;
	size_t i, len = 0;

	buf[0] = '\0';
	json_array_foreach(json_object_get(v, "requires"), i, r) {
		const char *min = json_string_value(json_object_get(r, "min_version"));
		int n = snprintf(buf + len, size - len, "%s%s%s%s", i > 0 ? "," : "",
		    ctl_str(r, "taid"), min != NULL ? "@" : "", min != NULL ? min : "");
		if (n < 0 || (size_t)n >= size - len)
			break;
		len += (size_t)n;
	}
	return buf[0] != '\0' ? buf : "-";
}

static int
ta_upload(struct ctl *c, int argc, char **argv)
{
	static const char use[] =
	    "ta upload SPID TAID VERSION BUNDLE [--name NAME] [--requires TAID[@VERSION]]...";
	const char *name = NULL, *pos[4], *reqs[TAM_MAX_TA_REQUIRES];
	const struct ctl_opt opts[] = { { "--name", &name, NULL }, { NULL, NULL, NULL } };
	const char *query[2 * (2 + TAM_MAX_TA_REQUIRES) + 1];
	char path[400], need[2048];
	size_t n = 0, n_req = 0, nq = 0;
	uint8_t head[64];
	struct ctl_resp r;
	FILE *f;
	int rc;

	if ((rc = ctl_parse_repeated(&argc, argv, "--requires", reqs, TAM_MAX_TA_REQUIRES, &n_req,
	    use)) != 0 ||
	    (rc = ctl_parse(argc, argv, opts, pos, 4, 4, use)) != 0 ||
	    (rc = ctl_check_segment(pos[0], "SPID", use)) != 0 ||
	    (rc = ctl_check_segment(pos[1], "TAID", use)) != 0)
		return rc;
	query[nq++] = "version";
	query[nq++] = pos[2];
	if (name != NULL) {
		query[nq++] = "name";
		query[nq++] = name;
	}
	for (size_t i = 0; i < n_req; i++) {
		query[nq++] = "requires";
		query[nq++] = reqs[i];
	}
	query[nq] = NULL;
	/* The serialization names the media type: a JSON bundle starts with "{". */
	if ((f = fopen(pos[3], "rb")) != NULL) {
		n = fread(head, 1, sizeof(head), f);
		fclose(f);
	}
	snprintf(path, sizeof(path), API_PREFIX "/sps/%s/tas/%s/versions", pos[0], pos[1]);
	if ((rc = ctl_upload(c, path, query, pos[3], otrp_bundle_is_json(head, n) ?
	    "application/jose+json" : "application/jose", &r)) != 0)
		return rc;
	if ((rc = ctl_check(&r)) == CTL_EXIT_OK) {
		if (c->json)
			ctl_print_json(r.json);
		else
			printf("%s %s version %s (%lld bytes, sha256 %s%s%s)\n",
			    r.status == 201 ? "uploaded" : "already have", ctl_str(r.json, "taid"),
			    ctl_str(r.json, "version"),
			    (long long)json_integer_value(json_object_get(r.json, "size")),
			    ctl_str(r.json, "sha256"), n_req > 0 ? ", requires " : "",
			    n_req > 0 ? requires_text(r.json, need, sizeof(need)) : "");
	}
	ctl_resp_clear(&r);
	return rc;
}

static int
ta_list(struct ctl *c, int argc, char **argv)
{
	static const char use[] = "ta list [--sp SPID]";
	const char *sp = NULL, *pos[1];
	const struct ctl_opt opts[] = { { "--sp", &sp, NULL }, { NULL, NULL, NULL } };
	json_t *items, *t;
	char path[400];
	size_t i;
	int rc;

	if ((rc = ctl_parse(argc, argv, opts, pos, 0, 0, use)) != 0 ||
	    (sp != NULL && (rc = ctl_check_segment(sp, "SPID", use)) != 0))
		return rc;
	if (sp != NULL)
		snprintf(path, sizeof(path), API_PREFIX "/sps/%s/tas", sp);
	else
		snprintf(path, sizeof(path), API_PREFIX "/tas");
	if ((rc = ctl_list_all(c, path, NULL, 0, &items)) != 0)
		return rc;
	if (c->json) {
		ctl_print_json(items);
	} else {
		printf("%-38s %-20s %-10s %s\n", "TAID", "SPID", "LATEST", "NAME");
		json_array_foreach(items, i, t)
			printf("%-38s %-20s %-10s %s\n", ctl_str(t, "taid"), ctl_str(t, "spid"),
			    ctl_str(t, "latest_version"), ctl_str(t, "name"));
	}
	json_decref(items);
	return CTL_EXIT_OK;
}

static int
ta_versions(struct ctl *c, int argc, char **argv)
{
	static const char use[] = "ta versions TAID";
	const char *pos[1];
	json_t *items, *v;
	char path[400], need[2048];
	size_t i;
	int rc;

	if ((rc = ctl_parse(argc, argv, NULL, pos, 1, 1, use)) != 0 ||
	    (rc = ctl_check_segment(pos[0], "TAID", use)) != 0)
		return rc;
	snprintf(path, sizeof(path), API_PREFIX "/tas/%s/versions", pos[0]);
	if ((rc = ctl_list_all(c, path, NULL, 0, &items)) != 0)
		return rc;
	if (c->json) {
		ctl_print_json(items);
	} else {
		printf("%-10s %-10s %-20s %-20s %-16.16s %-20s %s\n", "VERSION", "BYTES", "UPLOADED",
		    "WITHDRAWN", "SHA-256", "BY", "REQUIRES");
		json_array_foreach(items, i, v)
			printf("%-10s %-10lld %-20s %-20s %-16.16s %-20s %s\n", ctl_str(v, "version"),
			    (long long)json_integer_value(json_object_get(v, "size")),
			    ctl_str(v, "created"), ctl_str(v, "withdrawn"), ctl_str(v, "sha256"),
			    ctl_str(v, "uploaded_by"), requires_text(v, need, sizeof(need)));
	}
	json_decref(items);
	return CTL_EXIT_OK;
}

static int
ta_download(struct ctl *c, int argc, char **argv)
{
	static const char use[] = "ta download TAID VERSION OUTPUT";
	const char *pos[3];
	struct ctl_resp r;
	char path[400];
	int rc;

	if ((rc = ctl_parse(argc, argv, NULL, pos, 3, 3, use)) != 0 ||
	    (rc = ctl_check_segment(pos[0], "TAID", use)) != 0 ||
	    (rc = ctl_check_segment(pos[1], "VERSION", use)) != 0)
		return rc;
	snprintf(path, sizeof(path), API_PREFIX "/tas/%s/versions/%s/bundle", pos[0], pos[1]);
	if ((rc = ctl_download(c, path, pos[2], &r)) != 0)
		return rc;
	rc = ctl_check(&r);
	ctl_resp_clear(&r);
	return rc;
}

static int
ta_withdraw(struct ctl *c, int argc, char **argv)
{
	static const char use[] = "ta withdraw TAID VERSION";
	const char *pos[2];
	char path[400];
	int rc;

	if ((rc = ctl_parse(argc, argv, NULL, pos, 2, 2, use)) != 0 ||
	    (rc = ctl_check_segment(pos[0], "TAID", use)) != 0 ||
	    (rc = ctl_check_segment(pos[1], "VERSION", use)) != 0)
		return rc;
	snprintf(path, sizeof(path), API_PREFIX "/tas/%s/versions/%s", pos[0], pos[1]);
	return ctl_run(c, "DELETE", path, NULL, NULL, NULL);
}

static int
ta_pdata(struct ctl *c, int argc, char **argv)
{
	static const char use[] = "ta pdata TAID VERSION FILE";
	const char *pos[3];
	struct ctl_resp r;
	char path[400];
	int rc;

	if ((rc = ctl_parse(argc, argv, NULL, pos, 3, 3, use)) != 0 ||
	    (rc = ctl_check_segment(pos[0], "TAID", use)) != 0 ||
	    (rc = ctl_check_segment(pos[1], "VERSION", use)) != 0)
		return rc;
	snprintf(path, sizeof(path), API_PREFIX "/tas/%s/versions/%s/pdata", pos[0], pos[1]);
	if ((rc = ctl_put_file(c, path, pos[2], TAM_MAX_PDATA_BYTES, "application/octet-stream",
	    &r)) != 0)
		return rc;
	if (c->json && r.json != NULL)
		ctl_print_json(r.json);
	rc = ctl_check(&r);
	ctl_resp_clear(&r);
	return rc;
}

int
cmd_ta(struct ctl *c, int argc, char **argv)
{
	static const struct ctl_cmd cmds[] = {
		{ "sign", ta_sign, "ta sign --key SPKEY [--flattened] INPUT OUTPUT",
		    "SP side: sign a TA binary into a bundle (compact JWS)" },
		{ "upload", ta_upload,
		    "ta upload SPID TAID VERSION BUNDLE [--name NAME] [--requires TAID[@VERSION]]...",
		    "upload a signed TA version (and the TAs it requires)" },
		{ "list", ta_list, "ta list [--sp SPID]", "list TAs and their latest versions" },
		{ "versions", ta_versions, "ta versions TAID", "list a TA's versions" },
		{ "download", ta_download, "ta download TAID VERSION OUTPUT",
		    "save a version's SP-signed bundle" },
		{ "withdraw", ta_withdraw, "ta withdraw TAID VERSION",
		    "never install this version again" },
		{ "pdata", ta_pdata, "ta pdata TAID VERSION FILE",
		    "give a version personalization data, delivered encrypted beside it" },
	};
	return ctl_dispatch(c, "ta", cmds, sizeof(cmds) / sizeof(cmds[0]), argc, argv);
}
