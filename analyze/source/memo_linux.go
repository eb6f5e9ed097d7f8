package source

import (
	"io"
	"os"
	"syscall"
)

// fileState returns the state of r when it is an open file. (Linux only:
// the names of a stat's times differ between systems.)
func fileState(r io.Reader) (BlobFile, bool) {
	f, ok := r.(*os.File)
	if !ok {
		return BlobFile{}, false
	}
	fi, err := f.Stat()
	if err != nil {
		return BlobFile{}, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || !fi.Mode().IsRegular() {
		return BlobFile{}, false
	}
	return BlobFile{Dev: st.Dev, Ino: st.Ino, Size: st.Size, Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano()}, true
}
