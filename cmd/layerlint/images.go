package main

import (
	"errors"
	"fmt"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/urfave/cli/v2"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/analyze/source"
)

// imageFlags are the flags shared by the commands that open an image. They
// are made afresh for every command tree, so that no two apps (tests run
// many) share a flag's state.
func imageFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{
			Name:  "platform",
			Usage: "`os/arch[/variant]` of a multi-platform index, or \"all\" (default: the host's, if present)",
		},
		&cli.BoolFlag{
			Name:  "insecure",
			Usage: "allow plain HTTP to the registry of a registry: or docker:// IMAGE (loopback and private networks already get it)",
		},
		&cli.BoolFlag{
			Name:  "no-verify",
			Usage: "skip the blob digest and diff_id checks",
		},
		&cli.IntFlag{
			Name:  "base-layers",
			Usage: "how many bottom layers come from the base image when its annotations do not say",
			Value: 1,
		},
		&cli.Int64Flag{
			Name:   "max-layer-bytes",
			Usage:  "cap on the uncompressed content of one layer",
			Value:  analyze.DefaultMaxLayerBytes,
			Action: positiveInt64("max-layer-bytes"),
		},
		&cli.Int64Flag{
			Name:   "max-image-bytes",
			Usage:  "cap on the uncompressed content of the whole image",
			Value:  analyze.DefaultMaxImageBytes,
			Action: positiveInt64("max-image-bytes"),
		},
		&cli.IntFlag{
			Name:   "max-layer-entries",
			Usage:  "cap on the tar entries of one layer",
			Value:  analyze.DefaultMaxLayerEntries,
			Action: positiveInt("max-layer-entries"),
		},
		&cli.Int64Flag{
			Name:   "max-save-bytes",
			Usage:  "cap on the docker save stream of a docker-daemon: or podman: IMAGE, spooled to a temporary file",
			Value:  source.DefaultMaxSaveBytes,
			Action: positiveInt64("max-save-bytes"),
		},
		&cli.IntFlag{
			Name:   "max-path-bytes",
			Usage:  "cap on the length of one path (or hard-link target) in a layer",
			Value:  analyze.DefaultMaxPathBytes,
			Action: positiveInt("max-path-bytes"),
		},
		&cli.IntFlag{
			Name:   "max-path-depth",
			Usage:  "cap on the levels of one path (or hard-link target) in a layer",
			Value:  analyze.DefaultMaxPathDepth,
			Action: positiveInt("max-path-depth"),
		},
		&cli.BoolFlag{
			Name:    "quiet",
			Aliases: []string{"q"},
			Usage:   "show no progress (it is shown only when standard error is a terminal)",
		},
		cacheDirFlag(), noCacheFlag(), cacheMaxBytesFlag(), cacheURLFlag(), cacheTTLFlag(),
	}
}

// positiveInt and positiveInt64 refuse a cap of zero or less: "no cap"
// is not something an image from a pull request should be given, and 0
// used to mean the default silently.
func positiveInt(name string) func(*cli.Context, int) error {
	return func(_ *cli.Context, v int) error { return positive(name, int64(v)) }
}

func positiveInt64(name string) func(*cli.Context, int64) error {
	return func(_ *cli.Context, v int64) error { return positive(name, v) }
}

func positive(name string, v int64) error {
	if v <= 0 {
		return withCode(ExitInput, fmt.Errorf("--%s %d: a cap must be at least 1", name, v))
	}
	return nil
}

// imageFlagsExcept is imageFlags without the named ones.
func imageFlagsExcept(names ...string) []cli.Flag {
	return slices.DeleteFunc(imageFlags(), func(f cli.Flag) bool { return slices.Contains(names, f.Names()[0]) })
}

// openImage opens the only argument, IMAGE. The caller closes the source.
func openImage(c *cli.Context) (*source.Source, error) {
	return openImageArg(c, c.Args().Slice())
}

func openImageArg(c *cli.Context, args []string) (*source.Source, error) {
	if len(args) != 1 {
		return nil, withCode(ExitInput, fmt.Errorf("%s: expected one IMAGE argument, got %d (see --help)", c.Command.Name, len(args)))
	}
	src, err := source.OpenContext(c.Context, args[0], sourceOptions(c, c.String("platform")))
	if err != nil {
		return nil, err // source errors name the path already
	}
	return src, nil
}

// sourceOptions reads the flags that say how to open an image.
func sourceOptions(c *cli.Context, platform string) source.Options {
	return source.Options{
		Platform: platform,
		Verify:   !c.Bool("no-verify"),
		Registry: source.RegistryOptions{Insecure: c.Bool("insecure")},
		// Commands without the flag (it is in imageFlags) get 0, the default.
		MaxSaveBytes: c.Int64("max-save-bytes"),
	}
}

// analyzeOptions reads the flags that tune analysis for one image.
func analyzeOptions(c *cli.Context, src *source.Source, img *source.Image) analyze.Options {
	opts := analyze.Options{
		Verify:          !c.Bool("no-verify"),
		MaxLayerBytes:   c.Int64("max-layer-bytes"),
		MaxImageBytes:   c.Int64("max-image-bytes"),
		MaxLayerEntries: c.Int("max-layer-entries"),
		Cache:           layerCache(c),
		OnDecode:        debugDecodes(c),
		MaxPathBytes:    c.Int("max-path-bytes"),
		MaxPathDepth:    c.Int("max-path-depth"),
	}
	if n, ok := analyze.BaseLayersFromAnnotations(img, baseLookup(c, src)); ok {
		opts.BaseLayers, opts.BaseFrom = n, analyze.BaseAnnotation
	} else if c.IsSet("base-layers") {
		opts.BaseLayers, opts.BaseFrom = c.Int("base-layers"), analyze.BaseOption
	}
	return opts
}

// analyzeImage analyzes img, called name, showing the progress of the
// read on a terminal.
func analyzeImage(c *cli.Context, img *source.Image, name string, opts analyze.Options) (*analyze.Analysis, error) {
	n := len(img.Layers)
	if opts.Layers > 0 && opts.Layers < n {
		n = opts.Layers
	}
	pr := startProgress(c, img, n, name)
	opts.Progress = pr.observe()
	a, err := analyze.Analyze(c.Context, img, opts)
	pr.close()
	return a, err
}

// baseLookup finds a base image by manifest digest in the same layout or
// archive, where build tools often keep it.
func baseLookup(c *cli.Context, src *source.Source) func(string) (*source.Image, error) {
	return func(d string) (*source.Image, error) {
		h, err := v1.NewHash(d)
		if err != nil {
			return nil, err
		}
		ref := src.Reference()
		switch ref.Format {
		case source.FormatDockerArchive, source.FormatDockerDaemon, source.FormatPodman:
			return nil, errors.New("docker archives do not index by manifest digest")
		case source.FormatAuto, source.FormatOCILayout, source.FormatOCIArchive, source.FormatRegistry:
		}
		ref.Tag, ref.Digest, ref.Index = "", h, -1
		opts := sourceOptions(c, "all")
		opts.Verify = false
		bs, err := source.OpenReferenceContext(c.Context, ref, opts)
		if err != nil {
			return nil, err
		}
		defer bs.Close() //nolint:errcheck // read-only
		imgs := bs.Images()
		if len(imgs) != 1 {
			return nil, errors.New("base digest names an index")
		}
		return imgs[0], nil
	}
}

// referenceName is what reports call the image: the argument as given.
func referenceName(c *cli.Context, img *source.Image, many bool) string {
	name := c.Args().First()
	if many && img.Platform != nil {
		name += " [" + img.Platform.OS + "/" + img.Platform.Architecture + "]"
	}
	return name
}
