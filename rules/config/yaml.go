package config

import (
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// checkNode rejects keys that t has no field for, naming the line and the
// keys it knows. yaml's KnownFields does the same for plain structs, but
// is lost inside custom unmarshalers; walking the tree once here covers
// both. Aliases are refused: an anchor checked where it is defined could
// be reused where its keys mean nothing.
func checkNode(n *yaml.Node, t reflect.Type, at string) error {
	if n.Kind == yaml.AliasNode {
		return fmt.Errorf("line %d: %s: YAML aliases are not supported here: %w", n.Line, orTop(at), ErrInvalid)
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil // it checks its own keys
	}
	// reflect.Kind has two dozen values; only these three hold keys.
	if k := t.Kind(); k != reflect.Struct && k != reflect.Slice && k != reflect.Map {
		return nil // a scalar: Decode reports a mapping or list in its place
	}
	if t.Kind() == reflect.Slice {
		if n.Kind != yaml.SequenceNode {
			return nil
		}
		for i, v := range n.Content {
			if err := checkNode(v, t.Elem(), fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return nil // Decode reports the type mismatch with its line
	}
	var known map[string]reflect.StructField
	if t.Kind() == reflect.Struct {
		known = yamlFields(t)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var elem reflect.Type
		if known == nil {
			elem = t.Elem() // a map: any key, values of one type
		} else {
			f, ok := known[k.Value]
			if !ok {
				return fmt.Errorf("line %d: unknown key %q in %s (known: %s): %w", k.Line, k.Value, orTop(at), strings.Join(slices.Sorted(maps.Keys(known)), ", "), ErrInvalid)
			}
			elem = f.Type
		}
		if err := checkNode(v, elem, join(at, k.Value)); err != nil {
			return err
		}
	}
	return nil
}

func orTop(at string) string {
	if at == "" {
		return "the top level"
	}
	return at
}

func join(at, k string) string {
	if at == "" {
		return k
	}
	return at + "." + k
}

// yamlFields maps the yaml names of t's fields to the fields.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f
	}
	return out
}

// strictDecode checks n's keys against out's type, then decodes it.
func strictDecode(n *yaml.Node, out any, what string) error {
	if err := checkNode(n, reflect.TypeOf(out).Elem(), what); err != nil {
		return err
	}
	return n.Decode(out)
}

// scalar returns n's value, or an error naming its line when n is not a
// scalar.
func scalar(n *yaml.Node, what string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", fmt.Errorf("line %d: %s: want a single value: %w", n.Line, what, ErrInvalid)
	}
	return n.Value, nil
}

// UnmarshalYAML reads a size.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	v, err := scalar(n, "size")
	if err != nil {
		return err
	}
	b, err := ParseSize(v)
	if err != nil {
		return fmt.Errorf("line %d: %w: %w", n.Line, err, ErrInvalid)
	}
	*s = Size(b)
	return nil
}

// UnmarshalYAML reads a ratio.
func (r *Ratio) UnmarshalYAML(n *yaml.Node) error {
	v, err := scalar(n, "ratio")
	if err != nil {
		return err
	}
	f, err := ParseRatio(v)
	if err != nil {
		return fmt.Errorf("line %d: %w: %w", n.Line, err, ErrInvalid)
	}
	*r = Ratio(f)
	return nil
}

// UnmarshalYAML reads a YYYY-MM-DD date.
func (d *Date) UnmarshalYAML(n *yaml.Node) error {
	v, err := scalar(n, "date")
	if err != nil {
		return err
	}
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(v))
	if err != nil {
		return fmt.Errorf("line %d: date %q: want YYYY-MM-DD: %w", n.Line, v, ErrInvalid)
	}
	d.Time = t
	return nil
}

// UnmarshalYAML compiles a regular expression.
func (r *Regexp) UnmarshalYAML(n *yaml.Node) error {
	v, err := scalar(n, "regular expression")
	if err != nil {
		return err
	}
	re, err := regexp.Compile(v)
	if err != nil {
		return fmt.Errorf("line %d: %w: %w", n.Line, err, ErrInvalid)
	}
	r.Regexp = re
	return nil
}

// UnmarshalYAML compiles a path glob.
func (g *Glob) UnmarshalYAML(n *yaml.Node) error {
	v, err := scalar(n, "path pattern")
	if err != nil {
		return err
	}
	c, err := CompileGlob(v)
	if err != nil {
		return fmt.Errorf("line %d: %w: %w", n.Line, err, ErrInvalid)
	}
	*g = c
	return nil
}

// UnmarshalYAML reads a size ("10MB": absolute only) or a mapping with
// absolute and relative.
func (w *WastedLimit) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		var s Size
		if err := s.UnmarshalYAML(n); err != nil {
			return err
		}
		*w = WastedLimit{Absolute: &s}
		return nil
	}
	type plain WastedLimit
	if err := strictDecode(n, (*plain)(w), "maxWastedBytes"); err != nil {
		return err
	}
	if w.Absolute == nil && w.Relative == nil {
		return fmt.Errorf("line %d: maxWastedBytes: give absolute, relative or both: %w", n.Line, ErrInvalid)
	}
	return nil
}

// UnmarshalYAML reads a bare severity or a mapping.
func (r *RuleSetting) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*r = RuleSetting{Severity: n.Value}
	} else {
		type plain RuleSetting
		if err := strictDecode(n, (*plain)(r), "a rule setting"); err != nil {
			return err
		}
	}
	r.Line = n.Line
	switch r.Severity {
	case "", "error", "warning", "info", "off":
		return nil
	}
	return fmt.Errorf("line %d: severity %q: want error, warning, info or off: %w", n.Line, r.Severity, ErrInvalid)
}

// UnmarshalYAML reads one suppression and checks that it says why.
func (s *Suppression) UnmarshalYAML(n *yaml.Node) error {
	type plain Suppression
	if err := strictDecode(n, (*plain)(s), "a suppression"); err != nil {
		return err
	}
	s.Line = n.Line
	if strings.TrimSpace(s.Rule) == "" {
		return fmt.Errorf("line %d: suppression: rule is required: %w", n.Line, ErrInvalid)
	}
	if strings.TrimSpace(s.Reason) == "" {
		return fmt.Errorf("line %d: suppression of %s: reason is required: say why the finding is accepted: %w", n.Line, s.Rule, ErrInvalid)
	}
	if s.Layer != nil && *s.Layer < 0 {
		return fmt.Errorf("line %d: suppression of %s: layer %d: want 0 or more: %w", n.Line, s.Rule, *s.Layer, ErrInvalid)
	}
	return nil
}
