package config_test

import (
	"strings"
	"testing"

	"github.com/layerlint/layerlint/internal/testsupport"
	"github.com/layerlint/layerlint/rules/config"
)

// sharedDiveData returns a file of the shared dive-data folder beside the
// repository, or skips the test (fails it in CI) when it is not there.
func sharedDiveData(t *testing.T, name string) string {
	t.Helper()
	return testsupport.NeedDiveData(t, name)
}

// TestDiveCISample reads dive's own sample, with its plugin keys.
func TestDiveCISample(t *testing.T) {
	t.Parallel()
	d, err := config.LoadDiveCI(sharedDiveData(t, ".dive-ci"))
	if err != nil {
		t.Fatal(err)
	}
	want := []config.DiveLimit{
		{Enabled: true, Value: 0.95, Raw: "0.95", Line: 7},
		{Enabled: true, Value: 20_000_000, Raw: "20Mb", Line: 10},
		{Enabled: true, Value: 0.5, Raw: "0.5", Line: 13},
	}
	got := []config.DiveLimit{d.LowestEfficiency, d.HighestWastedBytes, d.HighestUserWastedPercent}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("rule %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestParseDiveCI(t *testing.T) {
	t.Parallel()
	def := config.DefaultDiveCI()
	tests := []struct {
		name          string
		in            string
		eff, wb, uwp  config.DiveLimit
		wantErrSubstr string
	}{
		{name: "empty file", in: "", eff: def.LowestEfficiency, wb: def.HighestWastedBytes, uwp: def.HighestUserWastedPercent},
		{name: "empty rules", in: "rules:\n", eff: def.LowestEfficiency, wb: def.HighestWastedBytes, uwp: def.HighestUserWastedPercent},
		{name: "plugins only", in: "plugins: [a]\n", eff: def.LowestEfficiency, wb: def.HighestWastedBytes, uwp: def.HighestUserWastedPercent},
		{
			name: "disabled spellings",
			in:   "rules:\n  lowestEfficiency: disabled\n  highestWastedBytes: 'off'\n  highestUserWastedPercent: false\n",
			eff:  config.DiveLimit{Raw: "disabled", Line: 2}, wb: config.DiveLimit{Raw: "off", Line: 3}, uwp: config.DiveLimit{Raw: "false", Line: 4},
		},
		{
			name: "empty values skip",
			in:   "rules:\n  lowestEfficiency:\n  highestUserWastedPercent: \"\"\n",
			eff:  config.DiveLimit{Line: 2}, wb: def.HighestWastedBytes, uwp: config.DiveLimit{Line: 3},
		},
		{
			name: "IEC and unknown rules",
			in:   "rules:\n  highestWastedBytes: 1 MiB\n  plugin1/rule1: error\n  someFutureRule: 3\n",
			eff:  def.LowestEfficiency, wb: config.DiveLimit{Enabled: true, Value: 1 << 20, Raw: "1 MiB", Line: 2}, uwp: def.HighestUserWastedPercent,
		},
		{name: "bad number", in: "rules:\n  lowestEfficiency: high\n", wantErrSubstr: "f: line 2: lowestEfficiency: \"high\" is not a number"},
		{name: "bad bytes", in: "rules:\n  highestWastedBytes: 20 parsecs\n", wantErrSubstr: "f: line 2: highestWastedBytes"},
		{name: "rules not a mapping", in: "rules: [1]\n", wantErrSubstr: "f: line 1: rules: want a mapping"},
		{name: "value not scalar", in: "rules:\n  lowestEfficiency: [1]\n", wantErrSubstr: "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := config.ParseDiveCI([]byte(tt.in), "f")
			if tt.wantErrSubstr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrSubstr) {
					t.Fatalf("error %v, want %q", err, tt.wantErrSubstr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.LowestEfficiency != tt.eff || d.HighestWastedBytes != tt.wb || d.HighestUserWastedPercent != tt.uwp {
				t.Errorf("got %+v %+v %+v", d.LowestEfficiency, d.HighestWastedBytes, d.HighestUserWastedPercent)
			}
		})
	}
}

func FuzzDiveCI(f *testing.F) {
	f.Add([]byte("plugins:\n  - plugin1\nrules:\n  lowestEfficiency: 0.95\n  highestWastedBytes: 20Mb\n  highestUserWastedPercent: 0.5\n  plugin1/rule1: error\n"))
	f.Add([]byte("rules:\n  lowestEfficiency: disabled\n"))
	f.Add([]byte("rules:\n"))
	f.Add([]byte("rules: {highestWastedBytes: 1.5GiB}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := config.ParseDiveCI(data, "fuzz")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, l := range []config.DiveLimit{d.LowestEfficiency, d.HighestWastedBytes, d.HighestUserWastedPercent} {
			if !l.Enabled && l.Value != 0 {
				t.Fatalf("disabled rule with a value: %+v", l)
			}
		}
	})
}
