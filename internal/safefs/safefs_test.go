package safefs_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/layerlint/layerlint/internal/safefs"
)

// setup makes root (the Dir) and outside (a victim folder with a file),
// and plants symlinks inside root pointing at the victim.
func setup(t *testing.T) (d *safefs.Dir, root, victim string) {
	t.Helper()
	base := t.TempDir()
	root = filepath.Join(base, "root")
	outside := filepath.Join(base, "victim")
	for _, p := range []string{root, outside, filepath.Join(root, "sub")} {
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	victim = filepath.Join(outside, "file")
	if err := os.WriteFile(victim, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{
		"link-file": victim,         // a file name that is a symlink
		"link-dir":  outside,        // a directory name that is a symlink
		"sub/up":    "../../victim", // relative, climbing out
		"inside":    "sub",          // a symlink that stays inside
	} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	d, err := safefs.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d, root, victim
}

func checkVictim(t *testing.T, victim string) {
	t.Helper()
	b, err := os.ReadFile(victim)
	if err != nil || string(b) != "precious" {
		t.Fatalf("victim %s changed: %q, %v", victim, b, err)
	}
	entries, err := os.ReadDir(filepath.Dir(victim))
	if err != nil || len(entries) != 1 {
		t.Fatalf("victim folder changed: %v, %v", entries, err)
	}
}

// TestNoWriteThroughSymlink: every operation that writes refuses a planted
// symlink, at the last component or on the way, and leaves the victim
// untouched.
func TestNoWriteThroughSymlink(t *testing.T) {
	t.Parallel()
	d, _, victim := setup(t)
	ops := map[string]func() error{
		"open for writing": func() error {
			f, err := d.OpenFile("link-file", os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
			if err == nil {
				_, _ = f.WriteString("pwned")
				_ = f.Close()
			}
			return err
		},
		"create": func() error {
			f, err := d.Create("link-dir/new")
			if err == nil {
				_ = f.Close()
			}
			return err
		},
		"create through a climbing link": func() error {
			f, err := d.Create("sub/up/new")
			if err == nil {
				_ = f.Close()
			}
			return err
		},
		"create temp": func() error {
			f, err := d.CreateTemp("link-dir", "x-*")
			if err == nil {
				_ = f.Close()
			}
			return err
		},
		"mkdir":                     func() error { return d.Mkdir("link-dir/new", 0o755) },
		"mkdirall":                  func() error { return d.MkdirAll("link-dir/a/b", 0o755) },
		"mkdirall over a file link": func() error { return d.MkdirAll("link-file", 0o755) },
		"rename into":               func() error { return d.Rename("sub", "link-dir/sub") },
		"remove through":            func() error { return d.Remove("link-dir/file") },
		"removeall through":         func() error { return d.RemoveAll("link-dir/file") },
		"link into":                 func() error { return d.Link("inside", "link-dir/l") },
		"write file":                func() error { return d.WriteFile("link-dir/w", []byte("x"), 0o644) },
		"climb":                     func() error { return d.Mkdir("../victim/x", 0o755) },
		"absolute":                  func() error { return d.Mkdir(filepath.Join(filepath.Dir(victim), "x"), 0o755) },
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			if err := op(); err == nil {
				t.Errorf("%s succeeded through a symlink", name)
			}
			checkVictim(t, victim)
		})
	}
}

// TestRemoveSymlinkItself: removing and replacing names that are symlinks
// acts on the links, never their targets.
func TestRemoveSymlinkItself(t *testing.T) {
	d, root, victim := setup(t)
	if err := d.RemoveAll("link-dir"); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove("link-file"); err != nil {
		t.Fatal(err)
	}
	f, err := d.CreateTemp("", "t-*")
	if err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	rel, err := safefs.Rel(root, f.Name())
	if err != nil {
		t.Fatal(err)
	}
	// Rename over a planted symlink replaces the link.
	if err := os.Symlink(victim, filepath.Join(root, "dst")); err != nil {
		t.Fatal(err)
	}
	if err := d.Rename(rel, "dst"); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(filepath.Join(root, "dst")); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("dst after rename: %v, %v", fi, err)
	}
	if err := d.RemoveAll("sub"); err != nil {
		t.Fatal(err)
	}
	checkVictim(t, victim)
}

// TestModesFollowUmask: new files are 0644 and folders 0755 (less the
// umask), as the tools that read layouts expect.
func TestModesFollowUmask(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes on Windows") // not a missing component: nothing to check there
	}
	d, root, _ := setup(t)
	f, err := d.Create("f")
	if err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	if err := d.MkdirAll("a/b", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := d.MkdirAll("a/b", 0o755); err != nil {
		t.Fatalf("MkdirAll of an existing folder: %v", err)
	}
	for p, want := range map[string]fs.FileMode{"f": 0o644, "a/b": 0o755} {
		fi, err := os.Stat(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got&^want != 0 {
			t.Errorf("%s: mode %v, want at most %v", p, got, want)
		}
	}
}

func TestRel(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		root, target, want string
		outside            bool
	}{
		{"/a/b", "/a/b/c/d", "c/d", false},
		{"/a/b", "/a/b", "", false},
		{"/a/b", "/a/bc", "", true},
		{"/a/b", "/a", "", true},
	} {
		got, err := safefs.Rel(tc.root, tc.target)
		if tc.outside {
			if !errors.Is(err, safefs.ErrOutside) {
				t.Errorf("Rel(%s, %s) = %q, %v; want ErrOutside", tc.root, tc.target, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Rel(%s, %s) = %q, %v; want %q", tc.root, tc.target, got, err, tc.want)
		}
	}
}
