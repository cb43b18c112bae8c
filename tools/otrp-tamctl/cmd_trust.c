// SPDX-License-Identifier: MIT
/* otrp-tamctl trust-anchor: the CAs that TEE certificates must chain to. */
#include <stdio.h>
#include <stdlib.h>

#include "tamctl.h"
#include "tam/limits.h"

static int
ta_add(struct ctl *c, int argc, char **argv)
{
	static const char use[] = "trust-anchor add NAME CERT";
	const char *pos[2];
	struct tam_err err = { 0 };
	uint8_t *data = NULL;
	size_t len = 0;
	int rc;

	if ((rc = ctl_parse(argc, argv, NULL, pos, 2, 2, use)) != 0)
		return rc;
	if ((rc = ctl_read_file(pos[1], TAM_MAX_PEM_BYTES, &data, &len)) != 0)
		return rc;
	if ((rc = ctl_open(c, false)) == 0) {
		rc = mgmt_anchor_add(&c->m, pos[0], data, len, &err);
		rc = rc == TAM_OK ? CTL_EXIT_OK : ctl_fail(rc, &err);
	}
	free(data);
	return rc;
}

static int
ta_list(struct ctl *c, int argc, char **argv)
{
	static const char use[] = "trust-anchor list";
	struct store_anchor *a = NULL;
	struct tam_err err = { 0 };
	const char *pos[1];
	char fp[65], when[32];
	size_t n = 0;
	int rc;

	if ((rc = ctl_parse(argc, argv, NULL, pos, 0, 0, use)) != 0 || (rc = ctl_open(c, false)) != 0)
		return rc;
	if ((rc = store_anchor_list(c->st, &a, &n, &err)) != TAM_OK)
		return ctl_fail(rc, &err);
	printf("%-20s %-20s %-16s %s\n", "NAME", "NOT AFTER", "SHA-256", "SUBJECT");
	for (size_t i = 0; i < n; i++) {
		tam_hex_encode(a[i].fingerprint, 8, fp);
		ctl_time(a[i].not_after, when);
		printf("%-20s %-20s %-16s %s\n", a[i].name, when, fp, a[i].subject);
	}
	store_anchors_free(a, n);
	return CTL_EXIT_OK;
}

static int
ta_remove(struct ctl *c, int argc, char **argv)
{
	static const char use[] = "trust-anchor remove NAME";
	struct tam_err err = { 0 };
	const char *pos[1];
	int rc;

	if ((rc = ctl_parse(argc, argv, NULL, pos, 1, 1, use)) != 0 || (rc = ctl_open(c, false)) != 0)
		return rc;
	rc = mgmt_anchor_remove(&c->m, pos[0], &err);
	return rc == TAM_OK ? CTL_EXIT_OK : ctl_fail(rc, &err);
}

int
cmd_trust_anchor(struct ctl *c, int argc, char **argv)
{
	static const struct ctl_cmd cmds[] = {
		{ "add", ta_add, "trust-anchor add NAME CERT", "add a CA certificate (PEM or DER)" },
		{ "list", ta_list, "trust-anchor list", "list trust anchors" },
		{ "remove", ta_remove, "trust-anchor remove NAME", "remove a trust anchor" },
	};
	return ctl_dispatch(c, "trust-anchor", cmds, sizeof(cmds) / sizeof(cmds[0]), argc, argv);
}
