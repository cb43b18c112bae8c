// SPDX-License-Identifier: MIT
/* otrp-tamctl device: enroll devices and show desired against observed state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tamctl.h"
#include "tam/limits.h"

#define PATH API_PREFIX "/devices"

static int
dev_enroll(struct ctl *c, int argc, char **argv)
{
	static const char use[] =
	    "device enroll (--cert FILE | --key FILE) [--name NAME] [--profile PROFILE]";
	const char *cert = NULL, *key = NULL, *name = NULL, *profile = NULL, *pos[1];
	const struct ctl_opt opts[] = {
		{ "--cert", &cert, NULL }, { "--key", &key, NULL }, { "--name", &name, NULL },
		{ "--profile", &profile, NULL }, { NULL, NULL, NULL },
	};
	struct ctl_resp r;
	uint8_t *data = NULL;
	char *pem = NULL;
	size_t len = 0;
	json_t *body;
	int rc;

	if ((rc = ctl_parse(argc, argv, opts, pos, 0, 0, use)) != 0)
		return rc;
	if ((cert == NULL) == (key == NULL))
		return ctl_usage_error(use, "give exactly one of --cert and --key");
	if (cert != NULL) {
		if ((rc = ctl_read_pem(cert, &pem)) != 0)
			return rc;
		body = json_pack("{s:s}", "certificate", pem);
	} else {
		/* A PEM public key or a JWK: both are text, sent as they are. */
		if ((rc = ctl_read_file(key, TAM_MAX_PEM_BYTES, &data, &len)) != 0)
			return rc;
		body = json_pack("{s:s%}", "public_key", (const char *)data, len);
		if (body != NULL && len > 0 && data[0] == '{')
			json_object_set_new(body, "public_key", json_loadb((const char *)data, len, 0,
			    NULL));
	}
	free(pem);
	if (data != NULL)
		tam_wipe(data, len);
	free(data);
	if (body != NULL && name != NULL)
		json_object_set_new(body, "name", json_string(name));
	if (body != NULL && profile != NULL)
		json_object_set_new(body, "profile", json_string(profile));
	if (body == NULL)
		return ctl_usage_error(use, "the key or certificate file is not text");
	rc = ctl_request(c, "POST", PATH, NULL, body, &r);
	json_decref(body);
	if (rc != 0)
		return rc;
	if ((rc = ctl_check(&r)) == CTL_EXIT_OK) {
		if (c->json)
			ctl_print_json(r.json);
		else
			printf("%s\n", ctl_str(r.json, "id"));
	}
	ctl_resp_clear(&r);
	return rc;
}

static int
dev_list(struct ctl *c, int argc, char **argv)
{
	json_t *items, *d;
	size_t i;
	int rc;

	if ((rc = ctl_list_cmd(c, argc, argv, "device list", PATH, &items)) != 0 || items == NULL)
		return rc;
	printf("%-16.16s %-16s %-11s %-14s %-16s %s\n", "DEVICE", "NAME", "KEY", "STATE", "TEE",
	    "LAST SEEN");
	json_array_foreach(items, i, d)
		printf("%-16.16s %-16s %-11s %-14s %-16s %s\n", ctl_str(d, "id"), ctl_str(d, "name"),
		    ctl_str(d, "key"), ctl_str(d, "state"),
		    ctl_str(d, "tee_name")[0] ? ctl_str(d, "tee_name") : "-", ctl_str(d, "last_seen"));
	json_decref(items);
	return CTL_EXIT_OK;
}

/* The observed entry for taid, or NULL. */
static const json_t *
observed_ta(const json_t *obs, const char *taid)
{
	const json_t *t;
	size_t i;

	json_array_foreach(json_object_get(obs, "tas"), i, t)
		if (strcmp(ctl_str(t, "taid"), taid) == 0)
			return t;
	return NULL;
}

static int
dev_show(struct ctl *c, int argc, char **argv)
{
	const json_t *obs, *a, *o, *sd;
	struct ctl_resp r;
	size_t i, k;
	int rc;

	if ((rc = ctl_named_cmd(c, argc, argv, "device show DEVICE", "DEVICE", "GET", PATH, "",
	    &r)) != 0 || r.json == NULL)
		return rc;
	obs = json_object_get(r.json, "observed");
	printf("device     %s\nname       %s\nkey        %s, thumbprint %s\nstate      %s\n"
	    "profile    %s\ntee        %s %s\nlast seen  %s\nsds       ", ctl_str(r.json, "id"),
	    ctl_str(r.json, "name"), ctl_str(r.json, "key"), ctl_str(r.json, "thumbprint"),
	    ctl_str(r.json, "state"), ctl_str(r.json, "profile"),
	    ctl_str(r.json, "tee_name")[0] ? ctl_str(r.json, "tee_name") : "-",
	    ctl_str(r.json, "tee_version"), ctl_str(r.json, "last_seen"));
	json_array_foreach(json_object_get(obs, "sds"), i, sd)
		printf(" %s(%s)", ctl_str(sd, "sdname"), ctl_str(sd, "spid"));
	printf("%s\n", json_array_size(json_object_get(obs, "sds")) ? "" : " -");
	printf("\n%-38s %-10s %-10s %-10s %s\n", "TAID", "ASSIGNED", "DESIRED", "OBSERVED", "SD");
	json_array_foreach(json_object_get(r.json, "desired"), i, a) {
		o = observed_ta(obs, ctl_str(a, "taid"));
		printf("%-38s %-10s %-10s %-10s %s\n", ctl_str(a, "taid"),
		    json_is_string(json_object_get(a, "version")) ? ctl_str(a, "version") : "latest",
		    ctl_str(a, "resolved_version"), o != NULL ? ctl_str(o, "version") : "-",
		    o != NULL ? ctl_str(o, "sdname") : "-");
	}
	json_array_foreach(json_object_get(obs, "tas"), i, o) {
		bool wanted = false;
		json_array_foreach(json_object_get(r.json, "desired"), k, a)
			wanted |= strcmp(ctl_str(a, "taid"), ctl_str(o, "taid")) == 0;
		if (!wanted)
			printf("%-38s %-10s %-10s %-10s %s\n", ctl_str(o, "taid"), "-", "-",
			    ctl_str(o, "version"), ctl_str(o, "sdname"));
	}
	ctl_resp_clear(&r);
	return CTL_EXIT_OK;
}

static int
dev_decommission(struct ctl *c, int argc, char **argv)
{
	return ctl_named_cmd(c, argc, argv, "device decommission DEVICE", "DEVICE", "POST", PATH,
	    "/decommission", NULL);
}

/* device renew-aik / purge-sd DEVICE SPID */
static int
dev_sd_request(struct ctl *c, int argc, char **argv, const char *use, const char *action)
{
	const char *pos[2];
	char path[400];
	json_t *body;
	int rc;

	if ((rc = ctl_parse(argc, argv, NULL, pos, 2, 2, use)) != 0 ||
	    (rc = ctl_check_segment(pos[0], "DEVICE", use)) != 0)
		return rc;
	body = json_pack("{s:s,s:s}", "sp", pos[1], "action", action);
	if (body == NULL)
		return ctl_usage_error(use, "arguments are not text");
	snprintf(path, sizeof(path), PATH "/%s/sd-requests", pos[0]);
	rc = ctl_run(c, "POST", path, NULL, body, NULL);
	json_decref(body);
	return rc;
}

static int
dev_renew_aik(struct ctl *c, int argc, char **argv)
{
	return dev_sd_request(c, argc, argv, "device renew-aik DEVICE SPID", "renew_aik");
}

static int
dev_purge_sd(struct ctl *c, int argc, char **argv)
{
	return dev_sd_request(c, argc, argv, "device purge-sd DEVICE SPID", "purge");
}

int
cmd_device(struct ctl *c, int argc, char **argv)
{
	static const struct ctl_cmd cmds[] = {
		{ "enroll", dev_enroll,
		    "device enroll (--cert FILE | --key FILE) [--name NAME] [--profile PROFILE]",
		    "enroll a TEE by certificate or raw public key; prints its id" },
		{ "list", dev_list, "device list", "list devices" },
		{ "show", dev_show, "device show DEVICE", "desired against observed TAs" },
		{ "decommission", dev_decommission, "device decommission DEVICE",
		    "refuse the device from now on; its records stay" },
		{ "renew-aik", dev_renew_aik, "device renew-aik DEVICE SPID",
		    "have the TEE make a new SP AIK for the SP (UpdateSD), next session" },
		{ "purge-sd", dev_purge_sd, "device purge-sd DEVICE SPID",
		    "unassign the SP's TAs and delete its SD with them (DeleteSD deleteta), next session" },
	};
	return ctl_dispatch(c, "device", cmds, sizeof(cmds) / sizeof(cmds[0]), argc, argv);
}
