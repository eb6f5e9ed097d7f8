// Package realtest starts the real components that tests talk to (the
// CNCF distribution registry, Podman's API service) on loopback ports and
// private sockets, with their state in the test's temporary folder, and
// stops them by PID when the test ends. Each helper skips the test through
// internal/testenv when the program is missing (and fails it in CI).
package realtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/layerlint/layerlint/internal/testenv"
)

// start runs cmd in its own process group, logging to log, and stops the
// group when the test ends.
func start(t testing.TB, cmd *exec.Cmd, log string) {
	t.Helper()
	f, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	ownGroup(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", cmd.Path, err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		// The group of the process started here, by its id.
		signalGroup(cmd, pid, false)
		done := make(chan struct{})
		go func() {
			_ = cmd.Wait() // killed: the status says nothing
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			signalGroup(cmd, pid, true)
			<-done
		}
		_ = f.Close()
	})
}

// waitFor polls ready until it returns nil, failing the test with the
// log's tail after a generous bound (startup, not a measured duration).
func waitFor(t testing.TB, what, log string, ready func() error) {
	t.Helper()
	var err error
	for range 600 {
		if err = ready(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := os.ReadFile(log)
	t.Fatalf("%s did not start: %v\n%s", what, err, b)
}

// FreePort returns a loopback port nothing listens on now.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

// RegistryOptions configure Registry.
type RegistryOptions struct {
	// User and Password, when set, turn on htpasswd basic auth.
	User, Password string
}

// Registry starts Debian's docker-registry (the CNCF distribution
// registry) on 127.0.0.1 with its storage in a temporary folder and
// returns its host:port.
func Registry(t testing.TB, o RegistryOptions) string {
	t.Helper()
	bin := testenv.LookPath(t, "docker-registry")
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	conf := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n",
		filepath.Join(dir, "data"), addr)
	if o.User != "" {
		htpasswd := testenv.LookPath(t, "htpasswd")
		out, err := exec.Command(htpasswd, "-Bbn", o.User, o.Password).Output()
		if err != nil {
			t.Fatalf("htpasswd: %v", err)
		}
		pw := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(pw, out, 0o600); err != nil {
			t.Fatal(err)
		}
		conf += fmt.Sprintf("auth:\n  htpasswd:\n    realm: test\n    path: %s\n", pw)
	}
	cfg := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "registry.log")
	start(t, exec.Command(bin, "serve", cfg), log)
	waitFor(t, "docker-registry", log, func() error {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err != nil {
			return err
		}
		return resp.Body.Close()
	})
	return addr
}

// Podman is a running `podman system service` with vfs storage in a
// temporary folder.
type Podman struct {
	// Host is the API address: unix:///…/podman.sock.
	Host string
	// Args are the global flags that point the podman command at the same
	// storage (podman load, podman image inspect).
	Args []string
}

// StartPodman starts Podman's Docker-compatible API on a private socket.
func StartPodman(t testing.TB) *Podman {
	t.Helper()
	testenv.NeedRoot(t)
	bin := testenv.LookPath(t, "podman")
	dir := t.TempDir()
	sock := filepath.Join(dir, "podman.sock")
	args := []string{"--storage-driver", "vfs", "--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"),
		"--tmpdir", filepath.Join(dir, "tmp")}
	log := filepath.Join(dir, "podman.log")
	cmd := exec.Command(bin, append(append([]string{}, args...), "system", "service", "--time=0", "unix://"+sock)...)
	cmd.Env = append(os.Environ(), "TMPDIR="+dir)
	start(t, cmd, log)
	waitFor(t, "podman system service", log, func() error {
		c := http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}}}
		resp, err := c.Get("http://d/_ping")
		if err != nil {
			return err
		}
		defer resp.Body.Close() //nolint:errcheck // probe
		if resp.StatusCode != http.StatusOK {
			return errors.New(resp.Status)
		}
		return nil
	})
	return &Podman{Host: "unix://" + sock, Args: args}
}

// Run runs the podman command on the service's storage.
func (p *Podman) Run(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command("podman", append(append([]string{}, p.Args...), args...)...)
	// With CONTAINER_HOST set, podman turns into a remote client, which
	// has no storage flags.
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "CONTAINER_HOST=") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
