/* SPDX-License-Identifier: MIT */
/*
 * Shared pieces of otrp-tamctl: the command table entry, the context every
 * subcommand gets, argument parsing, and the documented exit codes.
 */
#ifndef TAMCTL_H
#define TAMCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tam/err.h"
#include "tam/mgmt.h"
#include "tam/store.h"

enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_USAGE = 1,
	CTL_EXIT_NOTFOUND = 2,
	CTL_EXIT_CONFLICT = 3,
	CTL_EXIT_AUTH = 4,
	CTL_EXIT_OTHER = 5,
};

struct ctl {
	const char *db;               /* database path */
	struct store *st;             /* opened by ctl_open */
	struct mgmt m;                /* management operations on st */
	char actor[80];               /* "cli:<user>" */
};

struct ctl_cmd {
	const char *name;             /* "sp", "add", ... */
	int (*run)(struct ctl *c, int argc, char **argv);   /* argv[0] is the name */
	const char *usage;            /* the grammar, printed as is */
	const char *help;             /* one line */
};

/* An option that takes a value ("--key FILE") or is a flag (value NULL). */
struct ctl_opt {
	const char *name;             /* "--key" */
	const char **value;           /* where the value goes; NULL for a flag */
	bool *flag;                   /* set to true for a flag */
};

/*
 * Split argv[1..] into options and positionals; exactly min..max positionals.
 * Prints the usage and returns CTL_EXIT_USAGE on any error, or "-h"/"--help"
 * (then returns -1 after printing the usage to stdout).
 */
int ctl_parse(int argc, char **argv, const struct ctl_opt *opts, const char **pos, int min,
    int max, const char *usage);

int ctl_open(struct ctl *c, bool create);
/* Print "otrp-tamctl: msg" and return the exit code for a TAM_E* code. */
int ctl_fail(int code, const struct tam_err *err);
int ctl_usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ctl_read_file(const char *path, size_t max, uint8_t **data, size_t *len);
/* Dispatch argv[1] (a verb) through a table; prints the table when missing or unknown. */
int ctl_dispatch(struct ctl *c, const char *noun, const struct ctl_cmd *cmds, size_t n,
    int argc, char **argv);
void ctl_time(int64_t t, char out[32]);

int cmd_init(struct ctl *c, int argc, char **argv);
int cmd_trust_anchor(struct ctl *c, int argc, char **argv);
int cmd_sp(struct ctl *c, int argc, char **argv);
int cmd_ta(struct ctl *c, int argc, char **argv);
int cmd_device(struct ctl *c, int argc, char **argv);
int cmd_assign(struct ctl *c, int argc, char **argv);
int cmd_unassign(struct ctl *c, int argc, char **argv);
int cmd_audit(struct ctl *c, int argc, char **argv);

#endif
