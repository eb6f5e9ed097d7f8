package format

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/layerlint/layerlint/internal/escape"
	"github.com/layerlint/layerlint/internal/textfmt"
	"github.com/layerlint/layerlint/rules/gate"
)

// JUnit XML as CI test views read it (the Jenkins/Ant schema): one test
// suite per image, one test case per rule. A rule fails when it has
// failing findings and is skipped when disabled or not configured.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

func writeJUnit(w io.Writer, results []*gate.Result) error {
	doc := junitSuites{Name: "layerlint"}
	for _, r := range results {
		suite := junitSuite{Name: escape.XML(imageName(r))}
		byRule := map[string][]gate.Finding{}
		for _, f := range r.Findings {
			byRule[f.Rule] = append(byRule[f.Rule], f)
		}
		for _, rr := range r.Rules {
			c := junitRuleCase(rr, suite.Name, byRule[rr.ID])
			suite.Tests++
			if c.Failure != nil {
				suite.Failures++
			}
			if c.Skipped != nil {
				suite.Skipped++
			}
			suite.Cases = append(suite.Cases, c)
		}
		doc.Tests += suite.Tests
		doc.Failures += suite.Failures
		doc.Skipped += suite.Skipped
		doc.Suites = append(doc.Suites, suite)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// junitRuleCase is the test case of one rule: skipped, failed by its
// failing findings, or passed; every other finding goes to its output.
func junitRuleCase(rr gate.RuleResult, suiteName string, findings []gate.Finding) junitCase {
	c := junitCase{Name: rr.ID + " " + rr.Name, Classname: "layerlint." + suiteName}
	var failing, other []string
	for _, f := range findings {
		line := findingLine(f)
		if f.Failing {
			failing = append(failing, line)
		} else {
			other = append(other, line)
		}
	}
	switch rr.Status {
	case gate.Disabled:
		c.Skipped = &junitSkipped{Message: "disabled by the configuration"}
	case gate.NotConfigured:
		c.Skipped = &junitSkipped{Message: "no threshold configured"}
	case gate.Enabled:
		if len(failing) > 0 {
			c.Failure = &junitFailure{
				Message: fmt.Sprintf("%s at %s severity", textfmt.Plural(len(failing), "failing finding", "failing findings"), rr.Severity),
				Type:    rr.Severity.String(),
				Text:    strings.Join(failing, "\n"),
			}
		}
	}
	if rr.Measured != "" {
		other = append([]string{escape.XML(rr.Measured)}, other...)
	}
	c.SystemOut = strings.Join(other, "\n")
	return c
}

// findingLine is one finding on one line, for JUnit bodies, escaped for
// XML.
func findingLine(f gate.Finding) string {
	s := f.Severity.String() + " " + imagePath(f) + ": " + f.Message
	if f.Location != nil {
		s += " (" + f.Location.Dockerfile + ":" + itoa(f.Location.Line) + ")"
	}
	switch {
	case f.Suppressed != nil:
		s += " [suppressed: " + f.Suppressed.Reason + "]"
	case f.Baselined:
		s += " [baselined]"
	}
	return escape.XML(s)
}
