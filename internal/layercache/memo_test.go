package layercache

import (
	"context"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/layerlint/layerlint/analyze/source"
)

// TestDirMemo: the memo holds exactly the (file state, digest) pairs it
// was told; any other state or digest is unknown. A cache over a store
// without a memo (Redis) knows none.
func TestDirMemo(t *testing.T) {
	d, err := OpenDir(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close() //nolint:errcheck // test
	c := New(d, nil)
	f := source.BlobFile{Dev: 1, Ino: 2, Size: 3, Mtime: 4, Ctime: 5}
	dg := v1.Hash{Algorithm: "sha256", Hex: "ab"}
	if c.Verified(f, dg) {
		t.Fatal("known before it was told")
	}
	c.RememberVerified(f, dg)
	if !c.Verified(f, dg) {
		t.Fatal("not known after it was told")
	}
	other := dg
	other.Hex = "cd"
	for _, g := range []source.BlobFile{
		{Dev: 9, Ino: 2, Size: 3, Mtime: 4, Ctime: 5},
		{Dev: 1, Ino: 9, Size: 3, Mtime: 4, Ctime: 5},
		{Dev: 1, Ino: 2, Size: 9, Mtime: 4, Ctime: 5},
		{Dev: 1, Ino: 2, Size: 3, Mtime: 9, Ctime: 5},
		{Dev: 1, Ino: 2, Size: 3, Mtime: 4, Ctime: 9},
	} {
		if c.Verified(g, dg) {
			t.Errorf("%+v known", g)
		}
	}
	if c.Verified(f, other) {
		t.Error("another digest known")
	}
	if New(noMemo{}, nil).Verified(f, dg) {
		t.Error("a cache without a memo knows a blob")
	}
}

// noMemo is a Store that keeps nothing and has no memo.
type noMemo struct{}

func (noMemo) Get(context.Context, string) ([]byte, error) { return nil, nil }
func (noMemo) Put(context.Context, string, []byte) error   { return nil }
