// SPDX-License-Identifier: MIT
/*
 * mock-tee: run one OTrP session of the mock TEE against a TAM on loopback,
 * for shell tests and demos. It prints one line per message and the final
 * status. Exit status: 0 when the session ended with 204, 1 on any other
 * end (the error goes to stderr), 2 on usage errors.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock_tee.h"

#define EXIT_USAGE 2

static const char usage_text[] =
    "usage: mock-tee --url URL --state DIR --key FILE [--cert FILE] [--cacert FILE]\n"
    "                --tam-anchor FILE [--name NAME]\n"
    "       mock-tee --profile aist --url URL --state DIR --key FILE --tam-key FILE\n"
    "                --sp-key FILE [--talist UUID,...]\n"
    "\n"
    "  --url URL          TAM endpoint, http://127.0.0.1[:port]/path or http://localhost...\n"
    "  --state DIR        state directory (created if missing)\n"
    "  --key FILE         TEE private key (PEM)\n"
    "  --cert FILE        TEE certificate (PEM); without it the TEE is a raw-key TEE\n"
    "  --cacert FILE      TEE CA chain (PEM), sent in the DSI\n"
    "  --tam-anchor FILE  root CA(s) the TAM certificate must chain to (PEM)\n"
    "  --name NAME        TEE routing name (default mock-tee)\n"
    "  --profile aist     play the AIST prototype's broker and agent (docs/interop-aist.md)\n"
    "  --tam-key FILE     aist: the TAM public key it was built with (PEM or JWK)\n"
    "  --sp-key FILE      aist: the SP public key it checks TA images with (PEM or JWK)\n"
    "  --talist LIST      aist: TA UUIDs its DSI claims (its broker's --talist)\n";

static void
usage(FILE *f)
{
	fputs(usage_text, f);
}

/* "CreateSDRequest" -> "CreateSDResponse". */
static void
response_name(const char *request, char *out, size_t outlen)
{
	size_t n = strlen(request);
	const char *suffix = "Request";
	size_t sl = strlen(suffix);

	if (n > sl && strcmp(request + n - sl, suffix) == 0)
		snprintf(out, outlen, "%.*sResponse", (int)(n - sl), request);
	else
		snprintf(out, outlen, "%s", request);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "state", required_argument, NULL, 's' },
		{ "key", required_argument, NULL, 'k' },
		{ "cert", required_argument, NULL, 'c' },
		{ "cacert", required_argument, NULL, 'C' },
		{ "tam-anchor", required_argument, NULL, 'a' },
		{ "name", required_argument, NULL, 'n' },
		{ "profile", required_argument, NULL, 'P' },
		{ "tam-key", required_argument, NULL, 'T' },
		{ "sp-key", required_argument, NULL, 'S' },
		{ "talist", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mock_tee_cfg cfg = { 0 };
	struct mock_session_result res;
	struct mock_tee *mt = NULL;
	struct tam_err err = { 0 };
	const char *url = NULL;
	char resp[MOCK_NAME_MAX + 16];
	int ch, rc, status = 1;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'u': url = optarg; break;
		case 's': cfg.state_dir = optarg; break;
		case 'k': cfg.key_path = optarg; break;
		case 'c': cfg.cert_path = optarg; break;
		case 'C': cfg.cacert_path = optarg; break;
		case 'a': cfg.tam_anchor_path = optarg; break;
		case 'n': cfg.tee_name = optarg; break;
		case 'P': cfg.profile = optarg; break;
		case 'T': cfg.tam_key_path = optarg; break;
		case 'S': cfg.sp_key_path = optarg; break;
		case 'L': cfg.talist = optarg; break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc || url == NULL || cfg.state_dir == NULL || cfg.key_path == NULL ||
	    (cfg.profile == NULL && cfg.tam_anchor_path == NULL) ||
	    (cfg.cacert_path != NULL && cfg.cert_path == NULL)) {
		fprintf(stderr, "mock-tee: --url, --state, --key and --tam-anchor (or --profile aist "
		    "with --tam-key and --sp-key) are required; --cacert needs --cert\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (mock_tee_open(&cfg, &mt, &err) != TAM_OK) {
		fprintf(stderr, "mock-tee: %s\n", err.msg);
		return 1;
	}
	rc = mock_tee_run_session(mt, url, &res, &err);
	for (int i = 0; i < res.n_requests; i++) {
		printf("-> %s\n", res.requests[i]);
		if (i >= res.n_outcomes)
			continue;
		response_name(res.requests[i], resp, sizeof(resp));
		if (strcmp(res.outcomes[i], "pass") == 0)
			printf("<- %s\n", resp);
		else
			printf("<- %s (fail %s)\n", resp, res.outcomes[i]);
	}
	if (rc == TAM_OK) {
		printf("done: %ld\n", res.final_status);
		status = 0;
	} else {
		fprintf(stderr, "mock-tee: %s (HTTP status %ld, after %d POSTs)\n", res.error,
		    res.final_status, res.rounds);
	}
	if (fflush(stdout) != 0)
		status = 1;
	mock_tee_close(mt);
	return status;
}
