// SPDX-License-Identifier: MIT
// Validate an OpenAPI document against the OpenAPI 3.x JSON Schemas
// (@seriousme/openapi-schema-validator), then print "METHOD PATH" for each
// operation it describes. Exits 1 when the document is invalid.
import { readFileSync } from "node:fs";
import { argv, exit } from "node:process";
import { Validator } from "@seriousme/openapi-schema-validator";
import YAML from "yaml";

const file = argv[2];
const result = await new Validator().validate(file);
if (!result.valid) {
	console.error(JSON.stringify(result.errors, null, 2));
	exit(1);
}
const doc = YAML.parse(readFileSync(file, "utf8"));
for (const [path, item] of Object.entries(doc.paths))
	for (const m of ["get", "put", "post", "delete", "patch", "head", "options"])
		if (item[m] !== undefined)
			console.log(`${m.toUpperCase()} ${path}`);
