// SPDX-License-Identifier: MIT
/*
 * otrp-tamctl token: bearer tokens for the management API. A new token is
 * printed once, alone on stdout (so `TOKEN=$(otrp-tamctl token create ...)`
 * works); the server keeps only its hash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tamctl.h"

#define PATH API_PREFIX "/tokens"

static int
token_create(struct ctl *c, int argc, char **argv)
{
	static const char use[] =
	    "token create --role admin|sp:SPID [--description TEXT] [--expires-in SECONDS]";
	const char *role = NULL, *desc = NULL, *expires = NULL, *pos[1];
	const struct ctl_opt opts[] = {
		{ "--role", &role, NULL }, { "--description", &desc, NULL },
		{ "--expires-in", &expires, NULL }, { NULL, NULL, NULL },
	};
	struct ctl_resp r;
	long long secs = 0;
	json_t *body;
	char *end;
	int rc;

	if ((rc = ctl_parse(argc, argv, opts, pos, 0, 0, use)) != 0)
		return rc;
	if (role == NULL)
		return ctl_usage_error(use, "--role is required");
	if (expires != NULL && ((secs = strtoll(expires, &end, 10)) < 1 || *end != '\0'))
		return ctl_usage_error(use, "--expires-in takes a number of seconds");
	body = json_pack("{s:s}", "role", role);
	if (body != NULL && desc != NULL)
		json_object_set_new(body, "description", json_string(desc));
	if (body != NULL && secs > 0)
		json_object_set_new(body, "expires_in", json_integer(secs));
	if (body == NULL)
		return ctl_usage_error(use, "arguments are not text");
	rc = ctl_request(c, "POST", PATH, NULL, body, &r);
	json_decref(body);
	if (rc != 0)
		return rc;
	if ((rc = ctl_check(&r)) == CTL_EXIT_OK) {
		if (c->json) {
			ctl_print_json(r.json);
		} else {
			printf("%s\n", ctl_str(r.json, "token"));
			fprintf(stderr, "token %s (%s) created; it is shown only this once\n",
			    ctl_str(r.json, "id"), ctl_str(r.json, "role"));
		}
	}
	ctl_resp_clear(&r);
	return rc;
}

static int
token_list(struct ctl *c, int argc, char **argv)
{
	json_t *items, *t;
	size_t i;
	int rc;

	if ((rc = ctl_list_cmd(c, argc, argv, "token list", PATH, &items)) != 0 || items == NULL)
		return rc;
	printf("%-12s %-20s %-20s %-20s %-20s %-20s %s\n", "ID", "ROLE", "CREATED", "EXPIRES",
	    "REVOKED", "LAST USED", "DESCRIPTION");
	json_array_foreach(items, i, t)
		printf("%-12s %-20s %-20s %-20s %-20s %-20s %s\n", ctl_str(t, "id"),
		    ctl_str(t, "role"), ctl_str(t, "created"), ctl_str(t, "expires"),
		    ctl_str(t, "revoked"), ctl_str(t, "last_used"), ctl_str(t, "description"));
	json_decref(items);
	return CTL_EXIT_OK;
}

static int
token_revoke(struct ctl *c, int argc, char **argv)
{
	return ctl_named_cmd(c, argc, argv, "token revoke ID", "ID", "DELETE", PATH, "", NULL);
}

int
cmd_token(struct ctl *c, int argc, char **argv)
{
	static const struct ctl_cmd cmds[] = {
		{ "create", token_create,
		    "token create --role admin|sp:SPID [--description TEXT] [--expires-in SECONDS]",
		    "a new API token, printed once" },
		{ "list", token_list, "token list", "list tokens (never their secrets)" },
		{ "revoke", token_revoke, "token revoke ID", "the token stops working at once" },
	};
	return ctl_dispatch(c, "token", cmds, sizeof(cmds) / sizeof(cmds[0]), argc, argv);
}
