// SPDX-License-Identifier: MIT
/*
 * otrp-tamctl ta: TA versions. `ta sign` is the SP's side (it runs where the
 * SP key is and needs no database); `ta add` is the operator's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tamctl.h"
#include "tam/jose.h"
#include "tam/limits.h"

static int
ta_sign(struct ctl *c, int argc, char **argv)
{
	static const char use[] = "ta sign --key SPKEY INPUT OUTPUT";
	const char *keyfile = NULL, *pos[2];
	const struct ctl_opt opts[] = { { "--key", &keyfile, NULL }, { NULL, NULL, NULL } };
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
	if (rc == TAM_OK && (out = json_dumps(jws, JSON_COMPACT)) == NULL)
		rc = tam_err_set(&err, TAM_ENOMEM, "out of memory");
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

static int
ta_add(struct ctl *c, int argc, char **argv)
{
	static const char use[] = "ta add SPID TAID VERSION BUNDLE [--name NAME]";
	const char *name = NULL, *pos[4];
	const struct ctl_opt opts[] = { { "--name", &name, NULL }, { NULL, NULL, NULL } };
	struct tam_err err = { 0 };
	uint8_t *data = NULL;
	size_t len = 0;
	int64_t vid = 0;
	int rc;

	if ((rc = ctl_parse(argc, argv, opts, pos, 4, 4, use)) != 0)
		return rc;
	if ((rc = ctl_read_file(pos[3], TAM_MAX_TA_BYTES, &data, &len)) != 0)
		return rc;
	if ((rc = ctl_open(c, false)) == 0) {
		rc = mgmt_ta_add(&c->m, pos[0], pos[1], pos[2], name, data, len, &vid, &err);
		if (rc == TAM_OK)
			printf("added %s version %s (%zu bytes)\n", pos[1], pos[2], len);
		rc = rc == TAM_OK ? CTL_EXIT_OK : ctl_fail(rc, &err);
	}
	free(data);
	return rc;
}

static int
ta_list(struct ctl *c, int argc, char **argv)
{
	static const char use[] = "ta list";
	struct store_ta *tas = NULL;
	struct tam_err err = { 0 };
	const char *pos[1];
	size_t n = 0;
	int rc;

	if ((rc = ctl_parse(argc, argv, NULL, pos, 0, 0, use)) != 0 || (rc = ctl_open(c, false)) != 0)
		return rc;
	if ((rc = store_ta_list(c->st, &tas, &n, &err)) != TAM_OK)
		return ctl_fail(rc, &err);
	printf("%-38s %-20s %-10s %s\n", "TAID", "SPID", "LATEST", "NAME");
	for (size_t i = 0; i < n; i++) {
		struct store_ta_version v = { 0 };
		rc = store_ta_version_latest(c->st, tas[i].id, &v, &err);
		printf("%-38s %-20s %-10s %s\n", tas[i].taid, tas[i].spid,
		    rc == TAM_OK ? v.version : "-", tas[i].name);
		store_ta_version_clear(&v);
	}
	free(tas);
	return CTL_EXIT_OK;
}

int
cmd_ta(struct ctl *c, int argc, char **argv)
{
	static const struct ctl_cmd cmds[] = {
		{ "sign", ta_sign, "ta sign --key SPKEY INPUT OUTPUT", "SP side: sign a TA binary into a bundle" },
		{ "add", ta_add, "ta add SPID TAID VERSION BUNDLE [--name NAME]", "add a signed TA version" },
		{ "list", ta_list, "ta list", "list TAs and their latest versions" },
	};
	return ctl_dispatch(c, "ta", cmds, sizeof(cmds) / sizeof(cmds[0]), argc, argv);
}
