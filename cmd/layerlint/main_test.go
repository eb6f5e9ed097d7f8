package main

import (
	"os"
	"testing"
)

// TestMain points the layer cache at a directory of this test run, so that
// tests neither read nor fill the user's cache.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "layerlint-cache-")
	if err != nil {
		panic(err)
	}
	os.Setenv("LAYERLINT_CACHE_DIR", dir) //nolint:errcheck,usetesting // before any test runs
	code := m.Run()
	os.RemoveAll(dir) //nolint:errcheck // temp
	os.Exit(code)
}
