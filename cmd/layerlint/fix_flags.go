package main

import (
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/urfave/cli/v2"

	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/squash"
)

// fixFlags are the flags of fix, read and checked before anything is opened.
type fixFlags struct {
	opts   squash.Options
	target squash.Target
	verify bool
	// stripRules are the rule IDs of --strip LLxxx: their findings' paths
	// are stripped, per image.
	stripRules []string
	// tags is the name an --output docker-daemon:NAME:TAG gives.
	tags []string
}

func readFixFlags(c *cli.Context) (*fixFlags, error) {
	f := &fixFlags{verify: !c.Bool("no-verify")}
	if err := readSquashFlag(c, f); err != nil {
		return nil, err
	}
	f.opts.Reorder = c.Bool("reorder")
	for _, s := range c.StringSlice("strip") {
		if r, ok := ruleNamed(s); ok {
			f.stripRules = append(f.stripRules, r.ID)
			continue
		}
		f.opts.Strip = append(f.opts.Strip, s)
	}
	comp, err := squash.ParseCompression(c.String("compression"))
	if err != nil {
		return nil, withCode(ExitInput, err)
	}
	f.opts.Compression, f.opts.Level, f.opts.ForceCompression = comp, c.Int("level"), c.Bool("force-compression")
	if f.opts.ForceCompression && comp == squash.CompressionSource {
		return nil, fixUsage("--force-compression needs --compression")
	}
	if c.IsSet("rewrite-timestamp") {
		ts := c.Int64("rewrite-timestamp")
		f.opts.RewriteTimestamp = &ts
	}
	modes := 0
	for _, n := range []string{"dry-run", "output", "in-place", "push", "load"} {
		if c.IsSet(n) {
			modes++
		}
	}
	if modes != 1 {
		return nil, fixUsage("say where the result goes: exactly one of --dry-run, --output PATH, --in-place, --push REF or --load")
	}
	if err := readTarget(c, f); err != nil {
		return nil, err
	}
	if c.IsSet("tag") && f.target.Kind == squash.OutputRegistry {
		return nil, fixUsage("--push REF names the image; drop --tag")
	}
	if c.Bool("gc") && f.target.Kind != squash.OutputInPlace {
		return nil, fixUsage("--gc only applies to --in-place")
	}
	// A docker archive's readers take gzip or uncompressed layers only:
	// go-containerregistry's tarball (crane validate, crane push) reads
	// the first layer's compression for all, and docker save never writes
	// zstd. Refuse it here rather than write an archive they misread.
	if comp == squash.CompressionZstd && (f.target.Kind == squash.OutputDockerArchive || f.target.Kind == squash.OutputEngine) {
		return nil, fixUsage("--compression zstd: a docker archive (and an engine's load) takes gzip or none; write an OCI layout for zstd")
	}
	f.target.Tags, f.target.GC, f.target.KeepMediaTypes = c.StringSlice("tag"), c.Bool("gc"), c.Bool("keep-media-types")
	if f.tags != nil {
		f.target.Tags = f.tags
	}
	return f, nil
}

// readSquashFlag reads the --squash values: all, auto, or ranges.
func readSquashFlag(c *cli.Context, f *fixFlags) error {
	for _, s := range c.StringSlice("squash") {
		switch s {
		case "all", "auto":
			if f.opts.Mode != squash.SquashNone {
				return fixUsage("--squash %s cannot be combined with another --squash", s)
			}
			f.opts.Mode = squash.SquashAll
			if s == "auto" {
				f.opts.Mode = squash.SquashAuto
			}
		default:
			r, err := squash.ParseRange(s)
			if err != nil {
				return withCode(ExitInput, err)
			}
			if f.opts.Mode != squash.SquashNone && f.opts.Mode != squash.SquashRanges {
				return fixUsage("--squash %s cannot be combined with all or auto", s)
			}
			f.opts.Mode = squash.SquashRanges
			f.opts.Ranges = append(f.opts.Ranges, r)
		}
	}
	return nil
}

// readTarget reads where the result goes: --dry-run, --in-place, --push,
// --load or --output.
func readTarget(c *cli.Context, f *fixFlags) error {
	f.target.Registry = source.RegistryOptions{Insecure: c.Bool("insecure")}
	out, err := source.ParseReference(c.String("output"))
	if err != nil {
		if o := c.String("output"); strings.HasPrefix(o, "docker-daemon:") || strings.HasPrefix(o, "podman:") {
			return withCode(ExitInput, fmt.Errorf("fix: --output: %w", err))
		}
		out = source.Reference{}
	}
	switch {
	case c.Bool("dry-run"):
		f.target.Kind = squash.OutputNone
	case c.Bool("in-place"):
		f.target.Kind = squash.OutputInPlace
	case c.IsSet("push"):
		f.target.Kind = squash.OutputRegistry
		ref, _ := source.ParseReference(c.String("push"))
		f.target.Path = c.String("push")
		if ref.Format == source.FormatRegistry {
			f.target.Path = ref.Path // registry:REF and docker://REF say the same
		}
	case c.Bool("load"), out.Format == source.FormatDockerDaemon || out.Format == source.FormatPodman:
		f.target.Kind = squash.OutputEngine
		in, _ := source.ParseReference(c.Args().First())
		f.target.Engine = source.EngineHost(source.FormatDockerDaemon)
		if out.Format == source.FormatPodman || c.Bool("load") && in.Format == source.FormatPodman {
			f.target.Engine = source.EngineHost(source.FormatPodman)
		}
		if in.Format == source.FormatDockerDaemon || in.Format == source.FormatPodman {
			// The address the source is opened at (sourceOptions sets no
			// EngineHost): an unchanged image is not loaded back into it.
			f.target.SourceEngine = source.EngineHost(in.Format)
		}
		if err := readEngineOutput(c, f, out); err != nil {
			return err
		}
	default:
		if err := readFileOutput(c, f, out); err != nil {
			return err
		}
	}
	return nil
}

// readEngineOutput reads the image name of --output docker-daemon:NAME
// or podman:NAME.
func readEngineOutput(c *cli.Context, f *fixFlags, out source.Reference) error {
	if !c.IsSet("output") {
		return nil
	}
	if c.IsSet("tag") {
		return fixUsage("--output %s names the image already; drop --tag", c.String("output"))
	}
	name, err := source.EngineImageName(out.Path)
	if err != nil {
		return withCode(ExitInput, fmt.Errorf("fix: --output: %w", err))
	}
	f.tags = []string{name}
	return nil
}

// readFileOutput reads --output PATH and --output-format: a plain path,
// or oci:DIR[:TAG] or docker-archive:FILE[:REPO:TAG].
func readFileOutput(c *cli.Context, f *fixFlags, out source.Reference) error {
	f.target.Path = c.String("output")
	format := c.String("output-format")
	// oci:DIR[:TAG] and docker-archive:FILE[:REPO:TAG] as an IMAGE is
	// spelled: the transport picks the format and the name. Taken as a
	// plain path, they made a folder named "oci:" in the working
	// directory and the report said oci:DIR was written.
	switch out.Format {
	case source.FormatOCILayout, source.FormatDockerArchive:
		want := "oci"
		if out.Format == source.FormatDockerArchive {
			want = "docker-archive"
		}
		if c.IsSet("output-format") && format != want {
			return fixUsage("--output %s is a %s; --output-format %s says otherwise", c.String("output"), want, format)
		}
		if out.Digest != (v1.Hash{}) || out.Index >= 0 {
			return fixUsage("--output %s: a digest or index selects an existing image; name the new one with :TAG", c.String("output"))
		}
		if out.Tag != "" {
			if c.IsSet("tag") {
				return fixUsage("--output %s names the image already; drop --tag", c.String("output"))
			}
			f.tags = []string{out.Tag}
		}
		f.target.Path, format = out.Path, want
	case source.FormatRegistry:
		return fixUsage("--output %s: push to a registry with --push REF", c.String("output"))
	case source.FormatAuto, source.FormatDockerDaemon, source.FormatPodman:
		// A plain path, with --output-format saying the format.
	case source.FormatOCIArchive:
		return fixUsage("--output %s: fix writes an OCI layout (oci:DIR) or a docker archive (docker-archive:FILE), not an OCI archive", c.String("output"))
	}
	switch format {
	case "oci":
		f.target.Kind = squash.OutputLayout
	case "docker-archive":
		f.target.Kind = squash.OutputDockerArchive
	default:
		return fixUsage("--output-format %q: want oci or docker-archive", format)
	}
	return nil
}

// fixUsage is a usage error of fix.
func fixUsage(format string, a ...any) error {
	return withCode(ExitInput, fmt.Errorf("fix: "+format, a...))
}
