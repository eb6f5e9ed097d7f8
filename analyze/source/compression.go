package source

import (
	"strconv"

	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Compression is the encoding of a layer blob: one of ggcr's compression
// algorithms (GGCR converts), or not known. It is the one compression
// enum of layerlint: the reader sniffs it, rules judge it, fix writes it.
type Compression uint8

// Compressions. The zero value means "not known" (no media type to imply
// one, or a stream not yet opened).
const (
	CompressionUnknown Compression = iota
	CompressionNone
	CompressionGzip
	CompressionZstd
)

// GGCR returns ggcr's name of c; "" for CompressionUnknown.
func (c Compression) GGCR() compression.Compression {
	switch c {
	case CompressionNone:
		return compression.None
	case CompressionGzip:
		return compression.GZip
	case CompressionZstd:
		return compression.ZStd
	case CompressionUnknown:
	}
	return ""
}

func (c Compression) String() string {
	if c == CompressionUnknown {
		return "unknown"
	}
	if n := c.GGCR(); n != "" {
		return string(n)
	}
	return "compression(" + strconv.Itoa(int(c)) + ")"
}

// ParseCompression reads a compression by its ggcr name (none, gzip,
// zstd).
func ParseCompression(s string) (Compression, bool) {
	for _, c := range []Compression{CompressionNone, CompressionGzip, CompressionZstd} {
		if string(c.GGCR()) == s {
			return c, true
		}
	}
	return CompressionUnknown, false
}

// mediaTypeOCIRestrictedLayerZstd is the one layer media type of
// image-spec that ggcr's types package lacks.
const mediaTypeOCIRestrictedLayerZstd types.MediaType = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"

// ClassifyLayerMediaType tells what a layer media type implies: the
// compression of the blob, and whether the layer is non-distributable
// (foreign: its blob may be absent, fetched from its URLs). ok is false
// for a media type that is not a layer's. The empty media type (a classic
// docker archive) implies nothing: CompressionUnknown, ok.
func ClassifyLayerMediaType(mt types.MediaType) (c Compression, foreign, ok bool) {
	switch {
	case mt == "":
		return CompressionUnknown, false, true
	case mt == mediaTypeOCIRestrictedLayerZstd:
		return CompressionZstd, true, true
	case !mt.IsLayer():
		return CompressionUnknown, false, false
	}
	foreign = !mt.IsDistributable()
	// IsLayer holds: the layer media types of ggcr.
	//exhaustive:ignore
	switch mt {
	case types.OCILayerZStd:
		return CompressionZstd, foreign, true
	case types.OCIUncompressedLayer, types.DockerUncompressedLayer, types.OCIUncompressedRestrictedLayer:
		return CompressionNone, foreign, true
	}
	return CompressionGzip, foreign, true
}

// LayerMediaType is the media type of a distributable layer compressed
// with c, in Docker media types (docker) or OCI ones. ok is false where
// the family has none (zstd in Docker media types, or CompressionUnknown).
func LayerMediaType(c Compression, docker bool) (mt types.MediaType, ok bool) {
	switch c {
	case CompressionGzip:
		if docker {
			return types.DockerLayer, true
		}
		return types.OCILayer, true
	case CompressionNone:
		if docker {
			return types.DockerUncompressedLayer, true
		}
		return types.OCIUncompressedLayer, true
	case CompressionZstd:
		if docker {
			return "", false
		}
		return types.OCILayerZStd, true
	case CompressionUnknown:
	}
	return "", false
}
