// SPDX-License-Identifier: MIT
/* otrp-tamctl sp: service providers and the certificates that sign their TAs. */
#include <stdio.h>
#include <stdlib.h>

#include "tamctl.h"

#define PATH API_PREFIX "/sps"

static int
sp_add(struct ctl *c, int argc, char **argv)
{
	static const char use[] = "sp add SPID CERT [--sdname NAME]";
	const char *sdname = NULL, *pos[2];
	const struct ctl_opt opts[] = { { "--sdname", &sdname, NULL }, { NULL, NULL, NULL } };
	char *pem = NULL;
	json_t *body;
	int rc;

	if ((rc = ctl_parse(argc, argv, opts, pos, 2, 2, use)) != 0 ||
	    (rc = ctl_read_pem(pos[1], &pem)) != 0)
		return rc;
	body = json_pack("{s:s,s:s}", "spid", pos[0], "certificate", pem);
	free(pem);
	if (body != NULL && sdname != NULL &&
	    json_object_set_new(body, "sdname", json_string(sdname)) != 0) {
		json_decref(body);
		body = NULL;
	}
	if (body == NULL)
		return ctl_usage_error(use, "arguments are not text");
	rc = ctl_run(c, "POST", PATH, NULL, body, NULL);
	json_decref(body);
	return rc;
}

static int
sp_list(struct ctl *c, int argc, char **argv)
{
	json_t *items, *s;
	size_t i;
	int rc;

	if ((rc = ctl_list_cmd(c, argc, argv, "sp list", PATH, &items)) != 0 || items == NULL)
		return rc;
	printf("%-24s %-28s %-20s %s\n", "SPID", "SD NAME", "CREATED", "CERTIFICATE");
	json_array_foreach(items, i, s)
		printf("%-24s %-28s %-20s %s\n", ctl_str(s, "spid"), ctl_str(s, "sdname"),
		    ctl_str(s, "created"), ctl_str(json_object_get(s, "certificate"), "subject"));
	json_decref(items);
	return CTL_EXIT_OK;
}

static int
sp_show(struct ctl *c, int argc, char **argv)
{
	const json_t *cert;
	struct ctl_resp r;
	int rc;

	if ((rc = ctl_named_cmd(c, argc, argv, "sp show SPID", "SPID", "GET", PATH, "", &r)) != 0 ||
	    r.json == NULL)
		return rc;
	cert = json_object_get(r.json, "certificate");
	printf("spid       %s\nsd name    %s\ncreated    %s\nsubject    %s\nissuer     %s\n"
	    "not after  %s\nsha256     %s\n%s", ctl_str(r.json, "spid"), ctl_str(r.json, "sdname"),
	    ctl_str(r.json, "created"), ctl_str(cert, "subject"), ctl_str(cert, "issuer"),
	    ctl_str(cert, "not_after"), ctl_str(cert, "sha256"), ctl_str(r.json, "certificate_pem"));
	ctl_resp_clear(&r);
	return CTL_EXIT_OK;
}

static int
sp_update(struct ctl *c, int argc, char **argv)
{
	static const char use[] = "sp update SPID [--sdname NAME] [--cert CERT]";
	const char *sdname = NULL, *cert = NULL, *pos[1];
	const struct ctl_opt opts[] = { { "--sdname", &sdname, NULL }, { "--cert", &cert, NULL },
		{ NULL, NULL, NULL } };
	char path[400], *pem = NULL;
	json_t *body;
	int rc;

	if ((rc = ctl_parse(argc, argv, opts, pos, 1, 1, use)) != 0 ||
	    (rc = ctl_check_segment(pos[0], "SPID", use)) != 0)
		return rc;
	if (sdname == NULL && cert == NULL)
		return ctl_usage_error(use, "give --sdname, --cert or both");
	if (cert != NULL && (rc = ctl_read_pem(cert, &pem)) != 0)
		return rc;
	body = json_object();
	if (body != NULL && ((sdname != NULL &&
	    json_object_set_new(body, "sdname", json_string(sdname)) != 0) ||
	    (pem != NULL && json_object_set_new(body, "certificate", json_string(pem)) != 0))) {
		json_decref(body);
		body = NULL;
	}
	free(pem);
	if (body == NULL)
		return ctl_usage_error(use, "arguments are not text");
	snprintf(path, sizeof(path), PATH "/%s", pos[0]);
	rc = ctl_run(c, "PATCH", path, NULL, body, NULL);
	json_decref(body);
	return rc;
}

static int
sp_remove(struct ctl *c, int argc, char **argv)
{
	return ctl_named_cmd(c, argc, argv, "sp remove SPID", "SPID", "DELETE", PATH, "", NULL);
}

int
cmd_sp(struct ctl *c, int argc, char **argv)
{
	static const struct ctl_cmd cmds[] = {
		{ "add", sp_add, "sp add SPID CERT [--sdname NAME]",
		    "register an SP and its TA-signing certificate" },
		{ "list", sp_list, "sp list", "list SPs" },
		{ "show", sp_show, "sp show SPID", "one SP, with its certificate" },
		{ "update", sp_update, "sp update SPID [--sdname NAME] [--cert CERT]",
		    "rename the SP's SD or renew its certificate; devices follow with UpdateSD" },
		{ "remove", sp_remove, "sp remove SPID", "remove an SP that has no TA (and its tokens)" },
	};
	return ctl_dispatch(c, "sp", cmds, sizeof(cmds) / sizeof(cmds[0]), argc, argv);
}
