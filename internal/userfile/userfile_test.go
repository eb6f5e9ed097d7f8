package userfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok.yaml")
	if err := os.WriteFile(ok, []byte("failOn: error\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, 2000), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "zero")
	if err := os.Symlink("/dev/zero", link); err != nil {
		t.Fatal(err)
	}
	if b, err := Read(ok, 0); err != nil || string(b) != "failOn: error\n" {
		t.Errorf("regular file: %q, %v", b, err)
	}
	for _, tc := range []struct {
		name, path string
		limit      int64
		is         error
		has        string
	}{
		{"over the cap", big, 1000, ErrTooLarge, "2000 bytes, more than 1000 (cap)"},
		{"a directory", dir, 0, ErrNotRegular, "a directory"},
		{"/dev/zero through a symlink", link, 0, ErrNotRegular, "a character device"},
		{"/dev/null", "/dev/null", 0, ErrNotRegular, "a character device"},
	} {
		_, err := Read(tc.path, tc.limit)
		if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.has) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if _, err := Read(filepath.Join(dir, "missing"), 0); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
