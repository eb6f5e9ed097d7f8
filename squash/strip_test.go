package squash_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/squash"
)

// TestStripDialect: --strip globs are .layerlint.yaml's (gitignore-style):
// a pattern without "/" matches at any depth, "**" any number of
// segments, a leading "/" is the root; exact paths drop what they name.
func TestStripDialect(t *testing.T) {
	t.Parallel()
	ref := stack(t,
		fixtures.NewLayer().Dir("var").Dir("var/log").File("var/log/a.log", bytesOf("a", 10)).File("top.log", bytesOf("t", 10)),
		fixtures.NewLayer().File("app", []byte("a")).File("var/log/keep.txt", []byte("k")))
	tests := []struct {
		name  string
		opts  squash.Options
		strip []string
	}{
		{"any depth", squash.Options{Strip: []string{"*.log"}}, []string{"top.log", "var/log/a.log"}},
		{"rooted", squash.Options{Strip: []string{"/var/log/*.log"}}, []string{"var/log/a.log"}},
		{"double star", squash.Options{Strip: []string{"var/**/keep.txt"}}, []string{"var/log/keep.txt"}},
		{"exact path", squash.Options{StripPaths: []string{"var/log"}}, []string{"var/log"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Mode, tt.opts.BaseLayers = squash.SquashAll, 0
			r := fix(t, ref, tt.opts, squash.Target{Kind: squash.OutputLayout})
			var got []string
			for _, l := range r.outcome.Results[0].Layers {
				got = append(got, l.Stripped...)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.strip) {
				t.Errorf("stripped %v, want %v", got, tt.strip)
			}
		})
	}
}

// TestStripMatchingNothing: a strip that removes nothing is a mistake the
// plan reports, not a silent no-op.
func TestStripMatchingNothing(t *testing.T) {
	t.Parallel()
	ref := stack(t, fixtures.NewLayer().File("a", nil), fixtures.NewLayer().File("b", nil))
	a := analyzeAll(t, ref, "", 0)[0]
	for _, opts := range []squash.Options{
		{Strip: []string{"nothing/*"}},
		{Strip: []string{"b", "c"}},
		{StripPaths: []string{"c"}},
	} {
		_, err := squash.NewPlan(a, opts)
		var pe *squash.PlanError
		if !errors.Is(err, squash.ErrBadPlan) || !errors.As(err, &pe) || !strings.Contains(err.Error(), "nothing") && !strings.Contains(err.Error(), "not in the image") {
			t.Errorf("%+v: %v, want a PlanError saying it strips nothing", opts, err)
		}
	}
}
