package analyze_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/layerlint/layerlint/analyze"
)

// hostilePieces are what an attacker would put in a name or a history
// entry: terminal and runner controls, bidi overrides, invalid UTF-8.
var hostilePieces = []string{
	"\n", "\r", "::error::forged", "##[error]x", "\x1b[31m", "\x1b]0;t\a", "\x00", "\x7f", "\u009b", "\x9b",
	"\u202e", "\u2066", "\u200e", "\u061c", "\u2028", "\ufeff", "\t", " ", "é", "\xff", "\xfe\xfe", "%", "|", "`",
}

func hostile(r *rand.Rand) string {
	var b strings.Builder
	b.WriteString("x")
	for range r.IntN(6) {
		if r.IntN(3) == 0 {
			b.WriteByte(byte(r.IntN(256)))
		} else {
			b.WriteString(hostilePieces[r.IntN(len(hostilePieces))])
		}
	}
	return b.String()
}

func hostileReport(s func() string) *analyze.Report {
	r := &analyze.Report{}
	r.Image = analyze.ImageInfo{Reference: s(), Name: s(), Platform: s(), ManifestDigest: s(), Format: "oci"}
	r.Image.Base.Name = s()
	r.Layers = []analyze.LayerInfo{
		{Index: 0, Analyzed: true, CreatedBy: s()},
		{Index: 1, Analyzed: false, NotAnalyzed: s(), CreatedBy: s()},
	}
	r.TopWaste = []analyze.WasteGroup{{Path: s(), Layers: []int{0}, HiddenBy: 1, Cause: "overwritten", Files: 1, Bytes: 5}}
	r.Waste = []analyze.WasteItem{{Path: s(), By: s(), Cause: "overwritten"}}
	return r
}

// TestHostileReportStrings: random byte strings as every image-controlled
// field of the analyze report (reference, name, platform, created_by,
// paths) never put a control, C1 or bidi character in the text or JSON
// output, never add a line, and the JSON stays valid.
func TestHostileReportStrings(t *testing.T) {
	t.Parallel()
	lines := func(r *analyze.Report) int {
		var b bytes.Buffer
		if err := analyze.WriteText(&b, r, analyze.TextOptions{Top: 5}); err != nil {
			t.Fatal(err)
		}
		return strings.Count(b.String(), "\n")
	}
	want := lines(hostileReport(func() string { return "x" }))
	rng := rand.New(rand.NewPCG(3, 2026))
	for i := range 2000 {
		rep := hostileReport(func() string { return hostile(rng) })
		var text, js bytes.Buffer
		if err := analyze.WriteText(&text, rep, analyze.TextOptions{Top: 5}); err != nil {
			t.Fatal(err)
		}
		if err := analyze.WriteJSON(&js, rep); err != nil {
			t.Fatal(err)
		}
		if got := strings.Count(text.String(), "\n"); got != want {
			t.Fatalf("case %d: %d lines, a harmless report %d:\n%s", i, got, want, text.String())
		}
		for name, out := range map[string]string{"text": text.String(), "json": js.String()} {
			if !utf8.ValidString(out) {
				t.Fatalf("case %d: %s: not valid UTF-8", i, name)
			}
			for _, r := range out {
				if r < 0x20 && r != '\n' || r == 0x7f || r >= 0x80 && r < 0xa0 || unicode.Is(unicode.Cf, r) || r == 0x2028 {
					t.Fatalf("case %d: %s: %U in the output:\n%s", i, name, r, out)
				}
			}
			if strings.Contains(out, "##[") {
				t.Fatalf("case %d: %s: a runner command:\n%s", i, name, out)
			}
			for l := range strings.SplitSeq(out, "\n") {
				if strings.HasPrefix(strings.TrimSpace(l), "::") {
					t.Fatalf("case %d: %s: a workflow command line: %s", i, name, l)
				}
			}
		}
		if !json.Valid(js.Bytes()) {
			t.Fatalf("case %d: invalid JSON", i)
		}
	}
}
