package main

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/internal/escape"
	"github.com/layerlint/layerlint/overlay"
)

// lsEntry is one line of `ls --format json`; its keys are part of the JSON
// contract (docs/json.md).
type lsEntry struct {
	Path     string `json:"path"`
	Type     string `json:"type"`
	Mode     string `json:"mode"`
	UID      int    `json:"uid"`
	GID      int    `json:"gid"`
	Size     int64  `json:"size"`
	Linkname string `json:"linkname,omitempty"`
	Layer    int    `json:"layer"`
	Link     uint64 `json:"hardlinkGroup,omitempty"`
}

func lsCommand() *cli.Command {
	return &cli.Command{
		Name:      "ls",
		Usage:     "list the merged view of an image",
		ArgsUsage: "IMAGE [PATH-PREFIX]",
		Description: "Lists every path the container sees (or, with --layer N, the view as of layer N),\n" +
			"with type, mode, owner, size, link target and the layer that provides it.",
		Flags: append(imageFlags(),
			&cli.IntFlag{Name: "layer", Value: -1, Usage: "show the view as of layer `N` (default: the top)"},
			&cli.StringFlag{Name: "format", Value: "text", Usage: "`text` or json"},
		),
		Action: runLs,
	}
}

func runLs(c *cli.Context) error {
	format := c.String("format")
	if format != "text" && format != "json" {
		return withCode(ExitInput, fmt.Errorf("ls: --format %q: want text or json", format))
	}
	prefix := ""
	if c.NArg() == 2 {
		p, ok := overlay.CleanPath(c.Args().Get(1))
		if !ok {
			return withCode(ExitInput, fmt.Errorf("ls: path %q climbs above the root", c.Args().Get(1)))
		}
		prefix = p
	}
	args := c.Args().Slice()
	if len(args) > 2 {
		return withCode(ExitInput, fmt.Errorf("ls: expected IMAGE [PATH-PREFIX], got %d arguments", len(args)))
	}
	src, err := openImageArg(c, args[:min(1, len(args))])
	if err != nil {
		return err
	}
	defer src.Close() //nolint:errcheck // read-only
	imgs := src.Images()
	if len(imgs) != 1 {
		return withCode(ExitInput, fmt.Errorf("ls: --platform all lists one image at a time; name a platform"))
	}
	img := imgs[0]
	opts := analyzeOptions(c, src, img)
	opts.DropChangesets = true // ls lists the view
	if n := c.Int("layer"); n >= 0 {
		if n >= len(img.Layers) {
			return withCode(ExitInput, fmt.Errorf("ls: --layer %d: the image has layers 0 to %d", n, len(img.Layers)-1))
		}
		opts.Layers = n + 1
	}
	a, err := analyzeImage(c, img, c.Args().First(), opts)
	if err != nil {
		return fmt.Errorf("reading %s: %w", c.Args().First(), err)
	}
	var entries []lsEntry
	err = a.Model.Walk(prefix, func(f *overlay.File) error {
		entries = append(entries, lsEntry{
			Path: "/" + f.Path, Type: f.Type.String(), Mode: fmt.Sprintf("%04o", f.Mode), UID: f.UID, GID: f.GID,
			Size: f.Size, Linkname: f.Linkname, Layer: f.Layer, Link: f.Link,
		})
		return nil
	})
	if err != nil {
		return err
	}
	if format == "json" {
		if entries == nil {
			entries = []lsEntry{}
		}
		return escape.WriteJSON(c.App.Writer, entries)
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 0, 1, ' ', 0)
	for _, e := range entries {
		name := analyze.Printable(e.Path)
		if e.Linkname != "" {
			name += " -> " + analyze.Printable(e.Linkname)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\n", typeChar(e.Type)+e.Mode, e.Type, e.UID, e.GID,
			strconv.FormatInt(e.Size, 10), "L"+strconv.Itoa(e.Layer), name)
	}
	return tw.Flush()
}

func typeChar(t string) string {
	switch t {
	case "dir":
		return "d"
	case "symlink":
		return "l"
	case "char":
		return "c"
	case "block":
		return "b"
	case "fifo":
		return "p"
	}
	return strings.Repeat("-", 1)
}
