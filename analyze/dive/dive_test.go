package dive

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/layerlint/layerlint/internal/testsupport"
	"github.com/layerlint/layerlint/overlay"
)

// diveData finds shared/dive-data beside the repository (see its README for
// provenance), or skips the test.
func diveData(t *testing.T) string {
	t.Helper()
	return filepath.Dir(testsupport.NeedDiveData(t, "README.md"))
}

// readTarFiles returns the regular files of a small outer image tar.
func readTarFiles(t *testing.T, name string) map[string][]byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	files := make(map[string][]byte)
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatalf("reading %s: %v", name, err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("reading %s in %s: %v", hdr.Name, name, err)
		}
		files[strings.TrimPrefix(hdr.Name, "./")] = b
	}
}

// decompress returns the uncompressed bytes of a layer blob by media type.
func decompress(t *testing.T, mediaType string, b []byte) []byte {
	t.Helper()
	var out []byte
	var err error
	switch {
	case strings.HasSuffix(mediaType, "+gzip"):
		var gz *gzip.Reader
		if gz, err = gzip.NewReader(bytes.NewReader(b)); err == nil {
			out, err = io.ReadAll(gz)
			err = errors.Join(err, gz.Close())
		}
	case strings.HasSuffix(mediaType, "+zstd"):
		var zr *zstd.Decoder
		if zr, err = zstd.NewReader(nil); err == nil {
			out, err = zr.DecodeAll(b, nil)
			zr.Close()
		}
	default:
		out = b
	}
	if err != nil {
		t.Fatalf("decompressing %s: %v", mediaType, err)
	}
	return out
}

func addLayer(t *testing.T, c *Calculator, r io.Reader, name string) {
	t.Helper()
	cs, err := overlay.ReadChangeset(r, overlay.ReadOptions{})
	if err != nil {
		t.Fatalf("reading layer %s: %v", name, err)
	}
	c.AddLayer(cs)
}

// dockerSaveMetrics feeds the layers of a classic `docker save` tar in
// manifest order.
func dockerSaveMetrics(t *testing.T, name string) Metrics {
	t.Helper()
	files := readTarFiles(t, name)
	var manifest []struct{ Layers []string }
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil || len(manifest) != 1 {
		t.Fatalf("manifest.json: %v (%d images)", err, len(manifest))
	}
	c := NewCalculatorFor(len(manifest[0].Layers)) // as analyze uses it
	for _, l := range manifest[0].Layers {
		b, ok := files[l]
		if !ok {
			t.Fatalf("layer %s missing", l)
		}
		addLayer(t, c, bytes.NewReader(b), l)
	}
	return c.Result()
}

type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
}

// ociLayoutMetrics feeds the layers of the first manifest of an OCI layout
// stored in a tar.
func ociLayoutMetrics(t *testing.T, name string) Metrics {
	t.Helper()
	files := readTarFiles(t, name)
	blob := func(d descriptor) []byte {
		algo, hex, _ := strings.Cut(d.Digest, ":")
		b, ok := files["blobs/"+algo+"/"+hex]
		if !ok {
			t.Fatalf("blob %s missing", d.Digest)
		}
		return b
	}
	var index struct{ Manifests []descriptor }
	if err := json.Unmarshal(files["index.json"], &index); err != nil || len(index.Manifests) == 0 {
		t.Fatalf("index.json: %v", err)
	}
	var manifest struct{ Layers []descriptor }
	if err := json.Unmarshal(blob(index.Manifests[0]), &manifest); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	c := NewCalculatorFor(len(manifest.Layers)) // as analyze uses it
	for _, l := range manifest.Layers {
		r := bytes.NewReader(decompress(t, l.MediaType, blob(l)))
		addLayer(t, c, r, l.Digest)
	}
	return c.Result()
}

// sameFloat is == except that NaN matches NaN.
func sameFloat(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }

func checkMetrics(t *testing.T, got, want Metrics) {
	t.Helper()
	if !sameFloat(got.Efficiency, want.Efficiency) {
		t.Errorf("efficiency = %v, want %v", got.Efficiency, want.Efficiency)
	}
	if got.WastedBytes != want.WastedBytes {
		t.Errorf("wastedBytes = %d, want %d", got.WastedBytes, want.WastedBytes)
	}
	if !sameFloat(got.UserWastedPercent, want.UserWastedPercent) {
		t.Errorf("userWastedPercent = %v, want %v", got.UserWastedPercent, want.UserWastedPercent)
	}
	if got.SizeBytes != want.SizeBytes || got.UserSizeBytes != want.UserSizeBytes {
		t.Errorf("sizeBytes, userSizeBytes = %d, %d, want %d, %d", got.SizeBytes, got.UserSizeBytes, want.SizeBytes, want.UserSizeBytes)
	}
	if want.LayerSizes != nil && !slices.Equal(got.LayerSizes, want.LayerSizes) {
		t.Errorf("layer sizes = %v, want %v", got.LayerSizes, want.LayerSizes)
	}
	if !slices.Equal(got.Inefficiencies, want.Inefficiencies) {
		t.Errorf("inefficiencies = %+v, want %+v", got.Inefficiencies, want.Inefficiencies)
	}
}

// TestDiveImages checks the numbers dive's own tests assert for its test
// images (shared/dive-data/README.md).
func TestDiveImages(t *testing.T) {
	t.Parallel()
	data := diveData(t)
	tests := []struct {
		file string
		read func(*testing.T, string) Metrics
		want Metrics
	}{
		{
			file: "test-docker-image.tar",
			read: dockerSaveMetrics,
			want: Metrics{
				Efficiency:        0.9844212134184309,
				WastedBytes:       32025,
				UserWastedPercent: 0.4834911001404049,
				SizeBytes:         1220598,
				UserSizeBytes:     66237,
				Inefficiencies: []Inefficiency{
					{Path: "root/saved.txt", Count: 2, CumulativeSize: 12810},
					{Path: "root/example/somefile1.txt", Count: 2, CumulativeSize: 12810},
					{Path: "root/example/somefile3.txt", Count: 2, CumulativeSize: 6405},
				},
				LayerSizes: []int64{1154361, 6405, 0, 6405, 6405, 6405, 6405, 6405, 6405, 0, 2187, 6405, 6405, 6405},
			},
		},
		{
			file: "test-oci-gzip-image.tar",
			read: ociLayoutMetrics,
			want: Metrics{Efficiency: 1, UserWastedPercent: math.NaN(), SizeBytes: 11189, LayerSizes: []int64{11189}},
		},
		{
			file: "test-oci-zstd-image.tar",
			read: ociLayoutMetrics,
			want: Metrics{Efficiency: 1, UserWastedPercent: math.NaN(), SizeBytes: 11189, LayerSizes: []int64{11189}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			checkMetrics(t, tt.read(t, filepath.Join(data, tt.file)), tt.want)
		})
	}
}

func file(p string, size int64) overlay.Entry {
	return overlay.Entry{Path: p, Kind: overlay.EntryFile, Size: size}
}

func dir(p string) overlay.Entry { return overlay.Entry{Path: p, Kind: overlay.EntryDir} }

func whiteout(p string) overlay.Entry { return overlay.Entry{Path: p, Kind: overlay.EntryWhiteout} }

func opaque(p string) overlay.Entry { return overlay.Entry{Path: p, Kind: overlay.EntryOpaque} }

func layer(entries ...overlay.Entry) *overlay.Changeset {
	return overlay.NewChangeset(entries...)
}

func withAnomalies(cs *overlay.Changeset, as ...overlay.Anomaly) *overlay.Changeset {
	cs.Anomalies = as
	return cs
}

// TestCalculator covers dive's rules one at a time on hand-built layers.
func TestCalculator(t *testing.T) {
	t.Parallel()
	inf := math.Inf(1)
	nan := math.NaN()
	tests := []struct {
		name   string
		layers []*overlay.Changeset
		want   Metrics
	}{
		{
			name: "no layers: efficiency 1 and 0/0 is NaN",
			want: Metrics{Efficiency: 1, UserWastedPercent: nan},
		},
		{
			name:   "only 0-byte leaves: efficiency 1 when the sum is 0",
			layers: []*overlay.Changeset{layer(dir("d"), file("e", 0))},
			want:   Metrics{Efficiency: 1, UserWastedPercent: nan, LayerSizes: []int64{0}},
		},
		{
			name:   "single layer: 0/0 is NaN",
			layers: []*overlay.Changeset{layer(dir("a"), file("a/f", 10))},
			want:   Metrics{Efficiency: 1, UserWastedPercent: nan, SizeBytes: 10, LayerSizes: []int64{10}},
		},
		{
			// The whiteout of a counts the 15 bytes stacked below it; the
			// empty directory a in layer 2 is a 0-byte leaf, so a is seen
			// twice (15 + 0, min 0) and the user layers hold 0 bytes.
			name: "whited-out directory sized by its stacked subtree, then an empty directory",
			layers: []*overlay.Changeset{
				layer(dir("a"), file("a/f1", 10), dir("a/b"), file("a/b/f2", 5)),
				layer(whiteout("a")),
				layer(dir("a")),
			},
			want: Metrics{
				Efficiency: 15.0 / 30, WastedBytes: 15, UserWastedPercent: inf, SizeBytes: 15,
				Inefficiencies: []Inefficiency{{Path: "a", Count: 2, CumulativeSize: 15}},
				LayerSizes:     []int64{15, 0, 0},
			},
		},
		{
			name: "file whiteout counts 0",
			layers: []*overlay.Changeset{
				layer(file("f", 100)),
				layer(whiteout("f"), file("g", 50)),
			},
			want: Metrics{
				Efficiency: 50.0 / 150, WastedBytes: 100, UserWastedPercent: 2, SizeBytes: 150, UserSizeBytes: 50,
				Inefficiencies: []Inefficiency{{Path: "f", Count: 2, CumulativeSize: 100}},
				LayerSizes:     []int64{100, 50},
			},
		},
		{
			name: "path modified 3 times",
			layers: []*overlay.Changeset{
				layer(file("x", 10)),
				layer(file("x", 20)),
				layer(file("x", 30)),
			},
			want: Metrics{
				Efficiency: 10.0 / 60, WastedBytes: 60, UserWastedPercent: 60.0 / 50, SizeBytes: 60, UserSizeBytes: 50,
				Inefficiencies: []Inefficiency{{Path: "x", Count: 3, CumulativeSize: 60}},
				LayerSizes:     []int64{10, 20, 30},
			},
		},
		{
			name: "waste over empty user layers is +Inf",
			layers: []*overlay.Changeset{
				layer(file("x", 10), file("x", 10)),
				layer(whiteout("x")),
			},
			want: Metrics{
				Efficiency: 0, WastedBytes: 10, UserWastedPercent: inf, SizeBytes: 20,
				Inefficiencies: []Inefficiency{{Path: "x", Count: 2, CumulativeSize: 10}},
				LayerSizes:     []int64{20, 0},
			},
		},
		{
			// Only the last entry for a path in one layer is a tree node.
			name: "directory with children is not a leaf; hard links and symlinks are 0",
			layers: []*overlay.Changeset{
				layer(dir("d"), file("d/f", 7),
					overlay.Entry{Path: "d/h", Kind: overlay.EntryHardlink, Linkname: "d/f"},
					overlay.Entry{Path: "d/s", Kind: overlay.EntrySymlink, Linkname: "f"}),
				layer(dir("d"), file("d/g", 1)),
			},
			want: Metrics{Efficiency: 1, UserWastedPercent: 0, SizeBytes: 8, UserSizeBytes: 1, LayerSizes: []int64{7, 1}},
		},
		{
			// Layer 1's opaque marker hides d/f from a runtime but not from
			// dive: the later whiteout of d still counts d/f's 10 bytes.
			name: "opaque markers are ignored",
			layers: []*overlay.Changeset{
				layer(dir("d"), file("d/f", 10)),
				layer(dir("d"), opaque("d"), file("d/g", 5)),
				layer(whiteout("d")),
			},
			want: Metrics{Efficiency: 1, UserWastedPercent: 0, SizeBytes: 15, UserSizeBytes: 5, LayerSizes: []int64{10, 5, 0}},
		},
		{
			// An opaque marker alone still creates its directory, which is
			// then a 0-byte leaf of that layer.
			name: "opaque marker creates its directory",
			layers: []*overlay.Changeset{
				layer(dir("d")),
				layer(opaque("d")),
			},
			want: Metrics{
				Efficiency: 1, UserWastedPercent: nan,
				Inefficiencies: []Inefficiency{{Path: "d", Count: 2}},
				LayerSizes:     []int64{0, 0},
			},
		},
		{
			// d has no header in layer 0, so dive's node for it is not a
			// directory and its whiteout counts 0.
			name: "whiteout of an implicit directory counts 0",
			layers: []*overlay.Changeset{
				layer(file("d/f", 10)),
				layer(whiteout("d")),
			},
			want: Metrics{Efficiency: 1, UserWastedPercent: nan, SizeBytes: 10, LayerSizes: []int64{10, 0}},
		},
		{
			// Layer 1 has a header only for d/g, so stacking it gives d an
			// empty payload and the whiteout in layer 2 counts 0.
			name: "implicit directory in an upper layer resets the lower directory",
			layers: []*overlay.Changeset{
				layer(dir("d"), file("d/f", 10)),
				layer(file("d/g", 5)),
				layer(whiteout("d")),
			},
			want: Metrics{Efficiency: 1, UserWastedPercent: 0, SizeBytes: 15, UserSizeBytes: 5, LayerSizes: []int64{10, 5, 0}},
		},
		{
			// dive fails to find "nope", keeps a record with min -1 and
			// abandons the layer, so z is never counted.
			name: "whiteout of nothing stops the layer and counts -1",
			layers: []*overlay.Changeset{
				layer(file("x", 10)),
				layer(whiteout("nope"), file("z", 5)),
			},
			want: Metrics{Efficiency: 9.0 / 10, UserWastedPercent: 0, SizeBytes: 15, UserSizeBytes: 5, LayerSizes: []int64{10, 5}},
		},
		{
			// ".a" is counted, ".wh.nope" finds nothing and stops the only
			// layer, so z is never counted: with no record kept for the
			// paths of the last layer, the sums must still say so.
			name: "whiteout of nothing stops the only layer and counts -1",
			layers: []*overlay.Changeset{
				layer(file(".a", 4), whiteout("nope"), file("z", 5)),
			},
			want: Metrics{Efficiency: 3.0 / 4, UserWastedPercent: math.NaN(), SizeBytes: 9, LayerSizes: []int64{9}},
		},
		{
			// y and its whiteout in one layer are the same path seen twice:
			// the whiteout (visited first) sizes y at 0.
			name: "a file and its whiteout in one layer",
			layers: []*overlay.Changeset{
				layer(file("y", 7), whiteout("y")),
			},
			want: Metrics{
				Efficiency: 0, WastedBytes: 7, UserWastedPercent: inf, SizeBytes: 7,
				Inefficiencies: []Inefficiency{{Path: "y", Count: 2, CumulativeSize: 7}},
				LayerSizes:     []int64{7},
			},
		},
		{
			name: "AUFS metadata is a whiteout of nothing to dive",
			layers: []*overlay.Changeset{
				layer(file("x", 10)),
				withAnomalies(layer(file("z", 5)), overlay.Anomaly{Path: ".wh..wh.aufs", Kind: overlay.AnomalyAUFSMetadata}),
			},
			want: Metrics{Efficiency: 9.0 / 10, UserWastedPercent: 0, SizeBytes: 15, UserSizeBytes: 5, LayerSizes: []int64{10, 5}},
		},
		{
			// Layer 0 whiteouts are sized against layer 0 itself: the
			// whiteout of d counts d/f's 4 bytes, and the empty d of layer 1
			// makes d a path seen twice.
			name: "whiteout in the bottom layer",
			layers: []*overlay.Changeset{
				layer(dir("d"), file("d/f", 4), whiteout("d")),
				layer(dir("d")),
			},
			want: Metrics{
				Efficiency: 4.0 / 8, WastedBytes: 4, UserWastedPercent: inf, SizeBytes: 4,
				Inefficiencies: []Inefficiency{{Path: "d", Count: 2, CumulativeSize: 4}},
				LayerSizes:     []int64{4, 0},
			},
		},
		{
			// a and b both reach 2 occurrences in layer 1, a first (byte
			// order); dive sorts ascending and reads backwards, so b leads.
			name: "ties in reverse discovery order",
			layers: []*overlay.Changeset{
				layer(file("b", 1), file("a", 1), file("c", 5)),
				layer(file("b", 1), file("a", 1), file("c", 5)),
			},
			want: Metrics{
				Efficiency: 7.0 / 14, WastedBytes: 14, UserWastedPercent: 2, SizeBytes: 14, UserSizeBytes: 7,
				Inefficiencies: []Inefficiency{
					{Path: "c", Count: 2, CumulativeSize: 10},
					{Path: "b", Count: 2, CumulativeSize: 2},
					{Path: "a", Count: 2, CumulativeSize: 2},
				},
				LayerSizes: []int64{7, 7},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCalculator()
			for _, l := range tt.layers {
				c.AddLayer(l)
			}
			checkMetrics(t, c.Result(), tt.want)
			// Result must not disturb the calculator.
			checkMetrics(t, c.Result(), tt.want)
			// Knowing the layer count (which drops the top tree) changes
			// nothing.
			c = NewCalculatorFor(len(tt.layers))
			for _, l := range tt.layers {
				c.AddLayer(l)
			}
			checkMetrics(t, c.Result(), tt.want)
			checkMetrics(t, c.Result(), tt.want)
			if len(tt.layers) > 0 {
				// A layer beyond the announced count is ignored.
				c.AddLayer(tt.layers[0])
				checkMetrics(t, c.Result(), tt.want)
			}
		})
	}
}
