package rules_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/rules"
)

func TestLargeFileModified(t *testing.T) {
	t.Parallel()
	const mib = 1 << 20
	big := content(2*mib, 1)
	img := fixtures.NewImage().
		Add(fixtures.NewLayer().Dir("etc").File("etc/os-release", []byte("ID=x\n")), fixtures.CreatedBy("ADD rootfs.tar /")).
		Add(fixtures.NewLayer().Dir("data").
			File("data/geo.db", big).
			File("data/small.conf", content(1000, 2)).
			File("data/same.bin", content(mib, 3)).
			File("data/linked.bin", content(mib, 4)).
			File("data/deleted.bin", content(mib, 5)),
			fixtures.CreatedBy("COPY data/ /data/")).
		Add(fixtures.NewLayer().
			File("data/geo.db", append(append([]byte{}, big...), "appended"...)).
			File("data/small.conf", content(1000, 6)).
			File("data/same.bin", content(mib, 3), fixtures.Mode(0o600)).
			Symlink("data/linked.bin", "geo.db").
			Whiteout("data/deleted.bin"),
			fixtures.CreatedBy("RUN update-geo /data/geo.db"))
	r := ruleByID(t, "LL008")
	f := facts(t, img, rules.Options{})
	got := r.Check(f)
	// Only geo.db: small.conf is under the threshold (LL001's), same.bin
	// is a metadata-only copy (LL003's), linked.bin became a symlink and
	// deleted.bin was deleted (LL002's).
	if len(got) != 1 {
		t.Fatalf("got %+v, want 1 finding", got)
	}
	g := got[0]
	checkFinding(t, r, g)
	if w := (want{2, "data/geo.db", 2 * mib}); (want{g.Layer, g.Path, g.Bytes}) != w {
		t.Errorf("got %v, want %v", want{g.Layer, g.Path, g.Bytes}, w)
	}
	for _, s := range []string{"layer 1", "layer 2", "2097152 bytes"} {
		if !strings.Contains(g.Message, s) {
			t.Errorf("message %q does not name %q", g.Message, s)
		}
	}
	if g.CreatedBy != "RUN update-geo /data/geo.db" {
		t.Errorf("createdBy %q, want the modifying step", g.CreatedBy)
	}

	// The threshold is an option; a chain of modifications is reported at
	// each modifying layer.
	img = fixtures.NewImage().
		Add(fixtures.NewLayer().File("log", content(1500, 1))).
		Add(fixtures.NewLayer().File("log", content(1600, 1))).
		Add(fixtures.NewLayer().File("log", content(1700, 1)))
	got = r.Check(facts(t, img, rules.Options{LargeFileMinBytes: 1500}))
	var gotW []want
	for _, g := range got {
		gotW = append(gotW, want{g.Layer, g.Path, g.Bytes})
	}
	if w := []want{{1, "log", 1500}, {2, "log", 1600}}; !slices.Equal(gotW, w) {
		t.Errorf("got %v, want %v", gotW, w)
	}
}
