// SPDX-License-Identifier: MIT
/* otrp-tamctl assign / unassign / audit: desired state and its history. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tamctl.h"

/* "a,b,c" as a JSON array of strings. */
static json_t *
split_list(const char *s)
{
	json_t *a = json_array();
	const char *p = s;

	while (a != NULL && *p != '\0') {
		size_t n = strcspn(p, ",");
		if (n > 0 && json_array_append_new(a, json_stringn(p, n)) != 0) {
			json_decref(a);
			return NULL;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return a;
}

int
cmd_assign(struct ctl *c, int argc, char **argv)
{
	static const char use[] =
	    "assign [--sp SPID | --devices LIST] [--allow-downgrade] [DEVICE] TAID [VERSION]";
	const char *sp = NULL, *devices = NULL, *pos[3], *taid, *version;
	bool bulk, downgrade = false;
	const struct ctl_opt opts[] = {
		{ "--sp", &sp, NULL }, { "--devices", &devices, NULL },
		{ "--allow-downgrade", NULL, &downgrade }, { NULL, NULL, NULL },
	};
	struct ctl_resp r;
	char path[400];
	json_t *body;
	int rc;

	if ((rc = ctl_parse(argc, argv, opts, pos, 1, 3, use)) != 0)
		return rc;
	if (sp != NULL && devices != NULL)
		return ctl_usage_error(use, "give --sp or --devices, not both");
	bulk = sp != NULL || devices != NULL;
	if ((bulk && pos[2] != NULL) || (!bulk && pos[1] == NULL))
		return ctl_usage_error(use, bulk ? "with --sp or --devices, give TAID [VERSION]" :
		    "give DEVICE TAID [VERSION]");
	taid = bulk ? pos[0] : pos[1];
	version = bulk ? pos[1] : pos[2];
	body = json_pack("{s:s}", "taid", taid);
	if (body != NULL && version != NULL)
		json_object_set_new(body, "version", json_string(version));
	if (body != NULL && downgrade)
		json_object_set_new(body, "allow_downgrade", json_true());
	if (body != NULL && sp != NULL)
		json_object_set_new(body, "sp", json_string(sp));
	if (body != NULL && devices != NULL && json_object_set_new(body, "devices",
	    split_list(devices)) != 0) {
		json_decref(body);
		body = NULL;
	}
	if (body == NULL)
		return ctl_usage_error(use, "arguments are not text");
	if (!bulk && (rc = ctl_check_segment(pos[0], "DEVICE", use)) != 0) {
		json_decref(body);
		return rc;
	}
	if (bulk)
		snprintf(path, sizeof(path), API_PREFIX "/assignments");
	else
		snprintf(path, sizeof(path), API_PREFIX "/devices/%s/assignments", pos[0]);
	rc = ctl_run(c, "POST", path, NULL, body, &r);
	json_decref(body);
	if (rc != 0 || c->json) {
		if (rc == 0)
			ctl_resp_clear(&r);
		return rc;
	}
	if (bulk)
		printf("assigned %s %s to %lld devices\n", taid, version ? version : "(latest)",
		    (long long)json_integer_value(json_object_get(r.json, "assigned")));
	ctl_resp_clear(&r);
	return CTL_EXIT_OK;
}

int
cmd_unassign(struct ctl *c, int argc, char **argv)
{
	static const char use[] = "unassign DEVICE TAID";
	const char *pos[2];
	char path[600];
	int rc;

	if ((rc = ctl_parse(argc, argv, NULL, pos, 2, 2, use)) != 0 ||
	    (rc = ctl_check_segment(pos[0], "DEVICE", use)) != 0 ||
	    (rc = ctl_check_segment(pos[1], "TAID", use)) != 0)
		return rc;
	snprintf(path, sizeof(path), API_PREFIX "/devices/%s/assignments/%s", pos[0], pos[1]);
	return ctl_run(c, "DELETE", path, NULL, NULL, NULL);
}

int
cmd_audit(struct ctl *c, int argc, char **argv)
{
	static const char use[] = "audit [--actor A] [--object O] [--since T] [--until T] [--limit N]";
	const char *actor = NULL, *object = NULL, *since = NULL, *until = NULL, *limit = NULL;
	const char *pos[1], *q[9];
	const struct ctl_opt opts[] = {
		{ "--actor", &actor, NULL }, { "--object", &object, NULL },
		{ "--since", &since, NULL }, { "--until", &until, NULL },
		{ "--limit", &limit, NULL }, { NULL, NULL, NULL },
	};
	json_t *items, *a;
	long long max = 0;
	size_t i, k = 0;
	char *end;
	int rc;

	if ((rc = ctl_parse(argc, argv, opts, pos, 0, 0, use)) != 0)
		return rc;
	if (limit != NULL && ((max = strtoll(limit, &end, 10)) < 1 || *end != '\0' || max > 1000000))
		return ctl_usage_error(use, "--limit takes a number from 1 to 1000000");
	if (actor != NULL) {
		q[k++] = "actor";
		q[k++] = actor;
	}
	if (object != NULL) {
		q[k++] = "object";
		q[k++] = object;
	}
	if (since != NULL) {
		q[k++] = "since";
		q[k++] = since;
	}
	if (until != NULL) {
		q[k++] = "until";
		q[k++] = until;
	}
	q[k] = NULL;
	if ((rc = ctl_list_all(c, API_PREFIX "/audit", q, (size_t)max, &items)) != 0)
		return rc;
	while (max > 0 && json_array_size(items) > (size_t)max)
		json_array_remove(items, json_array_size(items) - 1);
	if (c->json) {
		ctl_print_json(items);
	} else {
		printf("%-6s %-20s %-20s %-18s %-40s %s\n", "ID", "TIME", "ACTOR", "ACTION", "OBJECT",
		    "DETAIL");
		json_array_foreach(items, i, a)
			printf("%-6lld %-20s %-20s %-18s %-40s %s\n",
			    (long long)json_integer_value(json_object_get(a, "id")), ctl_str(a, "at"),
			    ctl_str(a, "actor"), ctl_str(a, "action"), ctl_str(a, "object"),
			    ctl_str(a, "detail"));
	}
	json_decref(items);
	return CTL_EXIT_OK;
}
