// Package testsupport holds what tests of several packages share and no
// library user needs: golden files, a snapshot of a directory tree, the
// shared dive-data folder, and helpers that damage a written OCI layout.
// The image generators themselves stay in package fixtures.
package testsupport
