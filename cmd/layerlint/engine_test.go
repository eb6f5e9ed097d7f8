package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/internal/engine"
	"github.com/layerlint/layerlint/internal/realtest"
)

// layerColumn is the "L3" column of ls, which a squash renumbers.
var layerColumn = regexp.MustCompile(` L\d+ /`)

func mergedView(t *testing.T, ref string) string {
	t.Helper()
	code, out, errs := runCLI(t, "ls", ref)
	if code != ExitOK {
		t.Fatalf("ls %s: exit %d\n%s", ref, code, errs)
	}
	return layerColumn.ReplaceAllString(out, " /")
}

// TestEngineRoundTrip: an image of a real engine (Podman's Docker API,
// vfs storage, private socket) is read, fixed, loaded back, and read
// again: fewer layers, the same merged view.
func TestEngineRoundTrip(t *testing.T) {
	p := realtest.StartPodman(t)
	t.Setenv("DOCKER_HOST", p.Host)
	archive := filepath.Join(t.TempDir(), "in.tar")
	if err := fixtures.Sample().WriteDockerArchive(archive, fixtures.DockerOCI, "localhost/app:1"); err != nil {
		t.Fatal(err)
	}
	c, err := engine.New(p.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Load(context.Background(), bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	const ref = "docker-daemon:localhost/app:1"
	before := mergedView(t, ref)
	// Nothing to change: nothing is sent back to the engine.
	code, out, errs := runCLI(t, "fix", "--load", ref)
	if code != ExitOK || !strings.Contains(out, "nothing loaded: "+p.Host+" holds "+ref+" already, unchanged") || strings.Contains(out, "loaded localhost") {
		t.Fatalf("no-op fix --load: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = runCLI(t, "fix", "--squash", "all", "--load", ref)
	if code != ExitOK || !strings.Contains(out, "loaded ") || !strings.Contains(out, "verified:") {
		t.Fatalf("fix --load: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = runCLI(t, "analyze", ref)
	if code != ExitOK || !strings.Contains(out, "layers           2 (1 base)") {
		t.Fatalf("after the load: exit %d\n%s\n%s", code, out, errs)
	}
	if after := mergedView(t, ref); after != before {
		t.Errorf("merged view changed:\n%s", lineDiff(before, after))
	}
	// --output podman:NAME:TAG names the loaded image.
	t.Setenv("CONTAINER_HOST", p.Host)
	code, out, errs = runCLI(t, "fix", "--squash", "all", "--output", "podman:localhost/app:2", "podman:localhost/app:1")
	if code != ExitOK || !strings.Contains(out, "localhost/app:2") {
		t.Fatalf("fix --output podman: exit %d\n%s\n%s", code, out, errs)
	}
	if got := p.Run(t, "images", "--format", "{{.Repository}}:{{.Tag}}"); !strings.Contains(got, "localhost/app:2") {
		t.Errorf("podman images: %s", got)
	}
}

// TestEngineSaveCap: an engine whose save stream never ends fills no
// disk: past --max-save-bytes the read stops with exit 2, naming the
// image and the flag.
func TestEngineSaveCap(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		zeros := make([]byte, 64<<10)
		for {
			if _, err := w.Write(zeros); err != nil {
				return // the client hung up
			}
		}
	}))
	defer srv.Close()
	t.Setenv("DOCKER_HOST", "tcp://"+srv.Listener.Addr().String())
	code, _, errs := runCLI(t, "analyze", "--max-save-bytes", "1000000", "docker-daemon:app:1")
	if code != ExitInput {
		t.Fatalf("exit %d, want %d\n%s", code, ExitInput, errs)
	}
	for _, want := range []string{"app:1", "more than 1000000 bytes", "--max-save-bytes"} {
		if !strings.Contains(errs, want) {
			t.Errorf("error does not name %q:\n%s", want, errs)
		}
	}
}
