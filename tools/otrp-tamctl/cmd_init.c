// SPDX-License-Identifier: MIT
/* otrp-tamctl init: create the database and record the TAM identity. */
#include <stdio.h>
#include <stdlib.h>

#include "tamctl.h"
#include "tam/limits.h"

int
cmd_init(struct ctl *c, int argc, char **argv)
{
	static const char use[] = "init --key FILE --cert FILE [--tamid ID]";
	const char *key = NULL, *cert = NULL, *tamid = NULL, *pos[1];
	const struct ctl_opt opts[] = {
		{ "--key", &key, NULL }, { "--cert", &cert, NULL }, { "--tamid", &tamid, NULL },
		{ NULL, NULL, NULL },
	};
	struct tam_err err = { 0 };
	uint8_t *chain = NULL;
	size_t len = 0;
	int rc;

	if ((rc = ctl_parse(argc, argv, opts, pos, 0, 0, use)) != 0)
		return rc;
	if (key == NULL || cert == NULL)
		return ctl_usage_error(use, "--key and --cert are required");
	if (c->url != NULL)
		return ctl_usage_error(use, "init works on the database (-d), not over the API");
	if ((rc = ctl_read_file(cert, TAM_MAX_PEM_BYTES, &chain, &len)) != 0)
		return rc;
	if ((rc = ctl_open(c, true)) == 0) {
		rc = mgmt_identity_set(&c->m, key, chain, len, tamid, &err);
		rc = rc == TAM_OK ? CTL_EXIT_OK : ctl_fail(rc, &err);
	}
	if (rc == CTL_EXIT_OK)
		printf("initialized %s (schema %d)\n", c->db, store_schema_version(c->st));
	free(chain);
	return rc;
}
