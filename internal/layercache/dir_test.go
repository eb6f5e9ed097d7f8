package layercache

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func name(i int) string { return fmt.Sprintf("%02x%062x", i, i+1) }

func TestDirPutGet(t *testing.T) {
	d, err := OpenDir(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close() //nolint:errcheck // test
	ctx := context.Background()
	if got, err := d.Get(ctx, name(0)); got != nil || err != nil {
		t.Fatalf("Get of a missing entry: %q, %v", got, err)
	}
	for _, v := range []string{"one", "two"} { // the second overwrites
		if err := d.Put(ctx, name(0), []byte(v)); err != nil {
			t.Fatal(err)
		}
		if got, err := d.Get(ctx, name(0)); string(got) != v || err != nil {
			t.Fatalf("Get: %q, %v; want %q", got, err, v)
		}
	}
	for _, bad := range []string{"", "ab", "../../etc/passwd", "aa/bb"} {
		if _, err := d.Get(ctx, bad); err == nil {
			t.Errorf("Get(%q): no error", bad)
		}
	}
}

// TestDirEvictsLeastRecentlyUsed: past the limit, the entries used longest
// ago go first; an entry just read stays.
func TestDirEvictsLeastRecentlyUsed(t *testing.T) {
	dir := t.TempDir()
	d, err := OpenDir(dir, 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close() //nolint:errcheck // test
	ctx := context.Background()
	val := bytes.Repeat([]byte("x"), 100)
	old := time.Now().Add(-time.Hour)
	for i := range 9 {
		if err := d.Put(ctx, name(i), val); err != nil {
			t.Fatal(err)
		}
		// Ages in order of writing: entry 0 is the oldest.
		at := old.Add(time.Duration(i) * time.Minute)
		if err := os.Chtimes(filepath.Join(dir, name(i)[:2], name(i)), at, at); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.Get(ctx, name(0)); err != nil { // 0 becomes the most recent
		t.Fatal(err)
	}
	for i := 9; i < 12; i++ {
		if err := d.Put(ctx, name(i), val); err != nil {
			t.Fatal(err)
		}
	}
	var kept []int
	for i := range 12 {
		if got, _ := d.Get(ctx, name(i)); got != nil {
			kept = append(kept, i)
		}
	}
	want := []int{0, 4, 5, 6, 7, 8, 9, 10, 11} // 1, 2 and 3 went, down to 80% of the limit
	if fmt.Sprint(kept) != fmt.Sprint(want) {
		t.Errorf("kept %v, want %v", kept, want)
	}
}

// TestDirSymlinkSafe: a symlink planted where an entry or its folder goes
// leads neither a read nor a write outside the cache directory.
func TestDirSymlinkSafe(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	secret := filepath.Join(outside, "secret")
	if err := os.WriteFile(secret, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := OpenDir(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close() //nolint:errcheck // test
	ctx := context.Background()
	n := name(1)
	// The folder of entry n is a symlink to outside.
	if err := os.Symlink(outside, filepath.Join(dir, n[:2])); err != nil {
		t.Fatal(err)
	}
	if err := d.Put(ctx, n, []byte("data")); err == nil {
		t.Error("Put through a symlinked folder succeeded")
	}
	if got, _ := d.Get(ctx, n); got != nil {
		t.Errorf("Get through a symlinked folder read %q", got)
	}
	// Entry m is itself a symlink to the secret.
	m := name(2)
	if err := os.Mkdir(filepath.Join(dir, m[:2]), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(dir, m[:2], m)); err != nil {
		t.Fatal(err)
	}
	if got, _ := d.Get(ctx, m); got != nil {
		t.Errorf("Get followed a symlink out: %q", got)
	}
	if err := d.Put(ctx, m, []byte("data")); err != nil {
		t.Fatal(err) // the rename replaces the link itself
	}
	if b, _ := os.ReadFile(secret); string(b) != "secret" {
		t.Errorf("file outside the cache changed: %q", b)
	}
	entries, _ := os.ReadDir(outside)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") || e.Name() == n {
			t.Errorf("wrote %s outside the cache", e.Name())
		}
	}
}
