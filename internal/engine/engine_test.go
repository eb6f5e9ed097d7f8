package engine

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHosts(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if got := DockerHost(env(nil)); got != DefaultDockerHost {
		t.Errorf("DockerHost default: %q", got)
	}
	if got := DockerHost(env(map[string]string{"DOCKER_HOST": "tcp://127.0.0.1:2375"})); got != "tcp://127.0.0.1:2375" {
		t.Errorf("DockerHost: %q", got)
	}
	run := t.TempDir()
	if got := PodmanHost(env(map[string]string{"XDG_RUNTIME_DIR": run})); got != "unix:///run/podman/podman.sock" {
		t.Errorf("PodmanHost without a user socket: %q", got)
	}
	sock := filepath.Join(run, "podman", "podman.sock")
	if err := os.MkdirAll(filepath.Dir(sock), 0o700); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close() //nolint:errcheck // test
	if got := PodmanHost(env(map[string]string{"XDG_RUNTIME_DIR": run})); got != "unix://"+sock {
		t.Errorf("PodmanHost: %q, want the user socket", got)
	}
	if got := PodmanHost(env(map[string]string{"XDG_RUNTIME_DIR": run, "CONTAINER_HOST": "unix:///x.sock"})); got != "unix:///x.sock" {
		t.Errorf("PodmanHost with CONTAINER_HOST: %q", got)
	}
}

func TestNewBadHost(t *testing.T) {
	t.Parallel()
	for _, h := range []string{"unix://", "ssh://host", "tcp://", "%zz"} {
		if _, err := New(h); err == nil {
			t.Errorf("%q: no error", h)
		}
	}
}

func TestParseLoad(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want []string
		err  bool
	}{
		{in: `{"stream":"Loaded image: app:1\n"}`, want: []string{"app:1"}},
		{in: `{"stream":"Loaded image: localhost/a:1, localhost/b:2\n"}`, want: []string{"localhost/a:1", "localhost/b:2"}},
		{in: `{"stream":"Loaded image ID: sha256:ab\n"}`, want: []string{"sha256:ab"}},
		{in: `{"errorDetail":{"message":"bad \u001b[31m"},"error":"bad"}`, err: true},
		{in: `{"stream":`, err: true},
	} {
		got, err := parseLoad(strings.NewReader(tc.in), "h")
		if (err != nil) != tc.err || strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s: %v %v", tc.in, got, err)
		}
		if err != nil && (!errors.Is(err, ErrFailed) || strings.ContainsRune(err.Error(), 0x1b)) {
			t.Errorf("%s: error %q", tc.in, err)
		}
	}
}

// FuzzParseLoad: whatever an engine answers to a load, the parser returns
// names without control characters or an ErrFailed error; never a panic.
func FuzzParseLoad(f *testing.F) {
	f.Add([]byte(`{"stream":"Loaded image: app:1\n"}`))
	f.Add([]byte(`{"errorDetail":{"message":"x"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		names, err := parseLoad(strings.NewReader(string(b)), "h")
		if err != nil && !errors.Is(err, ErrFailed) {
			t.Fatalf("error without ErrFailed: %v", err)
		}
		for _, n := range append(names, errString(err)) {
			for _, r := range n {
				if r < 0x20 || r == 0x7f {
					t.Fatalf("control character in %q", n)
				}
			}
		}
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
