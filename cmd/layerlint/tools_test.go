//go:build unix

// The tools these tests run (skopeo, umoci, crane, podman) and the owners
// they compare are Unix ones.

package main

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/internal/realtest"
	"github.com/layerlint/layerlint/internal/testenv"
)

// tool runs a real program and fails the test with its output.
func tool(t *testing.T, name string, args ...string) string {
	t.Helper()
	bin := testenv.LookPath(t, name)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// shortDir is a temporary folder with a short path: containers-storage
// refuses a run root longer than 50 characters.
func shortDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "ll")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(d) })
	return d
}

// storage is a containers-storage reference with vfs storage in a
// temporary folder.
func storage(t *testing.T, image string) string {
	t.Helper()
	d := shortDir(t)
	return fmt.Sprintf("containers-storage:[vfs@%s+%s]%s", filepath.Join(d, "root"), filepath.Join(d, "run"), image)
}

// fixOK runs fix and requires a verified success.
func fixOK(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := runCLI(t, append([]string{"fix"}, args...)...)
	if code != ExitOK || !strings.Contains(out, "verified:") {
		t.Fatalf("fix %s: exit %d\n%s\n%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// tree records an unpacked root filesystem: type, mode, owner, size,
// content and link target of every path, and the mtime of every
// non-directory (a directory's mtime depends on the order it was filled).
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		desc := fmt.Sprintf("%v %d:%d", fi.Mode(), st.Uid, st.Gid)
		switch {
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += fmt.Sprintf(" %d %x %d", fi.Size(), sha256.Sum256(b), fi.ModTime().Unix())
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			desc += " -> " + target
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func treeDiff(a, b map[string]string) []string {
	var diffs []string
	for k, v := range a {
		if b[k] != v {
			diffs = append(diffs, fmt.Sprintf("%s: %q vs %q", k, v, b[k]))
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			diffs = append(diffs, k+": only in the output")
		}
	}
	sort.Strings(diffs)
	return diffs
}

// TestToolsOpenLayout: an OCI layout that fix wrote is opened by skopeo
// (inspect, copy to containers-storage), umoci (unpacked to the same tree
// as the source) and crane (validated after a push to a registry).
func TestToolsOpenLayout(t *testing.T) {
	testenv.NeedRoot(t) // umoci unpack keeps owners
	tmp := t.TempDir()
	out := filepath.Join(tmp, "fixed")
	fixOK(t, "--squash", "all", "--tag", "v1", "--output", out, sample)
	tool(t, "skopeo", "inspect", "oci:"+out+":v1")
	openWithTools(t, sample+":latest", out+":v1", "fixed")
}

// openWithTools copies the layout image out (PATH:TAG) to
// containers-storage with skopeo, unpacks it and src with umoci and
// requires the same tree, and validates it with crane after a push to a
// registry, under the repository name.
func openWithTools(t *testing.T, src, out, name string) {
	t.Helper()
	tmp := t.TempDir()
	tool(t, "skopeo", "--insecure-policy", "copy", "oci:"+out, storage(t, "localhost/"+name+":v1"))

	orig, fixed := filepath.Join(tmp, "orig-bundle"), filepath.Join(tmp, "fixed-bundle")
	tool(t, "umoci", "unpack", "--image", src, orig)
	tool(t, "umoci", "unpack", "--image", out, fixed)
	if d := treeDiff(tree(t, filepath.Join(orig, "rootfs")), tree(t, filepath.Join(fixed, "rootfs"))); len(d) > 0 {
		t.Errorf("umoci unpacks another tree:\n%s", strings.Join(d, "\n"))
	}

	host := realtest.Registry(t, realtest.RegistryOptions{})
	tool(t, "crane", "push", "--insecure", strings.SplitN(out, ":", 2)[0], host+"/"+name+":v1")
	tool(t, "crane", "validate", "--insecure", "--remote", host+"/"+name+":v1")
}

// TestToolsOpenMultiMemberLayer: a squashed layer of several megabytes,
// which fix writes as many gzip members that name their length, is read
// as one stream by skopeo (copy to containers-storage), umoci (unpacked to
// the same tree as the source) and crane (validate decodes every layer
// with compress/gzip).
func TestToolsOpenMultiMemberLayer(t *testing.T) {
	testenv.NeedRoot(t) // umoci unpack keeps owners
	tmp := t.TempDir()
	src, out := filepath.Join(tmp, "src"), filepath.Join(tmp, "fixed")
	if _, err := fixtures.Large(7, 300, 6_000_000, 3).WriteOCILayout(src, fixtures.Tag("latest")); err != nil {
		t.Fatal(err)
	}
	fixOK(t, "--squash", "all", "--tag", "v1", "--output", out, src)
	openWithTools(t, src+":latest", out+":v1", "multi")
}

// TestToolsOpenDockerSource: a docker save source (plain layers, Docker
// media types) fixed to each output: an OCI layout in OCI media types
// that skopeo finds by tag, and a docker archive with one compression for
// every layer, which crane validates and podman loads.
func TestToolsOpenDockerSource(t *testing.T) {
	tmp := t.TempDir()
	save := filepath.Join(tmp, "save.tar")
	if err := fixtures.Sample().WriteDockerArchive(save, fixtures.DockerClassic, "localhost/app:1"); err != nil {
		t.Fatal(err)
	}
	layout := filepath.Join(tmp, "layout")
	fixOK(t, "--squash", "all", "--tag", "v1", "--output", layout, "docker-archive:"+save)
	if got := tool(t, "skopeo", "inspect", "--raw", "oci:"+layout+":v1"); !strings.Contains(got, "application/vnd.oci.image.manifest.v1+json") {
		t.Errorf("manifest: %s", got)
	}
	tool(t, "skopeo", "--insecure-policy", "copy", "oci:"+layout+":v1", storage(t, "localhost/app:layout"))

	archive := filepath.Join(tmp, "fixed.tar")
	fixOK(t, "--squash", "all", "--output-format", "docker-archive", "--output", archive, "docker-archive:"+save)
	tool(t, "crane", "validate", "--tarball", archive)
	tool(t, "skopeo", "inspect", "docker-archive:"+archive)
	tool(t, "skopeo", "--insecure-policy", "copy", "docker-archive:"+archive, storage(t, "localhost/app:archive"))
	testenv.NeedRoot(t)
	d := shortDir(t)
	got := tool(t, "podman", "--storage-driver", "vfs", "--root", filepath.Join(d, "root"), "--runroot", filepath.Join(d, "run"), "load", "-i", archive)
	if !strings.Contains(got, "localhost/app:1") {
		t.Errorf("podman load names it otherwise: %s", got)
	}
}

// TestToolsOpenArchiveFromLayout: a docker archive written from an OCI
// layout (gzip layers) is what docker save writes: crane validates it,
// podman loads it under the name given.
func TestToolsOpenArchiveFromLayout(t *testing.T) {
	archive := filepath.Join(t.TempDir(), "fixed.tar")
	fixOK(t, "--squash", "all", "--output-format", "docker-archive", "--tag", "example.com/team/app:2", "--output", archive, sample)
	tool(t, "crane", "validate", "--tarball", archive)
	tool(t, "skopeo", "inspect", "docker-archive:"+archive)
	testenv.NeedRoot(t)
	d := shortDir(t)
	got := tool(t, "podman", "--storage-driver", "vfs", "--root", filepath.Join(d, "root"), "--runroot", filepath.Join(d, "run"), "load", "-i", archive)
	if !strings.Contains(got, "example.com/team/app:2") {
		t.Errorf("podman load: %s", got)
	}
}

// TestToolsPushDistribution: fix --push to the CNCF distribution registry
// (Debian's docker-registry): pull, fix, push to another repository, pull
// again. The kept base layer is mounted from the source repository, not
// uploaded; skopeo and crane read the result.
func TestToolsPushDistribution(t *testing.T) {
	reg := realtest.Registry(t, realtest.RegistryOptions{})
	// A proxy in front of it counts blob uploads and mounts.
	var uploads, mounts atomic.Int32
	target, err := url.Parse("http://" + reg)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/blobs/uploads/") {
			if r.URL.Query().Get("mount") != "" {
				mounts.Add(1)
			} else {
				uploads.Add(1)
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	pushLayout(t, sample, host+"/app:1")
	uploads.Store(0)
	fixOK(t, "--squash", "all", "--push", host+"/fixed:1", "registry:"+host+"/app:1")
	if u, m := uploads.Load(), mounts.Load(); u != 2 || m != 1 {
		t.Errorf("%d uploads and %d mounts; want 2 (the new layer, the config) and 1 (the base layer)", u, m)
	}
	code, out, errs := runCLI(t, "analyze", "registry:"+host+"/fixed:1")
	if code != ExitOK || !strings.Contains(out, "layers           2 (1 base)") {
		t.Errorf("pulling it again: exit %d\n%s\n%s", code, out, errs)
	}
	if code, out, errs := runCLI(t, "lint", "--fail-on", "never", "registry:"+host+"/fixed:1"); code != ExitOK {
		t.Errorf("lint: exit %d\n%s\n%s", code, out, errs)
	}
	tool(t, "skopeo", "inspect", "--tls-verify=false", "docker://"+host+"/fixed:1")
	tool(t, "crane", "validate", "--insecure", "--remote", host+"/fixed:1")
	if a, b := mergedView(t, "registry:"+host+"/app:1"), mergedView(t, "registry:"+host+"/fixed:1"); a != b {
		t.Errorf("merged view changed:\n%s", lineDiff(a, b))
	}
}

// TestToolsPushDenied: a push to a registry with basic auth and no
// credentials is a 401 naming the registry and the reference, exit 2, and
// nothing is tagged.
func TestToolsPushDenied(t *testing.T) {
	host := realtest.Registry(t, realtest.RegistryOptions{User: "user", Password: "secret"})
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	code, out, errs := runCLI(t, "fix", "--squash", "all", "--push", host+"/app:1", sample)
	if code != ExitInput || !strings.Contains(errs, "401") || !strings.Contains(errs, host) || !strings.Contains(errs, "app:1") {
		t.Errorf("exit %d (want 2)\n%s\n%s", code, out, errs)
	}
}
