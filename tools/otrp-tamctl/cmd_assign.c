// SPDX-License-Identifier: MIT
/* otrp-tamctl assign / unassign / audit: desired state and its history. */
#include <stdio.h>
#include <stdlib.h>

#include "tamctl.h"

int
cmd_assign(struct ctl *c, int argc, char **argv)
{
	static const char use[] = "assign DEVICE TAID [VERSION]";
	struct tam_err err = { 0 };
	const char *pos[3];
	int rc;

	if ((rc = ctl_parse(argc, argv, NULL, pos, 2, 3, use)) != 0 || (rc = ctl_open(c, false)) != 0)
		return rc;
	rc = mgmt_assign(&c->m, pos[0], pos[1], pos[2], &err);
	return rc == TAM_OK ? CTL_EXIT_OK : ctl_fail(rc, &err);
}

int
cmd_unassign(struct ctl *c, int argc, char **argv)
{
	static const char use[] = "unassign DEVICE TAID";
	struct tam_err err = { 0 };
	const char *pos[2];
	int rc;

	if ((rc = ctl_parse(argc, argv, NULL, pos, 2, 2, use)) != 0 || (rc = ctl_open(c, false)) != 0)
		return rc;
	rc = mgmt_unassign(&c->m, pos[0], pos[1], &err);
	return rc == TAM_OK ? CTL_EXIT_OK : ctl_fail(rc, &err);
}

static int
parse_count(const char *s, long long *out)
{
	char *end;

	*out = strtoll(s, &end, 10);
	return *s != '\0' && *end == '\0' && *out >= 0 ? 0 : -1;
}

int
cmd_audit(struct ctl *c, int argc, char **argv)
{
	static const char use[] = "audit [--after ID] [--limit N]";
	const char *after = NULL, *limit = NULL, *pos[1];
	const struct ctl_opt opts[] = {
		{ "--after", &after, NULL }, { "--limit", &limit, NULL }, { NULL, NULL, NULL },
	};
	struct store_audit_row *rows = NULL;
	struct tam_err err = { 0 };
	long long a = 0, l = 100;
	char when[32];
	size_t n = 0;
	int rc;

	if ((rc = ctl_parse(argc, argv, opts, pos, 0, 0, use)) != 0)
		return rc;
	if ((after != NULL && parse_count(after, &a) != 0) ||
	    (limit != NULL && (parse_count(limit, &l) != 0 || l == 0 || l > 10000)))
		return ctl_usage_error(use, "--after and --limit take positive numbers (limit <= 10000)");
	if ((rc = ctl_open(c, false)) != 0)
		return rc;
	if ((rc = store_audit_list(c->st, a, (size_t)l, &rows, &n, &err)) != TAM_OK)
		return ctl_fail(rc, &err);
	printf("%-6s %-20s %-16s %-18s %-40s %s\n", "ID", "TIME", "ACTOR", "ACTION", "OBJECT", "DETAIL");
	for (size_t i = 0; i < n; i++) {
		ctl_time(rows[i].at, when);
		printf("%-6lld %-20s %-16s %-18s %-40s %s\n", (long long)rows[i].id, when,
		    rows[i].actor, rows[i].action, rows[i].object, rows[i].detail);
	}
	free(rows);
	return CTL_EXIT_OK;
}
