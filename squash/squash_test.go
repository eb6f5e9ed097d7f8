package squash_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/squash"
)

func bytesOf(s string, n int) []byte { return []byte(strings.Repeat(s, n)) }

// TestSquashRange squashes a range and checks, beyond the proof that Fix
// runs (same merged view, digests, validate.Image), how the merged layer
// encodes what it does to the layers below it.
func TestSquashRange(t *testing.T) {
	t.Parallel()
	base := func() *fixtures.Layer {
		return fixtures.NewLayer().Dir("etc").File("etc/keep", []byte("k")).File("etc/gone", []byte("g")).
			Dir("opt").Dir("opt/app").File("opt/app/a", []byte("a")).File("opt/app/b", []byte("b")).File("opt/app/c", []byte("c")).
			Dir("var").File("var/x", []byte("x")).Dir("d").File("d/f", []byte("f")).
			File("shared", []byte("shared")).Hardlink("shared2", "shared")
	}
	tests := []struct {
		name   string
		layers []*fixtures.Layer
		rng    squash.Range
		// want and wantNot are names (or "name -> target") in the merged
		// layer (layer 1 of the output).
		want, wantNot []string
	}{
		{
			// layer-spec: whiteouts of the range that act on layers below
			// it stay in the merged layer.
			name: "middle range keeps whiteouts for lower layers",
			layers: []*fixtures.Layer{
				base(),
				fixtures.NewLayer().File("tmp/big", bytesOf("z", 5000)).Whiteout("etc/gone"),
				fixtures.NewLayer().Whiteout("tmp"),
				fixtures.NewLayer().File("top", []byte("t")),
			},
			rng:     squash.Range{From: 1, To: 2},
			want:    []string{"etc/.wh.gone"},
			wantNot: []string{"tmp/big", "tmp", "top"},
		},
		{
			// layer-spec: an opaque directory hides every lower child;
			// the merged layer needs one marker, not a whiteout per child.
			name: "opaque directory",
			layers: []*fixtures.Layer{
				base(),
				fixtures.NewLayer().Dir("opt/app").Opaque("opt/app").File("opt/app/new", []byte("n")),
				fixtures.NewLayer().File("opt/app/new2", []byte("n2")),
			},
			rng:     squash.Range{From: 1, To: 2},
			want:    []string{"opt/app/.wh..wh..opq", "opt/app/new", "opt/app/new2"},
			wantNot: []string{"opt/app/.wh.a"},
		},
		{
			// layer-spec: a directory replaced by a file and back.
			name: "type changes across the range",
			layers: []*fixtures.Layer{
				base(),
				fixtures.NewLayer().File("d", []byte("now a file")).Dir("var/x").File("var/x/in", []byte("i")),
				fixtures.NewLayer().Whiteout("d").Dir("d", fixtures.Mode(0o700)).File("d/g", []byte("g")),
			},
			rng:     squash.Range{From: 1, To: 2},
			want:    []string{"d", "d/g", "var/x", "var/x/in"},
			wantNot: []string{".wh.d", "d/f"},
		},
		{
			name: "directory replaced by a file",
			layers: []*fixtures.Layer{
				base(),
				fixtures.NewLayer().File("x1", []byte("1")),
				fixtures.NewLayer().File("opt", []byte("opt is a file now")),
			},
			rng:  squash.Range{From: 1, To: 2},
			want: []string{"opt", "x1"},
		},
		{
			name: "hard links spanning the range",
			layers: []*fixtures.Layer{
				base(),
				fixtures.NewLayer().File("bin/tool", bytesOf("T", 300)).Hardlink("bin/alias", "bin/tool").Hardlink("shared3", "shared"),
				fixtures.NewLayer().Hardlink("bin/alias2", "bin/tool").Whiteout("bin/tool"),
				fixtures.NewLayer().Hardlink("up", "shared2"),
			},
			rng:  squash.Range{From: 1, To: 2},
			want: []string{"bin/alias", "bin/alias2 -> bin/alias", "shared3 -> shared"},
		},
		{
			name: "link whose lower target the range deletes",
			layers: []*fixtures.Layer{
				base(),
				fixtures.NewLayer().Hardlink("keep2", "etc/keep"),
				fixtures.NewLayer().Whiteout("etc/keep"),
			},
			rng:  squash.Range{From: 1, To: 2},
			want: []string{"keep2 -> etc/keep", "etc/.wh.keep"},
		},
		{
			name: "symlink loops and devices",
			layers: []*fixtures.Layer{
				base(),
				fixtures.NewLayer().Symlink("loop1", "loop2").Symlink("loop2", "loop1").Symlink("opt/app/self", "self").FIFO("fifo").CharDevice("dev/null", 1, 3),
				fixtures.NewLayer().Symlink("loop1", "/loop1", fixtures.Xattr("user.k", "v")).BlockDevice("dev/sda", 8, 0, fixtures.Owner(0, 6)),
			},
			rng:  squash.Range{From: 1, To: 2},
			want: []string{"loop1", "loop2", "opt/app/self", "fifo", "dev/null", "dev/sda"},
		},
		{
			name: "attributes and xattrs kept, parents with upper attributes",
			layers: []*fixtures.Layer{
				base(),
				fixtures.NewLayer().Dir("etc", fixtures.Mode(0o750), fixtures.Owner(3, 4)).File("etc/conf", []byte("c"), fixtures.Mode(0o4755), fixtures.Xattr("security.capability", "\x01\x02")),
				fixtures.NewLayer().File("var/y", []byte("y"), fixtures.Owner(1000, 1000)),
			},
			rng:  squash.Range{From: 1, To: 2},
			want: []string{"etc", "etc/conf", "var", "var/y"},
		},
		{
			name: "range at the top that deletes a whole lower subtree",
			layers: []*fixtures.Layer{
				base(),
				fixtures.NewLayer().File("opt/app/d", []byte("d")),
				fixtures.NewLayer().Whiteout("opt"),
			},
			rng:     squash.Range{From: 1, To: 2},
			want:    []string{".wh.opt"},
			wantNot: []string{"opt/app/d", "opt/app/.wh.a"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ref := stack(t, tc.layers...)
			r := fix(t, ref, squash.Options{Mode: squash.SquashRanges, Ranges: []squash.Range{tc.rng}, BaseLayers: 1}, squash.Target{Kind: squash.OutputLayout})
			names := layerEntries(t, r.out, 1)
			for _, w := range tc.want {
				if !slices.Contains(names, w) {
					t.Errorf("merged layer lacks %q; has %q", w, names)
				}
			}
			for _, w := range tc.wantNot {
				if slices.Contains(names, w) {
					t.Errorf("merged layer has %q; has %q", w, names)
				}
			}
			if got, want := len(r.outcome.Results[0].Layers), len(tc.layers)-(tc.rng.To-tc.rng.From); got != want {
				t.Errorf("%d layers, want %d", got, want)
			}
		})
	}
}
