package source

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/layerlint/layerlint/internal/realtest"
)

// TestDistributionRegistry reads from the CNCF distribution registry
// (Debian's docker-registry), with and without basic auth.
func TestDistributionRegistry(t *testing.T) {
	t.Run("open", func(t *testing.T) {
		host := realtest.Registry(t, realtest.RegistryOptions{})
		want := pushRandom(t, host+"/app:1", 3, 21)
		d, err := want.Digest()
		if err != nil {
			t.Fatal(err)
		}
		src, err := Open("registry:"+host+"/app:1", Options{Verify: true, Registry: fastRetry})
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close() //nolint:errcheck // test
		if got := src.Images()[0].ManifestDigest; got != d {
			t.Errorf("manifest %s, want %s", got, d)
		}
		if err := readAll(t, src.Images()[0]); err != nil {
			t.Fatal(err)
		}
		_, err = Open("registry:"+host+"/app:2", Options{Registry: fastRetry})
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), host) || !strings.Contains(err.Error(), "app:2") {
			t.Errorf("404: %v", err)
		}
	})
	t.Run("401", func(t *testing.T) {
		host := realtest.Registry(t, realtest.RegistryOptions{User: "user", Password: "secret"})
		pushRandom(t, host+"/app:1", 1, 22, remote.WithAuth(&authn.Basic{Username: "user", Password: "secret"}))
		cfg := t.TempDir()
		t.Setenv("DOCKER_CONFIG", cfg)
		_, err := Open("registry:"+host+"/app:1", Options{Registry: fastRetry})
		if !errors.Is(err, ErrDenied) || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), host) {
			t.Fatalf("without credentials: %v", err)
		}
		conf := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, base64.StdEncoding.EncodeToString([]byte("user:wrong")))
		if err := os.WriteFile(filepath.Join(cfg, "config.json"), []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Open("registry:"+host+"/app:1", Options{Registry: fastRetry}); !errors.Is(err, ErrDenied) {
			t.Fatalf("wrong password: %v", err)
		}
		conf = fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, base64.StdEncoding.EncodeToString([]byte("user:secret")))
		if err := os.WriteFile(filepath.Join(cfg, "config.json"), []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		src, err := Open("registry:"+host+"/app:1", Options{Verify: true, Registry: fastRetry})
		if err != nil {
			t.Fatalf("with credentials: %v", err)
		}
		defer src.Close() //nolint:errcheck // test
		if err := readAll(t, src.Images()[0]); err != nil {
			t.Fatal(err)
		}
	})
}
