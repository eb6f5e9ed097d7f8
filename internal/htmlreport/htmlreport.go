// Package htmlreport writes analyze, lint and diff results as one
// self-contained HTML page: a layer chart, a map of the merged filesystem
// and the findings, drawn by a small script embedded in the page. The page
// loads nothing: no network, no external script, style or font, so a CI job
// can keep it as an artifact and anyone can open it from disk.
//
// Every string on the page comes from an image an attacker may have built.
// The data travels as JSON inside a <script type="application/json"> block,
// encoded so that nothing in it can close the block or open a comment, and
// the script writes it into the page with textContent only. A Content
// Security Policy that admits only the page's own script and style (by
// hash) and no network at all is the second wall.
package htmlreport

import (
	"crypto/sha256"
	_ "embed" // the page's template, style and script
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/internal/escape"
	"github.com/layerlint/layerlint/overlay"
	"github.com/layerlint/layerlint/rules"
	"github.com/layerlint/layerlint/rules/gate"
)

var (
	//go:embed assets/page.html.tmpl
	pageTemplate string
	//go:embed assets/report.css
	pageCSS string
	//go:embed assets/report.js
	pageJS string
)

// Kind says which command made the page.
type Kind string

// Kinds of page.
const (
	KindAnalyze Kind = "analyze"
	KindLint    Kind = "lint"
	KindDiff    Kind = "diff"
)

// Caps on the rows one page carries: beyond them the page says how many
// were left out, and the JSON report has them all.
const (
	maxWasteRows   = 500
	maxFindingRows = 5000
)

// Options tune the page.
type Options struct {
	// Version is layerlint's version, shown in the footer.
	Version string
	// MaxNodes caps the rectangles of the map (0: DefaultMaxNodes).
	MaxNodes int
}

// Image is what the page shows about one image.
type Image struct {
	Report *analyze.Report
	// Model is the merged view the map draws; nil leaves the map out.
	Model *overlay.Model
	// Lint is the lint result, for lint pages.
	Lint *gate.Result
}

// page is the JSON the script reads. Its field names are short-lived
// internals of the page, not a contract: the JSON report is the contract.
type page struct {
	Kind    Kind        `json:"kind"`
	Version string      `json:"version"`
	Images  []imageData `json:"images"`
	Diff    *diffData   `json:"diff,omitempty"`
}

type imageData struct {
	Title       string          `json:"title"`
	Name        string          `json:"name"`
	Format      string          `json:"format"`
	Manifest    string          `json:"manifest"`
	Platform    string          `json:"platform"`
	Base        baseData        `json:"base"`
	Summary     analyze.Summary `json:"summary"`
	Layers      []layerData     `json:"layers"`
	Tree        []Node          `json:"tree"`
	Waste       []wasteRow      `json:"waste"`
	WasteMore   int             `json:"wasteMore"`
	Lint        *lintData       `json:"lint,omitempty"`
	Anomalies   int             `json:"anomalies"`
	DiveWasted  int64           `json:"diveWasted"`
	DiveEffic   *float64        `json:"diveEfficiency"`
	MetadataDup int64           `json:"metadataOnly"`
}

type baseData struct {
	Layers int    `json:"layers"`
	Source string `json:"source"`
	Name   string `json:"name"`
}

type layerData struct {
	Index       int                `json:"index"`
	Digest      string             `json:"digest"`
	DiffID      string             `json:"diffID"`
	CreatedBy   string             `json:"createdBy"`
	Base        bool               `json:"base"`
	Analyzed    bool               `json:"analyzed"`
	NotAnalyzed string             `json:"notAnalyzed"`
	Compression string             `json:"compression"`
	Compressed  int64              `json:"compressed"`
	Content     int64              `json:"content"`
	Wasted      analyze.CauseBytes `json:"wasted"`
	WastedTotal int64              `json:"wastedTotal"`
	Hides       int64              `json:"hides"`
	Added       int                `json:"added"`
	Modified    int                `json:"modified"`
	Deleted     int                `json:"deleted"`
}

type wasteRow struct {
	Path     string `json:"path"`
	Dir      bool   `json:"dir"`
	Layers   []int  `json:"layers"`
	HiddenBy int    `json:"hiddenBy"`
	Cause    string `json:"cause"`
	Files    int    `json:"files"`
	Bytes    int64  `json:"bytes"`
}

type lintData struct {
	Verdict  string        `json:"verdict"`
	FailOn   string        `json:"failOn"`
	DiveOnly bool          `json:"diveOnly"`
	Counts   gate.Counts   `json:"counts"`
	Findings []findingData `json:"findings"`
	More     int           `json:"more"`
	// Groups are the findings one per problem, ranked as the text output
	// ranks them (gate.Result.Groups).
	Groups []groupData `json:"groups"`
}

type groupData struct {
	Rule      string   `json:"rule"`
	Name      string   `json:"name"`
	Severity  string   `json:"severity"`
	Layer     int      `json:"layer"`
	Path      string   `json:"path"`
	Findings  int      `json:"findings"`
	Bytes     int64    `json:"bytes"`
	Saves     int64    `json:"saves"`
	Largest   []string `json:"largest"`
	Message   string   `json:"message"`
	Fix       string   `json:"fix"`
	CreatedBy string   `json:"createdBy"`
	Location  string   `json:"location"`
	Inherited bool     `json:"inherited"`
	Accepted  bool     `json:"accepted"`
	Failing   int      `json:"failing"`
	// Members index the findings of the page (those past its cap are
	// left out; Findings still counts them).
	Members []int `json:"members"`
}

type findingData struct {
	Rule      string `json:"rule"`
	Name      string `json:"name"`
	Severity  string `json:"severity"`
	Layer     int    `json:"layer"`
	Path      string `json:"path"`
	Bytes     int64  `json:"bytes"`
	Message   string `json:"message"`
	Fix       string `json:"fix"`
	CreatedBy string `json:"createdBy"`
	Location  string `json:"location"`
	// State is FAIL, suppressed, baselined or empty, as the text output
	// marks it.
	State string `json:"state"`
}

// p makes image data printable as the text output shows it: invalid UTF-8
// and control, format and separator characters become Go-style escapes.
func p(s string) string { return escape.Text(s) }

func itoa(n int) string { return strconv.Itoa(n) }

// Write writes a page of kind analyze or lint about images.
func Write(w io.Writer, kind Kind, images []Image, opts Options) error {
	return render(w, newPage(kind, images, opts))
}

func newPage(kind Kind, images []Image, opts Options) page {
	pg := page{Kind: kind, Version: p(opts.Version), Images: []imageData{}}
	for _, img := range images {
		pg.Images = append(pg.Images, newImageData(img, opts))
	}
	return pg
}

func newImageData(img Image, opts Options) imageData {
	r := img.Report
	d := imageData{
		Title:    p(r.Image.Reference),
		Name:     p(r.Image.Name),
		Format:   p(r.Image.Format),
		Manifest: p(r.Image.ManifestDigest),
		Platform: p(r.Image.Platform),
		Base:     baseData{Layers: r.Image.Base.Layers, Source: p(r.Image.Base.Source), Name: p(r.Image.Base.Name)},
		Summary:  r.Summary,
		Layers:   []layerData{},
		Tree:     []Node{},
		Waste:    []wasteRow{},

		Anomalies:   len(r.Anomalies),
		DiveWasted:  r.Dive.WastedBytes,
		DiveEffic:   r.Dive.Efficiency,
		MetadataDup: r.Summary.MetadataOnlyBytes,
	}
	if d.Title == "" {
		d.Title = d.Name
	}
	for _, l := range r.Layers {
		d.Layers = append(d.Layers, layerData{
			Index: l.Index, Digest: p(l.Digest), DiffID: p(l.DiffID), CreatedBy: p(l.CreatedBy),
			Base: l.Base, Analyzed: l.Analyzed, NotAnalyzed: p(l.NotAnalyzed), Compression: p(l.Compression),
			Compressed: l.CompressedSize, Content: l.ContentBytes, WastedTotal: l.WastedBytes, Hides: l.HiddenBytes,
			Added: l.Added, Modified: l.Modified, Deleted: l.Deleted,
		})
	}
	for _, w := range r.Waste {
		if w.Layer >= 0 && w.Layer < len(d.Layers) {
			addCause(&d.Layers[w.Layer].Wasted, w.Cause, w.Size)
		}
	}
	for i, g := range r.TopWaste {
		if i == maxWasteRows {
			d.WasteMore = len(r.TopWaste) - i
			break
		}
		d.Waste = append(d.Waste, newWasteRow(g))
	}
	if img.Model != nil {
		n := opts.MaxNodes
		if n <= 0 {
			n = DefaultMaxNodes
		}
		d.Tree = buildTree(img.Model, r.Waste, n)
	}
	if img.Lint != nil {
		d.Lint = newLintData(img.Lint)
	}
	return d
}

func newWasteRow(g analyze.WasteGroup) wasteRow {
	path := absPath(p(g.Path))
	if g.Dir && !strings.HasSuffix(path, "/") {
		path += "/"
	}
	return wasteRow{Path: path, Dir: g.Dir, Layers: g.Layers, HiddenBy: g.HiddenBy, Cause: p(g.Cause), Files: g.Files, Bytes: g.Bytes}
}

// absPath spells a path as the container sees it, whether the report
// gives it relative to the root or absolute.
func absPath(s string) string {
	if s == "" || strings.HasPrefix(s, "/") {
		return s
	}
	return "/" + s
}

func addCause(c *analyze.CauseBytes, cause string, n int64) {
	switch cause {
	case overlay.CauseOverwritten.String():
		c.Overwritten += n
	case overlay.CauseDeleted.String():
		c.Deleted += n
	case overlay.CauseOpaque.String():
		c.Opaque += n
	case overlay.CauseReplaced.String():
		c.Replaced += n
	}
}

func newLintData(res *gate.Result) *lintData {
	s := res.Summary
	ld := &lintData{Verdict: s.Result.String(), FailOn: s.FailOn.String(), DiveOnly: s.DiveOnly, Counts: s.Counts, Findings: []findingData{}}
	for i := range res.Findings {
		if i == maxFindingRows {
			ld.More = len(res.Findings) - i
			break
		}
		ld.Findings = append(ld.Findings, newFindingData(&res.Findings[i]))
	}
	ld.Groups = []groupData{}
	for _, g := range res.Groups {
		gd := groupData{
			Rule: p(g.Rule), Name: p(g.Name), Severity: g.Severity.String(), Layer: max(g.Layer, -1),
			Path: absPath(p(g.Path)), Findings: g.Findings, Bytes: g.Bytes, Saves: g.Saves,
			Message: p(g.Message), Fix: p(g.Fix), CreatedBy: p(g.CreatedBy), Location: location(g.Location),
			Inherited: g.Inherited, Accepted: g.Accepted, Failing: g.Failing, Largest: []string{}, Members: []int{},
		}
		for _, l := range g.Largest {
			gd.Largest = append(gd.Largest, absPath(p(l)))
		}
		for _, m := range g.Members {
			if m < len(ld.Findings) {
				gd.Members = append(gd.Members, m)
			}
		}
		ld.Groups = append(ld.Groups, gd)
	}
	return ld
}

func newFindingData(f *gate.Finding) findingData {
	fd := findingData{
		Rule: p(f.Rule), Name: p(f.Name), Severity: f.Severity.String(), Layer: f.Layer,
		Bytes: f.Bytes, Message: p(f.Message), Fix: p(f.Fix), CreatedBy: p(f.CreatedBy),
		Path: absPath(p(f.Path)),
	}
	fd.Location = location(f.Location)
	switch {
	case f.Failing:
		fd.State = "FAIL"
	case f.Suppressed != nil:
		fd.State = "suppressed"
	case f.Baselined:
		fd.State = "baselined"
	}
	if f.Layer == rules.ImageWide {
		fd.Layer = -1
	}
	return fd
}

func location(l *gate.Location) string {
	if l == nil {
		return ""
	}
	return p(l.Dockerfile) + ":" + itoa(l.Line)
}

// DataJSON returns the JSON block the page carries, for golden tests.
func DataJSON(kind Kind, images []Image, opts Options) ([]byte, error) {
	return encodeData(newPage(kind, images, opts))
}

// encodeData marshals the page data for its <script type="application/json">
// block (escape.ScriptJSON): nothing in it can end the block early.
func encodeData(pg page) ([]byte, error) {
	b, err := escape.ScriptJSON(pg)
	if err != nil {
		return nil, fmt.Errorf("encoding the page data: %w", err)
	}
	return b, nil
}

var tmpl = template.Must(template.New("page").Parse(pageTemplate))

type templateData struct {
	Title string
	Kind  Kind
	CSP   string
	CSS   template.CSS
	JS    template.JS
	Data  template.JS
}

// cspHash is the CSP source expression admitting exactly this inline block.
func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

func render(w io.Writer, pg page) error {
	data, err := encodeData(pg)
	if err != nil {
		return err
	}
	title := string(pg.Kind)
	switch {
	case pg.Diff != nil:
		title += " " + pg.Diff.Old.Title + " → " + pg.Diff.New.Title
	case len(pg.Images) > 0:
		title += " " + pg.Images[0].Title
	}
	td := templateData{
		Title: title,
		Kind:  pg.Kind,
		// No network at all; only the page's own script and style run.
		CSP: "default-src 'none'; script-src " + cspHash(pageJS) + "; style-src " + cspHash(pageCSS) +
			"; img-src 'none'; base-uri 'none'; form-action 'none'",
		CSS:  template.CSS(pageCSS), //nolint:gosec // our own embedded style
		JS:   template.JS(pageJS),   //nolint:gosec // our own embedded script
		Data: template.JS(data),     //nolint:gosec // escape.ScriptJSON: <, >, &, U+2028/9 escaped
	}
	if err := tmpl.Execute(w, td); err != nil {
		return fmt.Errorf("writing the HTML report: %w", err)
	}
	return nil
}
