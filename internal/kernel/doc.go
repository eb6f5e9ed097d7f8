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
// Mount records each mount in a state folder that only root can write
// (DefaultStateDir, /run/layerlint, mode 0700; MountOptions.StateDir for
// tests), one file per mount point. The record binds itself to what it
// describes: the overlay's ID in the mount table, and the work folder's
// device, inode and a random token in a file inside it; Mount creates the
// work folder itself and fails if it exists. Unmount(target) acts only
// when all of these still match, and then removes only the entries Mount
// created in the work folder (never an --upper folder, even one inside
// it), following no symlink and crossing no mount. A record beside the
// mount point, as in earlier versions, could be planted by anyone who can
// write there (/tmp): root's umount would then delete what it named.
package kernel
