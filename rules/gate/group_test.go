package gate_test

import (
	"strings"
	"testing"

	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/rules"
	"github.com/layerlint/layerlint/rules/config"
	"github.com/layerlint/layerlint/rules/gate"
)

// TestInheritedSeverity: findings in the base layer take the configured
// inherited severity; the layers above keep the rule's.
func TestInheritedSeverity(t *testing.T) {
	t.Parallel()
	a := analyzeImage(t, fixtures.Sample()) // layer 0 is the base: LL001 on etc/app.conf is in it
	tests := []struct {
		config string
		want   rules.Severity // of LL001 on etc/app.conf; 0: dropped
	}{
		{"", rules.Info},
		{"inherited: info\n", rules.Info},
		{"inherited: warning\n", rules.Warning},
		{"inherited: rule\nrules: {LL001: error}\n", rules.Error},
		{"inherited: warning\nrules: {LL001: error}\n", rules.Warning},
		{"inherited: off\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.config, func(t *testing.T) {
			r := evaluate(t, a, gate.Options{Config: parseConfig(t, tt.config)})
			f := find(r, "LL001", "etc/app.conf")
			switch {
			case tt.want == 0 && f != nil:
				t.Errorf("finding kept: %+v", f)
			case tt.want != 0 && (f == nil || f.Severity != tt.want || !f.Inherited):
				t.Errorf("finding %+v, want inherited at %s", f, tt.want)
			}
			if f := find(r, "LL003", "usr/bin/tool"); f == nil || f.Inherited || f.Severity != rules.Warning {
				t.Errorf("layer 2 finding %+v, want a warning not inherited", f)
			}
		})
	}
}

func TestInheritedConfigInvalid(t *testing.T) {
	t.Parallel()
	if _, err := config.Parse([]byte("inherited: error\n"), ".layerlint.yaml"); err == nil {
		t.Error("inherited: error accepted")
	}
}

// TestGroups: per-file findings of one rule in one layer group by
// directory, ranked by bytes saved; each group names its largest paths.
func TestGroups(t *testing.T) {
	t.Parallel()
	big := make([]byte, 4000)
	img := fixtures.NewImage().
		Add(fixtures.NewLayer().Dir("base").File("base/x", []byte("x"))).
		Add(fixtures.NewLayer().Dir("usr").Dir("usr/share").Dir("usr/share/doc").
			Dir("usr/share/doc/a").Dir("usr/share/doc/b").Dir("usr/share/doc/c").Dir("opt").
			File("usr/share/doc/a/copyright", big).
			File("usr/share/doc/b/copyright", big).
			File("usr/share/doc/c/copyright", big).
			File("opt/copy", big))
	r := evaluate(t, analyzeImage(t, img), gate.Options{})
	var dup []gate.Group
	for _, g := range r.Groups {
		if g.Rule == "LL004" {
			dup = append(dup, g)
		}
	}
	// opt/copy is the first (lowest path) of the four: the other three are copies.
	if len(dup) != 1 {
		t.Fatalf("LL004 groups %+v, want one", dup)
	}
	g := dup[0]
	if g.Path != "/usr/share/doc/" || g.Findings != 3 || g.Bytes != 12000 || g.Saves != 12000 || g.Layer != 1 {
		t.Errorf("group %+v", g)
	}
	if len(g.Largest) != 3 || g.Largest[0] != "/usr/share/doc/a/copyright" {
		t.Errorf("largest %v", g.Largest)
	}
	for i := 1; i < len(r.Groups); i++ {
		if r.Groups[i-1].Saves < r.Groups[i].Saves {
			t.Errorf("groups not ranked by savings: %d before %d", r.Groups[i-1].Saves, r.Groups[i].Saves)
		}
	}
}

// TestGroupsSplitByAdvice: a step that deletes base-image files and its
// own files in one directory is two problems with two fixes (choose
// another base; delete where created), as a Debian image that runs
// rm -rf /usr/share/locale /usr/share/doc shows: one group would give
// the base's advice for the step's own files.
func TestGroupsSplitByAdvice(t *testing.T) {
	t.Parallel()
	big := make([]byte, 4000)
	img := fixtures.NewImage().
		Add(fixtures.NewLayer().Dir("usr").Dir("usr/share").Dir("usr/share/locale").
			File("usr/share/locale/de.mo", big)).
		Add(fixtures.NewLayer().Dir("usr").Dir("usr/share").Dir("usr/share/doc").
			File("usr/share/doc/python3", big[:3000])).
		Add(fixtures.NewLayer().Dir("usr").Dir("usr/share").
			Whiteout("usr/share/locale").Whiteout("usr/share/doc"))
	r := evaluate(t, analyzeImage(t, img), gate.Options{})
	fixes := map[string]string{}
	for _, g := range r.Groups {
		if g.Rule == "LL002" {
			fixes[g.Path] = g.Fix
		}
	}
	if len(fixes) != 2 || !strings.Contains(fixes["/usr/share/locale"], "base image") ||
		strings.Contains(fixes["/usr/share/doc"], "base image") {
		t.Errorf("LL002 groups by path and fix: %q, want /usr/share/locale (base) and /usr/share/doc apart", fixes)
	}
}
