package rules_test

import (
	"context"
	"fmt"
	"log"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/rules"
)

// Lint an image: gather the facts of an analysis once, then run every
// rule on them. Findings come sorted by layer, then rule and path; rules/gate
// adds configuration, suppressions and a verdict, rules/format the output
// formats.
func ExampleRun() {
	src, err := source.Open("../fixtures/testdata/sample", source.Options{Verify: true})
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close() //nolint:errcheck // read-only
	a, err := analyze.Analyze(context.Background(), src.Images()[0], analyze.Options{Verify: true})
	if err != nil {
		log.Fatal(err)
	}
	facts, err := rules.Gather(context.Background(), a, rules.Options{}, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range rules.Run(facts) {
		fmt.Printf("%s layer %d %s: %s\n", f.Rule, f.Layer, f.Path, f.Message)
	}
	// Output:
	// LL001 layer 0 etc/app.conf: /etc/app.conf (26 bytes) from layer 0 is overwritten by layer 1; the old version still ships
	// LL002 layer 1 etc/secret.tmp: /etc/secret.tmp: 18 bytes from layer 0 deleted by layer 1 but still shipped
	// LL002 layer 1 tmp/build: /tmp/build (2 files): 414 bytes from layer 0 deleted by layer 1 but still shipped
	// LL005 layer 1 var/lib/apt/lists: apt package lists: 3 files, 1300 bytes from layers 0 and 1 remain in the image
	// LL006 layer 1 var/log/app.log: log files: 1 file in the image; the largest, /var/log/app.log (56 bytes), is copied up whole on first write
	// LL003 layer 2 usr/bin/tool: /usr/bin/tool (1200 bytes) is copied again unchanged by layer 2 to change only its metadata; layer 0's copy still ships
	// LL004 layer 2 usr/bin/tool: /usr/bin/tool has the same 1200 bytes as /app/tool-copy
	// LL002 layer 3 app/data: /app/data (2 files): 314 bytes from layer 0 hidden by an opaque marker in layer 3 but still shipped
	// LL007 layer 3 app/data: VOLUME /app/data: the image ships 1 entry (14 bytes) there from layer 3; a mounted volume hides them
}
