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
	t.Parallel()
	dir := secretImage(t)
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

// secretImage writes an image whose second layer holds a private key that
// the third deletes.
func secretImage(t *testing.T) string {
	t.Helper()
	// Built at run time so that the repository holds no key-like text.
	key := "-----BEGIN " + "RSA PRIVATE KEY-----\n" + strings.Repeat("QUJD", 40) + "\n-----END " + "RSA PRIVATE KEY-----\n"
	img := fixtures.NewImage().
		Add(fixtures.NewLayer().File("etc/hostname", []byte("box\n")), fixtures.CreatedBy("ADD rootfs /")).
		Add(fixtures.NewLayer().File("build/deploy.txt", []byte(key)).File("build/notes.txt", []byte("no key here")), fixtures.CreatedBy("COPY . /build")).
		Add(fixtures.NewLayer().Whiteout("build"), fixtures.CreatedBy("RUN rm -rf /build"))
	dir := filepath.Join(t.TempDir(), "img")
	if _, err := img.WriteOCILayout(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestLintCachedDecodesNothing: the secret scan's results travel with each
// layer in the cache, so lint of an image whose layers are all cached by a
// lint decodes no layer and prints exactly what an uncached lint prints,
// in every format. A layer cached by analyze (no scan results) is decoded
// once by the next lint, which completes its entry.
func TestLintCachedDecodesNothing(t *testing.T) {
	t.Setenv("LAYERLINT_DEBUG", "decodes")
	img := secretImage(t)
	for _, format := range []string{"text", "json", "sarif"} {
		t.Run(format, func(t *testing.T) {
			cache := t.TempDir()
			lint := func(flags ...string) (string, int) {
				t.Helper()
				args := append([]string{"lint", "--format", format}, flags...)
				code, out, errs := runCLI(t, append(args, img)...)
				if code != ExitFailed {
					t.Fatalf("lint %v: exit %d, want %d (a secret)\n%s", flags, code, ExitFailed, errs)
				}
				return out, len(decodedDigests(errs))
			}
			want, n := lint("--no-cache")
			if n != 3 {
				t.Fatalf("uncached lint decoded %d layers, want 3", n)
			}
			if code, _, errs := runCLI(t, "analyze", "--cache-dir", cache, img); code != ExitOK {
				t.Fatalf("analyze: exit %d\n%s", code, errs)
			}
			for i, wantDecodes := range []int{3, 0, 0} {
				got, n := lint("--cache-dir", cache)
				if n != wantDecodes {
					t.Errorf("lint %d over the cache decoded %d layers, want %d", i, n, wantDecodes)
				}
				if got != want {
					t.Errorf("lint %d over the cache differs from an uncached lint:\n%s\n---\n%s", i, got, want)
				}
			}
			if code, _, errs := runCLI(t, "analyze", "--cache-dir", cache, img); code != ExitOK || len(decodedDigests(errs)) != 0 {
				t.Errorf("analyze after lint: exit %d, %d layers decoded, want none\n%s", code, len(decodedDigests(errs)), errs)
			}
		})
	}
}

func TestLintEstimateCompression(t *testing.T) {
	t.Parallel()
	code, out, errs := runCLI(t, "lint", "--estimate-compression", "--fail-on", "never", "--format", "json", sample)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	if !json.Valid([]byte(out)) {
		t.Error("output is not JSON")
	}
}
