package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/layerlint/layerlint/fixtures"
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
	src := wastefulLayout(t)
	tmp := t.TempDir()
	tests := []struct {
		name     string
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
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
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != tc.code || !strings.Contains(stdout, tc.inStdout) || !strings.Contains(stderr, tc.inStderr) {
				t.Errorf("code %d (want %d)\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout, stderr)
			}
		})
	}
}

func TestFixInPlace(t *testing.T) {
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
