// Package kernel is the Linux overlayfs backend of layerlint: it unpacks
// layer tars into one directory per layer, converting OCI whiteouts to
// overlayfs ones, mounts the stack and walks the merged view. The kernel is
// then an oracle for the pure model of package overlay; both follow
// docs/overlay-semantics.md, and the differential tests of this package
// hold them to it.
//
// Everything that mounts needs root (CAP_SYS_ADMIN) and a kernel with
// overlayfs; the exported functions report ErrNotPermitted and
// ErrNoOverlay, and ErrUnsupported on other systems.
//
// # Long-lived mounts
//
// Mount records its state in a small JSON file next to the mount point:
// for a target /x/dir the file is /x/.dir.layerlint. Unmount(target) reads
// it to find the work folder (layer directories, upper and work dirs),
// unmounts the target and removes the work folder and the state file. A
// sibling file, rather than a registry under /run, keeps everything a
// mount leaves on the filesystem that holds it, needs no global directory,
// and is found again from the target alone. DefaultWork names a work
// folder next to the target for callers that have no better place.
package kernel
