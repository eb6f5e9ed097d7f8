package rules_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/rules"
)

// TestDominantLayer: LL011 reports a layer above the base that holds most
// of what the image adds, and stays quiet when the content is spread out.
func TestDominantLayer(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte("dependency bytes "), 700_000) // 11.9 MB
	small := bytes.Repeat([]byte("app "), 100_000)            // 400 kB
	tests := []struct {
		name string
		img  *fixtures.Image
		want string
	}{
		{
			name: "one layer holds most",
			img: fixtures.NewImage().
				Add(fixtures.NewLayer().File("etc/os-release", []byte("ID=x\n"))).
				Add(fixtures.NewLayer().File("app/vendor.bin", big), fixtures.CreatedBy("COPY . /app")).
				Add(fixtures.NewLayer().File("app/main", small)),
			want: "LL011 1 11900000",
		},
		{
			name: "spread over layers",
			img: fixtures.NewImage().
				Add(fixtures.NewLayer().File("etc/os-release", []byte("ID=x\n"))).
				Add(fixtures.NewLayer().File("app/vendor.bin", big)).
				Add(fixtures.NewLayer().File("app/more.bin", big)),
		},
		{
			name: "a single layer above the base",
			img: fixtures.NewImage().
				Add(fixtures.NewLayer().File("etc/os-release", []byte("ID=x\n"))).
				Add(fixtures.NewLayer().File("app/vendor.bin", big)),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, f := range rules.RunRules(facts(t, tt.img, rules.Options{}), []rules.Rule{ruleByID(t, "LL011")}) {
				if strings.Contains(f.Message, "of the") {
					got = append(got, fmt.Sprintf("%s %d %d", f.Rule, f.Layer, f.Bytes))
				}
			}
			if strings.Join(got, ",") != tt.want {
				t.Errorf("got %v, want %q", got, tt.want)
			}
		})
	}
}

// TestCopyUpQuoted: LL006 quotes a copy-up measured on overlayfs.
func TestCopyUpQuoted(t *testing.T) {
	t.Parallel()
	f := facts(t, fixtures.Sample(), rules.Options{})
	f.CopyUp = map[string]rules.CopyUpMeasure{"var/log/app.log": {Size: 56, CopiedBytes: 57, Duration: 1500}}
	for _, g := range rules.RunRules(f, []rules.Rule{ruleByID(t, "LL006")}) {
		if g.Path == "var/log/app.log" {
			if !strings.Contains(g.Message, "measured on overlayfs: appending one byte copied up 57 bytes") {
				t.Errorf("message does not quote the measure: %s", g.Message)
			}
			return
		}
	}
	t.Fatal("no LL006 finding for var/log/app.log")
}
