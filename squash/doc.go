// Package squash rewrites an image's layers without changing the container
// it describes: it merges ranges of layers into one (squash), moves layers
// that commute (reorder), drops chosen paths (strip) and recompresses, then
// proves the result by re-reading it.
//
// The API is small: NewPlan turns an analysis (analyze.Analysis, with its
// changesets and model) and Options into a Plan; Fix builds the planned
// layers, a config and a manifest, writes them to a Target (a new OCI
// layout, the source layout in place, or a docker archive) and, with
// VerifyOptions, re-opens what it wrote and compares its merged view with
// the input's (the Check of each image in the Outcome).
//
// A merged layer is computed from two views of the overlay model: the view
// below the range (lower) and the view after it (upper). Every path of the
// upper view that the range provides gets an entry; every lower path that
// the upper view no longer shows gets a whiteout (only the top-most of a
// removed subtree), or its directory an opaque marker when that is smaller
// and correct. See docs/fix.md for the encoding and its proof obligations.
package squash
