// SPDX-License-Identifier: MIT
/* otrp-tamctl device: enroll devices and show desired against observed state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tamctl.h"
#include "tam/limits.h"

static int
dev_enroll(struct ctl *c, int argc, char **argv)
{
	static const char use[] = "device enroll (--cert FILE | --key FILE) [--name NAME]";
	const char *cert = NULL, *key = NULL, *name = NULL, *pos[1];
	const struct ctl_opt opts[] = {
		{ "--cert", &cert, NULL }, { "--key", &key, NULL }, { "--name", &name, NULL },
		{ NULL, NULL, NULL },
	};
	struct store_device d = { 0 };
	struct tam_err err = { 0 };
	char didhex[TAM_DID_HEX];
	uint8_t *data = NULL;
	size_t len = 0;
	int64_t id = 0;
	int rc;

	if ((rc = ctl_parse(argc, argv, opts, pos, 0, 0, use)) != 0)
		return rc;
	if ((cert == NULL) == (key == NULL))
		return ctl_usage_error(use, "give exactly one of --cert and --key");
	if ((rc = ctl_read_file(cert ? cert : key, TAM_MAX_PEM_BYTES, &data, &len)) != 0)
		return rc;
	if ((rc = ctl_open(c, false)) == 0) {
		rc = mgmt_device_enroll(&c->m, name, data, len, &id, &err);
		if (rc == TAM_OK)
			rc = store_device_get(c->st, id, &d, &err);
		if (rc == TAM_OK) {
			tam_hex_encode(d.did, 32, didhex);
			printf("%s\n", didhex);
		}
		rc = rc == TAM_OK ? CTL_EXIT_OK : ctl_fail(rc, &err);
	}
	store_device_clear(&d);
	free(data);
	return rc;
}

static int
dev_list(struct ctl *c, int argc, char **argv)
{
	static const char use[] = "device list";
	struct store_device *d = NULL;
	struct tam_err err = { 0 };
	const char *pos[1];
	char didhex[TAM_DID_HEX], when[32];
	size_t n = 0;
	int rc;

	if ((rc = ctl_parse(argc, argv, NULL, pos, 0, 0, use)) != 0 || (rc = ctl_open(c, false)) != 0)
		return rc;
	if ((rc = store_device_list(c->st, &d, &n, &err)) != TAM_OK)
		return ctl_fail(rc, &err);
	printf("%-16s %-16s %-5s %-14s %-16s %s\n", "DEVICE", "NAME", "KEY", "STATE", "TEE", "LAST SEEN");
	for (size_t i = 0; i < n; i++) {
		tam_hex_encode(d[i].did, 8, didhex);
		ctl_time(d[i].last_seen, when);
		printf("%-16s %-16s %-5s %-14s %-16s %s\n", didhex, d[i].name[0] ? d[i].name : "-",
		    d[i].key_kind == STORE_KEY_CERT ? "cert" : "raw", d[i].state,
		    d[i].tee_name[0] ? d[i].tee_name : "-", when);
	}
	store_devices_free(d, n);
	return CTL_EXIT_OK;
}

/* Version text of a ta_versions row, or "?" when unknown. */
static void
version_of(struct store *st, int64_t id, char out[TAM_VERSION_MAX])
{
	struct store_ta_version v = { 0 };

	snprintf(out, TAM_VERSION_MAX, "?");
	if (id != 0 && store_ta_version_get(st, id, false, &v, NULL) == TAM_OK)
		snprintf(out, TAM_VERSION_MAX, "%s", v.version);
	store_ta_version_clear(&v);
}

static void
show_tas(struct store *st, const struct tam_dev_state *s, const struct tam_assignment *a, size_t na)
{
	char ver[TAM_VERSION_MAX];

	printf("\n%-38s %-10s %-10s %s\n", "TAID", "DESIRED", "OBSERVED", "SD");
	for (size_t i = 0; i < na; i++) {
		const struct tam_ta_obs *o = NULL;
		for (size_t j = 0; j < s->n_tas; j++)
			if (strcmp(s->tas[j].taid, a[i].taid) == 0)
				o = &s->tas[j];
		if (o != NULL)
			version_of(st, o->ta_version_id, ver);
		printf("%-38s %-10s %-10s %s\n", a[i].taid, a[i].version, o ? ver : "-",
		    o ? o->sdname : a[i].sdname);
	}
	for (size_t j = 0; j < s->n_tas; j++) {
		bool wanted = false;
		for (size_t i = 0; i < na; i++)
			wanted |= strcmp(s->tas[j].taid, a[i].taid) == 0;
		if (wanted)
			continue;
		version_of(st, s->tas[j].ta_version_id, ver);
		printf("%-38s %-10s %-10s %s\n", s->tas[j].taid, "-", ver, s->tas[j].sdname);
	}
}

static int
dev_show(struct ctl *c, int argc, char **argv)
{
	static const char use[] = "device show DEVICE";
	struct tam_assignment *a = NULL;
	struct tam_dev_state s = { 0 };
	struct store_device d = { 0 };
	struct tam_err err = { 0 };
	const char *pos[1];
	char didhex[TAM_DID_HEX], when[32], hash[65];
	size_t na = 0;
	int rc;

	if ((rc = ctl_parse(argc, argv, NULL, pos, 1, 1, use)) != 0 || (rc = ctl_open(c, false)) != 0)
		return rc;
	if ((rc = store_device_find(c->st, pos[0], &d, &err)) != TAM_OK ||
	    (rc = store_device_state_get(c->st, d.id, &s, &err)) != TAM_OK ||
	    (rc = store_assignments_get(c->st, d.id, &a, &na, &err)) != TAM_OK) {
		rc = ctl_fail(rc, &err);
		goto out;
	}
	tam_hex_encode(d.did, 32, didhex);
	ctl_time(d.last_seen, when);
	printf("device     %s\n", didhex);
	printf("name       %s\n", d.name[0] ? d.name : "-");
	printf("key        %s, thumbprint %s\n", d.key_kind == STORE_KEY_CERT ? "certificate" : "raw key",
	    d.thumbprint);
	printf("state      %s\n", d.state);
	printf("tee        %s %s\n", d.tee_name[0] ? d.tee_name : "-", d.tee_ver);
	printf("last seen  %s\n", when);
	if (d.dsi != NULL) {
		tam_hex_encode(d.dsihash, 32, hash);
		printf("dsi hash   %s\n", hash);
	}
	printf("sds       ");
	for (size_t i = 0; i < s.n_sds; i++)
		printf(" %s(%s)", s.sds[i].sdname, s.sds[i].spid);
	printf("%s\n", s.n_sds ? "" : " -");
	show_tas(c->st, &s, a, na);
	rc = CTL_EXIT_OK;
out:
	free(a);
	tam_dev_state_free(&s);
	store_device_clear(&d);
	return rc;
}

static int
dev_decommission(struct ctl *c, int argc, char **argv)
{
	static const char use[] = "device decommission DEVICE";
	struct tam_err err = { 0 };
	const char *pos[1];
	int rc;

	if ((rc = ctl_parse(argc, argv, NULL, pos, 1, 1, use)) != 0 || (rc = ctl_open(c, false)) != 0)
		return rc;
	rc = mgmt_device_decommission(&c->m, pos[0], &err);
	return rc == TAM_OK ? CTL_EXIT_OK : ctl_fail(rc, &err);
}

int
cmd_device(struct ctl *c, int argc, char **argv)
{
	static const struct ctl_cmd cmds[] = {
		{ "enroll", dev_enroll, "device enroll (--cert FILE | --key FILE) [--name NAME]",
		    "enroll a TEE by certificate or raw public key; prints its id" },
		{ "list", dev_list, "device list", "list devices" },
		{ "show", dev_show, "device show DEVICE", "desired against observed TAs" },
		{ "decommission", dev_decommission, "device decommission DEVICE",
		    "refuse the device from now on; its records stay" },
	};
	return ctl_dispatch(c, "device", cmds, sizeof(cmds) / sizeof(cmds[0]), argc, argv);
}
