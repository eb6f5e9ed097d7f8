package rules

import (
	"errors"
	"strconv"
)

// OptionType is the type of a rule option's value in .layerlint.yaml.
type OptionType uint8

// Option types.
const (
	// OptionSize is a byte count: a number or a size such as 1MiB.
	OptionSize OptionType = iota + 1
	// OptionInt is a whole number.
	OptionInt
	// OptionBool is true or false.
	OptionBool
	// OptionRatio is a fraction: 0.1 or 10%.
	OptionRatio
)

func (t OptionType) String() string {
	switch t {
	case OptionSize:
		return "size"
	case OptionInt:
		return "integer"
	case OptionBool:
		return "boolean"
	case OptionRatio:
		return "ratio"
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// OptionValue is a parsed option value: Int for sizes and integers, Bool
// for booleans, Ratio for ratios.
type OptionValue struct {
	Int   int64
	Bool  bool
	Ratio float64
}

// RuleOption is one option a rule takes, set in .layerlint.yaml under
// rules.<rule>.options.<Name>. Each rule declares its own options in its
// own file; the configuration and the gate know none by name.
type RuleOption struct {
	// Name is the YAML key, in camelCase.
	Name string
	Type OptionType
	// Default is the value when the option is not set, as written.
	Default string
	// Doc says what the option changes.
	Doc string
	// Apply checks v and stores it in o. Its error says what is wrong with
	// the value; the caller names the file, line and rule.
	Apply func(o *Options, v OptionValue) error
}

// Option returns the option of r named name.
func (r Rule) Option(name string) (RuleOption, bool) {
	for _, o := range r.Options {
		if o.Name == name {
			return o, true
		}
	}
	return RuleOption{}, false
}

// errWantAtLeastOne and errWantRatio are what option checks say.
var (
	errWantAtLeastOne = errors.New("want 1 or more")
	errWantRatio      = errors.New("want a ratio between 0 and 1")
)
