// Package format writes lint results for people and for bots: a terminal
// report, the JSON report, SARIF 2.1.0 for code-scanning services,
// Markdown for pull-request comments, GitHub Actions workflow commands and
// JUnit XML for CI test views. Every writer takes an io.Writer and writes
// the same bytes for the same results, so outputs can be compared and
// cached.
package format

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/internal/escape"
	"github.com/layerlint/layerlint/internal/textfmt"
	"github.com/layerlint/layerlint/rules"
	"github.com/layerlint/layerlint/rules/gate"
)

// Format is an output format.
type Format uint8

// Formats.
const (
	Text Format = iota + 1
	JSON
	SARIF
	Markdown
	GitHub
	JUnit
)

// Formats lists every format, in the order help texts show them.
func Formats() []Format { return []Format{Text, JSON, SARIF, Markdown, GitHub, JUnit} }

func (f Format) String() string {
	switch f {
	case Text:
		return "text"
	case JSON:
		return "json"
	case SARIF:
		return "sarif"
	case Markdown:
		return "markdown"
	case GitHub:
		return "github"
	case JUnit:
		return "junit"
	}
	return "format(" + strconv.Itoa(int(f)) + ")"
}

// Parse reads a format name.
func Parse(s string) (Format, error) { return textfmt.ParseName("format", s, Formats()) }

// Options tune the writers.
type Options struct {
	// Version is layerlint's version, for SARIF's tool.driver.
	Version string
	// Color adds ANSI colours to text output.
	Color bool
	// MaxFindings caps the findings Markdown lists (0: 20).
	MaxFindings int
	// All makes the text report list every finding instead of the groups.
	All bool
	// Top is how many groups the text report details (0: DefaultTop).
	Top int
}

// InformationURI is where SARIF and Markdown send readers.
const InformationURI = "https://github.com/layerlint/layerlint"

// RuleDocURI is the page of a rule in the repository.
func RuleDocURI(id string) string {
	return InformationURI + "/blob/main/docs/rules/" + gate.DocFile(id)
}

// Write writes results in format f. Several results (one per platform)
// are written one after the other, as one JSON array, one SARIF run, one
// JUnit document.
func Write(w io.Writer, f Format, results []*gate.Result, opts Options) error {
	var err error
	switch f {
	case Text:
		err = writeText(w, results, opts)
	case JSON:
		err = writeJSON(w, results)
	case SARIF:
		err = writeSARIF(w, results, opts)
	case Markdown:
		err = writeMarkdown(w, results, opts)
	case GitHub:
		err = writeGitHub(w, results)
	case JUnit:
		err = writeJUnit(w, results)
	default:
		return fmt.Errorf("format %d: unknown", f)
	}
	if err != nil {
		return fmt.Errorf("writing %s output: %w", f, err)
	}
	return nil
}

// imageName is how outputs name the image.
func imageName(r *gate.Result) string {
	if r.Report == nil {
		return "image"
	}
	n := r.Report.Image.Reference
	if r.Report.Image.Name != "" && !strings.Contains(n, r.Report.Image.Name) {
		n += " (" + r.Report.Image.Name + ")"
	}
	return n
}

func displayPath(p string) string {
	if p == "" {
		return ""
	}
	return "/" + p
}

func layerLabel(l int) string {
	if l == rules.ImageWide {
		return "image"
	}
	return "layer " + strconv.Itoa(l)
}

func bytesLabel(n int64) string {
	if n == 0 {
		return ""
	}
	return analyze.Bytes(n)
}

// oneLine returns s on one line, escaped for text (escape.Text, which is
// idempotent, so a context escaper may still be applied), cut to limit
// characters.
func oneLine(s string, limit int) string {
	s = escape.Text(strings.Join(strings.Fields(s), " "))
	if r := []rune(s); len(r) > limit {
		return string(r[:limit-1]) + "…"
	}
	return s
}

func severities() []rules.Severity { return []rules.Severity{rules.Error, rules.Warning, rules.Info} }

// totals is one line of counts, for text and Markdown.
func totals(s gate.Summary) string {
	return fmt.Sprintf("%s, %s, %d info; %d suppressed, %d baselined, %d ignored",
		textfmt.Plural(s.Errors, "error", "errors"), textfmt.Plural(s.Warnings, "warning", "warnings"), s.Info, s.Suppressed, s.Baselined, s.Ignored)
}

// verdictLine says the verdict and why.
func verdictLine(s gate.Summary) string {
	var b strings.Builder
	switch s.Result {
	case gate.Pass:
		b.WriteString("pass")
	case gate.Fail:
		b.WriteString("FAIL")
	}
	fmt.Fprintf(&b, ": %s at or above the failure level (--fail-on %s)", textfmt.Plural(s.Failing, "finding", "findings"), s.FailOn)
	if s.DiveOnly {
		b.WriteString("; only the dive rules decide (a .dive-ci without .layerlint.yaml)")
	}
	return b.String()
}

func itoa(n int) string { return strconv.Itoa(n) }

// groupsOf returns the result's groups, grouping its findings when the
// result was made without the gate's Evaluate.
func groupsOf(r *gate.Result) []gate.Group {
	if r.Groups == nil && len(r.Findings) > 0 {
		return gate.Groups(r.Findings)
	}
	return r.Groups
}
