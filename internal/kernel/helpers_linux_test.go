package kernel

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/layerlint/layerlint/internal/testenv"
	"github.com/layerlint/layerlint/overlay"
)

// ent is one tar entry of a hand-built layer.
type ent struct {
	name         string
	typ          byte
	body         string
	link         string
	mode         int64
	uid, gid     int
	mtime        int64
	xattrs       map[string]string
	major, minor int64
}

func file(name, body string) ent {
	return ent{name: name, typ: tar.TypeReg, body: body, mode: 0o644, mtime: 1000}
}
func dir(name string) ent { return ent{name: name, typ: tar.TypeDir, mode: 0o755, mtime: 1000} }
func symlink(name, target string) ent {
	return ent{name: name, typ: tar.TypeSymlink, link: target, mode: 0o777, mtime: 1000}
}
func hardlink(name, target string) ent {
	return ent{name: name, typ: tar.TypeLink, link: target, mode: 0o644, mtime: 1000}
}
func fifo(name string) ent { return ent{name: name, typ: tar.TypeFifo, mode: 0o644, mtime: 1000} }
func chardev(name string, major, minor int64) ent {
	return ent{name: name, typ: tar.TypeChar, mode: 0o600, major: major, minor: minor, mtime: 1000}
}

// whiteout returns the OCI whiteout entry of p.
func whiteout(p string) ent {
	d, b := path.Split(p)
	return ent{name: d + overlay.WhiteoutPrefix + b, typ: tar.TypeReg, mode: 0o644}
}

// opaque returns the opaque marker entry of directory d.
func opaque(d string) ent {
	return ent{name: path.Join(d, overlay.OpaqueMarker), typ: tar.TypeReg, mode: 0o644}
}

func (e ent) withMode(m int64) ent       { e.mode = m; return e }
func (e ent) withOwner(uid, gid int) ent { e.uid, e.gid = uid, gid; return e }
func (e ent) withXattr(k, v string) ent {
	x := map[string]string{k: v}
	for kk, vv := range e.xattrs {
		x[kk] = vv
	}
	e.xattrs = x
	return e
}

func (e ent) String() string {
	switch e.typ {
	case tar.TypeReg:
		if strings.Contains(e.name, overlay.WhiteoutPrefix) {
			return e.name
		}
		return fmt.Sprintf("file %s %q %#o %d:%d", e.name, e.body, e.mode, e.uid, e.gid)
	case tar.TypeDir:
		return fmt.Sprintf("dir %s %#o %d:%d %v", e.name, e.mode, e.uid, e.gid, e.xattrs)
	case tar.TypeSymlink:
		return fmt.Sprintf("symlink %s -> %s", e.name, e.link)
	case tar.TypeLink:
		return fmt.Sprintf("hardlink %s => %s", e.name, e.link)
	case tar.TypeFifo:
		return "fifo " + e.name
	}
	return fmt.Sprintf("type %c %s", e.typ, e.name)
}

// layerTar builds an uncompressed layer tar from entries, in order.
func layerTar(t testing.TB, ents ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		hdr := &tar.Header{
			Name: e.name, Typeflag: e.typ, Mode: e.mode, Uid: e.uid, Gid: e.gid,
			Linkname: e.link, ModTime: time.Unix(e.mtime, 0), Devmajor: e.major, Devminor: e.minor,
			Format: tar.FormatPAX,
		}
		if e.typ == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		for k, v := range e.xattrs {
			if hdr.PAXRecords == nil {
				hdr.PAXRecords = map[string]string{}
			}
			hdr.PAXRecords["SCHILY.xattr."+k] = v
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("writing header %s: %v", e.name, err)
		}
		if hdr.Size > 0 {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatalf("writing %s: %v", e.name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatalf("closing tar: %v", err)
	}
	return buf.Bytes()
}

func openers(tars [][]byte) []func() (io.ReadCloser, error) {
	out := make([]func() (io.ReadCloser, error), len(tars))
	for i, b := range tars {
		out[i] = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	return out
}

func tarsOf(t testing.TB, layers [][]ent) [][]byte {
	t.Helper()
	tars := make([][]byte, len(layers))
	for i, l := range layers {
		tars[i] = layerTar(t, l...)
	}
	return tars
}

// needKernel skips the test unless this process can mount overlayfs.
func needKernel(t testing.TB) {
	t.Helper()
	if err := Check(); err != nil {
		testenv.Skip(t, "needs root for mount(2) and overlayfs: %v", err)
	}
}

// modelView returns the merged view the model computes for the tars.
func modelView(t testing.TB, tars [][]byte) []overlay.File {
	t.Helper()
	m := overlay.NewModel()
	for i, b := range tars {
		cs, err := overlay.ReadChangeset(bytes.NewReader(b), overlay.ReadOptions{})
		if err != nil {
			t.Fatalf("model: reading layer %d: %v", i, err)
		}
		m.Apply(cs)
	}
	return m.Files()
}

// compareOpts is what the differential tests hold both backends to: every
// attribute but hard-link groups, which the kernel backend cannot show
// across layers (see docs/overlay-semantics.md).
var compareOpts = overlay.CompareOptions{Xattrs: true, ModTime: true}

// view indexes files by path.
func view(files []overlay.File) map[string]overlay.File {
	m := make(map[string]overlay.File, len(files))
	for _, f := range files {
		m[f.Path] = f
	}
	return m
}

func paths(files []overlay.File) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.Path
	}
	return out
}

// formatStack renders a stack for failure messages.
func formatStack(layers [][]ent) string {
	var b strings.Builder
	for i, l := range layers {
		fmt.Fprintf(&b, "  layer %d:\n", i)
		for _, e := range l {
			fmt.Fprintf(&b, "    %v\n", e)
		}
	}
	return b.String()
}

// checkAgainstModel runs both backends on the stack and fails on any
// difference; it returns the kernel's view for further checks.
func checkAgainstModel(t *testing.T, layers ...[]ent) map[string]overlay.File {
	t.Helper()
	tars := tarsOf(t, layers)
	got, err := MergedView(context.Background(), openers(tars), t.TempDir())
	if err != nil {
		t.Fatalf("kernel merged view: %v\nstack:\n%s", err, formatStack(layers))
	}
	want := modelView(t, tars)
	if diffs := overlay.Compare(want, got, compareOpts); len(diffs) > 0 {
		t.Errorf("model (want) and kernel (got) disagree:\n%s\nstack:\n%s", formatDiffs(diffs), formatStack(layers))
	}
	return view(got)
}

func formatDiffs(diffs []overlay.Difference) string {
	var b strings.Builder
	for _, d := range diffs {
		fmt.Fprintf(&b, "  %v\n", d)
	}
	return b.String()
}
