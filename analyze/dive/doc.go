// Package dive computes the three image metrics of wagoodman/dive —
// efficiency, wastedBytes and userWastedPercent — exactly as dive computes
// them, so that a .dive-ci gate keeps its meaning when layerlint runs it.
//
// The rules are dive's (dive/filetree/efficiency.go, file_tree.go,
// file_node.go and dive/image/analysis.go): each layer is built into its
// own tree from its tar headers; only the leaves of that tree count, so a
// directory with children never counts and an empty directory is a 0-byte
// leaf; a node's size is its tar header size (hard links and symlinks 0);
// a whiteout counts 0 when its target was a file and the size of the
// target's whole subtree, as the lower layers stacked it, when the target
// was a directory. Per path, dive sums the sizes of every occurrence and
// keeps the smallest; a path seen twice or more is inefficient.
//
// These numbers are not layerlint's own measures of waste, which come from
// the overlay model (overlay.Waste). They differ on purpose:
//
//   - The kept copy is counted as waste. wastedBytes sums every occurrence
//     of an inefficient path, including the one the container still sees,
//     so a file written once and chmod-ed once is 2× its size of waste.
//     layerlint counts only hidden versions.
//   - Deleted directories are not waste. The whiteout of a directory counts
//     the stacked subtree size once, under the directory's own path, which
//     the lower layers seldom had as a leaf, so the deleted bytes inflate
//     both sides of efficiency and rarely reach wastedBytes. Deleted files
//     count 0 for the whiteout but their path is then seen twice, so their
//     bytes do reach wastedBytes. layerlint counts every hidden file.
//   - Opaque markers are ignored. Content hidden by an opaque directory is
//     not counted, and dive's stacked tree still holds it, so a later
//     whiteout of that directory is sized with it. layerlint applies opaque
//     markers as image-spec layer.md says.
//   - "User" layers are every layer but the bottom one, not the layers
//     above a base image, and userWastedPercent is a ratio (NaN for 0/0,
//     +Inf for x/0), not a percent.
//   - Quirks kept for exactness: a directory that has no header of its own
//     in a layer gets an empty payload, so stacking that layer makes dive
//     forget the directory was one, and a later whiteout of it counts 0; a
//     whiteout whose target is missing (including AUFS .wh..wh.* metadata)
//     makes dive abandon the rest of that layer's leaves (in byte order of
//     names, children first) and lowers the efficiency numerator by one;
//     whiteouts in the bottom layer are sized against the bottom layer
//     itself.
//
// Paths in the results are layerlint paths: relative, without dive's
// leading "/".
package dive
