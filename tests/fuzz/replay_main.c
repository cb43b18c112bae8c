// SPDX-License-Identifier: MIT
/*
 * Replays a fuzz corpus through a harness without libFuzzer, so every seed
 * (and every crash a campaign found and we fixed) runs in `make check` under
 * the normal and the sanitizer build. Prints a cmocka-style summary line.
 */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tam/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_file(const char *path, unsigned *count)
{
	struct tam_err err;
	uint8_t *data = NULL;
	size_t len = 0;

	if (tam_file_read(path, 1u << 24, &data, &len, &err) != TAM_OK) {
		fprintf(stderr, "replay: %s\n", err.msg);
		return -1;
	}
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	(*count)++;
	return 0;
}

int
main(int argc, char **argv)
{
	unsigned count = 0;
	struct stat sb;

	for (int i = 1; i < argc; i++) {
		if (stat(argv[i], &sb) != 0) {
			fprintf(stderr, "replay: %s: not found\n", argv[i]);
			return 1;
		}
		if (!S_ISDIR(sb.st_mode)) {
			if (run_file(argv[i], &count) != 0)
				return 1;
			continue;
		}
		DIR *d = opendir(argv[i]);
		struct dirent *e;
		if (d == NULL)
			return 1;
		while ((e = readdir(d)) != NULL) {
			char path[4096];
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
			if (run_file(path, &count) != 0) {
				closedir(d);
				return 1;
			}
		}
		closedir(d);
	}
	if (count == 0) {
		fprintf(stderr, "replay: no corpus files\n");
		printf("[  FAILED  ] 1 test(s), listed below:\n");
		return 1;
	}
	printf("[  PASSED  ] %u test(s).\n", count);
	return 0;
}
