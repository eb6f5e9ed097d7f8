package source

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"math/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// fastRetry keeps the retries of a test short; only their count matters.
var fastRetry = RegistryOptions{Backoff: remote.Backoff{Duration: time.Millisecond, Factor: 1, Steps: 5}}

// testRegistry serves ggcr's in-process registry on 127.0.0.1, behind
// wrap (nil: none), and returns its host:port.
func testRegistry(t *testing.T, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	var h = registry.New(registry.Logger(nilLogger()))
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// pushRandom writes a seeded random image of n layers to ref.
func pushRandom(t *testing.T, ref string, n int64, seed int64, opts ...remote.Option) v1.Image {
	t.Helper()
	img, err := random.Image(1024, n, random.WithSource(rand.NewSource(seed)))
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, opts...); err != nil {
		t.Fatal(err)
	}
	return img
}

// readAll streams every layer of img to EOF, verified.
func readAll(t *testing.T, img *Image) error {
	t.Helper()
	for _, l := range img.Layers {
		s, err := l.Open(true)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, s)
		if cerr := s.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func TestRegistryOpen(t *testing.T) {
	t.Parallel()
	host := testRegistry(t, nil)
	want := pushRandom(t, host+"/app:1", 3, 1)
	wantDigest, err := want.Digest()
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{
		"registry:" + host + "/app:1",
		"docker://" + host + "/app:1",
		"registry:" + host + "/app@" + wantDigest.String(),
	} {
		t.Run(ref, func(t *testing.T) {
			src, err := Open(ref, Options{Verify: true, Registry: fastRetry})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close() //nolint:errcheck // test
			imgs := src.Images()
			if len(imgs) != 1 {
				t.Fatalf("got %d images", len(imgs))
			}
			img := imgs[0]
			if img.ManifestDigest != wantDigest || len(img.Layers) != 3 || img.Format != FormatRegistry {
				t.Fatalf("got manifest %s, %d layers, %s; want %s, 3, registry", img.ManifestDigest, len(img.Layers), img.Format, wantDigest)
			}
			if img.Ref != strings.TrimPrefix(strings.TrimPrefix(ref, "registry:"), "docker://") {
				t.Errorf("Ref %q", img.Ref)
			}
			if err := readAll(t, img); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestRegistryIndexPlatform(t *testing.T) {
	t.Parallel()
	host := testRegistry(t, nil)
	var idx v1.ImageIndex = empty.Index
	want := map[string]v1.Hash{}
	for i, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(512, 2, random.WithSource(rand.NewSource(int64(10+i))))
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = "linux", arch
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		if want[arch], err = img.Digest(); err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			MediaType: types.OCIManifestSchema1, Platform: &v1.Platform{OS: "linux", Architecture: arch},
		}})
	}
	r, err := name.ParseReference(host + "/multi:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		platform string
		want     []string
		err      error
	}{
		{platform: "linux/arm64", want: []string{"arm64"}},
		{platform: "linux/amd64", want: []string{"amd64"}},
		{platform: "all", want: []string{"amd64", "arm64"}},
		{platform: "linux/s390x", err: ErrNoMatchingPlatform},
	} {
		t.Run(tc.platform, func(t *testing.T) {
			src, err := Open("registry:"+host+"/multi:1", Options{Platform: tc.platform, Verify: true, Registry: fastRetry})
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			defer src.Close() //nolint:errcheck // test
			var got []string
			for _, img := range src.Images() {
				got = append(got, img.Platform.Architecture)
				if img.ManifestDigest != want[img.Platform.Architecture] {
					t.Errorf("%s: manifest %s, want %s", img.Platform.Architecture, img.ManifestDigest, want[img.Platform.Architecture])
				}
				if err := readAll(t, img); err != nil {
					t.Fatal(err)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRegistryErrors(t *testing.T) {
	t.Parallel()
	host := testRegistry(t, nil)
	pushRandom(t, host+"/app:1", 1, 2)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ref      string
		err      error
		contains []string
	}{
		{ref: "registry:" + host + "/app:nope", err: ErrNotFound, contains: []string{host, "app:nope", "404", "MANIFEST_UNKNOWN"}},
		{ref: "registry:" + host + "/nothing:1", err: ErrNotFound, contains: []string{host, "nothing:1", "404"}},
		{ref: "registry:" + closed + "/app:1", err: ErrUnreachable, contains: []string{closed, "app:1", "connection refused"}},
		{ref: "registry:" + host + "/App:1", err: ErrInvalid},
		{ref: "docker:" + host + "/app:1", err: ErrInvalid},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			_, err := Open(tc.ref, Options{Verify: true, Registry: fastRetry})
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			for _, s := range tc.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not name %q", err, s)
				}
			}
		})
	}
}

// basicAuth answers 401 with a Basic challenge unless the request carries
// user:pass.
func basicAuth(user, pass string) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"\u001b[31mfake"}]}`)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
}

// TestRegistryAuth covers the 401 of a registry with basic auth and the
// credentials of the default keychain (a Docker config file).
func TestRegistryAuth(t *testing.T) {
	host := testRegistry(t, basicAuth("user", "secret"))
	pushRandom(t, host+"/app:1", 1, 3, remote.WithAuth(&authn.Basic{Username: "user", Password: "secret"}))
	ref := "registry:" + host + "/app:1"

	cfg := t.TempDir()
	t.Setenv("DOCKER_CONFIG", cfg)
	_, err := Open(ref, Options{Verify: true, Registry: fastRetry})
	if !errors.Is(err, ErrDenied) || !strings.Contains(err.Error(), host) || !strings.Contains(err.Error(), "app:1") {
		t.Fatalf("without credentials: %v, want ErrDenied naming the registry and the reference", err)
	}
	if strings.ContainsRune(err.Error(), 0x1b) {
		t.Errorf("the registry's text reached the message: %q", err)
	}

	auth := base64.StdEncoding.EncodeToString([]byte("user:secret"))
	conf := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, auth)
	if err := os.WriteFile(filepath.Join(cfg, "config.json"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := Open(ref, Options{Verify: true, Registry: fastRetry})
	if err != nil {
		t.Fatalf("with credentials: %v", err)
	}
	defer src.Close() //nolint:errcheck // test
	if err := readAll(t, src.Images()[0]); err != nil {
		t.Fatal(err)
	}
}

// TestRegistryRetry: 429 and 503 are retried; the count of requests says
// so (no test asserts a duration).
func TestRegistryRetry(t *testing.T) {
	t.Parallel()
	var failures, requests atomic.Int32
	failures.Store(3)
	host := testRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			requests.Add(1)
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") && failures.Add(-1) >= 0 {
				code := http.StatusServiceUnavailable
				if failures.Load()%2 == 0 {
					code = http.StatusTooManyRequests
				}
				w.WriteHeader(code)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	pushRandom(t, host+"/app:1", 2, 4)
	requests.Store(0)
	src, err := Open("registry:"+host+"/app:1", Options{Verify: true, Registry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close() //nolint:errcheck // test
	if err := readAll(t, src.Images()[0]); err != nil {
		t.Fatal(err)
	}
	// ping, manifest, config, two layers = 5, plus 3 retried failures.
	if got := requests.Load(); got != 8 {
		t.Errorf("%d requests, want 8", got)
	}

	// A registry that keeps failing: the error says so after the retries.
	failures.Store(1 << 20)
	_, err = Open("registry:"+host+"/app:1", Options{Verify: true, Registry: fastRetry})
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "503") && !strings.Contains(err.Error(), "429") {
		t.Fatalf("error %v, want ErrUnreachable with the status", err)
	}
}

// onLayerBlobs wraps a registry's handler: while on is set, a GET of a
// layer blob is answered by serve, given the blob the registry would send;
// everything else, the config blob (JSON) included, passes through.
func onLayerBlobs(on *atomic.Bool, serve func(w http.ResponseWriter, body []byte)) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !on.Load() || r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/") {
				h.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if body := rec.Body.Bytes(); !bytes.HasPrefix(body, []byte("{")) {
				serve(w, body)
				return
			}
			maps.Copy(w.Header(), rec.Header())
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
		})
	}
}

// TestRegistryDiesMidBlob: the connection breaks in the middle of a layer
// blob. The stream fails naming the registry and the blob, as a network
// failure, not as a digest mismatch.
func TestRegistryDiesMidBlob(t *testing.T) {
	t.Parallel()
	var cut atomic.Bool
	host := testRegistry(t, onLayerBlobs(&cut, func(w http.ResponseWriter, body []byte) {
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body[:len(body)/2])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}))
	pushRandom(t, host+"/app:1", 1, 5)
	cut.Store(true)
	src, err := Open("registry:"+host+"/app:1", Options{Verify: true, Registry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close() //nolint:errcheck // test
	err = readAll(t, src.Images()[0])
	if !errors.Is(err, ErrUnreachable) || errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("error %v, want ErrUnreachable", err)
	}
	for _, s := range []string{host, "app@sha256:", "layer 0"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not name %q", err, s)
		}
	}
}

func TestParseRemoteReference(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in     string
		format Format
		path   string
		str    string
		err    bool
	}{
		{in: "registry:127.0.0.1:5000/app:1", format: FormatRegistry, path: "127.0.0.1:5000/app:1", str: "registry:127.0.0.1:5000/app:1"},
		{in: "docker://alpine", format: FormatRegistry, path: "alpine", str: "registry:alpine"},
		{in: "docker-daemon:app:1", format: FormatDockerDaemon, path: "app:1", str: "docker-daemon:app:1"},
		{in: "podman:app", format: FormatPodman, path: "app", str: "podman:app"},
		{in: "registry:", err: true},
		{in: "docker:alpine", err: true},
		{in: "docker-daemon:Bad Name", err: true},
		{in: "podman:a\x1bb", err: true},
	} {
		r, err := ParseReference(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("%q: error %v", tc.in, err)
			continue
		}
		if err != nil {
			continue
		}
		if r.Format != tc.format || r.Path != tc.path || r.String() != tc.str || !r.Remote() {
			t.Errorf("%q: got %v %q %q", tc.in, r.Format, r.Path, r.String())
		}
		back, err := ParseReference(r.String())
		if err != nil || back != r {
			t.Errorf("%q: round trip %+v, %v", tc.in, back, err)
		}
	}
}

func TestEngineImageName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"app":                 "app:latest",
		"app:1":               "app:1",
		"localhost/app":       "localhost/app:latest",
		"127.0.0.1:5000/app":  "127.0.0.1:5000/app:latest",
		"127.0.0.1:5000/a:2":  "127.0.0.1:5000/a:2",
		"app@sha256:" + zeros: "app@sha256:" + zeros,
	} {
		got, err := EngineImageName(in)
		if err != nil || got != want {
			t.Errorf("%q: got %q, %v; want %q", in, got, err, want)
		}
	}
}

const zeros = "0000000000000000000000000000000000000000000000000000000000000000"

// nilLogger silences the in-process registry.
func nilLogger() *log.Logger { return log.New(io.Discard, "", 0) }

// TestRegistryEndlessBlob: a registry that sends a layer without end is
// read one byte past the descriptor's size: a size mismatch, not a hang.
func TestRegistryEndlessBlob(t *testing.T) {
	t.Parallel()
	var endless atomic.Bool
	host := testRegistry(t, onLayerBlobs(&endless, func(w http.ResponseWriter, body []byte) {
		_, _ = w.Write(body)
		zeros := make([]byte, 32<<10)
		for range 1 << 12 { // 128 MiB unless the reader stops first
			if _, err := w.Write(zeros); err != nil {
				return
			}
		}
	}))
	pushRandom(t, host+"/app:1", 1, 6)
	endless.Store(true)
	src, err := Open("registry:"+host+"/app:1", Options{Verify: true, Registry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close() //nolint:errcheck // test
	l := src.Images()[0].Layers[0]
	s, err := l.Open(true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close() //nolint:errcheck // test
	_, err = io.Copy(io.Discard, s)
	if !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("error %v, want a size mismatch", err)
	}
	if got := s.Stats().Compressed; got != l.Size+1 {
		t.Errorf("read %d bytes of a %d-byte blob", got, l.Size)
	}
}
