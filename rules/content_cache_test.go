package rules

import (
	"archive/tar"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/layerlint/layerlint/overlay"
)

// scannedLayer scans the files of a layer, each with its content, and
// returns the scan and the layer's changeset.
func scannedLayer(t testing.TB, layer int, files map[string]string) (*ContentScan, *overlay.Changeset) {
	t.Helper()
	c := NewContentScan()
	hook := c.Inspect(layer)
	cs := &overlay.Changeset{}
	for _, p := range []string{"a/key.pem", "b/token.txt", "c/plain.txt"} {
		data, ok := files[p]
		if !ok {
			continue
		}
		cs.Append(overlay.Entry{Path: p, Kind: overlay.EntryFile, Size: int64(len(data)), Index: cs.Len()})
		if w := hook(p, &tar.Header{Size: int64(len(data))}); w != nil {
			if _, err := w.Write([]byte(data)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return c, cs
}

// TestContentScanSaveLoad: what a layer's scan saves, loaded into a fresh
// scan (as from a cache entry, maybe for the same blob at another layer
// index), gives the same results as scanning it.
func TestContentScanSaveLoad(t *testing.T) {
	t.Parallel()
	keys := fakeKeys()
	files := map[string]string{
		"a/key.pem":   keys[SecretPEMPrivateKey] + keys[SecretAWSAccessKeyID],
		"b/token.txt": "token " + keys[SecretGitHubToken],
		"c/plain.txt": "nothing",
	}
	c, cs := scannedLayer(t, 2, files)
	saved := c.SaveLayer(2)
	for _, at := range []int{2, 5} {
		fresh := NewContentScan()
		if err := fresh.LoadLayer(at, cs, saved); err != nil {
			t.Fatal(err)
		}
		want := c.Results()
		for i := range want.Matches {
			want.Matches[i].Layer = at
		}
		want.Layers = []int{at}
		if got := fresh.Results(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("loaded at layer %d: %+v, want %+v", at, got, want)
		}
	}
	if n := len(c.Results().Matches); n != 3 {
		t.Errorf("%d matches, want 3", n)
	}
	empty, ecs := scannedLayer(t, 0, map[string]string{"c/plain.txt": "x"})
	fresh := NewContentScan()
	if err := fresh.LoadLayer(0, ecs, empty.SaveLayer(0)); err != nil || !fresh.Results().Scanned(0) {
		t.Errorf("a layer with no match: %v, scanned %v", err, fresh.Results().Scanned(0))
	}
}

// TestContentScanLoadRefuses: results that do not fit the layer (from a
// shared cache anyone may write) are refused and record nothing.
func TestContentScanLoadRefuses(t *testing.T) {
	t.Parallel()
	keys := fakeKeys()
	c, cs := scannedLayer(t, 0, map[string]string{"b/token.txt": keys[SecretGitHubToken]})
	good := c.SaveLayer(0)
	match := func(path string, kind byte, size uint64) []byte {
		b := binary.AppendUvarint([]byte{1}, uint64(len(path)))
		b = append(append(b, path...), kind)
		return binary.AppendUvarint(b, size)
	}
	size := uint64(len(keys[SecretGitHubToken]))
	for name, data := range map[string][]byte{
		"empty":          {},
		"trailing":       append(append([]byte{}, good...), 0),
		"truncated":      good[:len(good)-1],
		"no such file":   match("b/other.txt", byte(SecretGitHubToken), size),
		"another size":   match("b/token.txt", byte(SecretGitHubToken), size+1),
		"unknown kind":   match("b/token.txt", 0, size),
		"kind too large": match("b/token.txt", byte(SecretStripeLiveKey)+1, size),
		"too large":      match("b/token.txt", byte(SecretGitHubToken), uint64(ContentScanMaxFileBytes)+1),
		"huge count":     binary.AppendUvarint(nil, 1<<40),
		"duplicate":      append(match("b/token.txt", byte(SecretGitHubToken), size), match("b/token.txt", byte(SecretGitHubToken), size)[1:]...),
	} {
		if name == "duplicate" {
			data[0] = 2
		}
		fresh := NewContentScan()
		if err := fresh.LoadLayer(0, cs, data); err == nil {
			t.Errorf("%s: loaded", name)
		}
		if r := fresh.Results(); len(r.Layers) != 0 || len(r.Matches) != 0 {
			t.Errorf("%s: recorded %+v", name, r)
		}
	}
}

// FuzzLoadLayer: saved scan results come from a cache (shared, so
// untrusted): whatever the bytes, loading fails or records matches of
// files of the layer, never panics.
func FuzzLoadLayer(f *testing.F) {
	keys := fakeKeys()
	c, cs := scannedLayer(f, 0, map[string]string{"a/key.pem": keys[SecretPEMPrivateKey], "b/token.txt": keys[SecretSlackToken]})
	f.Add(c.SaveLayer(0))
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, data []byte) {
		fresh := NewContentScan()
		if err := fresh.LoadLayer(0, cs, data); err != nil {
			return
		}
		for _, m := range fresh.Results().Matches {
			if m.Path != "a/key.pem" && m.Path != "b/token.txt" {
				t.Fatalf("loaded a match of %q, no file of the layer", m.Path)
			}
		}
	})
}
