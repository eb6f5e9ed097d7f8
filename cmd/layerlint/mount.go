package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/layerlint/layerlint/internal/userfile"

	"github.com/urfave/cli/v2"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/internal/escape"
	"github.com/layerlint/layerlint/internal/kernel"
	"github.com/layerlint/layerlint/overlay"
	"github.com/layerlint/layerlint/rules"
)

// stateDirFlag names where mount records its mounts for umount. Only root
// may write there: umount deletes what a record names.
func stateDirFlag() cli.Flag {
	return &cli.StringFlag{
		Name:  "state-dir",
		Usage: "`DIR` (root-only, mode 0700) where mount records its mounts for umount",
		Value: kernel.DefaultStateDir,
	}
}

func mountCommand() *cli.Command {
	return &cli.Command{
		Name:      "mount",
		Usage:     "mount an image's merged view with the kernel's overlayfs (root only)",
		ArgsUsage: "IMAGE DIR",
		Description: "Unpacks each layer into its own folder (whiteouts converted to overlayfs ones) and\n" +
			"mounts them at DIR, read-only unless --upper is given. `layerlint umount DIR` undoes it.\n" +
			"With --probe-copy-up PATH (repeatable), mounts writable in a throwaway folder, appends\n" +
			"one byte to each PATH, reports how many bytes the kernel copied up and how long it took,\n" +
			"and unmounts again.",
		Flags: append(imageFlagsExcept("base-layers"),
			&cli.StringFlag{Name: "upper", Usage: "writable upper `DIR` (default: read-only mount)"},
			&cli.StringFlag{Name: "work", Usage: "work `DIR` for the unpacked layers, created by mount and so new (default: .NAME.layerlint.d beside DIR)"},
			&cli.StringSliceFlag{Name: "probe-copy-up", Usage: "measure the copy-up cost of appending to `PATH`"},
			&cli.StringFlag{Name: "probe-output", Usage: "also write the --probe-copy-up figures as JSON to `FILE`, for lint --copy-up"},
			stateDirFlag(),
		),
		Action: runMount,
	}
}

func umountCommand() *cli.Command {
	return &cli.Command{
		Name:      "umount",
		Usage:     "unmount a `layerlint mount` and remove its work folder",
		ArgsUsage: "DIR",
		Description: "Acts only on a mount that `layerlint mount` made, as recorded in --state-dir: the\n" +
			"overlay still mounted at DIR and the work folder it created. It removes what mount\n" +
			"created in the work folder, never an --upper folder, and refuses (touching nothing)\n" +
			"when DIR or the work folder is not what it recorded.",
		Flags: []cli.Flag{stateDirFlag()},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return withCode(ExitInput, fmt.Errorf("umount: expected DIR, got %d arguments", c.NArg()))
			}
			if err := kernel.Unmount(c.Args().First(), c.String("state-dir")); err != nil {
				return fmt.Errorf("unmounting %s: %w", c.Args().First(), err)
			}
			return nil
		},
	}
}

// layerOpeners adapts source layers to the kernel backend's input.
func layerOpeners(img *source.Image, verify bool) ([]func() (io.ReadCloser, error), error) {
	var out []func() (io.ReadCloser, error)
	for _, l := range img.Layers {
		if l.Missing {
			return nil, fmt.Errorf("layer %d (%s) is not in the image (%s): cannot mount it", l.Index, l.Digest, l.MissingReason)
		}
		out = append(out, func() (io.ReadCloser, error) { return l.Open(verify) })
	}
	return out, nil
}

func runMount(c *cli.Context) error {
	args := c.Args().Slice()
	if len(args) != 2 {
		return withCode(ExitInput, fmt.Errorf("mount: expected IMAGE DIR, got %d arguments", len(args)))
	}
	if err := kernel.Check(); err != nil {
		return err
	}
	src, err := openImageArg(c, args[:1])
	if err != nil {
		return err
	}
	defer src.Close() //nolint:errcheck // read-only
	imgs := src.Images()
	if len(imgs) != 1 {
		return withCode(ExitInput, fmt.Errorf("mount: name one platform with --platform"))
	}
	// Analyze first: the caps refuse a bomb before anything is unpacked,
	// and the digests are checked before the image reaches the disk.
	ao := analyzeOptions(c, src, imgs[0])
	ao.DropChangesets = true // only the checks matter here
	if _, err := analyzeImage(c, imgs[0], args[0], ao); err != nil {
		return fmt.Errorf("checking %s before mounting it: %w", args[0], err)
	}
	layers, err := layerOpeners(imgs[0], !c.Bool("no-verify"))
	if err != nil {
		return withCode(ExitInput, err)
	}
	target := args[1]
	probes := c.StringSlice("probe-copy-up")
	if len(probes) > 0 {
		return probeCopyUp(c, layers, target, probes)
	}
	work := c.String("work")
	if work == "" {
		if work, err = kernel.DefaultWork(target); err != nil {
			return err
		}
	}
	opts := kernel.MountOptions{Upper: c.String("upper"), ReadOnly: c.String("upper") == "", StateDir: c.String("state-dir")}
	if err := kernel.Mount(c.Context, layers, work, target, opts); err != nil {
		return fmt.Errorf("mounting %s at %s: %w", args[0], target, err)
	}
	mode := "read-only"
	if !opts.ReadOnly {
		mode = "writable, upper " + opts.Upper
	}
	fmt.Fprintf(c.App.Writer, "mounted %s at %s (%s, %d layers); undo with: layerlint umount %s\n", escape.Text(args[0]), escape.Text(target), mode, len(layers), escape.Text(target))
	return nil
}

// probeCopyUp mounts the image writable in a throwaway work folder, appends
// one byte to each path and reports what the kernel copied up.
func probeCopyUp(c *cli.Context, layers []func() (io.ReadCloser, error), target string, paths []string) (err error) {
	tmp, err := os.MkdirTemp(c.String("work"), "layerlint-probe-")
	if err != nil {
		return fmt.Errorf("making probe work folder: %w", err)
	}
	defer func() {
		if rerr := os.RemoveAll(tmp); rerr != nil && err == nil {
			err = rerr
		}
	}()
	work := filepath.Join(tmp, "work")
	upper := filepath.Join(tmp, "upper")
	if err := kernel.Mount(c.Context, layers, work, target, kernel.MountOptions{Upper: upper, StateDir: c.String("state-dir")}); err != nil {
		return fmt.Errorf("mounting for the probe: %w", err)
	}
	defer func() {
		if uerr := kernel.Unmount(target, c.String("state-dir")); uerr != nil && err == nil {
			err = uerr
		}
	}()
	res, err := kernel.ProbeCopyUp(target, upper, paths)
	if err != nil {
		return err
	}
	if out := c.String("probe-output"); out != "" {
		if err := writeFile(out, func(w io.Writer) error { return writeProbe(w, res) }); err != nil {
			return err
		}
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "PATH\tSIZE\tCOPIED UP\tALLOCATED\tTIME\n")
	for _, r := range res {
		fmt.Fprintf(tw, "/%s\t%s\t%s\t%s\t%s\n", escape.Text(r.Path), analyze.Bytes(r.Size), analyze.Bytes(r.UpperBytes),
			analyze.Bytes(r.UpperAllocated), r.Duration.Round(time.Microsecond))
	}
	return tw.Flush()
}

// verifyWithKernel mounts the analyzed image with overlayfs and compares
// the kernel's merged view with the model's. It prints every difference
// and reports whether there were none.
func verifyWithKernel(c *cli.Context, a *analyze.Analysis) (bool, error) {
	if err := kernel.Check(); err != nil {
		return false, fmt.Errorf("--verify: %w", err)
	}
	layers, err := layerOpeners(a.Image, !c.Bool("no-verify"))
	if err != nil {
		return false, withCode(ExitInput, err)
	}
	work, err := os.MkdirTemp(c.String("work"), "layerlint-verify-")
	if err != nil {
		return false, fmt.Errorf("--verify: making work folder: %w", err)
	}
	defer os.RemoveAll(work) //nolint:errcheck // best effort: a temp folder
	got, err := kernel.MergedView(c.Context, layers, work)
	if err != nil {
		return false, fmt.Errorf("--verify: %w", err)
	}
	diffs := overlay.Compare(a.Model.Files(), got, overlay.CompareOptions{})
	w := c.App.ErrWriter
	if len(diffs) == 0 {
		fmt.Fprintf(w, "verify: the kernel's overlayfs shows the same %d paths as the model\n", len(got))
		return true, nil
	}
	fmt.Fprintf(w, "verify: the kernel's overlayfs and the model differ at %d places:\n", len(diffs))
	for _, d := range diffs {
		fmt.Fprintf(w, "  %s\n", escape.Text(d.String()))
	}
	return false, nil
}

// probeFile is the JSON that `mount --probe-output` writes and `lint
// --copy-up` reads: measured copy-up costs by image path.
type probeFile struct {
	SchemaVersion int                            `json:"schemaVersion"`
	Probes        map[string]rules.CopyUpMeasure `json:"probes"`
}

func writeProbe(w io.Writer, res []kernel.CopyUpResult) error {
	pf := probeFile{SchemaVersion: 1, Probes: map[string]rules.CopyUpMeasure{}}
	for _, r := range res {
		pf.Probes[r.Path] = rules.CopyUpMeasure{Size: r.Size, CopiedBytes: r.UpperBytes, Duration: r.Duration}
	}
	return analyze.WriteJSON(w, pf)
}

// readProbe reads a --probe-output file.
func readProbe(p string) (map[string]rules.CopyUpMeasure, error) {
	b, err := userfile.Read(p, 0)
	if err != nil {
		return nil, fmt.Errorf("reading copy-up measures: %w", err)
	}
	var pf probeFile
	if err := json.Unmarshal(b, &pf); err != nil {
		return nil, fmt.Errorf("reading copy-up measures %s: %w", p, err)
	}
	if pf.SchemaVersion != 1 {
		return nil, fmt.Errorf("reading copy-up measures %s: schemaVersion %d, want 1", p, pf.SchemaVersion)
	}
	out := make(map[string]rules.CopyUpMeasure, len(pf.Probes))
	for k, v := range pf.Probes {
		cp, ok := overlay.CleanPath(k)
		if !ok {
			return nil, fmt.Errorf("reading copy-up measures %s: path %q climbs above the root", p, k)
		}
		out[cp] = v
	}
	return out, nil
}
