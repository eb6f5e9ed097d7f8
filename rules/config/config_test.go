package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/layerlint/layerlint/rules/config"
)

func TestParseSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"1048576", 1048576, true},
		{"10MB", 10_000_000, true},
		{"20Mb", 20_000_000, true}, // dive's sample: SI, case-insensitive
		{"20mb", 20_000_000, true},
		{"1.5 GB", 1_500_000_000, true},
		{"10MiB", 10 << 20, true},
		{"4KiB", 4096, true},
		{"1k", 1000, true},
		{"512 B", 512, true},
		{"", 0, false},
		{"MB", 0, false},
		{"10 furlongs", 0, false},
		{"-5MB", 0, false},
		{"1e30PB", 0, false},
	}
	for _, tt := range tests {
		got, err := config.ParseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseRatio(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"5%", 0.05, true},
		{"0.05", 0.05, true},
		{"100%", 1, true},
		{"0", 0, true},
		{"90", 0, false}, // a percent without %: refused, not guessed
		{"150%", 0, false},
		{"-1%", 0, false},
		{"NaN", 0, false},
		{"lots", 0, false},
	}
	for _, tt := range tests {
		got, err := config.ParseRatio(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseRatio(%q) = %g, %v; want %g, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestGlob(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"etc/app.conf", "etc/app.conf", true},
		{"/etc/app.conf", "etc/app.conf", true},
		{"etc/*.conf", "etc/app.conf", true},
		{"etc/*.conf", "etc/sub/app.conf", false},
		{"etc/**/*.conf", "etc/sub/deep/app.conf", true},
		{"etc/**/*.conf", "etc/app.conf", true}, // ** matches no segment too
		{"var/lib/apt/**", "var/lib/apt/lists/x", true},
		{"var/lib/apt/**", "var/lib/apt", true},
		{"var/lib/apt/**", "var/lib/aptitude/x", false},
		{"*.log", "var/log/app.log", true}, // no slash: any depth
		{"*.log", "app.log", true},
		{"app.log", "var/log/app.log", true},
		{"**", "anything/at/all", true},
		{"**/tool", "usr/bin/tool", true},
		{"usr/**/bin/**/x", "usr/a/bin/b/c/x", true},
		{"usr/**/bin/**/x", "usr/a/bin/b/c/y", false},
		{"tmp/[ab]*", "tmp/build", true},
		{"etc/app.conf", "", false}, // image-wide findings match no pattern
	}
	for _, tt := range tests {
		g, err := config.CompileGlob(tt.pattern)
		if err != nil {
			t.Fatalf("CompileGlob(%q): %v", tt.pattern, err)
		}
		if got := g.Match(tt.path); got != tt.want {
			t.Errorf("%q matches %q = %v, want %v", tt.pattern, tt.path, got, tt.want)
		}
	}
	for _, bad := range []string{"", "/", "a//b", "etc/[", "  "} {
		if _, err := config.CompileGlob(bad); err == nil {
			t.Errorf("CompileGlob(%q) accepted a bad pattern", bad)
		}
	}
}

const full = `# every key of the configuration
failOn: warning
thresholds:
  maxWastedBytes: {absolute: 10MB, relative: 5%}
  minEfficiency: 90%
  maxUserWastedRatio: 0.1
  maxImageSize: 200MiB
  maxLayers: 30
rules:
  LL004:
    severity: warning
    options: {minBytes: 4KiB}
  layer-hygiene:
    options:
      maxLayers: 40
  LL006: off
  overwritten-files: error
ignore:
  - var/cache/**
  - "*.pyc"
suppressions:
  - rule: LL001
    path: etc/app.conf
    layer: 0
    createdBy: "^ADD "
    reason: the base image ships a default we replace
    expires: 2030-01-31
`

func TestParseFull(t *testing.T) {
	t.Parallel()
	c, err := config.Parse([]byte(full), ".layerlint.yaml")
	if err != nil {
		t.Fatal(err)
	}
	th := c.Thresholds
	if c.FailOn != "warning" || *th.MaxWastedBytes.Absolute != 10_000_000 || *th.MaxWastedBytes.Relative != 0.05 ||
		*th.MinEfficiency != 0.9 || *th.MaxUserWastedRatio != 0.1 || *th.MaxImageSize != 200<<20 || *th.MaxLayers != 30 {
		t.Errorf("thresholds %+v", th)
	}
	if r := c.Rules["LL004"]; r.Severity != "warning" || *r.Options.MinBytes != 4096 || r.Line != 11 {
		t.Errorf("LL004 %+v", r)
	}
	if r := c.Rules["layer-hygiene"]; *r.Options.MaxLayers != 40 || r.Severity != "" {
		t.Errorf("layer-hygiene %+v", r)
	}
	if c.Rules["LL006"].Severity != "off" || c.Rules["LL006"].Line != 16 {
		t.Errorf("LL006 %+v", c.Rules["LL006"])
	}
	if len(c.Ignore) != 2 || !c.Ignore[1].Match("app/x.pyc") {
		t.Errorf("ignore %v", c.Ignore)
	}
	s := c.Suppressions[0]
	if s.Rule != "LL001" || !s.Path.Match("etc/app.conf") || *s.Layer != 0 || !s.CreatedBy.MatchString("ADD rootfs.tar /") ||
		s.Expires.String() != "2030-01-31" || s.Line != 22 {
		t.Errorf("suppression %+v", s)
	}
}

func TestParseShorthand(t *testing.T) {
	t.Parallel()
	c, err := config.Parse([]byte("thresholds:\n  maxWastedBytes: 5MB\n"), "f")
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Thresholds.MaxWastedBytes; *w.Absolute != 5_000_000 || w.Relative != nil {
		t.Errorf("%+v", w)
	}
	for _, empty := range []string{"", "\n", "# nothing\n", "---\n", "~\n"} {
		c, err := config.Parse([]byte(empty), "f")
		if err != nil || c.File != "f" {
			t.Errorf("empty config %q: %+v %v", empty, c, err)
		}
	}
}

// TestParseErrors: every mistake names the file and its line.
func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"unknown top key", "failOn: error\nthreshold:\n  maxLayers: 3\n", "f: line 2: unknown key \"threshold\" in the top level"},
		{"unknown threshold", "thresholds:\n  maxLayer: 3\n", "line 2: unknown key \"maxLayer\" in thresholds"},
		{"unknown in wasted limit", "thresholds:\n  maxWastedBytes:\n    absolut: 3MB\n", "line 3: unknown key \"absolut\" in maxWastedBytes"},
		{"empty wasted limit", "thresholds:\n  maxWastedBytes: {}\n", "line 2: maxWastedBytes: give absolute, relative or both"},
		{"unknown rule key", "rules:\n  LL001:\n    severty: info\n", "line 3: unknown key \"severty\" in a rule setting"},
		{"unknown option", "rules:\n  LL004:\n    options: {minBites: 3}\n", "line 3: unknown key \"minBites\" in a rule setting.options"},
		{"bad severity", "rules:\n  LL001: fatal\n", "line 2: severity \"fatal\""},
		{"unknown suppression key", "suppressions:\n  - rule: LL001\n    reason: x\n    paths: a\n", "line 4: unknown key \"paths\" in a suppression"},
		{"no reason", "suppressions:\n  - rule: LL001\n    path: a\n", "line 2: suppression of LL001: reason is required"},
		{"blank reason", "suppressions:\n  - rule: LL001\n    reason: '  '\n", "reason is required"},
		{"no rule", "suppressions:\n  - reason: x\n", "line 2: suppression: rule is required"},
		{"bad date", "suppressions:\n  - {rule: LL001, reason: x, expires: 31/01/2030}\n", "line 2: date \"31/01/2030\": want YYYY-MM-DD"},
		{"bad regexp", "suppressions:\n  - {rule: LL001, reason: x, createdBy: \"(\"}\n", "line 2: error parsing regexp"},
		{"bad glob", "ignore: ['etc/[']\n", "line 1: path pattern \"etc/[\""},
		{"negative layer", "suppressions:\n  - {rule: LL001, reason: x, layer: -1}\n", "layer -1"},
		{"bad size", "thresholds:\n  maxImageSize: big\n", "line 2: size \"big\""},
		{"bad ratio", "thresholds:\n  minEfficiency: 95\n", "line 2: ratio \"95\" is not between 0 and 1 (write 95% for a percentage)"},
		{"size as mapping", "thresholds:\n  maxImageSize: {a: 1}\n", "line 2: size: want a single value"},
		{"bad failOn", "failOn: sometimes\n", "f: line 1: failOn: \"sometimes\""},
		{"zero maxLayers", "thresholds:\n  maxLayers: 0\n", "maxLayers: 0: want 1 or more"},
		{"not a mapping", "- a\n- b\n", "f: line 1: the configuration must be a mapping"},
		{"type error", "thresholds:\n  maxLayers: many\n", "line 2: cannot unmarshal"},
		{"duplicate key", "failOn: error\nfailOn: info\n", "line 2"},
		{"syntax", "thresholds: [\n", "f: yaml:"},
		{"alias", "a: &x {}\nthresholds: *x\n", "line 1: unknown key \"a\""},
		{"alias use", "thresholds: &x {maxLayers: 3}\nrules:\n  LL001: *x\n", "line 3: rules.LL001: YAML aliases are not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tt.in), "f")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
			if !errors.Is(err, config.ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
		})
	}
}

// TestEveryKeyDocumented walks the configuration types and checks that
// docs/config.md mentions each key, as `key`.
func TestEveryKeyDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type, string)
	walk = func(ty reflect.Type, at string) {
		for ty.Kind() == reflect.Pointer || ty.Kind() == reflect.Slice || ty.Kind() == reflect.Map {
			ty = ty.Elem()
		}
		if ty.Kind() != reflect.Struct || seen[ty] {
			return
		}
		seen[ty] = true
		for f := range ty.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			if !strings.Contains(string(doc), "`"+name+"`") {
				t.Errorf("docs/config.md does not document %s%s", at, name)
			}
			walk(f.Type, at+name+".")
		}
	}
	walk(reflect.TypeFor[config.Config](), "")
	if len(seen) < 5 {
		t.Errorf("walked only %d types", len(seen))
	}
}

func TestFind(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	deep := filepath.Join(root, "a", "b", "c")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(p string) {
		t.Helper()
		if err := os.WriteFile(p, []byte("{}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, dive, err := config.Find(deep)
	if err != nil {
		t.Fatal(err)
	}
	// Above the temp dir there may be anything; only check the tree's own.
	if strings.HasPrefix(cfg, root) || strings.HasPrefix(dive, root) {
		t.Errorf("found %q %q in an empty tree", cfg, dive)
	}
	write(filepath.Join(root, "a", config.FileName))
	write(filepath.Join(root, "a", config.DiveCIFileName))
	write(filepath.Join(root, config.FileName))
	cfg, dive, err = config.Find(deep)
	if err != nil || cfg != filepath.Join(root, "a", config.FileName) || dive != filepath.Join(root, "a", config.DiveCIFileName) {
		t.Errorf("Find = %q %q %v", cfg, dive, err)
	}
	// The nearest directory with either file wins, even if it has one.
	write(filepath.Join(root, "a", "b", config.DiveCIFileName))
	cfg, dive, err = config.Find(deep)
	if err != nil || cfg != "" || dive != filepath.Join(root, "a", "b", config.DiveCIFileName) {
		t.Errorf("Find = %q %q %v", cfg, dive, err)
	}
}

func FuzzConfig(f *testing.F) {
	f.Add([]byte(full))
	f.Add([]byte("thresholds:\n  maxWastedBytes: 5MB\n"))
	f.Add([]byte("rules: {LL001: off}\nignore: ['**/*.log']\n"))
	f.Add([]byte("suppressions:\n  - {rule: LL001, reason: x, expires: 2020-01-01}\n"))
	f.Add([]byte("a: &x {}\nb: *x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := config.Parse(data, "fuzz")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		th := c.Thresholds
		if th.MinEfficiency != nil && (*th.MinEfficiency < 0 || *th.MinEfficiency > 1) {
			t.Fatalf("ratio out of range: %v", *th.MinEfficiency)
		}
		if th.MaxLayers != nil && *th.MaxLayers < 1 {
			t.Fatalf("maxLayers %d accepted", *th.MaxLayers)
		}
		for _, s := range c.Suppressions {
			if strings.TrimSpace(s.Reason) == "" || s.Rule == "" {
				t.Fatalf("suppression without reason or rule accepted: %+v", s)
			}
		}
	})
}
