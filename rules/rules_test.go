package rules_test

import (
	"fmt"
	"maps"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/internal/testsupport/imagetest"
	"github.com/layerlint/layerlint/rules"
)

// facts builds img into a temporary OCI layout, opens it, analyzes it with
// digest checks on and gathers the facts rules read.
func facts(t *testing.T, img *fixtures.Image, opts rules.Options) *rules.Facts {
	t.Helper()
	return rules.NewFacts(imagetest.AnalyzeWith(t, imagetest.Layout(t, img), analyze.Options{}), opts)
}

// content returns n deterministic bytes; different seeds give different
// content.
func content(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

// secretMarker is in the content of every fake secret: no message may
// show it.
const secretMarker = "SECRET-VALUE-4711"

func secret(n int) []byte {
	return append([]byte(secretMarker), content(n-len(secretMarker), 3)...)
}

// want is the part of a finding that tests pin down.
type want struct {
	Layer int
	Path  string
	Bytes int64
}

func (w want) String() string { return fmt.Sprintf("layer %d %q %d bytes", w.Layer, w.Path, w.Bytes) }

// compressedSize as Bytes stands for the compressed size of the layer,
// which depends on the compressor.
const compressedSize = -2

func ruleByID(t *testing.T, id string) rules.Rule {
	t.Helper()
	for _, r := range rules.All() {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no rule %s", id)
	return rules.Rule{}
}

// clean is an image where no rule fires. It holds near-misses of each rule:
// a hard-linked big file (LL004), a zero-byte apt lock (LL005), a
// certificate .pem and an empty .env (LL009), a sticky /tmp and a symlink
// (LL010), small duplicate files (LL004), an rpm database (LL006), a declared
// volume with nothing under it (LL007).
func clean() *fixtures.Image {
	tool := content(4000, 1)
	base := fixtures.NewLayer().
		Dir("bin").Dir("etc").Dir("usr").Dir("usr/bin").Dir("tmp", fixtures.Mode(0o1777)).
		Dir("var").Dir("var/lib").Dir("var/lib/apt").Dir("var/lib/apt/lists").
		Dir("etc/ssl").Dir("etc/ssl/certs").
		File("etc/os-release", []byte("ID=clean\n")).
		File("etc/ssl/certs/ca.pem", content(900, 2)).
		File("usr/bin/tool", tool, fixtures.Mode(0o755)).
		Hardlink("usr/bin/tool-alias", "usr/bin/tool").
		Symlink("bin/tool", "/usr/bin/tool").
		File("var/lib/apt/lists/lock", nil, fixtures.Mode(0o640)).
		File("usr/lib/sysimage/rpm/rpmdb.sqlite", content(500, 3))
	app := fixtures.NewLayer().
		Dir("app").
		File("app/main", content(3000, 5), fixtures.Mode(0o755)).
		File("app/LICENSE", content(200, 9)).
		File("app/vendor-LICENSE", content(200, 9)).
		File("app/.env", nil)
	img := fixtures.NewImage()
	img.Config = ocispec.ImageConfig{Entrypoint: []string{"/app/main"}, Volumes: map[string]struct{}{"/srv/data": {}}}
	img.Add(base, fixtures.CreatedBy("ADD rootfs.tar /"))
	img.Add(app, fixtures.CreatedBy("COPY app/ /app/"))
	return img
}

func TestCleanImageIsSilent(t *testing.T) {
	t.Parallel()
	f := facts(t, clean(), rules.Options{})
	for _, r := range rules.All() {
		t.Run(r.ID, func(t *testing.T) {
			if got := r.Check(f); len(got) != 0 {
				t.Errorf("%s fired on the clean image: %+v", r.ID, got)
			}
		})
	}
}

func TestRulesFire(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rule string
		name string
		img  func() *fixtures.Image
		opts rules.Options
		want []want
	}{
		{
			rule: "LL001", name: "file rewritten with new content",
			img: func() *fixtures.Image {
				return fixtures.NewImage().
					Add(fixtures.NewLayer().Dir("etc").File("etc/app.conf", content(100, 1)).File("etc/empty", nil)).
					Add(fixtures.NewLayer().File("etc/app.conf", content(50, 2)).File("etc/empty", []byte("x")), fixtures.CreatedBy("RUN sed"))
			},
			// etc/empty was empty: overwriting it wastes nothing.
			want: []want{{0, "etc/app.conf", 100}},
		},
		{
			rule: "LL002", name: "deleted file and deleted directory",
			img: func() *fixtures.Image {
				return fixtures.NewImage().
					Add(fixtures.NewLayer().Dir("etc").File("etc/secret.tmp", content(10, 1))).
					Add(fixtures.NewLayer().Dir("tmp").Dir("tmp/build").
						File("tmp/build/a.o", content(300, 2)).File("tmp/build/b.o", content(200, 3)).File("tmp/build/empty", nil)).
					Add(fixtures.NewLayer().Whiteout("tmp/build").Whiteout("etc/secret.tmp"))
			},
			want: []want{{2, "etc/secret.tmp", 10}, {2, "tmp/build", 500}},
		},
		{
			rule: "LL002", name: "opaque directory",
			img: func() *fixtures.Image {
				return fixtures.NewImage().
					Add(fixtures.NewLayer().Dir("app").Dir("app/data").File("app/data/old", content(70, 1))).
					Add(fixtures.NewLayer().Dir("app/data").Opaque("app/data").File("app/data/new", content(5, 2)))
			},
			want: []want{{1, "app/data", 70}},
		},
		{
			rule: "LL002", name: "directory replaced by a file",
			img: func() *fixtures.Image {
				return fixtures.NewImage().
					Add(fixtures.NewLayer().Dir("app").Dir("app/lib").File("app/lib/x", content(40, 1))).
					Add(fixtures.NewLayer().File("app/lib", content(3, 2)))
			},
			want: []want{{1, "app/lib", 40}},
		},
		{
			rule: "LL003", name: "chmod copies the file",
			img: func() *fixtures.Image {
				tool := content(1200, 1)
				return fixtures.NewImage().
					Add(fixtures.NewLayer().Dir("usr").Dir("usr/bin").File("usr/bin/tool", tool, fixtures.Mode(0o755))).
					Add(fixtures.NewLayer().File("usr/bin/tool", tool, fixtures.Mode(0o700)), fixtures.CreatedBy("RUN chmod 0700 /usr/bin/tool"))
			},
			want: []want{{1, "usr/bin/tool", 1200}},
		},
		{
			rule: "LL004", name: "copied binary",
			img: func() *fixtures.Image {
				tool := content(2000, 1)
				return fixtures.NewImage().
					Add(fixtures.NewLayer().Dir("usr").File("usr/tool", tool).File("usr/small", content(100, 4))).
					Add(fixtures.NewLayer().Dir("app").File("app/tool-copy", tool).File("app/small", content(100, 4)).
						File("app/third", tool).Hardlink("app/third-link", "app/third"))
			},
			// The small copies are under the threshold; the hard link
			// shares its inode with app/third.
			want: []want{{1, "app/third", 2000}, {1, "app/tool-copy", 2000}},
		},
		{
			rule: "LL004", name: "threshold option",
			img: func() *fixtures.Image {
				return fixtures.NewImage().
					Add(fixtures.NewLayer().File("a", content(100, 4)).File("b", content(100, 4)))
			},
			opts: rules.Options{DuplicateMinBytes: 100},
			want: []want{{0, "b", 100}},
		},
		{
			rule: "LL005", name: "apt lists, pip cache and bytecode",
			img: func() *fixtures.Image {
				return fixtures.NewImage().
					Add(fixtures.NewLayer().File("var/lib/apt/lists/lock", nil).File("var/lib/apt/lists/main_Packages", content(900, 1))).
					Add(fixtures.NewLayer().
						File("var/lib/apt/lists/InRelease", content(100, 2)).
						File("root/.cache/pip/http/ab/cd", content(300, 3)).
						File("usr/lib/python3/site-packages/foo/__pycache__/x.cpython-312.pyc", content(50, 4)).
						File("usr/lib/python3/site-packages/foo/x.py", content(60, 5)).
						File("var/cache/apt/archives/lock", content(1, 6)).
						File("var/cache/apt/archives/curl.deb", content(700, 7)))
			},
			want: []want{
				{1, "root/.cache/pip", 300},
				{1, "site-packages/**/__pycache__", 50},
				{1, "var/cache/apt/archives", 700},
				{1, "var/lib/apt/lists", 1000},
			},
		},
		{
			// What apt-get install leaves without apt-get clean: besides
			// the .deb files, its binary caches (pkgcache.bin and
			// srcpkgcache.bin, 39 MB each on bookworm), which the archives
			// kind does not match.
			rule: "LL005", name: "apt binary caches",
			img: func() *fixtures.Image {
				return fixtures.NewImage().
					Add(fixtures.NewLayer().
						File("var/cache/apt/pkgcache.bin", content(400, 1)).
						File("var/cache/apt/srcpkgcache.bin", content(390, 2)).
						File("var/cache/apt/archives/partial/x.deb", content(5, 3)).
						File("var/cache/apt/other/y.bin", content(7, 4)))
			},
			want: []want{
				{0, "var/cache/apt", 790},
				{0, "var/cache/apt/archives", 5},
			},
		},
		{
			rule: "LL006", name: "logs, database and tmp",
			img: func() *fixtures.Image {
				img := fixtures.NewImage().
					Add(fixtures.NewLayer().File("var/log/app.log", content(60, 1)).File("var/log/dpkg.log", content(500, 2))).
					Add(fixtures.NewLayer().
						File("var/lib/postgresql/15/main/base/1", content(800, 3)).
						File("app/state.db", content(40, 4)).
						File("tmp/x", content(10, 5)).
						File("srv/logs/huge.log", content(5000, 6)))
				// srv is a volume: its log is LL007's, not LL006's.
				img.Config.Volumes = map[string]struct{}{"/srv": {}}
				return img
			},
			want: []want{
				{0, "var/log/dpkg.log", 500},
				{1, "app/state.db", 40},
				{1, "tmp/x", 10},
				{1, "var/lib/postgresql/15/main/base/1", 800},
			},
		},
		{
			rule: "LL007", name: "files under volumes",
			img: func() *fixtures.Image {
				img := fixtures.NewImage().
					Add(fixtures.NewLayer().Dir("app").Dir("app/data").File("app/data/a", content(10, 1)).Dir("empty")).
					Add(fixtures.NewLayer().File("app/data/b", content(20, 2)).File("app/data/nested/c", content(5, 3)))
				img.Config.Volumes = map[string]struct{}{"/app/data": {}, "/app/data/nested/": {}, "/empty": {}, "/missing": {}}
				return img
			},
			want: []want{{1, "app/data", 30}, {1, "app/data/nested", 5}},
		},
		{
			rule: "LL009", name: "secrets by name, also deleted ones",
			img: func() *fixtures.Image {
				return fixtures.NewImage().
					Add(fixtures.NewLayer().
						File("root/.ssh/id_rsa", secret(100)).
						File("root/.ssh/id_rsa.pub", content(80, 1)).
						File("etc/ssl/certs/ca.pem", content(50, 2)).
						File("etc/ssl/private/server-key.pem", secret(60)).
						File("app/.env", secret(20)).
						File("app/empty/.env", nil)).
					Add(fixtures.NewLayer().
						Whiteout("root/.ssh/id_rsa").
						File("home/u/.aws/credentials", secret(30)).
						File("home/u/.docker/config.json", secret(40)))
			},
			want: []want{
				{0, "app/.env", 20},
				{0, "etc/ssl/private/server-key.pem", 60},
				{0, "root/.ssh/id_rsa", 100},
				{1, "home/u/.aws/credentials", 30},
				{1, "home/u/.docker/config.json", 40},
			},
		},
		{
			rule: "LL010", name: "setuid, setgid, world-writable",
			img: func() *fixtures.Image {
				return fixtures.NewImage().
					Add(fixtures.NewLayer().Dir("usr").Dir("usr/bin").
						File("usr/bin/tool-su", content(10, 1), fixtures.Mode(0o4755)).
						File("usr/bin/tool-wall", content(10, 2), fixtures.Mode(0o2755)).
						Dir("tmp", fixtures.Mode(0o1777)).
						Symlink("usr/bin/link", "tool-su")).
					Add(fixtures.NewLayer().Dir("app", fixtures.Mode(0o777)).
						File("app/w", content(10, 3), fixtures.Mode(0o666)).
						Dir("app/group", fixtures.Mode(0o2775)))
			},
			want: []want{{0, "usr/bin/tool-su", 0}, {0, "usr/bin/tool-wall", 0}, {1, "app", 0}, {1, "app/w", 0}},
		},
		{
			rule: "LL011", name: "empty layer and whiteout of nothing",
			img: func() *fixtures.Image {
				return fixtures.NewImage().
					Add(fixtures.NewLayer().File("a", content(10, 1))).
					Add(fixtures.NewLayer(), fixtures.CreatedBy("ENV X=1")).
					Add(fixtures.NewLayer().Whiteout("never/there"))
			},
			want: []want{{1, "", compressedSize}, {2, "never/there", 0}},
		},
		{
			rule: "LL011", name: "too many layers",
			img: func() *fixtures.Image {
				img := fixtures.NewImage()
				for i := range 4 {
					img.Add(fixtures.NewLayer().File(fmt.Sprintf("f%d", i), content(1, byte(i))))
				}
				return img
			},
			opts: rules.Options{MaxLayers: 3},
			want: []want{{rules.ImageWide, "", 0}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.rule+"/"+tt.name, func(t *testing.T) {
			r := ruleByID(t, tt.rule)
			f := facts(t, tt.img(), tt.opts)
			got := r.Check(f)
			var gotW []want
			for _, g := range got {
				gotW = append(gotW, want{g.Layer, g.Path, g.Bytes})
				checkFinding(t, r, g)
			}
			wantW := make([]want, len(tt.want))
			for i, w := range tt.want {
				if w.Bytes == compressedSize {
					w.Bytes = f.Report.Layers[w.Layer].CompressedSize
				}
				wantW[i] = w
			}
			if fmt.Sprint(gotW) != fmt.Sprint(wantW) {
				t.Errorf("findings:\n got %v\nwant %v", gotW, wantW)
				for _, g := range got {
					t.Logf("%+v", g)
				}
			}
		})
	}
}

// checkFinding checks what every finding must have.
func checkFinding(t *testing.T, r rules.Rule, g rules.Finding) {
	t.Helper()
	if g.Rule != r.ID || g.Severity != r.Severity {
		t.Errorf("finding %+v: rule %s severity %s, want %s %s", g, g.Rule, g.Severity, r.ID, r.Severity)
	}
	if g.Message == "" || g.Fix == "" {
		t.Errorf("finding %+v: empty message or fix", g)
	}
	if strings.Contains(g.Message, secretMarker) || strings.Contains(g.Fix, secretMarker) {
		t.Errorf("finding %+v quotes file content", g)
	}
}

// TestSample pins what the rules say about the repository's sample image,
// which holds one case of each kind of waste (see fixtures.Sample).
func TestSample(t *testing.T) {
	t.Parallel()
	f := facts(t, fixtures.Sample(), rules.Options{})
	var got []string
	for _, g := range rules.Run(f) {
		got = append(got, fmt.Sprintf("%s %d %s %d", g.Rule, g.Layer, g.Path, g.Bytes))
	}
	want := []string{
		"LL001 0 etc/app.conf 26",
		"LL002 1 etc/secret.tmp 18",
		"LL002 1 tmp/build 414",
		"LL005 1 var/lib/apt/lists 1300",
		"LL006 1 var/log/app.log 56",
		"LL003 2 usr/bin/tool 1200",
		// The chmod copy in layer 2 is newer than app/tool-copy of layer 1,
		// so it is the one reported as the duplicate.
		"LL004 2 usr/bin/tool 1200",
		"LL002 3 app/data 314",
		"LL007 3 app/data 14",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestDeletedFromBase checks that LL002 does not advise deleting earlier
// when the bytes come from the base image, which the user cannot change.
func TestDeletedFromBase(t *testing.T) {
	t.Parallel()
	img := fixtures.NewImage().
		Add(fixtures.NewLayer().File("usr/share/doc/big", content(100, 1)).File("app/tmp", content(10, 2))).
		Add(fixtures.NewLayer().Whiteout("usr/share/doc").Whiteout("app/tmp"))
	got := ruleByID(t, "LL002").Check(facts(t, img, rules.Options{}))
	if len(got) != 2 {
		t.Fatalf("got %+v, want 2 findings", got)
	}
	for _, g := range got {
		if !strings.Contains(g.Fix, "base image") {
			t.Errorf("%s: fix %q does not name the base image", g.Path, g.Fix)
		}
	}
	// Above the base, the advice is to delete in the creating step.
	img = fixtures.NewImage().
		Add(fixtures.NewLayer().File("etc/os-release", []byte("ID=x\n"))).
		Add(fixtures.NewLayer().File("app/tmp", content(10, 2))).
		Add(fixtures.NewLayer().Whiteout("app/tmp"))
	got = ruleByID(t, "LL002").Check(facts(t, img, rules.Options{}))
	if len(got) != 1 || !strings.Contains(got[0].Fix, "same step") {
		t.Errorf("got %+v, want one finding advising the same step", got)
	}
}

func TestAllIsInIDOrderAndComplete(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	prev := ""
	for _, r := range rules.All() {
		if r.ID <= prev {
			t.Errorf("%s listed after %s", r.ID, prev)
		}
		prev = r.ID
		if seen[r.Name] {
			t.Errorf("%s: name %q used twice", r.ID, r.Name)
		}
		seen[r.Name] = true
		if r.Name == "" || r.Summary == "" || r.Doc == "" || r.Check == nil || strings.Contains(r.Summary, "\n") {
			t.Errorf("%s: incomplete metadata", r.ID)
		}
		switch r.Severity {
		case rules.Error, rules.Warning, rules.Info:
		default:
			t.Errorf("%s: severity %v", r.ID, r.Severity)
		}
	}
}

func TestDocPage(t *testing.T) {
	t.Parallel()
	r := ruleByID(t, "LL003")
	page := string(rules.DocPage(r))
	for _, s := range []string{"# LL003: metadata-only-copy", "Severity: **warning**", r.Summary, r.Doc, "COPY --chmod"} {
		if !strings.Contains(page, s) {
			t.Errorf("page lacks %q:\n%s", s, page)
		}
	}
}

func TestSeverityText(t *testing.T) {
	t.Parallel()
	for s, w := range map[rules.Severity]string{rules.Error: "error", rules.Warning: "warning", rules.Info: "info", 0: "severity(0)"} {
		b, err := s.MarshalText()
		if err != nil || string(b) != w {
			t.Errorf("%d: %q %v, want %q", s, b, err, w)
		}
	}
}

// TestStandardSetidInBase: a distribution's own set-id programs in the base
// image are info, the same programs added above it stay warnings, and a
// world-writable one stays a warning wherever it is.
func TestStandardSetidInBase(t *testing.T) {
	t.Parallel()
	img := fixtures.NewImage().
		Add(fixtures.NewLayer().Dir("usr").Dir("usr/bin").Dir("bin").
			File("usr/bin/passwd", content(10, 1), fixtures.Mode(0o4755)).
			File("bin/mount", content(10, 2), fixtures.Mode(0o4755)).
			File("usr/bin/chage", content(10, 3), fixtures.Mode(0o4757))).
		Add(fixtures.NewLayer().Dir("usr").Dir("usr/bin").
			File("usr/bin/su", content(10, 4), fixtures.Mode(0o4755)))
	got := map[string]rules.Severity{}
	for _, f := range ruleByID(t, "LL010").Check(facts(t, img, rules.Options{})) {
		got[f.Path] = f.Severity
	}
	want := map[string]rules.Severity{
		"usr/bin/passwd": rules.Info, "bin/mount": rules.Info,
		"usr/bin/chage": rules.Warning, "usr/bin/su": rules.Warning,
	}
	if !maps.Equal(got, want) {
		t.Errorf("severities %v, want %v", got, want)
	}
}
