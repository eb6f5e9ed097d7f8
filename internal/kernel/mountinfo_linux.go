package kernel

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// mountInfo is one line of /proc/self/mountinfo.
type mountInfo struct {
	id         uint64
	mountPoint string
	fsType     string
}

// mountAt returns the topmost mount whose mount point is target (absolute,
// cleaned), from the mount table; ok is false when target is not a mount
// point.
func mountAt(target string) (mi mountInfo, ok bool, err error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return mountInfo{}, false, fmt.Errorf("reading the mount table: %w", err)
	}
	defer f.Close() //nolint:errcheck // read-only
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		m, good := parseMountInfo(sc.Text())
		if good && m.mountPoint == target {
			mi, ok = m, true // later lines are mounted on top
		}
	}
	if err := sc.Err(); err != nil {
		return mountInfo{}, false, fmt.Errorf("reading the mount table: %w", err)
	}
	return mi, ok, nil
}

// parseMountInfo reads "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS...] -
// FSTYPE SOURCE SUPEROPTS" (proc(5)).
func parseMountInfo(line string) (mountInfo, bool) {
	f := strings.Fields(line)
	if len(f) < 7 {
		return mountInfo{}, false
	}
	id, err := strconv.ParseUint(f[0], 10, 64)
	if err != nil {
		return mountInfo{}, false
	}
	m := mountInfo{id: id, mountPoint: unescapeOctal(f[4])}
	for i := 6; i < len(f)-1; i++ {
		if f[i] == "-" {
			m.fsType = f[i+1]
			return m, true
		}
	}
	return mountInfo{}, false
}

// unescapeOctal undoes the kernel's \ooo escaping of space, tab, newline
// and backslash in mount points.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
