// SPDX-License-Identifier: MIT
/*
 * otrp-tamctl: the administration CLI. It works directly on the database
 * (like kadmin.local), through the same management functions any other front
 * end uses, so validation and audit are identical whichever way a change comes.
 */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "tamctl.h"
#include "tam/limits.h"

#define DEFAULT_DB "/var/lib/otrp-tamd/tamd.db"

static const struct ctl_cmd commands[] = {
	{ "init", cmd_init, "init --key FILE --cert FILE [--tamid ID]",
	    "create the database and set the TAM identity" },
	{ "trust-anchor", cmd_trust_anchor, "trust-anchor add|list|remove ...",
	    "CA certificates TEE certificates must chain to" },
	{ "sp", cmd_sp, "sp add|list ...", "service providers and their signing certificates" },
	{ "ta", cmd_ta, "ta sign|add|list ...", "trusted applications and their versions" },
	{ "device", cmd_device, "device enroll|list|show|decommission ...", "devices (TEEs)" },
	{ "assign", cmd_assign, "assign DEVICE TAID [VERSION]", "this TA belongs on this device" },
	{ "unassign", cmd_unassign, "unassign DEVICE TAID", "this TA no longer belongs on this device" },
	{ "audit", cmd_audit, "audit [--after ID] [--limit N]", "who changed what" },
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: otrp-tamctl [-d DB] COMMAND ...\n"
	    "  -d, --db FILE   database (default $OTRP_TAMD_DB or " DEFAULT_DB ")\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-40s %s\n", commands[i].usage, commands[i].help);
	fprintf(f, "\nexit codes: 0 ok, 1 usage, 2 not found, 3 conflict, 4 auth, 5 other\n"
	    "`otrp-tamctl COMMAND --help` shows a command's own usage.\n");
}

int
ctl_usage_error(const char *use, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "otrp-tamctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: otrp-tamctl %s\n", use);
	return CTL_EXIT_USAGE;
}

int
ctl_parse(int argc, char **argv, const struct ctl_opt *opts, const char **pos, int min,
    int max, const char *use)
{
	int npos = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const struct ctl_opt *o = NULL;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			printf("usage: otrp-tamctl %s\n", use);
			return -1;
		}
		if (strncmp(a, "--", 2) == 0) {
			for (const struct ctl_opt *p = opts; p != NULL && p->name != NULL; p++)
				if (strcmp(p->name, a) == 0)
					o = p;
			if (o == NULL)
				return ctl_usage_error(use, "unknown option %s", a);
			if (o->value == NULL) {
				*o->flag = true;
				continue;
			}
			if (i + 1 >= argc)
				return ctl_usage_error(use, "option %s needs a value", a);
			*o->value = argv[++i];
			continue;
		}
		if (npos >= max)
			return ctl_usage_error(use, "unexpected argument \"%s\"", a);
		pos[npos++] = a;
	}
	if (npos < min)
		return ctl_usage_error(use, "missing arguments");
	for (int i = npos; i < max; i++)
		pos[i] = NULL;
	return CTL_EXIT_OK;
}

int
ctl_fail(int code, const struct tam_err *err)
{
	fprintf(stderr, "otrp-tamctl: %s\n", err != NULL && err->msg[0] ? err->msg : tam_err_name(code));
	switch (code) {
	case TAM_ENOTFOUND: return CTL_EXIT_NOTFOUND;
	case TAM_ECONFLICT: return CTL_EXIT_CONFLICT;
	case TAM_EDENIED: return CTL_EXIT_AUTH;
	case TAM_EUSAGE: return CTL_EXIT_USAGE;
	default: return CTL_EXIT_OTHER;
	}
}

int
ctl_open(struct ctl *c, bool create)
{
	struct tam_err err = { 0 };
	int rc;

	rc = store_open(c->db, create ? STORE_CREATE : 0, &c->st, &err);
	if (rc == TAM_ENOTFOUND && !create)
		tam_err_set(&err, rc, "%s: no database here; create it with `otrp-tamctl init`", c->db);
	if (rc != TAM_OK)
		return ctl_fail(rc, &err);
	c->m.st = c->st;
	c->m.actor = c->actor;
	return CTL_EXIT_OK;
}

int
ctl_read_file(const char *path, size_t max, uint8_t **data, size_t *len)
{
	struct tam_err err = { 0 };
	int rc = tam_file_read(path, max, data, len, &err);

	return rc == TAM_OK ? CTL_EXIT_OK : ctl_fail(rc, &err);
}

int
ctl_dispatch(struct ctl *c, const char *noun, const struct ctl_cmd *cmds, size_t n, int argc,
    char **argv)
{
	FILE *f = stderr;

	if (argc >= 2) {
		for (size_t i = 0; i < n; i++)
			if (strcmp(argv[1], cmds[i].name) == 0)
				return cmds[i].run(c, argc - 1, argv + 1);
		if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
			f = stdout;
		else
			fprintf(stderr, "otrp-tamctl: unknown %s command \"%s\"\n", noun, argv[1]);
	}
	fprintf(f, "usage:\n");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "  otrp-tamctl %-50s %s\n", cmds[i].usage, cmds[i].help);
	return f == stdout ? CTL_EXIT_OK : CTL_EXIT_USAGE;
}

void
ctl_time(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL) {
		snprintf(out, 32, "-");
		return;
	}
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
main(int argc, char **argv)
{
	struct ctl c = { 0 };
	struct passwd *pw;
	int i = 1, rc;

	c.db = getenv("OTRP_TAMD_DB") ? getenv("OTRP_TAMD_DB") : DEFAULT_DB;
	json_object_seed(0);
	while (i < argc && argv[i][0] == '-') {
		if ((strcmp(argv[i], "-d") == 0 || strcmp(argv[i], "--db") == 0) && i + 1 < argc) {
			c.db = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return CTL_EXIT_OK;
		} else {
			fprintf(stderr, "otrp-tamctl: unknown option %s\n", argv[i]);
			usage(stderr);
			return CTL_EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	pw = getpwuid(geteuid());
	snprintf(c.actor, sizeof(c.actor), "cli:%s", pw != NULL ? pw->pw_name : "unknown");
	rc = -2;
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
		if (strcmp(argv[i], commands[k].name) == 0)
			rc = commands[k].run(&c, argc - i, argv + i);
	if (rc == -2) {
		fprintf(stderr, "otrp-tamctl: unknown command \"%s\"\n", argv[i]);
		usage(stderr);
		rc = CTL_EXIT_USAGE;
	}
	store_close(c.st);
	return rc < 0 ? CTL_EXIT_OK : rc;
}
