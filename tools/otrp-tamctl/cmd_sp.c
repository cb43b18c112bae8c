// SPDX-License-Identifier: MIT
/* otrp-tamctl sp: service providers and the certificates that sign their TAs. */
#include <stdio.h>
#include <stdlib.h>

#include "tamctl.h"
#include "tam/limits.h"

static int
sp_add(struct ctl *c, int argc, char **argv)
{
	static const char use[] = "sp add SPID CERT [--sdname NAME]";
	const char *sdname = NULL, *pos[2];
	const struct ctl_opt opts[] = { { "--sdname", &sdname, NULL }, { NULL, NULL, NULL } };
	struct tam_err err = { 0 };
	uint8_t *data = NULL;
	size_t len = 0;
	int rc;

	if ((rc = ctl_parse(argc, argv, opts, pos, 2, 2, use)) != 0)
		return rc;
	if ((rc = ctl_read_file(pos[1], TAM_MAX_PEM_BYTES, &data, &len)) != 0)
		return rc;
	if ((rc = ctl_open(c, false)) == 0) {
		rc = mgmt_sp_add(&c->m, pos[0], sdname, data, len, &err);
		rc = rc == TAM_OK ? CTL_EXIT_OK : ctl_fail(rc, &err);
	}
	free(data);
	return rc;
}

static int
sp_list(struct ctl *c, int argc, char **argv)
{
	static const char use[] = "sp list";
	struct store_sp *sps = NULL;
	struct tam_err err = { 0 };
	const char *pos[1];
	char when[32];
	size_t n = 0;
	int rc;

	if ((rc = ctl_parse(argc, argv, NULL, pos, 0, 0, use)) != 0 || (rc = ctl_open(c, false)) != 0)
		return rc;
	if ((rc = store_sp_list(c->st, &sps, &n, &err)) != TAM_OK)
		return ctl_fail(rc, &err);
	printf("%-24s %-28s %s\n", "SPID", "SD NAME", "CREATED");
	for (size_t i = 0; i < n; i++) {
		ctl_time(sps[i].created, when);
		printf("%-24s %-28s %s\n", sps[i].spid, sps[i].sdname, when);
	}
	store_sps_free(sps, n);
	return CTL_EXIT_OK;
}

int
cmd_sp(struct ctl *c, int argc, char **argv)
{
	static const struct ctl_cmd cmds[] = {
		{ "add", sp_add, "sp add SPID CERT [--sdname NAME]", "register an SP and its TA-signing certificate" },
		{ "list", sp_list, "sp list", "list SPs" },
	};
	return ctl_dispatch(c, "sp", cmds, sizeof(cmds) / sizeof(cmds[0]), argc, argv);
}
