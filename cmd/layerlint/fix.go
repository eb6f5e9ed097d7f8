package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/urfave/cli/v2"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/internal/escape"
	"github.com/layerlint/layerlint/overlay"
	"github.com/layerlint/layerlint/rules"
	"github.com/layerlint/layerlint/squash"
)

func fixCommand() *cli.Command {
	return &cli.Command{
		Name:      "fix",
		Usage:     "squash, reorder, strip and recompress an image, and prove it is the same container",
		ArgsUsage: "IMAGE",
		Description: "Plans a rewrite, prints it, writes it (--output, --in-place) or only measures it\n" +
			"(--dry-run), then re-reads what it wrote and checks that the merged view is the\n" +
			"input's (every path, mode, owner, mtime, xattr, hard-link group, symlink target and\n" +
			"device), that every digest and diff_id checks out and that ggcr's validate accepts\n" +
			"it. A failed check exits 1 and leaves the source untouched. See docs/fix.md.",
		Flags: append(imageFlags(),
			&cli.StringSliceFlag{Name: "squash", Usage: "`FROM..TO` (repeatable), all (every layer above the base) or auto (fewest merges removing all waste above the base)"},
			&cli.BoolFlag{Name: "reorder", Usage: "move layers that commute: stable first, volatile last"},
			&cli.StringSliceFlag{Name: "previous", Usage: "an earlier build's `IMAGE`: layers it shares are stable (repeatable)"},
			&cli.StringSliceFlag{Name: "strip", Usage: "drop paths matching `GLOB` (and what is under them), or named by the findings of rule LLxxx, from the final view (repeatable)"},
			&cli.StringFlag{Name: "compression", Usage: "`gzip`, zstd or none for the layers written (default: the source's; never none unless asked)"},
			&cli.IntFlag{Name: "level", Usage: "compression level (0: the codec's default)"},
			&cli.BoolFlag{Name: "force-compression", Usage: "recompress untouched layers too"},
			&cli.Int64Flag{Name: "rewrite-timestamp", Usage: "clamp the mtimes of rewritten layers to `EPOCH` (Unix seconds)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "print the plan and the exact savings (layers are produced, then dropped)"},
			&cli.StringFlag{Name: "output", Usage: "write a new image to `PATH` (an OCI layout directory or oci:DIR[:TAG], a file with --output-format docker-archive or docker-archive:FILE[:REPO:TAG]), or load it into an engine as docker-daemon:NAME[:TAG] or podman:NAME[:TAG]"},
			&cli.StringFlag{Name: "push", Usage: "push the new image to a registry as `REF` ([registry:]HOST/REPO:TAG): blobs the registry has are not sent again, kept layers are mounted from a source in the same registry; the tag moves only after the pushed image is read back and verified"},
			&cli.BoolFlag{Name: "load", Usage: "load the new image into the local engine (DOCKER_HOST, or Podman's socket for a podman: IMAGE) after verifying it, named as the source (or --tag)"},
			&cli.StringFlag{Name: "output-format", Value: "oci", Usage: "`oci` layout or docker-archive (docker load)"},
			&cli.StringSliceFlag{Name: "tag", Usage: "name of the new image (ref.name in a layout, REPO:TAG in a docker archive; repeatable)"},
			&cli.BoolFlag{Name: "in-place", Usage: "update the source OCI layout under its lock (.layerlint.lock): new blobs, then an atomic index.json swap; the old image stays as <tag>-prefix"},
			&cli.BoolFlag{Name: "gc", Usage: "with --in-place, delete blobs nothing references instead of keeping the old image"},
			&cli.BoolFlag{Name: "keep-media-types", Usage: "keep a Docker image's media types in an OCI layout output (default: OCI media types, which skopeo and umoci expect)"},
		),
		Action: runFix,
	}
}

// startFixProgress wires fix's displays, when progress is on: the layers
// written, then the re-read of the output (vo, when verifying). The
// writing display ends when the first verify line appears, so the two
// never share the terminal. The returned function ends both.
func startFixProgress(c *cli.Context, f *fixFlags, vo *squash.VerifyOptions) func() {
	wp := startWriteProgress(c, f.target.Path)
	f.opts.Progress = wp.observe()
	var vp *verifyProgress
	if vo != nil {
		vp = startVerifyProgress(c, f.target.Path)
		if observe := vp.observe(); observe != nil {
			vo.Analyze.Progress = func(p analyze.LayerProgress) {
				wp.close()
				observe(p)
			}
		}
	}
	return func() {
		wp.close()
		vp.close()
	}
}

// planImages analyzes each image of src and plans its fix, printing the
// plan.
func planImages(c *cli.Context, src *source.Source, imgs []*source.Image, f *fixFlags) ([]squash.Image, error) {
	var work []squash.Image
	for _, img := range imgs {
		name := referenceName(c, img, len(imgs) > 1)
		ao := analyzeOptions(c, src, img)
		a, err := analyzeImage(c, img, name, ao)
		if err != nil {
			return nil, fmt.Errorf("analyzing %s: %w", name, err)
		}
		opts := f.opts
		byRules, idle := stripByRules(a, f.stripRules)
		for _, id := range idle {
			// Not an error: an image without the problem is what the
			// strip is for. But say so: the user may have meant another rule.
			fmt.Fprintf(c.App.ErrWriter, "layerlint: %s: no finding of %s names a path: --strip %s removes nothing\n", escape.Text(name), id, id)
		}
		opts.StripPaths = append(slices.Clone(opts.StripPaths), byRules...)
		opts.BaseLayers = a.Report.Image.Base.Layers
		plan, err := squash.NewPlan(a, opts)
		if err != nil {
			return nil, withCode(ExitInput, fmt.Errorf("planning %s: %w", name, err))
		}
		writePlan(c.App.Writer, name, a, plan)
		work = append(work, squash.Image{Analysis: a, Plan: plan})
	}
	return work, nil
}

// verifyOptions is how fix verifies its result, or nil when it does not.
func verifyOptions(c *cli.Context, f *fixFlags) *squash.VerifyOptions {
	if !f.verify || f.target.Kind == squash.OutputNone {
		return nil
	}
	return &squash.VerifyOptions{
		Analyze: analyze.Options{
			MaxLayerBytes: c.Int64("max-layer-bytes"), MaxImageBytes: c.Int64("max-image-bytes"), MaxLayerEntries: c.Int("max-layer-entries"),
			MaxPathBytes: c.Int("max-path-bytes"), MaxPathDepth: c.Int("max-path-depth"),
		},
		RequireNoWaste: f.opts.Mode == squash.SquashAll || f.opts.Mode == squash.SquashAuto,
		ModTime:        f.opts.RewriteTimestamp == nil,
	}
}

func runFix(c *cli.Context) error {
	f, err := readFixFlags(c)
	if err != nil {
		return err
	}
	// Usage errors come before any work: what the reference says first,
	// then what the opened image says, before analysis and plan.
	if c.NArg() == 1 && f.target.Kind == squash.OutputInPlace {
		ref, err := source.ParseReference(c.Args().First())
		if err != nil {
			return err
		}
		if fi, serr := os.Stat(ref.Path); ref.Remote() || ref.Format != source.FormatOCILayout && ref.Format != source.FormatAuto ||
			serr == nil && !fi.IsDir() {
			return withCode(ExitInput, fmt.Errorf("fix: --in-place needs an OCI layout directory, not %s", ref))
		}
	}
	src, err := openImage(c)
	if err != nil {
		return err
	}
	defer src.Close() //nolint:errcheck // read-only until Fix, which writes through its own files
	f.target.Source = src.Reference()
	if f.target.Kind == squash.OutputInPlace {
		f.target.Path = src.Reference().Path
	}
	if err := squash.CheckTarget(f.target, src.Images()); err != nil {
		return withCode(ExitInput, fmt.Errorf("fix: %w", err))
	}
	if f.opts.Previous, err = previousDiffIDs(c); err != nil {
		return err
	}
	imgs := src.Images()
	work, err := planImages(c, src, imgs, f)
	if err != nil {
		return err
	}
	vo := verifyOptions(c, f)
	endProgress := startFixProgress(c, f, vo)
	out, err := squash.Fix(c.Context, work, f.opts, f.target, vo)
	endProgress()
	if err != nil {
		if errors.Is(err, squash.ErrBadPlan) {
			return withCode(ExitInput, err)
		}
		return err
	}
	for i, r := range out.Results {
		writeSavings(c.App.Writer, referenceName(c, r.Source, len(imgs) > 1), r)
		if i < len(out.Checks) {
			writeCheck(c.App.Writer, out.Checks[i])
		}
	}
	if !out.OK() {
		fmt.Fprintln(c.App.Writer, "verification failed: nothing was changed")
		return withCode(ExitFailed, errSilent)
	}
	if out.Unchanged {
		fmt.Fprintln(c.App.Writer, "nothing to change: every image is the source's, byte for byte (same manifest, config and layers)")
	}
	writeWhere(c, f, out)
	return nil
}

// writeWhere says where the result of fix went.
func writeWhere(c *cli.Context, f *fixFlags, out *squash.Outcome) {
	switch f.target.Kind {
	case squash.OutputNone:
		fmt.Fprintln(c.App.Writer, "dry run: nothing written")
	case squash.OutputLayout, squash.OutputDockerArchive:
		fmt.Fprintf(c.App.Writer, "wrote %s (%s)\n", escape.Text(f.target.Path), out.Root.Digest)
	case squash.OutputRegistry:
		fmt.Fprintf(c.App.Writer, "pushed %s (%s)\n", escape.Text(f.target.Path), out.Root.Digest)
	case squash.OutputEngine:
		if out.LoadSkipped {
			fmt.Fprintf(c.App.Writer, "nothing loaded: %s holds %s already, unchanged (%s)\n", escape.Text(f.target.Engine), escape.Text(c.Args().First()), out.Root.Digest)
			break
		}
		fmt.Fprintf(c.App.Writer, "loaded %s into %s (%s)\n", escape.Text(strings.Join(out.Loaded, ", ")), escape.Text(f.target.Engine), out.Root.Digest)
	case squash.OutputInPlace:
		if out.Unchanged {
			fmt.Fprintf(c.App.Writer, "left %s as it was\n", escape.Text(f.target.Path))
			break
		}
		fmt.Fprintf(c.App.Writer, "updated %s in place (%s)", escape.Text(f.target.Path), out.Root.Digest)
		if len(out.Kept) > 0 {
			fmt.Fprintf(c.App.Writer, "; the old image is tagged %s", escape.Text(strings.Join(out.Kept, ", ")))
		}
		fmt.Fprintln(c.App.Writer)
	}
}

// previousDiffIDs collects the diff_ids of the --previous images.
func previousDiffIDs(c *cli.Context) ([]v1.Hash, error) {
	var ids []v1.Hash
	for _, ref := range c.StringSlice("previous") {
		src, err := source.OpenContext(c.Context, ref, sourceOptions(c, "all"))
		if err != nil {
			return nil, fmt.Errorf("--previous %s: %w", ref, err)
		}
		for _, img := range src.Images() {
			for _, l := range img.Layers {
				ids = append(ids, l.DiffID)
			}
		}
		if err := src.Close(); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

func writePlan(w io.Writer, name string, a *analyze.Analysis, p *squash.Plan) {
	fmt.Fprintf(w, "plan for %s: %s\n", escape.Text(name), p)
	fmt.Fprintf(w, "  base: %d layer(s), kept as they are\n", p.Base)
	for _, n := range p.Notes {
		fmt.Fprintf(w, "  - %s\n", escape.Text(n))
	}
	if !p.Changes() {
		fmt.Fprintln(w, "  - no layer changes")
	}
	for i, g := range p.Groups {
		what := "keep"
		if g.Rewrite {
			what = "write"
		}
		var by []string
		for _, l := range g.Layers {
			by = append(by, fmt.Sprintf("%d (%s)", l, shortDigest(a.Image.Layers[l].Digest)))
		}
		fmt.Fprintf(w, "  layer %d: %s %s\n", i, what, strings.Join(by, " + "))
	}
}

func shortDigest(h v1.Hash) string {
	if len(h.Hex) > 12 {
		return h.Hex[:12]
	}
	return h.Hex
}

// saving words a size change: a docker archive holds its layers
// uncompressed, so its blobs grow, which "saves -196743889" said badly.
func saving(before, after int64) string {
	if after > before {
		return fmt.Sprintf("grows by %d", after-before)
	}
	return fmt.Sprintf("saves %d", before-after)
}

func writeSavings(w io.Writer, name string, r *squash.Result) {
	b, a := r.Before, r.After
	fmt.Fprintf(w, "result for %s:\n", escape.Text(name))
	fmt.Fprintf(w, "  layers:            %d → %d\n", b.Layers, a.Layers)
	fmt.Fprintf(w, "  content bytes:     %d → %d (%s)\n", b.ContentBytes, a.ContentBytes, saving(b.ContentBytes, a.ContentBytes))
	fmt.Fprintf(w, "  compressed bytes:  %d → %d (%s)\n", b.CompressedBytes, a.CompressedBytes, saving(b.CompressedBytes, a.CompressedBytes))
	for i, l := range r.Layers {
		state := "kept"
		if !l.Kept {
			state = "written"
		}
		fmt.Fprintf(w, "  layer %d: %s %s %s, %d bytes (%d content)\n", i, state, escape.Text(string(l.MediaType)), shortDigest(l.Digest), l.Size, l.ContentBytes)
		for _, s := range l.Stripped {
			fmt.Fprintf(w, "    stripped %s\n", escape.Text(s))
		}
	}
}

func writeCheck(w io.Writer, ch *squash.Check) {
	if ch.OK() {
		fmt.Fprintf(w, "  verified: same merged view, digests, config and annotations; validate.Image ok; %d bytes wasted above the base\n", ch.WastedAboveBase)
		return
	}
	const most = 50
	for i, d := range ch.Differences {
		if i == most {
			fmt.Fprintf(w, "  … and %d more differences\n", len(ch.Differences)-most)
			break
		}
		fmt.Fprintf(w, "  DIFFERENCE %s\n", escape.Text(fmt.Sprint(d)))
	}
	for _, p := range ch.Problems {
		fmt.Fprintf(w, "  PROBLEM %s\n", escape.Text(p))
	}
}

// ruleNamed finds a lint rule by ID or name, for --strip LLxxx.
func ruleNamed(s string) (rules.Rule, bool) {
	for _, r := range rules.All() {
		if s == r.ID || s == r.Name {
			return r, true
		}
	}
	return rules.Rule{}, false
}

// stripByRules returns the exact paths the findings of the given rules
// name: a file is stripped, a directory loses what is in it (the directory
// stays, so that what the image expects to find there still exists).
// idle lists the rules whose findings name no path.
func stripByRules(a *analyze.Analysis, ids []string) (paths, idle []string) {
	if len(ids) == 0 {
		return nil, nil
	}
	add := func(p string) {
		if !slices.Contains(paths, p) {
			paths = append(paths, p)
		}
	}
	named := map[string]bool{}
	for _, f := range rules.Run(rules.NewFacts(a, rules.Options{})) {
		if f.Path == "" || !slices.Contains(ids, f.Rule) {
			continue
		}
		named[f.Rule] = true
		fl, ok := a.Model.Lookup(f.Path)
		if !ok || fl.Type != overlay.TypeDir {
			add(f.Path)
			continue
		}
		_ = a.Model.Walk(f.Path, func(c *overlay.File) error { // the callback never fails
			if parent, _ := path.Split(c.Path); strings.TrimSuffix(parent, "/") == f.Path {
				add(c.Path)
			}
			return nil
		})
	}
	for _, id := range ids {
		if !named[id] {
			idle = append(idle, id)
		}
	}
	return paths, idle
}
