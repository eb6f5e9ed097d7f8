package htmlreport_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/internal/htmlreport"
)

const dataOpen = `<script type="application/json" id="report-data">`

// dataBlock returns the JSON block of a written page.
func dataBlock(t *testing.T, page []byte) []byte {
	t.Helper()
	_, rest, ok := bytes.Cut(page, []byte(dataOpen))
	if !ok {
		t.Fatal("no data block in the page")
	}
	block, _, ok := bytes.Cut(rest, []byte("</script>"))
	if !ok {
		t.Fatal("the data block is not closed")
	}
	return block
}

// TestGoldenData pins the data block of the sample's pages: the page is
// the same bytes for the same image.
func TestGoldenData(t *testing.T) {
	t.Parallel()
	analyzed, linted := pages(t, fixtures.Sample(), "sample")
	opts := htmlreport.Options{Version: "test"}
	for _, tc := range []struct {
		kind   htmlreport.Kind
		images []htmlreport.Image
	}{{htmlreport.KindAnalyze, analyzed}, {htmlreport.KindLint, linted}} {
		t.Run(string(tc.kind), func(t *testing.T) {
			data, err := htmlreport.DataJSON(tc.kind, tc.images, opts)
			if err != nil {
				t.Fatal(err)
			}
			var page bytes.Buffer
			if err := htmlreport.Write(&page, tc.kind, tc.images, opts); err != nil {
				t.Fatal(err)
			}
			if got := dataBlock(t, page.Bytes()); !bytes.Equal(got, data) {
				t.Error("the page's data block differs from DataJSON")
			}
			var again bytes.Buffer
			if err := htmlreport.Write(&again, tc.kind, tc.images, opts); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(page.Bytes(), again.Bytes()) {
				t.Error("two writes of the same page differ")
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, data, "", " "); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			goldens.Check(t, "sample-"+string(tc.kind)+".json", pretty.Bytes())
		})
	}
}

// TestHostileDataStaysData: names and history holding </script>, <!--,
// HTML, U+2028 and invalid UTF-8 cannot leave the data block, and arrive
// in it escaped and whole.
func TestHostileDataStaysData(t *testing.T) {
	t.Parallel()
	_, linted := pages(t, hostile(), "hostile</script>")
	var page bytes.Buffer
	if err := htmlreport.Write(&page, htmlreport.KindLint, linted, htmlreport.Options{}); err != nil {
		t.Fatal(err)
	}
	p := page.String()
	if n := strings.Count(strings.ToLower(p), "<script"); n != 2 {
		t.Errorf("%d <script tags in the page, want 2 (data and code)", n)
	}
	for _, bad := range []string{"<img", "onerror=", "<!--comment", "\u2028", "\xff", "window.__pwned"} {
		if strings.Contains(p, bad) && !strings.Contains(string(dataBlock(t, page.Bytes())), bad) {
			t.Errorf("the page holds %q outside the data block", bad)
		}
	}
	block := dataBlock(t, page.Bytes())
	for _, c := range []string{"<", ">", "&", "\u2028", "\u2029"} {
		if bytes.Contains(block, []byte(c)) {
			t.Errorf("the data block holds a raw %q", c)
		}
	}
	var data struct {
		Images []struct {
			Title  string
			Layers []struct{ CreatedBy string }
			Tree   []struct{ N string }
			Lint   struct{ Findings []struct{ Path string } }
		}
	}
	if err := json.Unmarshal(block, &data); err != nil {
		t.Fatalf("the data block is not JSON: %v", err)
	}
	img := data.Images[0]
	if img.Title != "hostile</script>" || img.Layers[0].CreatedBy != "RUN "+payloadScript || img.Layers[1].CreatedBy != "RUN "+payloadImg {
		t.Errorf("title %q, history %q: want the strings whole", img.Title, img.Layers)
	}
	names := map[string]bool{}
	for _, n := range img.Tree {
		names[n.N] = true
	}
	paths := map[string]bool{}
	for _, f := range img.Lint.Findings {
		paths[f.Path] = true
	}
	escaped := `bad\xffname\u2028x` // as analyze.Printable shows it
	for _, want := range []string{payloadImg, escaped, "<!--comment"} {
		if !names[want] {
			t.Errorf("the map lacks %q: %v", want, names)
		}
		if !paths["/app/"+want] {
			t.Errorf("the findings lack /app/%s: %v", want, paths)
		}
	}
}

// TestGoldenDiffData pins the data block of a diff page.
func TestGoldenDiffData(t *testing.T) {
	t.Parallel()
	pair := basePair(t)
	o, n, r := diffPage(t, pair.Old, pair.New, "old", "new")
	data, err := htmlreport.DiffDataJSON(o, n, r, htmlreport.Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, data, "", " "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	goldens.Check(t, "base-update-diff.json", pretty.Bytes())
}
