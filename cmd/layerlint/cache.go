package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/urfave/cli/v2"

	"github.com/layerlint/layerlint/analyze"
	"github.com/layerlint/layerlint/analyze/source"
	"github.com/layerlint/layerlint/internal/layercache"
)

// The flags of the layer cache, part of imageFlags: every command that
// analyzes has them (and so LAYERLINT_CACHE_DIR and the others).
func cacheDirFlag() cli.Flag {
	return &cli.StringFlag{
		Name:  "cache-dir",
		Usage: "keep analyzed layers in `DIR` (default: layerlint under the user cache directory)",
	}
}

func noCacheFlag() cli.Flag {
	return &cli.BoolFlag{Name: "no-cache", Usage: "neither read nor write the layer cache"}
}

func cacheURLFlag() cli.Flag {
	return &cli.StringFlag{
		Name:  "cache",
		Usage: "a shared layer cache at `URL` (redis://HOST:PORT/DB) instead of the cache directory",
	}
}

func cacheTTLFlag() cli.Flag {
	return &cli.DurationFlag{
		Name:  "cache-ttl",
		Usage: "how long an entry of a shared cache lives after its last use",
		Value: layercache.DefaultTTL,
	}
}

func cacheMaxBytesFlag() cli.Flag {
	return &cli.Int64Flag{
		Name:  "cache-max-bytes",
		Usage: "size limit of the cache directory; the least recently used layers go first",
		Value: layercache.DefaultMaxBytes,
	}
}

// metaCache is where a run keeps its open cache, so that every image of
// the run shares it and run can close it.
const metaCache = "layercache"

// cacheCloser is what a run must close when it ends.
type cacheCloser interface{ Close() error }

// layerCache returns the run's cache, opening it on first use; nil with
// --no-cache. A cache that cannot be opened is a warning, not an error:
// analysis works without it.
func layerCache(c *cli.Context) analyze.LayerCache {
	if c.Bool("no-cache") {
		return nil
	}
	if c.App.Metadata == nil {
		c.App.Metadata = map[string]any{}
	}
	if lc, ok := c.App.Metadata[metaCache].(*layercache.Cache); ok {
		return lc
	}
	warn := func(err error) {
		fmt.Fprintf(c.App.ErrWriter, "layerlint: warning: %s\n", analyze.Printable(err.Error()))
	}
	store, closer, err := openCacheStore(c)
	if err != nil {
		warn(fmt.Errorf("layer cache off: %w", err))
		c.App.Metadata[metaCache] = (*layercache.Cache)(nil)
		return nil
	}
	lc := layercache.New(store, warn)
	c.App.Metadata[metaCache] = lc
	c.App.Metadata[metaCache+".closer"] = closer
	return lc
}

func openCacheStore(c *cli.Context) (layercache.Store, cacheCloser, error) {
	if u := c.String("cache"); u != "" {
		if !strings.HasPrefix(u, "redis://") && !strings.HasPrefix(u, "rediss://") && !strings.HasPrefix(u, "unix://") {
			return nil, nil, fmt.Errorf("--cache %q: want redis://HOST:PORT/DB", u)
		}
		r, err := layercache.OpenRedis(c.Context, u, c.Duration("cache-ttl"))
		if err != nil {
			return nil, nil, err
		}
		return r, r, nil
	}
	dir := c.String("cache-dir")
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return nil, nil, fmt.Errorf("no cache directory (set --cache-dir or LAYERLINT_CACHE_DIR): %w", err)
		}
		dir = filepath.Join(base, "layerlint")
	}
	d, err := layercache.OpenDir(dir, c.Int64("cache-max-bytes"))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", dir, err)
	}
	return d, d, nil
}

// closeCache closes the run's cache store, if one was opened.
func closeCache(app *cli.App) error {
	if cl, ok := app.Metadata[metaCache+".closer"].(cacheCloser); ok && cl != nil {
		return cl.Close()
	}
	return nil
}

// debugDecodes returns the OnDecode hook of LAYERLINT_DEBUG=decodes: one
// line on stderr per layer blob decoded, which is how tests of a shared
// cache count decodes across processes.
func debugDecodes(c *cli.Context) func(*source.Layer) {
	if os.Getenv("LAYERLINT_DEBUG") != "decodes" {
		return nil
	}
	w := c.App.ErrWriter
	// Layers decode concurrently: one line at a time.
	var mu sync.Mutex
	return func(l *source.Layer) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "layerlint: debug: decoded %s\n", l.Digest)
	}
}
