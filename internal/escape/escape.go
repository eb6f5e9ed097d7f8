// Package escape makes strings that come from an image safe for each place
// layerlint writes them. Every byte of an image (file names, link targets,
// created_by, annotations, tag names) is chosen by whoever built it, and
// layerlint's output goes to terminals, CI logs that execute workflow
// commands, pull-request comments that render Markdown and HTML, XML test
// reports and JSON read by other tools. Each of those contexts has its own
// metacharacters, so there is one function per context, all here, and
// every writer calls the one for its context on every image-derived string
// (docs/security.md, "Output").
//
// The contexts:
//
//	Text            terminal, CI log, plain-text reports and error messages
//	GitHubData      the message of a GitHub Actions workflow command
//	GitHubProperty  a property value (file=, title=) of a workflow command
//	Markdown        inline text in Markdown (a table cell, a paragraph)
//	MarkdownCode    a complete inline code span, backticks included
//	XML             character data or an attribute written by encoding/xml
//	WriteJSON       any value encoded as JSON (also SARIF)
//
// A new output format picks the context it renders into, or adds one here
// with its tests; it never escapes on its own.
package escape

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text returns s unchanged when it is valid UTF-8 of printable characters
// (letters, marks, numbers, punctuation, symbols, spaces), and otherwise
// its Go-quoted form without the surrounding quotes: control characters
// (C0, DEL, C1), format characters (the bidi controls U+202A-U+202E,
// U+2066-U+2069, U+200E, U+200F, U+061C, and the rest of Unicode's Cf),
// line and paragraph separators, unassigned code points and invalid bytes
// become \x1b, \n, \u202e, \xff and the like. The result is one line that
// cannot drive a terminal, reorder what a reader sees, or start a line of
// its own in a CI log.
//
// One sequence of printable characters is changed too: "##[" becomes
// "##\x5b", because a GitHub Actions runner executes a legacy workflow
// command (##[error], ##[add-mask]) wherever it appears in a log line.
func Text(s string) string {
	if !isPrintable(s) {
		// QuoteToGraphic escapes exactly what isPrintable refuses: it
		// keeps letters, marks, numbers, punctuation, symbols and graphic
		// spaces.
		q := strconv.QuoteToGraphic(s)
		s = q[1 : len(q)-1]
	}
	if strings.Contains(s, legacyCommand) {
		s = strings.ReplaceAll(s, legacyCommand, `##\x5b`)
	}
	return s
}

// legacyCommand starts a runner command anywhere in a line
// (actions/runner ActionCommand.TryParse).
const legacyCommand = "##["

func isPrintable(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return false
		}
		if !strconv.IsPrint(r) && !unicode.Is(unicode.Zs, r) {
			return false
		}
		i += n
	}
	return true
}

var ghDataReplacer = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")

// GitHubData returns s as the message of a workflow command (::error
// ...::MESSAGE): Text first, so that the runner's log shows no control
// character, then the runner's own escaping of %, CR and LF
// (actions/toolkit escapeData). A message of several lines is
// GitHubLines.
func GitHubData(s string) string { return ghDataReplacer.Replace(Text(s)) }

// GitHubLines returns a workflow command message of several lines: each
// escaped by GitHubData, joined by an escaped line feed that the runner
// turns back into a line break inside the annotation.
func GitHubLines(lines ...string) string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = GitHubData(l)
	}
	return strings.Join(out, "%0A")
}

var ghPropertyReplacer = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")

// GitHubProperty returns s as a property value of a workflow command
// (file=VALUE,title=VALUE): Text, then the runner's escaping of %, CR,
// LF, and of : and , which end a property (actions/toolkit
// escapeProperty).
func GitHubProperty(s string) string { return ghPropertyReplacer.Replace(Text(s)) }

// markdownMeta are the characters with a meaning in inline GitHub
// Markdown: backslash escapes, code, emphasis, links and images, raw HTML
// and autolinks, entities, table cells, strikethrough, math, mentions,
// and issue references (emoji shortcodes, :name:, are left: they only
// show a picture). A backslash before any ASCII punctuation is
// that character, literally, in CommonMark.
const markdownMeta = "\\`*_[]<>&|~$@#!"

// Markdown returns s as inline Markdown text that renders as s itself:
// Text first (one line, no control character), then a backslash before
// every Markdown or HTML metacharacter, so that no emphasis, link, raw
// HTML tag, entity, table cell break, mention or code span comes from s.
func Markdown(s string) string {
	s = Text(s)
	if !strings.ContainsAny(s, markdownMeta) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(markdownMeta, s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// MarkdownCode returns s as a complete inline code span that shows s
// verbatim: Text first, the pipe escaped (GitHub splits table cells on it
// even inside code), and a run of backticks longer than any inside s as
// the fence, with spaces so that a backtick at either end stays inside.
// Nothing in a code span is Markdown or HTML, and GitHub does not link
// mentions or references there.
func MarkdownCode(s string) string {
	if s == "" {
		return "` `"
	}
	s = strings.ReplaceAll(Text(s), "|", `\|`)
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	if longest == 0 && s != "" && s[0] != ' ' && s[len(s)-1] != ' ' {
		return "`" + s + "`"
	}
	fence := strings.Repeat("`", longest+1)
	return fence + " " + s + " " + fence
}

// XML returns s for encoding/xml, which escapes <, >, &, quotes and line
// breaks itself but turns the characters XML 1.0 forbids (most C0
// controls, U+FFFE, U+FFFF, surrogates, invalid bytes) into U+FFFD and
// keeps C1 controls and bidi controls raw. Text first shows all of them
// escaped, the same way as the text output.
func XML(s string) string { return Text(s) }
