package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/layerlint/layerlint/fixtures"
)

// TestLintFindsSecretContent: lint scans file content in its single read
// of each layer, and reports a private key that a later layer deleted (it
// is still in the blob) by path, layer and kind, never quoting it.
func TestLintFindsSecretContent(t *testing.T) {
	// Built at run time so that the repository holds no key-like text.
	key := "-----BEGIN " + "RSA PRIVATE KEY-----\n" + strings.Repeat("QUJD", 40) + "\n-----END " + "RSA PRIVATE KEY-----\n"
	img := fixtures.NewImage().
		Add(fixtures.NewLayer().File("etc/hostname", []byte("box\n")), fixtures.CreatedBy("ADD rootfs /")).
		Add(fixtures.NewLayer().File("build/deploy.txt", []byte(key)), fixtures.CreatedBy("COPY . /build")).
		Add(fixtures.NewLayer().Whiteout("build"), fixtures.CreatedBy("RUN rm -rf /build"))
	dir := filepath.Join(t.TempDir(), "img")
	if _, err := img.WriteOCILayout(dir); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "lint", "--format", "json", dir)
	if code != ExitFailed {
		t.Fatalf("exit %d, want %d (a secret is an error)\n%s", code, ExitFailed, errs)
	}
	if strings.Contains(out, "QUJDQUJD") {
		t.Fatal("the report quotes the secret")
	}
	var rep struct {
		Findings []struct {
			Rule, Path, Message string
			Layer               int
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range rep.Findings {
		if f.Rule == "LL009" && f.Path == "/build/deploy.txt" && f.Layer == 1 && strings.Contains(f.Message, "content") {
			found = true
		}
	}
	if !found {
		t.Errorf("no content-based LL009 finding for build/deploy.txt in layer 1: %+v", rep.Findings)
	}
}

func TestLintEstimateCompression(t *testing.T) {
	code, out, errs := runCLI(t, "lint", "--estimate-compression", "--fail-on", "never", "--format", "json", sample)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	if !json.Valid([]byte(out)) {
		t.Error("output is not JSON")
	}
}
