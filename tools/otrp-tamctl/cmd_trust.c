// SPDX-License-Identifier: MIT
/* otrp-tamctl trust-anchor: the CAs that TEE certificates must chain to. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tamctl.h"

#define PATH API_PREFIX "/trust-anchors"

static int
anchor_add(struct ctl *c, int argc, char **argv)
{
	static const char use[] = "trust-anchor add NAME CERT";
	const char *pos[2];
	char *pem = NULL;
	json_t *body;
	int rc;

	if ((rc = ctl_parse(argc, argv, NULL, pos, 2, 2, use)) != 0 ||
	    (rc = ctl_read_pem(pos[1], &pem)) != 0)
		return rc;
	body = json_pack("{s:s,s:s}", "name", pos[0], "certificate", pem);
	free(pem);
	if (body == NULL)
		return ctl_usage_error(use, "the name or the certificate is not text");
	rc = ctl_run(c, "POST", PATH, NULL, body, NULL);
	json_decref(body);
	return rc;
}

static int
anchor_list(struct ctl *c, int argc, char **argv)
{
	json_t *items, *a;
	size_t i;
	int rc;

	if ((rc = ctl_list_cmd(c, argc, argv, "trust-anchor list", PATH, &items)) != 0 || items == NULL)
		return rc;
	printf("%-20s %-20s %-16.16s %s\n", "NAME", "NOT AFTER", "SHA-256", "SUBJECT");
	json_array_foreach(items, i, a)
		printf("%-20s %-20s %-16.16s %s\n", ctl_str(a, "name"), ctl_str(a, "not_after"),
		    ctl_str(a, "sha256"), ctl_str(a, "subject"));
	json_decref(items);
	return CTL_EXIT_OK;
}

static int
anchor_show(struct ctl *c, int argc, char **argv)
{
	struct ctl_resp r;
	int rc;

	if ((rc = ctl_named_cmd(c, argc, argv, "trust-anchor show NAME", "NAME", "GET", PATH, "",
	    &r)) != 0 || r.json == NULL)
		return rc;
	printf("name       %s\nsubject    %s\nnot after  %s\nsha256     %s\nadded      %s\n%s",
	    ctl_str(r.json, "name"), ctl_str(r.json, "subject"), ctl_str(r.json, "not_after"),
	    ctl_str(r.json, "sha256"), ctl_str(r.json, "created"),
	    ctl_str(r.json, "certificate_pem"));
	ctl_resp_clear(&r);
	return CTL_EXIT_OK;
}

static int
anchor_remove(struct ctl *c, int argc, char **argv)
{
	return ctl_named_cmd(c, argc, argv, "trust-anchor remove NAME", "NAME", "DELETE", PATH, "",
	    NULL);
}

int
cmd_trust_anchor(struct ctl *c, int argc, char **argv)
{
	static const struct ctl_cmd cmds[] = {
		{ "add", anchor_add, "trust-anchor add NAME CERT", "add a CA certificate (PEM or DER)" },
		{ "list", anchor_list, "trust-anchor list", "list trust anchors" },
		{ "show", anchor_show, "trust-anchor show NAME", "one anchor, with its certificate" },
		{ "remove", anchor_remove, "trust-anchor remove NAME", "remove a trust anchor" },
	};
	return ctl_dispatch(c, "trust-anchor", cmds, sizeof(cmds) / sizeof(cmds[0]), argc, argv);
}
