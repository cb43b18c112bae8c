// SPDX-License-Identifier: MIT
/*
 * Print "METHOD PATH" for every route of the management listener, one per
 * line, as the daemon registers them: what tests compare docs/openapi.yaml
 * against, so the documentation cannot drift from the code in either
 * direction.
 */
#include <stdio.h>

#include "tam/api.h"

int
main(void)
{
	static struct api_ctx ctx;
	struct http_route routes[HTTP_MAX_ROUTES];
	size_t n = api_routes(&ctx, routes, HTTP_MAX_ROUTES);

	for (size_t i = 0; i < n; i++)
		printf("%s %s\n", routes[i].method, routes[i].path);
	return n > 0 ? 0 : 1;
}
