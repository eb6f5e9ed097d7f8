package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/layerlint/layerlint/internal/engine"
	"github.com/layerlint/layerlint/internal/realtest"
)

// TestEngineOpen reads an image out of a real engine (Podman's Docker
// API on a private socket): docker-daemon: and podman: stream its save.
func TestEngineOpen(t *testing.T) {
	t.Parallel()
	p := realtest.StartPodman(t)
	img, err := random.Image(2048, 3, random.WithSource(rand.NewSource(7)))
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag("localhost/app:1")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tarball.Write(tag, img, &buf); err != nil {
		t.Fatal(err)
	}
	c, err := engine.New(p.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	loaded, err := c.Load(context.Background(), &buf)
	if err != nil || len(loaded) == 0 {
		t.Fatalf("load: %v %v", loaded, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"docker-daemon:localhost/app:1", "podman:localhost/app:1", "docker-daemon:app:1"} {
		t.Run(ref, func(t *testing.T) {
			src, err := Open(ref, Options{Verify: true, EngineHost: p.Host})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close() //nolint:errcheck // test
			got := src.Images()[0]
			if len(got.Layers) != 3 {
				t.Fatalf("%d layers", len(got.Layers))
			}
			for i, l := range got.Layers {
				if l.DiffID != cf.RootFS.DiffIDs[i] {
					t.Errorf("layer %d: diff_id %s, want %s", i, l.DiffID, cf.RootFS.DiffIDs[i])
				}
			}
			if err := readAll(t, got); err != nil {
				t.Fatal(err)
			}
		})
	}

	_, err = Open("docker-daemon:localhost/nothing:1", Options{EngineHost: p.Host})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "nothing:1") {
		t.Errorf("missing image: %v, want ErrNotFound naming it", err)
	}
}

func TestEngineUnreachable(t *testing.T) {
	t.Parallel()
	sock := "unix://" + filepath.Join(t.TempDir(), "none.sock")
	_, err := Open("docker-daemon:app:1", Options{EngineHost: sock})
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "none.sock") {
		t.Errorf("error %v, want ErrUnreachable naming the socket", err)
	}
}

// fakeEngine serves GET /images/{name}/get with body, on loopback: only
// what openEngineStore asks of the Docker API.
func fakeEngine(t *testing.T, body func(w io.Writer)) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/get") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/x-tar")
		body(w)
	}))
	t.Cleanup(srv.Close)
	return "tcp://" + srv.Listener.Addr().String()
}

// TestEngineSaveCap: the save stream is spooled up to MaxSaveBytes and no
// further, whether the engine sends an archive one byte too long or never
// stops; the error names the image and wraps ErrCapExceeded, and nothing
// is left in the temporary folder.
func TestEngineSaveCap(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	d := newDockerArchive()
	d.image(t, []string{"app:1"}, testLayer{tar: layerTar(t, "a", "hello")})
	archive, err := os.ReadFile(d.write(t))
	if err != nil {
		t.Fatal(err)
	}
	size := int64(len(archive))
	exact := fakeEngine(t, func(w io.Writer) { _, _ = w.Write(archive) })
	endless := fakeEngine(t, func(w io.Writer) {
		zeros := make([]byte, 64<<10)
		for {
			if _, err := w.Write(zeros); err != nil {
				return // the client hung up: what the cap is for
			}
		}
	})
	for _, tc := range []struct {
		name string
		host string
		max  int64
		ok   bool
	}{
		{"at the cap", exact, size, true},
		{"one byte over", exact, size - 1, false},
		{"endless", endless, 1 << 20, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := Open("docker-daemon:app:1", Options{EngineHost: tc.host, MaxSaveBytes: tc.max})
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				closeT(t, src)
				return
			}
			wantErr(t, err, ErrSaveTooLarge, "app:1", fmt.Sprintf("more than %d bytes", tc.max))
			if !errors.Is(err, ErrCapExceeded) {
				t.Errorf("%v does not wrap ErrCapExceeded", err)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("left behind in TMPDIR: %v", left)
			}
		})
	}
}
