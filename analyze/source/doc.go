// Package source opens container images on disk and hands out their layers
// as verified streams. It is the first stage of layerlint's pipeline
// (source → layer streams → overlay model → facts → rules); it knows
// nothing of what the layers contain.
//
// # Formats
//
// An OCI image layout directory, an OCI layout packed in a tar
// (oci-archive), and `docker save` tarballs, both the classic form
// (<id>/layer.tar, identical layers stored as symlinks) and the Docker 25+
// form that embeds an OCI layout. See Reference for the syntax; a bare path
// is recognised by its content.
//
// Images that are not files: registry:REF (and docker://REF) streams an
// image from a registry, through a store that presents the registry as an
// OCI layout (index.json lists what the reference resolves to; each blob
// is one HTTP request whose body goes straight into the verifying
// decoder); docker-daemon:NAME and podman:NAME read an engine's `docker
// save` stream, spooled to an unlinked private file because its
// manifest.json comes after the layers, then read as a docker archive.
//
// # Design
//
// Every format sits on one small unexported blob-store interface with two
// implementations: a directory (confined with os.Root) and a tar archive
// whose headers are scanned once into a name → offset table, after which
// each member is an io.SectionReader over the one open file. Nothing is
// extracted and the tar is never re-scanned, so layers of one archive can
// stream concurrently. The image-layout logic (index.json, nested indexes,
// tags, digests, platforms) is written once over that interface and serves
// directories, OCI archives and the layout inside Docker 25+ archives
// alike. ggcr's layout and tarball readers are not used because they
// cannot read a blob once while checking both its digest and its diff_id;
// ggcr's types and parsers are.
//
// # Verification
//
// Layer.Open returns the uncompressed tar. The compressed blob is read
// exactly once: its bytes tee into the layer digest, the decoder's output
// into the diff_id. The decoder is chosen by the magic bytes, not only the
// media type (which is recorded in Stats when it lied), and never by trial
// decoding. At EOF a verifying stream compares digests and size and reports
// a mismatch as an error wrapping ErrDigestMismatch in place of io.EOF.
//
// Untrusted input never panics: JSON reads are capped (8 MiB), index nesting
// is capped and cycles detected, symlink chains in archives are bounded, and
// every failure wraps one of the sentinel errors with the file, blob or
// manifest it concerns.
package source
