// SPDX-License-Identifier: MIT
//
// Validate an OpenAPI 3 document with kin-openapi (the Debian package
// golang-github-getkin-kin-openapi-dev, so the check needs no network):
// every $ref resolves, every schema, parameter and response is well formed.
// Then print "METHOD PATH" for each operation it describes. Exits 1 when the
// document does not load or is invalid.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/getkin/kin-openapi/openapi3"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: openapi-check FILE")
		os.Exit(2)
	}
	doc, err := openapi3.NewLoader().LoadFromFile(os.Args[1])
	if err == nil {
		err = doc.Validate(context.Background())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for path, item := range doc.Paths {
		for method := range item.Operations() {
			fmt.Println(method, path)
		}
	}
}
