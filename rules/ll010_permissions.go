package rules

import (
	"fmt"
	"strings"

	"github.com/layerlint/layerlint/overlay"
)

// Mode bits of overlay.File.Mode (tar header bits).
const (
	modeSetuid      = 0o4000
	modeSetgid      = 0o2000
	modeSticky      = 0o1000
	modeWorldWrite  = 0o0002
	modePermissions = 0o7777
)

func unsafePermissions() Rule {
	return Rule{
		ID:       "LL010",
		Name:     "unsafe-permissions",
		Severity: Warning,
		Summary:  "The final filesystem has setuid or setgid files, or world-writable paths without the sticky bit.",
		Doc: "A setuid or setgid binary runs with its owner's or group's rights whoever starts it: " +
			"one bug in it lets a user in the container become root. Few containers need any; " +
			"remove the bit with `chmod u-s,g-s` in the step that installs the file (or remove the " +
			"binary). A world-writable file can be changed by any user of the container, and a " +
			"world-writable directory without the sticky bit lets any user delete or replace " +
			"others' files in it; use `chmod o-w`, or `chmod 1777` for a shared scratch directory " +
			"such as /tmp. Example: `RUN chmod -R 777 /app` becomes `RUN chown -R app:app /app`. " +
			"Symlinks and device nodes are not checked: their modes are not what guards them.",
		Check:   checkPermissions,
		Grouped: true,
	}
}

func checkPermissions(f *Facts) []Finding {
	var out []Finding
	for _, fl := range f.Files {
		var problems []string
		switch fl.Type {
		case overlay.TypeRegular:
			if fl.Mode&modeSetuid != 0 {
				problems = append(problems, "setuid")
			}
			if fl.Mode&modeSetgid != 0 {
				problems = append(problems, "setgid")
			}
			if fl.Mode&modeWorldWrite != 0 {
				problems = append(problems, "world-writable")
			}
		case overlay.TypeDir:
			// setgid on a directory only sets the group of new files.
			if fl.Mode&modeWorldWrite != 0 && fl.Mode&modeSticky == 0 {
				problems = append(problems, "world-writable without the sticky bit")
			}
		case overlay.TypeSymlink, overlay.TypeCharDevice, overlay.TypeBlockDevice, overlay.TypeFIFO:
		}
		if len(problems) == 0 {
			continue
		}
		sev, msg := Warning, fmt.Sprintf("%s %s (mode %04o) is %s", fl.Type, abs(fl.Path), fl.Mode&modePermissions, strings.Join(problems, ", "))
		if fl.Mode&modeWorldWrite == 0 && f.isBase(fl.Layer) && standardSetid(fl.Path) {
			// Every image of the distribution ships it: there is nothing
			// to fix in this Dockerfile.
			sev, msg = Info, msg+"; a distribution's standard set-id program"
		}
		out = append(out, Finding{
			Rule:      "LL010",
			Severity:  sev,
			Message:   msg,
			Layer:     fl.Layer,
			Path:      fl.Path,
			CreatedBy: f.createdBy(fl.Layer),
			Fix:       permissionsFix(fl),
		})
	}
	return sorted(out)
}

func permissionsFix(fl overlay.File) string {
	var cmds []string
	if fl.Type == overlay.TypeRegular && fl.Mode&(modeSetuid|modeSetgid) != 0 {
		cmds = append(cmds, "chmod u-s,g-s "+abs(fl.Path))
	}
	if fl.Mode&modeWorldWrite != 0 {
		if fl.Type == overlay.TypeDir {
			cmds = append(cmds, "chmod o-w "+abs(fl.Path)+" (or chmod +t for a shared scratch directory)")
		} else {
			cmds = append(cmds, "chmod o-w "+abs(fl.Path))
		}
	}
	return "in the step that creates it: " + strings.Join(cmds, "; ")
}

// standardSetid reports whether p is a set-id program that Debian, Ubuntu,
// Fedora or Alpine base images ship with the bit set.
func standardSetid(p string) bool {
	p = strings.TrimPrefix(strings.TrimPrefix(p, "usr/"), "s")
	switch p {
	case "bin/passwd", "bin/su", "bin/mount", "bin/umount", "bin/chsh", "bin/chfn",
		"bin/gpasswd", "bin/newgrp", "bin/chage", "bin/expiry", "bin/ping",
		"bin/unix_chkpwd", "bin/pam_extrausers_chkpwd", "bin/wall", "bin/write",
		"bin/crontab", "bin/ssh-agent", "bin/bbsuid", "bin/pkexec",
		"lib/openssh/ssh-keysign", "libexec/openssh/ssh-keysign",
		"lib/dbus-1.0/dbus-daemon-launch-helper":
		return true
	}
	return false
}
