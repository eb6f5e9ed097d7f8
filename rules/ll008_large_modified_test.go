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

// TestOverwriteClaimedOnce: a hidden version is claimed by one rule whose
// bytes are savings, so totals count it once. apt's pkgcache.bin, rewritten
// by a second apt-get update, is a large modification (LL008's), not also
// an overwrite (LL001); a small file rewritten is LL001's alone; with
// LL008's threshold raised above it, pkgcache.bin goes back to LL001.
func TestOverwriteClaimedOnce(t *testing.T) {
	t.Parallel()
	const mib = 1 << 20
	img := fixtures.NewImage().
		Add(fixtures.NewLayer().Dir("var").Dir("var/cache").Dir("var/cache/apt").Dir("etc").
			File("var/cache/apt/pkgcache.bin", content(3*mib, 1)).
			File("etc/app.conf", content(100, 2)), fixtures.CreatedBy("RUN apt-get update")).
		Add(fixtures.NewLayer().
			File("var/cache/apt/pkgcache.bin", content(3*mib, 3)).
			File("etc/app.conf", content(90, 4)), fixtures.CreatedBy("RUN apt-get update && apt-get install -y curl"))
	saves := map[string]bool{}
	for _, r := range rules.All() {
		saves[r.ID] = r.Saves
	}
	for _, tc := range []struct {
		name string
		opts rules.Options
		want map[string]string // path -> the one rule that claims its hidden version
	}{
		{"default threshold", rules.Options{}, map[string]string{"var/cache/apt/pkgcache.bin": "LL008", "etc/app.conf": "LL001"}},
		{"LL008 above it", rules.Options{LargeFileMinBytes: 4 * mib}, map[string]string{"var/cache/apt/pkgcache.bin": "LL001", "etc/app.conf": "LL001"}},
	} {
		claimed := map[string][]string{}
		var total int64
		for _, f := range rules.Run(facts(t, img, tc.opts)) {
			if saves[f.Rule] && tc.want[f.Path] != "" {
				claimed[f.Path] = append(claimed[f.Path], f.Rule)
				total += f.Bytes
			}
		}
		for p, rule := range tc.want {
			if got := claimed[p]; !slices.Equal(got, []string{rule}) {
				t.Errorf("%s: %s claimed by %v, want only %s", tc.name, p, got, rule)
			}
		}
		if total != 3*mib+100 {
			t.Errorf("%s: savings on the hidden versions add up to %d, want %d (each once)", tc.name, total, 3*mib+100)
		}
	}
}
