package squash_test

import (
	"context"
	"fmt"
	"log"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/squash"
)

// Fix an image: plan a rewrite from its analysis, then run it. This one
// squashes every layer into one and strips a directory, as a dry run
// (OutputNone: the layers are built and measured, nothing is written);
// with OutputLayout, OutputDockerArchive or OutputInPlace and
// VerifyOptions, Fix writes the image and proves it shows the same
// container.
func ExampleFix() {
	src, err := source.Open("../fixtures/testdata/sample", source.Options{Verify: true})
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close() //nolint:errcheck // read-only
	a, err := analyze.Analyze(context.Background(), src.Images()[0], analyze.Options{Verify: true})
	if err != nil {
		log.Fatal(err)
	}
	opts := squash.Options{Mode: squash.SquashAll, BaseLayers: 0, Strip: []string{"var/lib/apt/lists"}}
	plan, err := squash.NewPlan(a, opts)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("plan:", plan)
	out, err := squash.Fix(context.Background(), []squash.Image{{Analysis: a, Plan: plan}}, opts, squash.Target{Kind: squash.OutputNone}, nil)
	if err != nil {
		log.Fatal(err)
	}
	r := out.Results[0]
	fmt.Println("layers:", r.Before.Layers, "→", r.After.Layers)
	fmt.Println("content bytes:", r.Before.ContentBytes, "→", r.After.ContentBytes)
	fmt.Println("stripped:", r.Layers[0].Stripped)
	// Output:
	// plan: [0+1+2+3]
	// layers: 4 → 1
	// content bytes: 5809 → 2537
	// stripped: [var/lib/apt/lists]
}
