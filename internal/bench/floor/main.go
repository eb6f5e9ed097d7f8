// Command floor is the lower bound that `layerlint analyze` is measured
// against (.ci/bench-analyze): it reads the given layer blobs in parallel,
// one goroutine per blob up to GOMAXPROCS, decodes each with klauspost's
// gzip or zstd (by magic bytes) and hashes both the compressed and the
// uncompressed stream with SHA-256, as a verifying analysis must. It parses
// nothing and models nothing: whatever analyze spends above it is the cost
// of the tar parse, the content hashes and the overlay model.
//
//	go run ./internal/bench/floor BLOB...
package main

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1) //nolint:forbidigo // a benchmark tool outside the layerlint CLI
	}
}

func run(blobs []string) error {
	if len(blobs) == 0 {
		return errors.New("usage: floor BLOB")
	}
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	errs := make([]error, len(blobs))
	var total int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, b := range blobs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			n, err := one(b)
			errs[i] = err
			mu.Lock()
			total += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "%d uncompressed bytes\n", total)
	return nil
}

// one reads one blob: compressed bytes into a SHA-256, decoded bytes into
// another. It returns the uncompressed size.
func one(name string) (int64, error) {
	f, err := os.Open(name) //nolint:gosec // the blobs the benchmark was told to read
	if err != nil {
		return 0, err
	}
	defer f.Close() //nolint:errcheck // read-only
	blobH, diffH := sha256.New(), sha256.New()
	br := bufio.NewReaderSize(io.TeeReader(f, blobH), 256<<10)
	magic, err := br.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	var dec io.Reader
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		dec = zr
	case len(magic) == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd:
		zd, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		defer zd.Close()
		dec = zd
	default:
		dec = br
	}
	n, err := io.CopyBuffer(diffH, dec, make([]byte, 256<<10))
	if err != nil {
		return n, fmt.Errorf("%s: %w", name, err)
	}
	if _, err := io.Copy(io.Discard, br); err != nil { // trailing bytes into the blob digest
		return n, fmt.Errorf("%s: %w", name, err)
	}
	_ = blobH.Sum(nil)
	_ = diffH.Sum(nil)
	return n, nil
}
