package analyze_test

import (
	"context"
	"fmt"
	"log"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/analyze/source"
)

// Analyze an image: replay its layers through the overlay model and report
// where every byte went. The Report is what the CLI prints (WriteText) or
// emits as JSON (WriteJSON); the Analysis keeps the model and the
// changesets for rules and fix.
func ExampleAnalyze() {
	src, err := source.Open("../fixtures/testdata/sample", source.Options{Verify: true})
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close() //nolint:errcheck // read-only
	a, err := analyze.Analyze(context.Background(), src.Images()[0], analyze.Options{Verify: true})
	if err != nil {
		log.Fatal(err)
	}
	s := a.Report.Summary
	fmt.Println("layers:", s.Layers, "base:", a.Report.Image.Base.Layers, a.Report.Image.Base.Source)
	fmt.Println("content bytes:", s.ContentBytes, "wasted:", s.WastedBytes)
	for _, l := range a.Report.Layers {
		fmt.Printf("layer %d wastes %d bytes: %s\n", l.Index, l.WastedBytes, l.CreatedBy)
	}
	// Output:
	// layers: 4 base: 1 default
	// content bytes: 5809 wasted: 1972
	// layer 0 wastes 1972 bytes: ADD rootfs.tar /
	// layer 1 wastes 0 bytes: RUN apt-get update && apt-get install -y tool && rm /etc/secret.tmp && rm -r /tmp/build
	// layer 2 wastes 0 bytes: RUN chmod 0700 /usr/bin/tool
	// layer 3 wastes 0 bytes: COPY data/ /app/data/
}
