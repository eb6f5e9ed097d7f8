package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/internal/testenv"
	"github.com/layerlint/layerlint/internal/testsupport"
)

// wastefulLayout writes an image whose layers above the base waste bytes.
func wastefulLayout(t *testing.T) string {
	t.Helper()
	img := fixtures.NewImage()
	img.Add(fixtures.NewLayer().Dir("usr").File("usr/lib", []byte("base")), fixtures.CreatedBy("ADD rootfs /"))
	img.Add(fixtures.NewLayer().Dir("tmp").File("tmp/build.o", []byte(strings.Repeat("o", 4000))), fixtures.CreatedBy("RUN make"))
	img.Add(fixtures.NewLayer().File("app", []byte("app")), fixtures.CreatedBy("COPY app /app"))
	img.Add(fixtures.NewLayer().Whiteout("tmp"), fixtures.CreatedBy("RUN rm -rf /tmp"))
	dir := filepath.Join(t.TempDir(), "img")
	if _, err := img.WriteOCILayout(dir, fixtures.Tag("v1")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestFix(t *testing.T) {
	t.Parallel()
	src := wastefulLayout(t)
	tmp := t.TempDir()
	tests := []cliCase{
		{"dry run prints plan and savings", []string{"fix", "--squash", "auto", "--dry-run", src}, ExitOK, "content bytes:     4007 → 7 (saves 4000)", ""},
		{"auto moves the commuting layer", []string{"fix", "--squash", "auto", "--dry-run", src}, ExitOK, "plan for " + src + ": 0 2 [1+3]", ""},
		{"all to a layout", []string{"fix", "--squash", "all", "--output", filepath.Join(tmp, "all"), src}, ExitOK, "verified: same merged view", ""},
		{"range to a docker archive", []string{"fix", "--squash", "1..3", "--output-format", "docker-archive", "--tag", "app:fixed", "--output", filepath.Join(tmp, "img.tar"), src}, ExitOK, "wrote ", ""},
		{"zstd", []string{"fix", "--compression", "zstd", "--force-compression", "--output", filepath.Join(tmp, "zstd"), src}, ExitOK, "tar+zstd", ""},
		{"reorder", []string{"fix", "--reorder", "--dry-run", src}, ExitOK, "reorder", ""},
		{"strip", []string{"fix", "--squash", "all", "--strip", "app", "--output", filepath.Join(tmp, "strip"), src}, ExitOK, "stripped app", ""},
		{"range into the base", []string{"fix", "--squash", "0..2", "--dry-run", src}, ExitInput, "", "touches the base"},
		{"base-layers 0 allows it", []string{"fix", "--squash", "0..2", "--base-layers", "0", "--dry-run", src}, ExitOK, "[0+1+2]", ""},
		{"no destination", []string{"fix", "--squash", "all", src}, ExitInput, "", "exactly one of"},
		{"output exists", []string{"fix", "--squash", "all", "--output", tmp, src}, ExitInput, "", "not empty"},
		{"bad range", []string{"fix", "--squash", "3..1", "--dry-run", src}, ExitInput, "", "FROM..TO"},
		{"bad compression", []string{"fix", "--compression", "lz4", "--dry-run", src}, ExitInput, "", "lz4"},
		{"gc without in-place", []string{"fix", "--gc", "--dry-run", src}, ExitInput, "", "--gc"},
	}
	runCases(t, tests)
}

func TestFixInPlace(t *testing.T) {
	t.Parallel()
	src := wastefulLayout(t)
	code, stdout, stderr := runCLI(t, "fix", "--squash", "auto", "--in-place", src)
	if code != ExitOK || !strings.Contains(stdout, "tagged v1-prefix") {
		t.Fatalf("code %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, _ = runCLI(t, "analyze", "oci:"+src+":v1")
	if code != ExitOK || !strings.Contains(stdout, "wasted           0 B") {
		t.Errorf("after in-place:\n%s", stdout)
	}
	if _, err := os.Stat(filepath.Join(src, "index.json")); err != nil {
		t.Fatal(err)
	}
}

// bigLayout writes an image of a few MB of incompressible bytes spread over
// layers, half of them hidden later, so that a fix takes long enough to be
// interrupted at every stage.
func bigLayout(t *testing.T, dir string, size int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	noise := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	img := fixtures.NewImage()
	img.Add(fixtures.NewLayer().Dir("usr").File("usr/base", []byte("base")), fixtures.CreatedBy("ADD rootfs /"))
	for i := range 4 {
		l := fixtures.NewLayer().Dir("tmp")
		for j := range 4 {
			l.File(fmt.Sprintf("tmp/%d-%d", i, j), noise(size/32))
			l.File(fmt.Sprintf("app-%d-%d", i, j), noise(size/32))
		}
		img.Add(l, fixtures.CreatedBy(fmt.Sprintf("RUN step %d", i)))
	}
	img.Add(fixtures.NewLayer().Whiteout("tmp"), fixtures.CreatedBy("RUN rm -rf /tmp"))
	if _, err := img.WriteOCILayout(dir, fixtures.Tag("v1")); err != nil {
		t.Fatal(err)
	}
}

// TestHelperProcess is not a test: TestFixKilled runs the test binary
// again with LAYERLINT_HELPER=1 to get a layerlint it can SIGKILL.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("LAYERLINT_HELPER") != "1" {
		t.Skip("helper process only")
	}
	args := strings.Split(os.Getenv("LAYERLINT_ARGS"), "\n")
	os.Exit(run(append([]string{"layerlint"}, args...), io.Discard, os.Stderr))
}

// layoutState checks a layout after an interruption: index.json parses,
// every blob the v1 image needs is present and checks out (the whole image
// is re-analyzed with digests on), and it says whether v1 is the old image
// (oldDigest) or a new one.
func layoutState(t *testing.T, dir string) (manifest string) {
	t.Helper()
	src, err := source.Open("oci:"+dir+":v1", source.Options{Verify: true})
	if err != nil {
		t.Fatalf("the layout is broken: %v", err)
	}
	defer src.Close() //nolint:errcheck // read-only
	img := src.Images()[0]
	if _, err := analyze.Analyze(t.Context(), img, analyze.Options{Verify: true}); err != nil {
		t.Fatalf("the image is broken: %v", err)
	}
	return img.ManifestDigest.String()
}

// TestFixKilled SIGKILLs an in-place fix after random (seeded) delays:
// the layout must always hold the old image or the new one, complete, and
// a rerun must succeed.
func TestFixKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	pristine := filepath.Join(t.TempDir(), "pristine")
	bigLayout(t, pristine, 2<<20)
	old := layoutState(t, pristine)
	// How long an uninterrupted run takes (the second of two, warm), to
	// spread the kills over it.
	var full time.Duration
	var fixed string
	for range 2 {
		timed := filepath.Join(t.TempDir(), "timed")
		testsupport.CopyTree(t, pristine, timed)
		start := time.Now()
		cmd := helper(t.Context(), "fix", "--squash", "all", "--in-place", "oci:"+timed+":v1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("uninterrupted run: %v\n%s", err, out)
		}
		full = time.Since(start)
		fixed = layoutState(t, timed)
	}
	rng := rand.New(rand.NewPCG(42, 0))
	deadline := time.Now().Add(7 * time.Second)
	seen := map[string]int{}
	for i := 0; i < 20 && time.Now().Before(deadline); i++ {
		dir := filepath.Join(t.TempDir(), "img")
		testsupport.CopyTree(t, pristine, dir)
		args := []string{"fix", "--squash", "all", "--in-place"}
		if i%2 == 1 {
			args = append(args, "--gc")
		}
		args = append(args, "oci:"+dir+":v1")
		cmd := helper(t.Context(), args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		delay := time.Duration(rng.Int64N(int64(full) * 6 / 5))
		time.Sleep(delay)
		_ = cmd.Process.Signal(syscall.SIGKILL) // it may have ended already
		_ = cmd.Wait()
		switch got := layoutState(t, dir); got {
		case old:
			seen["old"]++
		case fixed:
			seen["new"]++
		default:
			t.Fatalf("kill %d after %s: v1 is %s, neither the old %s nor the new %s", i, delay, got, old, fixed)
		}
		if code, stdout, stderr := runCLI(t, args...); code != ExitOK {
			t.Fatalf("kill %d after %s: rerun: code %d\n%s\n%s", i, delay, code, stdout, stderr)
		}
		if got := layoutState(t, dir); got != fixed {
			t.Fatalf("kill %d: after the rerun v1 is %s, want %s", i, got, fixed)
		}
		if l := testsupport.StrayFiles(t, dir); len(l) > 0 {
			t.Fatalf("kill %d: the rerun left %v", i, l)
		}
	}
	t.Logf("one run: %s; after the kill, v1 was: %v", full, seen)
}

func helper(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0", "LAYERLINT_HELPER=1", "LAYERLINT_ARGS="+strings.Join(args, "\n"))
	return cmd
}

// tmpfs mounts a 2 MiB tmpfs for the test, or skips it.
func tmpfs(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("tmpfs is Linux's") // not a missing component: nothing to mount elsewhere
	}
	testenv.NeedRoot(t)
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt).CombinedOutput(); err != nil {
		testenv.Skip(t, "cannot mount a tmpfs (%v): %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", mnt, err, out)
		}
	})
	return mnt
}

// TestFixFullDisk fixes an image into a 2 MiB tmpfs that cannot hold the
// output: a clear error naming the path and ENOSPC, exit 4, nothing left.
func TestFixFullDisk(t *testing.T) {
	t.Run("output", func(t *testing.T) {
		mnt := tmpfs(t)
		src := filepath.Join(t.TempDir(), "img")
		bigLayout(t, src, 3<<20)
		out := filepath.Join(mnt, "out")
		code, stdout, stderr := runCLI(t, "fix", "--output", out, src)
		if code != ExitEnvironment || !strings.Contains(stderr, "no space left on device") || !strings.Contains(stderr, out) {
			t.Fatalf("code %d\n%s\n%s", code, stdout, stderr)
		}
		entries, err := os.ReadDir(mnt)
		if err != nil || len(entries) != 0 {
			t.Errorf("left in the tmpfs: %v %v", entries, err)
		}
	})
	t.Run("in place", func(t *testing.T) {
		// The source fits; a recompressed copy of it does not.
		mnt := tmpfs(t)
		in := filepath.Join(mnt, "img")
		bigLayout(t, in, 1200<<10)
		before := testsupport.ReadTree(t, in)
		code, stdout, stderr := runCLI(t, "fix", "--compression", "none", "--force-compression", "--in-place", in)
		if code != ExitEnvironment || !strings.Contains(stderr, "no space left on device") || !strings.Contains(stderr, in) {
			t.Fatalf("code %d\n%s\n%s", code, stdout, stderr)
		}
		if after := testsupport.ReadTree(t, in); !maps.EqualFunc(before, after, bytes.Equal) {
			t.Errorf("the source changed: %d files, was %d", len(after), len(before))
		}
		layoutState(t, in)
		t.Logf("stderr: %s", stderr)
	})
}

// TestFixConcurrent runs two in-place fixes of one layout at once, as two
// processes (urfave/cli is not safe for two runs in one process): each
// either succeeds or fails at once on the lock with a clear message, at
// least one succeeds, and the layout ends valid.
func TestFixConcurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	dir := filepath.Join(t.TempDir(), "img")
	bigLayout(t, dir, 1<<20)
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	for range 2 {
		cmd := helper(t.Context(), "fix", "--squash", "all", "--in-place", "oci:"+dir+":v1")
		var b bytes.Buffer
		cmd.Stdout, cmd.Stderr = &b, &b
		cmds, outs = append(cmds, cmd), append(outs, &b)
	}
	for _, c := range cmds {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	ok, locked := 0, 0
	for i, c := range cmds {
		err := c.Wait()
		switch {
		case err == nil:
			ok++
		case c.ProcessState.ExitCode() == ExitInput && strings.Contains(outs[i].String(), "another layerlint fix --in-place is running on it"):
			locked++
		default:
			t.Errorf("run %d: %v\n%s", i, err, outs[i])
		}
	}
	if ok == 0 {
		t.Error("neither run succeeded")
	}
	t.Logf("%d succeeded, %d found the layout locked", ok, locked)
	layoutState(t, dir)
	if l := testsupport.StrayFiles(t, dir); len(l) > 0 {
		t.Errorf("left behind %v", l)
	}
}

// TestFixDockerArchiveTags: a docker archive named by two tags lists both
// in manifest.json, and each selects the image.
func TestFixDockerArchiveTags(t *testing.T) {
	t.Parallel()
	src := wastefulLayout(t)
	out := filepath.Join(t.TempDir(), "img.tar")
	code, stdout, stderr := runCLI(t, "fix", "--squash", "auto", "--output-format", "docker-archive", "--tag", "app:one", "--tag", "example.com/app:two", "--output", out, src)
	if code != ExitOK {
		t.Fatalf("code %d\n%s\n%s", code, stdout, stderr)
	}
	for _, tag := range []string{"app:one", "example.com/app:two"} {
		if code, stdout, _ := runCLI(t, "analyze", "docker-archive:"+out+":"+tag); code != ExitOK || !strings.Contains(stdout, "wasted           0 B") {
			t.Errorf("%s: code %d\n%s", tag, code, stdout)
		}
	}
}

// TestFixPrevious: with --previous, a layer shared with the earlier build
// is stable and moves below the volatile ones it commutes with.
func TestFixPrevious(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mk := func(name string, app []byte) string {
		img := fixtures.NewImage()
		img.Add(fixtures.NewLayer().Dir("usr").File("usr/lib", []byte("base")), fixtures.CreatedBy("ADD rootfs /"))
		img.Add(fixtures.NewLayer().File("app", app), fixtures.CreatedBy("COPY app /app"))
		img.Add(fixtures.NewLayer().Dir("etc").File("etc/deps", []byte("d")), fixtures.CreatedBy("COPY deps /etc"))
		p := filepath.Join(dir, name)
		if _, err := img.WriteOCILayout(p, fixtures.Tag("v1")); err != nil {
			t.Fatal(err)
		}
		return p
	}
	noise := func(seed uint64) []byte {
		rng := rand.New(rand.NewPCG(seed, 0))
		b := make([]byte, 2000)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	prev := mk("prev", noise(1))
	cur := mk("cur", noise(2))
	code, stdout, stderr := runCLI(t, "fix", "--reorder", "--previous", prev, "--dry-run", cur)
	if code != ExitOK || !strings.Contains(stdout, "plan for "+cur+": 0 2 1") {
		t.Fatalf("code %d\n%s\n%s", code, stdout, stderr)
	}
	// Without --previous both are application layers: nothing moves by
	// stability.
	code, stdout, _ = runCLI(t, "fix", "--reorder", "--dry-run", cur)
	if code != ExitOK || strings.Contains(stdout, "plan for "+cur+": 0 2 1") {
		t.Errorf("without --previous:\n%s", stdout)
	}
}

// TestFixStripByRule: --strip LLxxx drops the paths named by that rule's
// findings (a directory keeps itself and loses its content), and the proof
// accounts for exactly those paths.
func TestFixStripByRule(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, errs := runCLI(t, "fix", "--squash", "all", "--base-layers", "0", "--strip", "LL005", "--output", out, sample)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, errs)
	}
	if !strings.Contains(stdout, "stripped var/lib/apt/lists/lock") {
		t.Errorf("plan does not list the stripped paths:\n%s", stdout)
	}
	code, ls, errs := runCLI(t, "ls", out, "var/lib/apt")
	if code != ExitOK {
		t.Fatalf("ls: exit %d\n%s", code, errs)
	}
	if !strings.Contains(ls, "/var/lib/apt/lists\n") || strings.Contains(ls, "/var/lib/apt/lists/") {
		t.Errorf("want the lists directory, empty:\n%s", ls)
	}
	code, an, _ := runCLI(t, "analyze", "--format", "json", out)
	var rep struct {
		Summary struct {
			WastedBytes  int64 `json:"wastedBytes"`
			ContentBytes int64 `json:"contentBytes"`
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(an), &rep); code != ExitOK || err != nil {
		t.Fatalf("analyze: exit %d, %v", code, err)
	}
	// 5809 content bytes, 1972 wasted, 1300 of apt lists stripped.
	if rep.Summary.WastedBytes != 0 || rep.Summary.ContentBytes != 5809-1972-1300 {
		t.Errorf("squashed and stripped image: %+v", rep.Summary)
	}
	if code, _, errs := runCLI(t, "fix", "--strip", "no-such-rule-or-glob[", "--dry-run", sample); code != ExitInput {
		t.Errorf("bad strip pattern: exit %d\n%s", code, errs)
	}
}
