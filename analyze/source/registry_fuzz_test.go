package source

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// fakeRegistry answers every request of a registry from memory: the
// manifest by tag, anything by digest (a manifest, an index, a config or
// a layer) from one fuzzed body.
type fakeRegistry struct {
	manifest, blob []byte
}

func (f fakeRegistry) RoundTrip(r *http.Request) (*http.Response, error) {
	body := f.blob
	switch {
	case r.URL.Path == "/v2/":
		body = nil
	case strings.HasSuffix(r.URL.Path, "/manifests/1"):
		body = f.manifest
	}
	return &http.Response{
		StatusCode: http.StatusOK, Request: r, Header: http.Header{},
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)),
	}, nil
}

// FuzzRegistryManifest serves arbitrary bytes as the manifest a tag
// resolves to and as every blob: opening and streaming must fail with a
// sentinel error or succeed, never panic.
func FuzzRegistryManifest(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:`+zeros+`","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:`+zeros+`","size":2}]}`), []byte(`{}`))
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:`+zeros+`","size":2}]}`), []byte(`{"schemaVersion":2}`))
	f.Fuzz(func(t *testing.T, manifest, blob []byte) {
		opts := Options{Verify: true, Platform: "all", Registry: RegistryOptions{Transport: fakeRegistry{manifest: manifest, blob: blob}, Backoff: fastRetry.Backoff}}
		src, err := Open("registry:127.0.0.1:1/app:1", opts)
		if err != nil {
			if !hasSentinel(err) && !errors.Is(err, ErrUnreachable) && !errors.Is(err, ErrDenied) {
				t.Fatalf("error without sentinel: %v", err)
			}
			return
		}
		defer src.Close() //nolint:errcheck // fuzz
		for _, img := range src.Images() {
			_ = readAll(t, img)
		}
	})
}
