// Package squash rewrites an image's layers without changing the container
// it describes: it merges ranges of layers into one (squash), moves layers
// that commute (reorder), drops chosen paths (strip) and recompresses, then
// proves the result by re-reading it.
//
// Data flows one way: an analysis (analyze.Analysis, with its changesets
// and model) and Options give a Plan; Build turns the plan into layer blobs,
// a config and a manifest in a BlobSink; the output writers put them in an
// OCI layout or a docker archive; Verify re-opens what was written and
// compares its merged view with the input's.
//
// A merged layer is computed from two views of the overlay model: the view
// below the range (lower) and the view after it (upper). Every path of the
// upper view that the range provides gets an entry; every lower path that
// the upper view no longer shows gets a whiteout (only the top-most of a
// removed subtree), or its directory an opaque marker when that is smaller
// and correct. See docs/fix.md for the encoding and its proof obligations.
package squash
