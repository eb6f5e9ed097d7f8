// Command layerlint lints and optimizes OCI container images.
package main

import "os"

func main() {
	tuneGC()
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}
