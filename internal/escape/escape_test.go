package escape

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"usr/bin/tool", "usr/bin/tool"},
		{"café – ünïcode", "café – ünïcode"},
		{"a b\u00a0c", "a b\u00a0c"}, // graphic spaces are harmless
		{"\x1b[31mred", `\x1b[31mred`},
		{"bell\a", `bell\a`},
		{"line\n::error::x", `line\n::error::x`},
		{"cr\rover", `cr\rover`},
		{"tab\t", `tab\t`},
		{"del\x7f", `del\x7f`},
		{"c1\u009b31m", `c1\u009b31m`},
		{"rlo\u202eexe.txt", `rlo\u202eexe.txt`},
		{"lri\u2066x\u2069", `lri\u2066x\u2069`},
		{"lrm\u200e\u200f\u061c", `lrm\u200e\u200f\u061c`},
		{"ls\u2028ps\u2029", `ls\u2028ps\u2029`},
		{"bad\xff\xfe", `bad\xff\xfe`},
		{"x ##[add-mask]y", `x ##\x5badd-mask]y`},
		{"quote\"and\\ with \x00", `quote\"and\\ with \x00`},
	} {
		if got := Text(tc.in); got != tc.want {
			t.Errorf("Text(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestGitHub(t *testing.T) {
	t.Parallel()
	if got, want := GitHubData("50% done\n::error::x\r"), `50%25 done\n::error::x\r`; got != want {
		t.Errorf("GitHubData = %q, want %q", got, want)
	}
	if got, want := GitHubLines("a%", "b\nc"), `a%25%0Ab\nc`; got != want {
		t.Errorf("GitHubLines = %q, want %q", got, want)
	}
	if got, want := GitHubProperty("a:b,c%d\n"), `a%3Ab%2Cc%25d\n`; got != want {
		t.Errorf("GitHubProperty = %q, want %q", got, want)
	}
}

func TestMarkdown(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"plain (text).", "plain (text)."},
		{"<img src=x onerror=alert(1)>", `\<img src=x onerror=alert(1)\>`},
		{"a|b*c*_d_`e`[l](u)&amp;~s~$m$@you#1:x:", "a\\|b\\*c\\*\\_d\\_\\`e\\`\\[l\\](u)\\&amp;\\~s\\~\\$m\\$\\@you\\#1:x:"},
		{"nl\n| --- |", `nl\\n\| --- \|`},
	} {
		if got := Markdown(tc.in); got != tc.want {
			t.Errorf("Markdown(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"/usr/bin", "`/usr/bin`"},
		{"", "` `"},
		{"a`b", "`` a`b ``"},
		{"``x`", "``` ``x` ```"},
		{"a|b<c>", "`a\\|b<c>`"},
		{" lead", "`  lead `"},
	} {
		if got := MarkdownCode(tc.in); got != tc.want {
			t.Errorf("MarkdownCode(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

type named string

type inner struct {
	Name   named          `json:"name"`
	Tags   []string       `json:"tags"`
	Props  map[string]any `json:"props"`
	hidden string
}

type Inner = inner

type outer struct {
	*Inner
	List [2]string `json:"list"`
	Ptr  *string   `json:"ptr"`
}

func TestWriteJSON(t *testing.T) {
	t.Parallel()
	p := "ok\xff"
	in := &inner{Name: "n\xfe", Tags: []string{"fine", "bad\xc0"}, Props: map[string]any{"k\xff": "v\x80", "n": 1}, hidden: "\xff"}
	v := outer{Inner: in, List: [2]string{"\u202e", "x"}, Ptr: &p}
	var b bytes.Buffer
	if err := WriteJSON(&b, v); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, bad := range []string{"\ufffd", `\ufffd`, "\u202e", "\x1b"} {
		if strings.Contains(out, bad) {
			t.Errorf("output holds %q:\n%s", bad, out)
		}
	}
	var got map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got["name"] != `n\xfe` || got["ptr"] != `ok\xff` || got["list"].([]any)[0] != "\u202e" ||
		got["tags"].([]any)[1] != `bad\xc0` || got["props"].(map[string]any)[`k\xff`] != `v\x80` {
		t.Errorf("decoded %v", got)
	}
	// The caller's data is untouched.
	if in.Name != "n\xfe" || in.Tags[1] != "bad\xc0" || p != "ok\xff" || in.Props["k\xff"] != "v\x80" {
		t.Error("WriteJSON changed its argument")
	}
}
