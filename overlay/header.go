package overlay

// This file turns one tar header into an Entry: the entry kinds, whiteouts
// and opaque markers, extended attributes, and what a header costs.

import (
	"archive/tar"
	"fmt"
	"path"
	"strings"
)

// headerBytes is what a header makes the reader parse and the changeset
// keep: its names and PAX records.
func headerBytes(hdr *tar.Header) int64 {
	n := len(hdr.Name) + len(hdr.Linkname)
	for k, v := range hdr.PAXRecords {
		if k != "path" && k != "linkpath" { // already counted above
			n += len(k) + len(v)
		}
	}
	return int64(n)
}

// carriesData reports whether tar.Reader reads (or skips) hdr.Size bytes
// of data after a header of type flag: every type but the header-only ones.
func carriesData(flag byte) bool {
	switch flag {
	case tar.TypeLink, tar.TypeSymlink, tar.TypeChar, tar.TypeBlock, tar.TypeDir, tar.TypeFifo:
		return false
	}
	return true
}

// entryFromHeader converts a tar header. It returns ok=false for headers
// that change nothing (recording an anomaly where that is worth saying).
func entryFromHeader(cs *Changeset, hdr *tar.Header) (Entry, bool, error) {
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader:
		cs.Anomalies = append(cs.Anomalies, Anomaly{Path: hdr.Name, Kind: AnomalyIgnoredEntry, Detail: "PAX global header"})
		return Entry{}, false, nil
	}
	p, ok := CleanPath(hdr.Name)
	if !ok {
		return Entry{}, false, fmt.Errorf("%w: entry %s", ErrUnsafePath, quoteName(hdr.Name))
	}
	dir, base := path.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	if strings.Contains(dir, WhiteoutMeta) && underAUFSMeta(dir) {
		cs.Anomalies = append(cs.Anomalies, Anomaly{Path: p, Kind: AnomalyAUFSMetadata, Detail: "entry inside an AUFS metadata directory ignored"})
		return Entry{}, false, nil
	}
	switch kind, target := ClassifyName(base); kind {
	case NamePlain:
	case NameOpaque:
		return Entry{Path: dir, Kind: EntryOpaque}, true, nil
	case NameAUFSMeta:
		cs.Anomalies = append(cs.Anomalies, Anomaly{Path: p, Kind: AnomalyAUFSMetadata, Detail: "AUFS metadata entry ignored"})
		return Entry{}, false, nil
	case NameBadWhiteout:
		detail := "whiteout of " + target + " ignored"
		if target == "" {
			detail = "whiteout with an empty name ignored"
		}
		cs.Anomalies = append(cs.Anomalies, Anomaly{Path: p, Kind: AnomalyBadWhiteout, Detail: detail})
		return Entry{}, false, nil
	case NameWhiteout:
		return Entry{Path: path.Join(dir, target), Kind: EntryWhiteout}, true, nil
	}
	if p == "" {
		// Most builders (kaniko, buildkit's tar exporter) write a "./"
		// directory entry first: normal, and nothing to report. Anything
		// else at the root cannot be extracted and is worth a word.
		if hdr.Typeflag != tar.TypeDir {
			cs.Anomalies = append(cs.Anomalies, Anomaly{Path: "", Kind: AnomalyRootEntry, Detail: fmt.Sprintf("tar type %q for the root directory ignored", hdr.Typeflag)})
		}
		return Entry{}, false, nil
	}
	e := Entry{
		Path:    p,
		Mode:    uint32(hdr.Mode) & 0o7777, //nolint:gosec // masked to permission bits
		UID:     hdr.Uid,
		GID:     hdr.Gid,
		ModTime: hdr.ModTime.Unix(),
		Xattrs:  xattrs(hdr),
	}
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeRegA, tar.TypeCont, tar.TypeGNUSparse: //nolint:staticcheck // TypeRegA is still written by old tools
		e.Kind = EntryFile
	case tar.TypeDir:
		e.Kind = EntryDir
	case tar.TypeSymlink:
		e.Kind = EntrySymlink
		e.Linkname = hdr.Linkname
	case tar.TypeLink:
		target, ok := CleanPath(hdr.Linkname)
		if !ok {
			return Entry{}, false, fmt.Errorf("%w: hard link %s to %s", ErrUnsafePath, quoteName(hdr.Name), quoteName(hdr.Linkname))
		}
		e.Kind = EntryHardlink
		e.Linkname = target
	case tar.TypeChar, tar.TypeBlock:
		e.Kind = EntryCharDevice
		if hdr.Typeflag == tar.TypeBlock {
			e.Kind = EntryBlockDevice
		}
		e.Devmajor = uint32(hdr.Devmajor) //nolint:gosec // device numbers are 32-bit on Linux
		e.Devminor = uint32(hdr.Devminor) //nolint:gosec // device numbers are 32-bit on Linux
	case tar.TypeFifo:
		e.Kind = EntryFIFO
	default:
		cs.Anomalies = append(cs.Anomalies, Anomaly{Path: p, Kind: AnomalyIgnoredEntry, Detail: fmt.Sprintf("tar type %q not extracted", hdr.Typeflag)})
		return Entry{}, false, nil
	}
	return e, true, nil
}

// xattrs collects extended attributes from PAX records (SCHILY.xattr.*).
func xattrs(hdr *tar.Header) map[string]string {
	var m map[string]string
	for k, v := range hdr.PAXRecords {
		if name, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok {
			if m == nil {
				m = make(map[string]string)
			}
			m[name] = v
		}
	}
	return m
}

// underAUFSMeta reports whether a directory path lies inside an AUFS
// metadata directory such as .wh..wh.plnk, whose content a runtime skips.
func underAUFSMeta(dir string) bool {
	for c := range strings.SplitSeq(dir, "/") {
		if strings.HasPrefix(c, WhiteoutMeta) {
			return true
		}
	}
	return false
}
