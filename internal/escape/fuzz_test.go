package escape

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// unsafeOut reports the first rune of s that may drive a terminal, reorder
// what a reader sees or break a line: what no escaped output may hold.
func unsafeOut(s string, newlineOK bool) (rune, bool) {
	for _, r := range s {
		switch {
		case r == '\n' && newlineOK:
		case r == utf8.RuneError, r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0,
			unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp):
			return r, true
		}
	}
	return 0, false
}

// FuzzEscape holds every context's function to its promise on any input:
// Text is one printable line without "##["; the GitHub forms have no raw
// line break and the runner's unescaping gives Text back; a property has
// no raw ":" or ","; a code span is one line inside its fences; JSON and
// the page's script JSON hold no unsafe rune (nor "<" in the script) and
// decode to the string (invalid bytes aside).
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "a", "\x1b[31m\n::error::x\r", "\u202e\u2066##[add-mask]", "\xff\xfe", "`|`", "</script><!--", "%0A%25", "\u2028\u2029\u0085"} {
		f.Add(s)
	}
	unGitHub := strings.NewReplacer("%0D", "\r", "%0A", "\n", "%3A", ":", "%2C", ",", "%25", "%")
	f.Fuzz(func(t *testing.T, s string) {
		txt := Text(s)
		if r, bad := unsafeOut(txt, false); bad {
			t.Fatalf("Text(%q) = %q holds %U", s, txt, r)
		}
		if strings.Contains(txt, "##[") {
			t.Fatalf("Text(%q) = %q holds a runner command", s, txt)
		}
		if utf8.ValidString(s) && isPrintable(s) && !strings.Contains(s, "##[") && txt != s {
			t.Fatalf("Text changed printable %q to %q", s, txt)
		}
		gd := GitHubData(s)
		if strings.ContainsAny(gd, "\r\n") || unGitHub.Replace(gd) != txt {
			t.Fatalf("GitHubData(%q) = %q", s, gd)
		}
		gp := GitHubProperty(s)
		if strings.ContainsAny(gp, "\r\n:,") || unGitHub.Replace(gp) != txt {
			t.Fatalf("GitHubProperty(%q) = %q", s, gp)
		}
		md := Markdown(s)
		if strings.ContainsAny(md, "\r\n") {
			t.Fatalf("Markdown(%q) = %q", s, md)
		}
		code := MarkdownCode(s)
		if strings.ContainsAny(code, "\r\n") || !strings.HasPrefix(code, "`") || !strings.HasSuffix(code, "`") {
			t.Fatalf("MarkdownCode(%q) = %q", s, code)
		}
		var buf bytes.Buffer
		if err := WriteJSON(&buf, map[string]string{s: s}); err != nil {
			t.Fatal(err)
		}
		if r, bad := unsafeOut(buf.String(), true); bad || strings.Contains(buf.String(), "##[") {
			t.Fatalf("WriteJSON(%q) = %q holds %U", s, buf.String(), r)
		}
		var back map[string]string
		if err := json.Unmarshal(buf.Bytes(), &back); err != nil || len(back) != 1 || utf8.ValidString(s) && back[s] != s {
			t.Fatalf("WriteJSON(%q) = %q decodes to %q (%v)", s, buf.String(), back, err)
		}
		sj, err := ScriptJSON(txt)
		if err != nil {
			t.Fatal(err)
		}
		if r, bad := unsafeOut(string(sj), false); bad || bytes.ContainsAny(sj, "<>&") {
			t.Fatalf("ScriptJSON(%q) = %q holds %U", txt, sj, r)
		}
	})
}
