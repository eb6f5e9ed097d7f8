package htmlreport_test

import (
	"testing"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/fixtures"
	"github.com/layerlint/layerlint/internal/diff"
	"github.com/layerlint/layerlint/internal/htmlreport"
	"github.com/layerlint/layerlint/internal/testsupport"
	"github.com/layerlint/layerlint/internal/testsupport/imagetest"
	"github.com/layerlint/layerlint/rules/gate"
)

var goldens = testsupport.NewGoldenFiles()

// TestUpdateIsOff fails while -update is given.
func TestUpdateIsOff(t *testing.T) { goldens.UpdateIsOff(t) }

func lintOf(t testing.TB, a *analyze.Analysis) *gate.Result {
	t.Helper()
	g, err := gate.New(gate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return g.Evaluate(a)
}

// pages returns the analyze and lint pages' input for img.
func pages(t testing.TB, img *fixtures.Image, name string) (analyzed, linted []htmlreport.Image) {
	t.Helper()
	a := imagetest.AnalyzeFixture(t, img, name)
	return []htmlreport.Image{{Report: a.Report, Model: a.Model}},
		[]htmlreport.Image{{Report: a.Report, Model: a.Model, Lint: lintOf(t, a)}}
}

// Payloads a hostile image carries in names and history. Each would set
// window.__pwned or open a dialog if the page ran it.
const (
	payloadScript = "</script><script>window.__pwned=1;alert(1)</script>"
	payloadImg    = `<img src=x onerror="window.__pwned=2;alert(2)">`
	payloadBadUTF = "bad\xffname\u2028x"
)

// hostile builds an image whose file names and created_by hold HTML and
// script, and a name that is not UTF-8. The names are overwritten in a
// later layer, so that lint findings carry them too.
func hostile() *fixtures.Image {
	names := []string{"app/" + payloadImg, "app/x" + payloadScript, "app/" + payloadBadUTF, "app/<!--comment"}
	low, high := fixtures.NewLayer().Dir("app"), fixtures.NewLayer().Dir("app")
	for _, n := range names {
		low.File(n, make([]byte, 3000))
		high.File(n, make([]byte, 2000))
	}
	return fixtures.NewImage().
		Add(low, fixtures.CreatedBy("RUN "+payloadScript)).
		Add(high, fixtures.CreatedBy("RUN "+payloadImg))
}

// diffPage compares two images as layerlint diff does (analyzed and
// linted both) and returns the sides and the result.
func diffPage(t testing.TB, oldImg, newImg *fixtures.Image, oldName, newName string) (diff.Image, diff.Image, *diff.Result) {
	t.Helper()
	side := func(img *fixtures.Image, name string) diff.Image {
		a := imagetest.AnalyzeFixture(t, img, name)
		return diff.Image{Analysis: a, Lint: lintOf(t, a)}
	}
	o, n := side(oldImg, oldName), side(newImg, newName)
	return o, n, diff.Compare(o, n)
}

// basePair is the diff fixture whose base image was updated.
func basePair(t testing.TB) fixtures.DiffPair {
	t.Helper()
	return namedPair(t, "base-update")
}

// namedPair is the diff fixture called name.
func namedPair(t testing.TB, name string) fixtures.DiffPair {
	t.Helper()
	for _, p := range fixtures.DiffPairs() {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no %s pair in fixtures.DiffPairs", name)
	return fixtures.DiffPair{}
}
