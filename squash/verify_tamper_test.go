package squash_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/layerlint/layerlint/internal/testsupport"
	"github.com/layerlint/layerlint/squash"
)

// TestVerifyCatchesTampering writes a squash without verifying it, then
// alters what was written, or what the writer recorded, and requires the
// verification to fail: each check that rides on the single read of the
// written blobs (size, digest, diff_id, entries; ggcr's descriptors) has a
// case here.
func TestVerifyCatchesTampering(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		tamper func(t *testing.T, dir string, out *squash.Outcome, written int)
		want   string
	}{
		{name: "untouched"},
		{
			name: "flipped byte in the written layer",
			tamper: func(t *testing.T, dir string, out *squash.Outcome, w int) {
				t.Helper()
				if err := testsupport.CorruptBlob(dir, digest.Digest(out.Results[0].Layers[w].Digest.String())); err != nil {
					t.Fatal(err)
				}
			},
			want: "layer",
		},
		{
			name: "flipped byte in the config",
			tamper: func(t *testing.T, dir string, out *squash.Outcome, _ int) {
				t.Helper()
				if err := testsupport.CorruptBlob(dir, digest.FromBytes(out.Results[0].Config)); err != nil {
					t.Fatal(err)
				}
			},
			want: "config",
		},
		{
			// A writer whose framing lies: the content is what it claims,
			// every digest is recomputed to match, but the first gzip
			// member names a length one byte too long. The read falls back
			// to a serial decode there, and verification must say so.
			name: "writer named a wrong gzip member length",
			tamper: func(t *testing.T, dir string, out *squash.Outcome, w int) {
				t.Helper()
				republishLayer(t, dir, out, w, func(b []byte) {
					binary.LittleEndian.PutUint32(b[16:], binary.LittleEndian.Uint32(b[16:])+1)
				})
			},
			want: "named their length",
		},
		{
			name: "writer recorded another diff_id",
			tamper: func(_ *testing.T, _ string, out *squash.Outcome, w int) {
				out.Results[0].Layers[w].DiffID.Hex = strings.Repeat("0", 64)
			},
			want: "diff_id",
		},
		{
			name: "writer recorded another size",
			tamper: func(_ *testing.T, _ string, out *squash.Outcome, w int) {
				out.Results[0].Layers[w].Size++
			},
			want: "descriptor",
		},
	}
	src := stack(t, robustLayers(2)...)
	opts := squash.Options{Mode: squash.SquashAll, BaseLayers: 1}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := analyzeAll(t, src, "", opts.BaseLayers)
			p, err := squash.NewPlan(in[0], opts)
			if err != nil {
				t.Fatal(err)
			}
			imgs := []squash.Image{{Analysis: in[0], Plan: p}}
			dir := filepath.Join(t.TempDir(), "out")
			out, err := squash.Fix(context.Background(), imgs, opts, squash.Target{Kind: squash.OutputLayout, Path: dir}, nil)
			if err != nil {
				t.Fatal(err)
			}
			written := -1
			for i, l := range out.Results[0].Layers {
				if !l.Kept {
					written = i
				}
			}
			if written < 0 {
				t.Fatal("the squash wrote no layer")
			}
			if tt.tamper != nil {
				tt.tamper(t, dir, out, written)
			}
			vo := &squash.VerifyOptions{ModTime: true, RequireNoWaste: true}
			err = squash.VerifyLayout(context.Background(), imgs, out, dir, vo)
			var msg string
			switch {
			case err != nil:
				msg = err.Error()
			case len(out.Checks) != 1:
				t.Fatalf("%d checks, want 1", len(out.Checks))
			case !out.Checks[0].OK():
				msg = strings.Join(out.Checks[0].Problems, "; ") + strings.Repeat(" difference", len(out.Checks[0].Differences))
			}
			if tt.want == "" {
				if msg != "" {
					t.Fatalf("untouched output failed: %s", msg)
				}
				return
			}
			if msg == "" {
				t.Fatal("tampered output verified")
			}
			if !strings.Contains(msg, tt.want) {
				t.Fatalf("failure %q does not mention %q", msg, tt.want)
			}
		})
	}
}

// republishLayer edits the written layer w of out in place (same length)
// and publishes the result as if the writer had written it: the new blob,
// a manifest naming it, index.json naming that manifest, and the writer's
// records of both.
func republishLayer(t *testing.T, dir string, out *squash.Outcome, w int, edit func([]byte)) {
	t.Helper()
	res := out.Results[0]
	old := res.Layers[w].Digest
	b, err := os.ReadFile(testsupport.BlobPath(dir, digest.Digest(old.String())))
	if err != nil {
		t.Fatal(err)
	}
	edit(b)
	d, err := testsupport.PutBlob(dir, b)
	if err != nil {
		t.Fatal(err)
	}
	manifest := bytes.ReplaceAll(res.Manifest, []byte(old.String()), []byte(d.String()))
	md, err := testsupport.PutBlob(dir, manifest)
	if err != nil {
		t.Fatal(err)
	}
	oldManifest := digest.Digest(res.ManifestDigest.String())
	if err := testsupport.EditIndexJSON(dir, func(idx *ocispec.Index) {
		for i := range idx.Manifests {
			if idx.Manifests[i].Digest == oldManifest {
				idx.Manifests[i].Digest, idx.Manifests[i].Size = md, int64(len(manifest))
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	if res.Layers[w].Digest, err = v1.NewHash(d.String()); err != nil {
		t.Fatal(err)
	}
	if res.ManifestDigest, err = v1.NewHash(md.String()); err != nil {
		t.Fatal(err)
	}
	res.Manifest = manifest
	out.Root.Digest, out.Root.Size = res.ManifestDigest, int64(len(manifest))
}
