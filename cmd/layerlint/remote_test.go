package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/internal/testsupport"
)

// inProcessRegistry serves ggcr's registry on 127.0.0.1.
func inProcessRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// pushLayout pushes the only image of an OCI layout to ref, as it is.
func pushLayout(t *testing.T, dir, ref string) v1.Hash {
	t.Helper()
	img, d := testsupport.LayoutImage(t, dir)
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestRegistryCommands: every command that takes an IMAGE reads one from a
// registry, with the report a layout gives (only the name differs).
func TestRegistryCommands(t *testing.T) {
	t.Parallel()
	host := inProcessRegistry(t)
	pushLayout(t, sample, host+"/sample:1")
	ref := "registry:" + host + "/sample:1"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	_, fromLayout, _ := runCLI(t, "analyze", "--format", "json", sample)
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{"analyze", []string{"analyze", ref}, ExitOK, "Top wasted paths", ""},
		{"docker://", []string{"analyze", "docker://" + host + "/sample:1"}, ExitOK, "Top wasted paths", ""},
		{"ls", []string{"ls", ref, "etc"}, ExitOK, "/etc/app.conf", ""},
		{"lint", []string{"lint", "--fail-on", "never", ref}, ExitOK, "LL0", ""},
		{"fix dry run", []string{"fix", "--squash", "all", "--dry-run", ref}, ExitOK, "dry run: nothing written", ""},
		{"404", []string{"analyze", "registry:" + host + "/sample:2"}, ExitInput, "", "sample:2 from registry " + host + ": 404"},
		{"unreachable", []string{"analyze", "registry:" + closed + "/sample:1"}, ExitEnvironment, "", "registry " + closed},
		{"in place on a registry", []string{"fix", "--in-place", ref}, ExitInput, "", "in-place"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.inStdout) || !strings.Contains(errs, tc.inStderr) {
				t.Errorf("exit %d (want %d)\nstdout: %s\nstderr: %s\nwant %q in stdout, %q in stderr", code, tc.code, out, errs, tc.inStdout, tc.inStderr)
			}
		})
	}
	_, fromRegistry, _ := runCLI(t, "analyze", "--format", "json", ref)
	sch, err := jsonschema.NewCompiler().Compile("../../docs/schema/report.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(fromRegistry))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Errorf("the report of a registry image does not match the schema: %v", err)
	}
	norm := func(s string) string {
		var keep []string
		for _, l := range strings.Split(s, "\n") {
			if !strings.Contains(l, `"name"`) && !strings.Contains(l, `"format"`) && !strings.Contains(l, `"ref"`) && !strings.Contains(l, `"reference"`) {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	}
	if norm(fromLayout) != norm(fromRegistry) {
		t.Errorf("the registry's report differs from the layout's:\n%s", lineDiff(norm(fromLayout), norm(fromRegistry)))
	}
}

// lineDiff lists the lines that differ, by position.
func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for i := range max(len(al), len(bl)) {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out = append(out, "- "+x, "+ "+y)
		}
	}
	return strings.Join(out, "\n")
}

// countingRegistry is inProcessRegistry counting blob uploads started
// (POST …/blobs/uploads/ without a mount) and mounts asked for.
func countingRegistry(t *testing.T) (host string, uploads, mounts *atomic.Int32) {
	t.Helper()
	uploads, mounts = new(atomic.Int32), new(atomic.Int32)
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/blobs/uploads/") {
			if r.URL.Query().Get("mount") != "" {
				mounts.Add(1)
			} else {
				uploads.Add(1)
			}
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), uploads, mounts
}

// TestPushRoundTrip: pull from a registry, fix, push, pull again: the
// pushed image has no waste, and only what fix wrote was uploaded (the
// kept base layer is already there).
func TestPushRoundTrip(t *testing.T) {
	t.Parallel()
	host, uploads, _ := countingRegistry(t)
	pushLayout(t, sample, host+"/sample:1")
	uploads.Store(0)
	code, out, errs := runCLI(t, "fix", "--squash", "all", "--push", host+"/sample:fixed", "registry:"+host+"/sample:1")
	if code != ExitOK || !strings.Contains(out, "pushed "+host+"/sample:fixed (sha256:") || !strings.Contains(out, "verified:") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	// The squashed layer and the config: the base layer is not sent again.
	if n := uploads.Load(); n != 2 {
		t.Errorf("%d blob uploads, want 2", n)
	}
	code, out, errs = runCLI(t, "analyze", "registry:"+host+"/sample:fixed")
	if code != ExitOK || !strings.Contains(out, "layers           2 (1 base)") {
		t.Errorf("the pushed image: exit %d\n%s\n%s", code, out, errs)
	}
	// Pushing the same again uploads nothing new.
	uploads.Store(0)
	if code, out, errs := runCLI(t, "fix", "--squash", "all", "--push", "registry:"+host+"/other:1", "registry:"+host+"/sample:1"); code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	if n := uploads.Load(); n != 0 {
		t.Errorf("%d blob uploads of blobs the registry has", n)
	}
	// A push to a digest is a usage error, before any work.
	if code, out, errs := runCLI(t, "fix", "--squash", "all", "--push", host+"/x@sha256:"+strings.Repeat("0", 64), "registry:"+host+"/sample:1"); code != ExitInput || out != "" {
		t.Errorf("push to a digest: exit %d\n%s\n%s", code, out, errs)
	}
}

// TestRegistryDiesMidBlob: the registry breaks the connection in the
// middle of a layer: fix fails with exit 4, naming the registry and the
// blob, and writes nothing.
func TestRegistryDiesMidBlob(t *testing.T) {
	var cut atomic.Bool
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !cut.Load() || r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/") {
			reg.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		reg.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if len(body) > 0 && body[0] == '{' { // the config
			_, _ = w.Write(body)
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		_, _ = w.Write(body[:len(body)/2])
		http.NewResponseController(w).Flush() //nolint:errcheck // best effort
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close()
		}
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	pushLayout(t, sample, host+"/sample:1")
	cut.Store(true)
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := runCLI(t, "fix", "--squash", "all", "--output", out, "registry:"+host+"/sample:1")
	if code != ExitEnvironment || !strings.Contains(stderr, "registry "+host) || !strings.Contains(stderr, "sample@sha256:") {
		t.Errorf("exit %d (want 4)\n%s\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("output written: %v", err)
	}
}

// TestPushIndex: every platform of a registry's index fixed and pushed
// as one index, its annotations kept, read back by platform.
func TestPushIndex(t *testing.T) {
	t.Parallel()
	host := inProcessRegistry(t)
	mk := func(arch string) *fixtures.Image {
		img := fixtures.NewImage()
		img.Platform.Architecture = arch
		big := bytes.Repeat([]byte(arch), 200)
		return img.Add(fixtures.NewLayer().File("a", []byte(arch))).Add(fixtures.NewLayer().File("big", big)).Add(fixtures.NewLayer().Whiteout("big"))
	}
	ix := fixtures.NewIndex(mk("amd64"), mk("arm64"))
	ix.Annotations = map[string]string{"org.example.index": "kept"}
	dir := filepath.Join(t.TempDir(), "src")
	if _, err := ix.WriteOCILayout(dir); err != nil {
		t.Fatal(err)
	}
	top, descs := testsupport.LayoutIndex(t, dir)
	child, err := top.ImageIndex(descs[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(host + "/multi:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, child); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "fix", "registry:"+host+"/multi:1", "--platform", "all", "--squash", "auto", "--push", host+"/multi:fixed")
	if code != ExitOK || strings.Count(out, "verified:") != 2 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	for _, arch := range []string{"amd64", "arm64"} {
		code, out, errs := runCLI(t, "analyze", "--platform", "linux/"+arch, "registry:"+host+"/multi:fixed")
		if code != ExitOK || !strings.Contains(out, "wasted           0 B") {
			t.Errorf("%s: exit %d\n%s\n%s", arch, code, out, errs)
		}
	}
	pushed, err := name.ParseReference(host + "/multi:fixed")
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(pushed)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(desc.Manifest), `"org.example.index":"kept"`) {
		t.Errorf("index annotations lost: %s", desc.Manifest)
	}
}
