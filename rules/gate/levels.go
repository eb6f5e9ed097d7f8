package gate

import (
	"fmt"
	"strconv"

	"github.com/layerlint/layerlint/rules"
)

// FailOn is the lowest severity that fails the gate.
type FailOn uint8

// Failure levels. The zero value is unset: the configuration's failOn, or
// FailOnError.
const (
	FailOnUnset FailOn = iota
	FailOnError
	FailOnWarning
	FailOnInfo
	FailOnNever
)

// ParseFailOn reads error, warning, info or never.
func ParseFailOn(s string) (FailOn, error) {
	switch s {
	case "error":
		return FailOnError, nil
	case "warning":
		return FailOnWarning, nil
	case "info":
		return FailOnInfo, nil
	case "never":
		return FailOnNever, nil
	}
	return FailOnUnset, fmt.Errorf("fail-on %q: want error, warning, info or never", s)
}

func (f FailOn) String() string {
	switch f {
	case FailOnUnset:
		return "unset"
	case FailOnError:
		return "error"
	case FailOnWarning:
		return "warning"
	case FailOnInfo:
		return "info"
	case FailOnNever:
		return "never"
	}
	return "failOn(" + strconv.Itoa(int(f)) + ")"
}

// MarshalText makes the level read as a word in JSON.
func (f FailOn) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// reaches reports whether a finding of severity s fails at this level.
func (f FailOn) reaches(s rules.Severity) bool {
	switch f {
	case FailOnUnset, FailOnError:
		return s == rules.Error
	case FailOnWarning:
		return s == rules.Error || s == rules.Warning
	case FailOnInfo:
		return s == rules.Error || s == rules.Warning || s == rules.Info
	case FailOnNever:
		return false
	}
	return false
}

// Verdict is the gate's outcome.
type Verdict uint8

// Verdicts.
const (
	Pass Verdict = iota + 1
	Fail
)

func (v Verdict) String() string {
	switch v {
	case Pass:
		return "pass"
	case Fail:
		return "fail"
	}
	return "verdict(" + strconv.Itoa(int(v)) + ")"
}

// MarshalText makes the verdict read as a word in JSON.
func (v Verdict) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// RuleStatus says whether a rule took part in a lint.
type RuleStatus uint8

// Rule statuses.
const (
	// Enabled: the rule ran.
	Enabled RuleStatus = iota + 1
	// Disabled: the configuration turned it off.
	Disabled
	// NotConfigured: a threshold or dive rule with no threshold set.
	NotConfigured
)

func (s RuleStatus) String() string {
	switch s {
	case Enabled:
		return "enabled"
	case Disabled:
		return "disabled"
	case NotConfigured:
		return "not-configured"
	}
	return "status(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText makes the status read as a word in JSON.
func (s RuleStatus) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func parseSeverity(s string) rules.Severity {
	switch s {
	case "warning":
		return rules.Warning
	case "info":
		return rules.Info
	}
	return rules.Error
}

// effectiveSeverity is the severity a finding of catalog rule i takes: the
// configured one; never more severe than the rule made this one finding
// (a rule lowers a single finding it knows to be benign, such as a
// distribution's own setuid binaries); and, in a base layer, the
// configuration's inherited severity. Zero drops the finding.
func (g *Gate) effectiveSeverity(i int, emitted rules.Severity, inherited bool) rules.Severity {
	sev := g.severity[i]
	if emitted > g.catalog[i].Severity { // a higher value is less severe
		sev = max(sev, emitted)
	}
	if !inherited {
		return sev
	}
	switch g.inherited {
	case "", "info":
		return rules.Info
	case "warning":
		return max(sev, rules.Warning)
	case "off":
		return 0
	}
	return sev // "rule"
}
