package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/layerlint/layerlint/fixtures"
)

// TestFixUsageErrorsFirst: a usage error stops fix before any work: exit
// 2, nothing on stdout (no plan), nothing written.
func TestFixUsageErrorsFirst(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	archive := filepath.Join(tmp, "in.tar")
	if err := fixtures.Sample().WriteDockerArchive(archive, fixtures.DockerOCI, "app:1"); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(tmp, "out.tar")
	for _, tc := range []struct {
		name string
		args []string
		err  string
	}{
		{"in place on an archive", []string{"fix", "--squash", "all", "--in-place", archive}, "--in-place needs an OCI layout directory"},
		{"in place on a registry", []string{"fix", "--squash", "all", "--in-place", "registry:127.0.0.1:1/app:1"}, "--in-place needs an OCI layout directory"},
		{"docker archive without a tag", []string{"fix", "--squash", "all", "--output-format", "docker-archive", "--output", out, sample}, "give --tag REPO:TAG"},
		{"bad docker tag", []string{"fix", "--squash", "all", "--output-format", "docker-archive", "--tag", "Bad Tag", "--output", out, sample}, "Bad Tag"},
		{"--tag with --push", []string{"fix", "--squash", "all", "--tag", "a:1", "--push", "127.0.0.1:1/a:1", sample}, "drop --tag"},
		{"--tag with --output docker-daemon:", []string{"fix", "--squash", "all", "--tag", "a:1", "--output", "docker-daemon:a:2", sample}, "drop --tag"},
		{"bad engine name", []string{"fix", "--squash", "all", "--output", "docker-daemon:Bad:Name!", sample}, "Bad:Name!"},
		{"bad layout tag", []string{"fix", "--squash", "all", "--tag", "a b", "--output", filepath.Join(tmp, "layout"), sample}, `"a b"`},
		{"oci: against --output-format", []string{"fix", "--squash", "all", "--output-format", "docker-archive", "--output", "oci:" + filepath.Join(tmp, "l"), sample}, "says otherwise"},
		{"oci: with a tag and --tag", []string{"fix", "--squash", "all", "--tag", "a:1", "--output", "oci:" + filepath.Join(tmp, "l") + ":v2", sample}, "drop --tag"},
		{"registry:", []string{"fix", "--squash", "all", "--output", "registry:127.0.0.1:1/a:1", sample}, "--push REF"},
		{"zstd docker archive", []string{"fix", "--squash", "all", "--compression", "zstd", "--output", "docker-archive:" + out + ":a:1", sample}, "--compression zstd"},
		{"zstd engine load", []string{"fix", "--squash", "all", "--compression", "zstd", "--output", "docker-daemon:a:1", sample}, "--compression zstd"},
		{"oci-archive:", []string{"fix", "--squash", "all", "--output", "oci-archive:" + filepath.Join(tmp, "a.tar"), sample}, "not an OCI archive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != ExitInput || stdout != "" || !strings.Contains(stderr, tc.err) {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2, nothing, %q", code, stdout, stderr, tc.err)
			}
		})
	}
	if fi, err := filepath.Glob(filepath.Join(tmp, "*")); err != nil || len(fi) != 1 {
		t.Errorf("written: %v", fi)
	}
}

// TestFixNothingToDo: a fix that changes nothing says so.
func TestFixNothingToDo(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := runCLI(t, "fix", "--output", out, sample)
	if code != ExitOK || !strings.Contains(stdout, "nothing to change: every image is the source's, byte for byte") {
		t.Errorf("exit %d\n%s\n%s", code, stdout, stderr)
	}
}

// TestFlagsFirst: flags after the IMAGE are the command's flags.
func TestFlagsFirst(t *testing.T) {
	t.Parallel()
	app := newApp(nil, nil)
	for _, tc := range []struct{ in, want string }{
		{"layerlint fix docker-daemon:app:1 --load", "layerlint fix --load docker-daemon:app:1"},
		{"layerlint fix IMG --squash all --push r/x:1", "layerlint fix --squash all --push r/x:1 IMG"},
		{"layerlint fix IMG --tag=a:1 -- --load", "layerlint fix --tag=a:1 IMG -- --load"},
		{"layerlint ls IMG -x", "layerlint ls IMG -x"},
		{"layerlint --help fix", "layerlint --help fix"},
		{"layerlint nosuch a --b", "layerlint nosuch a --b"},
	} {
		got := strings.Join(flagsFirst(app, strings.Fields(tc.in)), " ")
		if got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestFixOutputTransport: --output spelled as an IMAGE is (oci:DIR:TAG,
// docker-archive:FILE:REPO:TAG) writes there, in that format, under that
// name; it once made a folder named "oci:" in the working directory.
func TestFixOutputTransport(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	layout, archive := filepath.Join(tmp, "layout"), filepath.Join(tmp, "app.tar")
	for _, tc := range []struct{ out, check string }{
		{"oci:" + layout + ":v2", "oci:" + layout + ":v2"},
		{"docker-archive:" + archive + ":app:2", "docker-archive:" + archive + ":app:2"},
	} {
		code, stdout, stderr := runCLI(t, "fix", "--squash", "all", "--output", tc.out, sample)
		if code != ExitOK {
			t.Fatalf("fix --output %s: exit %d\n%s\n%s", tc.out, code, stdout, stderr)
		}
		if code, stdout, stderr := runCLI(t, "ls", tc.check); code != ExitOK {
			t.Errorf("ls %s: exit %d\n%s\n%s", tc.check, code, stdout, stderr)
		}
	}
	if fi, err := filepath.Glob(filepath.Join(tmp, "*")); err != nil || len(fi) != 2 {
		t.Errorf("written: %v, want the layout and the archive", fi)
	}
}

// TestSavingWords: a fix to a docker archive (uncompressed layers) grows
// the blobs; the result says so instead of a negative saving.
func TestSavingWords(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		before, after int64
		want          string
	}{
		{155972911, 352716800, "grows by 196743889"},
		{155972911, 136365955, "saves 19606956"},
		{10, 10, "saves 0"},
	} {
		if got := saving(tc.before, tc.after); got != tc.want {
			t.Errorf("saving(%d, %d) = %q, want %q", tc.before, tc.after, got, tc.want)
		}
	}
}
