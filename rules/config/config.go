// Package config reads layerlint's lint configuration, .layerlint.yaml, and
// dive's CI configuration, .dive-ci. It only parses and checks syntax:
// which rule IDs exist and what the settings do is the gate's business
// (package rules/gate), so this package knows nothing of the rule list.
//
// Errors name the file and line they concern. Unknown keys in
// .layerlint.yaml are errors, so a typo never silently disables a check;
// unknown keys in .dive-ci are tolerated, as dive tolerates them.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"time"

	"github.com/layerlint/layerlint/internal/userfile"

	"go.yaml.in/yaml/v3"
)

// File names searched for by Find.
const (
	FileName       = ".layerlint.yaml"
	DiveCIFileName = ".dive-ci"
)

// ErrInvalid is wrapped by every error about the content of a
// configuration file (as opposed to failing to read it).
var ErrInvalid = errors.New("invalid configuration")

// Config is a parsed .layerlint.yaml. The zero value is the default
// configuration: every rule at its own severity, no thresholds.
// docs/config.md documents every key; a test keeps it complete.
type Config struct {
	// FailOn is the lowest severity that fails the gate: error, warning,
	// info or never. The --fail-on flag overrides it.
	FailOn string `yaml:"failOn"`
	// Inherited is the severity of findings in the base image's layers:
	// info (the default, because the author of the Dockerfile cannot act
	// on them there), warning (at most), off to drop them, or rule to
	// keep each rule's own.
	Inherited string `yaml:"inherited"`
	// Thresholds are image-wide limits, reported as findings LL100-LL104.
	Thresholds Thresholds `yaml:"thresholds"`
	// Rules changes the severity of rules, disables them and sets their
	// options; the key is a rule ID or name.
	Rules map[string]RuleSetting `yaml:"rules"`
	// Ignore drops findings whose path matches one of these globs.
	Ignore []Glob `yaml:"ignore"`
	// Suppressions accept single findings, with a reason.
	Suppressions []Suppression `yaml:"suppressions"`

	// File is the path the configuration was read from; "" for the
	// default configuration.
	File string `yaml:"-"`
}

// Thresholds are image-wide limits. A nil field is not checked.
type Thresholds struct {
	// MaxWastedBytes limits the waste that the layers above the base
	// shipped or caused.
	MaxWastedBytes *WastedLimit `yaml:"maxWastedBytes"`
	// MinEfficiency is the lowest accepted merged bytes / content bytes.
	MinEfficiency *Ratio `yaml:"minEfficiency"`
	// MaxUserWastedRatio limits wasted bytes above the base / bytes added
	// above the base.
	MaxUserWastedRatio *Ratio `yaml:"maxUserWastedRatio"`
	// MaxImageSize limits the compressed (download) size of the image.
	MaxImageSize *Size `yaml:"maxImageSize"`
	// MaxLayers limits the number of layers.
	MaxLayers *int `yaml:"maxLayers"`
}

// WastedLimit is an absolute limit, a relative one, or both. With both,
// the limit is exceeded only when both are: a large image may waste 10 MB
// if that is under 5% of what it adds, and a small one may waste 5% if that
// is under 10 MB.
type WastedLimit struct {
	Absolute *Size  `yaml:"absolute"`
	Relative *Ratio `yaml:"relative"`
}

// RuleSetting is one entry of rules: a bare severity ("warning", "off") or
// a mapping with a severity and options.
type RuleSetting struct {
	// Severity is error, warning, info, or off to disable the rule; ""
	// keeps the rule's own.
	Severity string `yaml:"severity"`
	// Options are rule-specific thresholds.
	Options RuleOptions `yaml:"options"`

	// Line is where the entry is, for error messages.
	Line int `yaml:"-"`
}

// RuleOptions are the options rules take, as YAML reads them. Which rule
// takes which is the rules' own business (rules.Rule.Options); the gate
// rejects an option set on a rule that does not declare it.
type RuleOptions struct {
	// MinBytes is the smallest file LL004 (duplicate-content) or LL008
	// (large-file-modified) reports.
	MinBytes *Size `yaml:"minBytes"`
	// MaxLayers is how many layers LL011 (layer-hygiene) accepts.
	MaxLayers *int `yaml:"maxLayers"`
	// Estimate makes LL013 (compression) re-read every gzip layer to
	// estimate what zstd would save (the --estimate-compression flag).
	Estimate *bool `yaml:"estimate"`
	// MinSaving is the share of a gzip layer that zstd must save for LL013
	// to report it.
	MinSaving *Ratio `yaml:"minSaving"`
}

// OptionSetting is one option set in a RuleOptions: its YAML name and its
// value, in the field of its type (Int for sizes and integers).
type OptionSetting struct {
	Name  string
	Int   int64
	Bool  bool
	Ratio float64
	// Value is the value as the error messages show it.
	Value any
}

// Settings lists the options that are set, in a fixed order.
func (o RuleOptions) Settings() []OptionSetting {
	var out []OptionSetting
	if o.MinBytes != nil {
		out = append(out, OptionSetting{Name: "minBytes", Int: int64(*o.MinBytes), Value: int64(*o.MinBytes)})
	}
	if o.Estimate != nil {
		out = append(out, OptionSetting{Name: "estimate", Bool: *o.Estimate, Value: *o.Estimate})
	}
	if o.MinSaving != nil {
		out = append(out, OptionSetting{Name: "minSaving", Ratio: float64(*o.MinSaving), Value: float64(*o.MinSaving)})
	}
	if o.MaxLayers != nil {
		out = append(out, OptionSetting{Name: "maxLayers", Int: int64(*o.MaxLayers), Value: *o.MaxLayers})
	}
	return out
}

// Suppression accepts the findings of one rule on matching paths, for a
// stated reason, optionally until a date.
type Suppression struct {
	// Rule is a rule ID or name.
	Rule string `yaml:"rule"`
	// Path is a glob of the paths concerned; empty matches every finding
	// of the rule, image-wide ones included.
	Path *Glob `yaml:"path"`
	// Layer restricts the suppression to one layer index.
	Layer *int `yaml:"layer"`
	// CreatedBy restricts it to layers whose history entry matches this
	// regular expression.
	CreatedBy *Regexp `yaml:"createdBy"`
	// Reason is required: why the finding is accepted.
	Reason string `yaml:"reason"`
	// Expires is the last day the suppression applies, YYYY-MM-DD.
	Expires *Date `yaml:"expires"`

	// Line is where the entry is, for messages.
	Line int `yaml:"-"`
}

// Size is a byte count written as in ParseSize.
type Size int64

// Ratio is a fraction written as in ParseRatio.
type Ratio float64

// Date is a calendar day, written YYYY-MM-DD.
type Date struct{ time.Time }

// String formats the date as written.
func (d Date) String() string { return d.Format(time.DateOnly) }

// Regexp is a regular expression from the configuration.
type Regexp struct{ *regexp.Regexp }

// Find looks for .layerlint.yaml and .dive-ci in dir and then its parents,
// up to the filesystem root. The first directory holding either one ends
// the search; the paths of those it holds are returned ("" for absent).
func Find(dir string) (cfg, diveCI string, err error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", "", fmt.Errorf("finding %s: %w", FileName, err)
	}
	for {
		cfg, err = existing(filepath.Join(d, FileName))
		if err != nil {
			return "", "", err
		}
		diveCI, err = existing(filepath.Join(d, DiveCIFileName))
		if err != nil {
			return "", "", err
		}
		if cfg != "" || diveCI != "" {
			return cfg, diveCI, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", "", nil
		}
		d = parent
	}
}

// existing returns p if it is a regular file, "" if it does not exist.
func existing(p string) (string, error) {
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("finding configuration: %w", err)
	case fi.IsDir():
		return "", nil
	}
	return p, nil
}

// Load reads and parses a .layerlint.yaml.
func Load(file string) (*Config, error) {
	data, err := userfile.Read(file, 0)
	if err != nil {
		return nil, fmt.Errorf("reading configuration: %w", err)
	}
	return Parse(data, file)
}

// Parse parses a .layerlint.yaml held in data; file names it in errors.
// An empty document is the default configuration.
func Parse(data []byte, file string) (*Config, error) {
	c := &Config{File: file}
	doc, err := parseDoc(data, file)
	if err != nil || doc == nil {
		return c, err
	}
	if doc.Kind != yaml.MappingNode {
		return nil, lineErr(file, doc.Line, "the configuration must be a mapping of keys (see docs/config.md)")
	}
	if err := checkNode(doc, reflect.TypeFor[Config](), ""); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if err := doc.Decode(c); err != nil {
		return nil, fmt.Errorf("%s: %w: %w", file, err, ErrInvalid)
	}
	c.File = file
	if t := c.Thresholds.MaxLayers; t != nil && *t < 1 {
		return nil, lineErr(file, keyLine(doc, "thresholds"), fmt.Sprintf("thresholds.maxLayers: %d: want 1 or more", *t))
	}
	switch c.FailOn {
	case "", "error", "warning", "info", "never":
	default:
		return nil, lineErr(file, keyLine(doc, "failOn"), fmt.Sprintf("failOn: %q: want error, warning, info or never", c.FailOn))
	}
	switch c.Inherited {
	case "", "warning", "info", "off", "rule":
	default:
		return nil, lineErr(file, keyLine(doc, "inherited"), fmt.Sprintf("inherited: %q: want info, warning, off or rule", c.Inherited))
	}
	return c, nil
}

// parseDoc returns the top node of the first document, nil for an empty
// one.
func parseDoc(data []byte, file string) (*yaml.Node, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, fmt.Errorf("%s: %w: %w", file, err, ErrInvalid)
	}
	// A second document would be ignored, and with it whatever it says:
	// a gate must not pass on half of its configuration.
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, fmt.Errorf("%s: %w: %w", file, err, ErrInvalid)
	default:
		return nil, lineErr(file, next.Line, "a second YAML document (after ---): a configuration is one document")
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	n := doc.Content[0]
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	return n, nil
}

func lineErr(file string, line int, msg string) error {
	return fmt.Errorf("%s: line %d: %s: %w", file, line, msg, ErrInvalid)
}

func keyLine(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i].Line
		}
	}
	return m.Line
}
