package format_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/rules"
	"github.com/layerlint/layerlint/rules/format"
	"github.com/layerlint/layerlint/rules/gate"
)

// pieces are what an attacker would put in a name: terminal and runner
// controls, bidi overrides, Markdown and HTML, XML breakers, invalid
// UTF-8, separators of every format.
var pieces = []string{
	"\n", "\r", "\r\n", "::error::forged", "::warning file=x::", "##[error]forged", "##[add-mask]x",
	"\x1b[31m", "\x1b]0;title\a", "\x07", "\x00", "\x7f", "\xc2\x9b", "\u009b", "\x9b", "\u0085",
	"\u202e", "\u202a", "\u2066", "\u2069", "\u200e", "\u200f", "\u061c", "\u2028", "\u2029", "\ufeff",
	"%", "%0A", ":", ",", "|", "`", "``", "*", "_", "[x](javascript:1)", "<img src=x onerror=1>", "</td>",
	"&amp;", "&#10;", "]]>", "<![CDATA[", "\"", "'", "\\", "@user", "#1", "$x$", "~~", "\t", " ", "é", "\xff", "\xfe\xfe",
	"\xed\xa0\x80", "\uffff", "\U0001f600",
}

// hostileString is never empty: an empty field is left out of some
// formats, and the test compares line counts with a harmless result.
func hostileString(r *rand.Rand) string {
	var b strings.Builder
	b.WriteString("x")
	for range r.IntN(6) {
		if r.IntN(3) == 0 {
			for range 1 + r.IntN(4) {
				b.WriteByte(byte(r.IntN(256)))
			}
		} else {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
	}
	return b.String()
}

// hostileResult is a lint result with one failing finding whose path,
// created_by, image name and Dockerfile name are the given strings, and
// whose message and fix quote the path as the rules do.
func hostileResult(path, createdBy, image, dockerfile string) *gate.Result {
	f := gate.Finding{
		Finding: rules.Finding{
			Rule: "LL001", Severity: rules.Warning, Layer: 0, Path: path, Bytes: 5, CreatedBy: createdBy,
			Message: "/" + path + " (5 bytes) from layer 0 is overwritten by layer 1; the old version still ships",
			Fix:     "delete /" + path + " in the layer that adds it",
		},
		Name: "overwritten-files", Failing: true, Fingerprint: "0123456789abcdef",
		Location: &gate.Location{Dockerfile: dockerfile, Line: 3},
	}
	rep := &analyze.Report{}
	rep.Image.Reference = image
	rep.Image.Name = createdBy
	return &gate.Result{
		Report:   rep,
		Findings: []gate.Finding{f},
		Rules: []gate.RuleResult{{
			ID: "LL001", Name: "overwritten-files", Severity: rules.Warning, DefaultSeverity: rules.Warning,
			Summary: "overwritten", Status: gate.Enabled, Findings: 1, Failing: 1,
		}},
		Summary: gate.Summary{Result: gate.Fail, FailOn: gate.FailOnWarning, Counts: gate.Counts{Failing: 1, Warnings: 1, Findings: 1}},
	}
}

// TestHostileStrings feeds random byte strings, built from the pieces an
// attacker would use, as a file name, a created_by, an image name and a
// Dockerfile name through every format, and checks each output by that
// format's rules: valid UTF-8 (and XML, JSON), no control, C1 or bidi
// character, no line a GitHub runner would execute except the format's own
// annotations, and the finding yields exactly the lines a harmless one
// does.
func TestHostileStrings(t *testing.T) {
	t.Parallel()
	n := 3000
	if testing.Short() {
		n = 300
	}
	benign := map[format.Format]int{}
	for _, f := range format.Formats() {
		benign[f] = strings.Count(render(t, f, hostileResult("a", "b", "c", "d")), "\n")
	}
	r := rand.New(rand.NewPCG(9, 2026))
	for i := range n {
		path, cb, img, df := hostileString(r), hostileString(r), hostileString(r), hostileString(r)
		res := hostileResult(path, cb, img, df)
		for _, f := range format.Formats() {
			out := render(t, f, res)
			if err := checkHostile(f, out, path, benign[f]); err != nil {
				t.Fatalf("case %d, %s, path %q created_by %q image %q dockerfile %q: %v\n%s", i, f, path, cb, img, df, err, out)
			}
		}
	}
}

func render(t *testing.T, f format.Format, r *gate.Result) string {
	t.Helper()
	var b bytes.Buffer
	if err := format.Write(&b, f, []*gate.Result{r}, format.Options{Version: "test"}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func checkHostile(f format.Format, out, path string, lines int) error {
	if !utf8.ValidString(out) {
		return errors.New("not valid UTF-8")
	}
	for _, r := range out {
		switch {
		case r == '\n':
		case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
			return fmt.Errorf("a control character %U", r)
		case unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r):
			return errors.New("a format or separator character")
		}
	}
	if strings.Contains(out, "##[") {
		return errors.New("a legacy runner command ##[")
	}
	// JSON's layout may follow the values (an empty name is left out);
	// it is checked by parsing instead.
	if got := strings.Count(out, "\n"); got != lines && f != format.JSON && f != format.SARIF {
		return errors.New("the finding takes " + itoa(got) + " lines, a harmless one " + itoa(lines))
	}
	for l := range strings.SplitSeq(strings.TrimSuffix(out, "\n"), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "::") {
			continue
		}
		if f != format.GitHub {
			return errors.New("a line the runner executes: " + l)
		}
		if err := checkCommand(l); err != nil {
			return err
		}
	}
	switch f {
	case format.JSON, format.SARIF:
		var v any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			return err
		}
		if want := path; !strings.Contains(out, mustJSON(escapedPath(want))) {
			return errors.New("JSON does not carry the path as " + mustJSON(escapedPath(want)))
		}
	case format.JUnit:
		d := xml.NewDecoder(strings.NewReader(out))
		for {
			_, err := d.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
		}
	case format.Markdown:
		for l := range strings.SplitSeq(out, "\n") {
			if err := checkMarkdownLine(l); err != nil {
				return err
			}
		}
	case format.Text, format.GitHub:
		// Checked above: characters, line counts, workflow commands.
	}
	return nil
}

// checkCommand parses a workflow command as the runner does: ::NAME
// PROPS::MESSAGE, properties separated by commas, each KEY=VALUE with a
// known key.
func checkCommand(l string) error {
	rest := strings.TrimPrefix(l, "::")
	head, _, ok := strings.Cut(rest, "::")
	if !ok {
		return errors.New("a command without a message: " + l)
	}
	name, props, _ := strings.Cut(head, " ")
	switch name {
	case "error", "warning", "notice":
	default:
		return errors.New("an unexpected command: " + name)
	}
	for p := range strings.SplitSeq(props, ",") {
		k, _, _ := strings.Cut(p, "=")
		switch k {
		case "file", "line", "title":
		default:
			return errors.New("an unexpected property: " + p)
		}
	}
	return nil
}

// checkMarkdownLine checks that outside code spans no raw HTML starts and
// a table row has exactly its own cell separators.
func checkMarkdownLine(l string) error {
	pipes := 0
	for i := 0; i < len(l); i++ {
		switch c := l[i]; c {
		case '\\':
			i++ // an escaped character
		case '`':
			n := 0
			for i+n < len(l) && l[i+n] == '`' {
				n++
			}
			end := strings.Index(l[i+n:], strings.Repeat("`", n))
			if end < 0 {
				return errors.New("an unclosed code span")
			}
			span := l[i+n : i+n+end]
			if strings.Contains(strings.ReplaceAll(span, `\|`, ""), "|") {
				return errors.New("a pipe in a code span")
			}
			i += n + end + n - 1
		case '<', '&':
			return errors.New("raw HTML or an entity outside code: " + l[i:])
		case '|':
			pipes++
		}
	}
	if strings.HasPrefix(l, "| ") && pipes != 3 && pipes != 5 && pipes != 7 { // the tables: verdict, findings (6 columns)
		return errors.New("a table row with " + itoa(pipes) + " cell separators")
	}
	return nil
}

func escapedPath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); {
		r, n := utf8.DecodeRuneInString(p[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteString(`\x`)
			b.WriteString(strings.ToLower(hex2(p[i])))
			i++
			continue
		}
		b.WriteString(p[i : i+n])
		i += n
	}
	return b.String()
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&15]})
}

// mustJSON is how escape.WriteJSON writes s: encoding/json with every
// control, format and separator character as \uXXXX.
func mustJSON(s string) string {
	b, _ := json.Marshal(s)
	b = b[1 : len(b)-1]
	b = bytes.ReplaceAll(b, []byte("##["), []byte(`##\u005b`))
	var out strings.Builder
	for _, r := range string(b) {
		if r >= 0x7f && r < 0xa0 || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r) {
			if r > 0xffff {
				r -= 0x10000
				out.WriteString(`\u` + hex4(0xd800+(r>>10)&0x3ff) + `\u` + hex4(0xdc00+r&0x3ff))
				continue
			}
			out.WriteString(`\u` + hex4(r))
			continue
		}
		out.WriteRune(r)
	}
	return out.String()
}

func hex4(r rune) string { return hex2(byte(r>>8)) + hex2(byte(r)) }

func itoa(n int) string {
	if n < 0 {
		return "-" + itoa(-n)
	}
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
