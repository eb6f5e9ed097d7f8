package source_test

import (
	"fmt"
	"log"

	"github.com/layerlint/layerlint/analyze/source"
)

// Open an image: a bare path is detected (here an OCI layout); every
// image of the reference's selection is listed, its layers described but
// not yet read.
func ExampleOpen() {
	src, err := source.Open("../../fixtures/testdata/sample", source.Options{Verify: true})
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close() //nolint:errcheck // read-only
	for _, img := range src.Images() {
		fmt.Println(img.Format, len(img.Layers), "layers")
		for _, l := range img.Layers {
			c, _, _ := source.ClassifyLayerMediaType(l.MediaType)
			fmt.Println(l.Index, c)
		}
	}
	// Output:
	// oci 4 layers
	// 0 gzip
	// 1 gzip
	// 2 gzip
	// 3 gzip
}
