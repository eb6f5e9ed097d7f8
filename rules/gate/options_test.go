package gate

import (
	"strconv"
	"testing"

	"github.com/layerlint/layerlint/rules"
	"github.com/layerlint/layerlint/rules/config"
)

// TestOptionDefaults: the default each rule documents for an option is
// the default the rules apply.
func TestOptionDefaults(t *testing.T) {
	t.Parallel()
	defaults := rules.Options{
		DuplicateMinBytes: rules.DefaultDuplicateMinBytes,
		MaxLayers:         rules.DefaultMaxLayers,
		LargeFileMinBytes: rules.DefaultLargeFileMinBytes,
		ZstdMinSaving:     rules.DefaultZstdMinSaving,
	}
	for _, r := range Catalog() {
		for _, o := range r.Options {
			var v rules.OptionValue
			var err error
			switch o.Type {
			case rules.OptionSize:
				v.Int, err = config.ParseSize(o.Default)
			case rules.OptionInt:
				v.Int, err = strconv.ParseInt(o.Default, 10, 64)
			case rules.OptionBool:
				v.Bool, err = strconv.ParseBool(o.Default)
			case rules.OptionRatio:
				v.Ratio, err = config.ParseRatio(o.Default)
			}
			if err != nil {
				t.Fatalf("%s %s: default %q: %v", r.ID, o.Name, o.Default, err)
			}
			got := defaults
			if err := o.Apply(&got, v); err != nil {
				t.Fatalf("%s %s: default %q refused: %v", r.ID, o.Name, o.Default, err)
			}
			if got != defaults {
				t.Errorf("%s %s: documented default %q gives %+v, the rules default to %+v", r.ID, o.Name, o.Default, got, defaults)
			}
		}
	}
}
