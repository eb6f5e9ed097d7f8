package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/layerlint/layerlint/internal/userfile"

	"go.yaml.in/yaml/v3"
)

// DiveCI is a parsed .dive-ci: dive's three CI rules with dive's
// semantics. Keys dive does not know (plugins, plugin rules) are ignored,
// as dive ignores them.
type DiveCI struct {
	// LowestEfficiency fails when its value is greater than dive's
	// efficiency.
	LowestEfficiency DiveLimit
	// HighestWastedBytes fails when dive's wastedBytes is greater.
	HighestWastedBytes DiveLimit
	// HighestUserWastedPercent fails when dive's userWastedPercent (a
	// ratio) is greater.
	HighestUserWastedPercent DiveLimit
	// File is where it was read from.
	File string
}

// DiveLimit is one dive rule's threshold.
type DiveLimit struct {
	// Enabled is false for "disabled", "off", "false" or an empty value.
	Enabled bool
	Value   float64
	// Raw is the value as written ("" for a default).
	Raw string
	// Line is where it is set; 0 when dive's default applies.
	Line int
}

// Dive's defaults, from its CI configuration.
const (
	DiveDefaultLowestEfficiency         = 0.9
	DiveDefaultHighestUserWastedPercent = 0.1
)

// DefaultDiveCI is what dive applies with an empty .dive-ci: efficiency at
// least 0.9, wasted bytes unchecked, user wasted ratio at most 0.1.
func DefaultDiveCI() *DiveCI {
	return &DiveCI{
		LowestEfficiency:         DiveLimit{Enabled: true, Value: DiveDefaultLowestEfficiency},
		HighestWastedBytes:       DiveLimit{},
		HighestUserWastedPercent: DiveLimit{Enabled: true, Value: DiveDefaultHighestUserWastedPercent},
	}
}

// LoadDiveCI reads and parses a .dive-ci.
func LoadDiveCI(file string) (*DiveCI, error) {
	data, err := userfile.Read(file, 0)
	if err != nil {
		return nil, fmt.Errorf("reading dive CI configuration: %w", err)
	}
	return ParseDiveCI(data, file)
}

// ParseDiveCI parses a .dive-ci held in data. Absent rules take dive's
// defaults. A value that dive could not read is an error here: dive
// reports such a rule as misconfigured and fails.
func ParseDiveCI(data []byte, file string) (*DiveCI, error) {
	d := DefaultDiveCI()
	d.File = file
	doc, err := parseDoc(data, file)
	if err != nil || doc == nil {
		return d, err
	}
	if doc.Kind != yaml.MappingNode {
		return nil, lineErr(file, doc.Line, "a .dive-ci must be a mapping with a rules key")
	}
	var rules *yaml.Node
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value == "rules" {
			rules = doc.Content[i+1]
		}
	}
	if rules == nil || rules.Kind == yaml.ScalarNode && rules.Tag == "!!null" {
		return d, nil
	}
	if rules.Kind != yaml.MappingNode {
		return nil, lineErr(file, rules.Line, "rules: want a mapping of rule names to thresholds")
	}
	for i := 0; i+1 < len(rules.Content); i += 2 {
		k, v := rules.Content[i], rules.Content[i+1]
		var lim *DiveLimit
		var parse func(string) (float64, error)
		switch k.Value {
		case "lowestEfficiency":
			lim, parse = &d.LowestEfficiency, parseDiveFloat
		case "highestWastedBytes":
			lim, parse = &d.HighestWastedBytes, parseDiveBytes
		case "highestUserWastedPercent":
			lim, parse = &d.HighestUserWastedPercent, parseDiveFloat
		default:
			continue // a plugin's rule, or one of a newer dive: dive skips it too
		}
		if v.Kind != yaml.ScalarNode {
			return nil, lineErr(file, v.Line, k.Value+": want a single value")
		}
		raw := strings.TrimSpace(v.Value)
		if v.Tag == "!!null" {
			raw = ""
		}
		*lim = DiveLimit{Raw: raw, Line: v.Line}
		if diveDisabled(raw) {
			continue
		}
		f, err := parse(raw)
		if err != nil {
			return nil, lineErr(file, v.Line, fmt.Sprintf("%s: %v (dive reports this rule as misconfigured)", k.Value, err))
		}
		lim.Enabled, lim.Value = true, f
	}
	return d, nil
}

// diveDisabled reports the values with which dive skips a rule.
func diveDisabled(v string) bool {
	switch strings.ToLower(v) {
	case "", "disabled", "off", "false":
		return true
	}
	return false
}

func parseDiveFloat(s string) (float64, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return f, nil
}

func parseDiveBytes(s string) (float64, error) {
	n, err := ParseSize(s)
	if err != nil {
		return 0, err
	}
	return float64(n), nil
}
