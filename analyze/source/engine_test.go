package source

import (
	"bytes"
	"context"
	"errors"
	"math/rand"
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
