package gate

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Dockerfile is the part of a Dockerfile that made the image's own layers:
// the instructions of its last stage, after that stage's FROM.
type Dockerfile struct {
	// Name is the path as given, used in finding locations.
	Name         string
	Instructions []Instruction
}

// Instruction is one Dockerfile instruction.
type Instruction struct {
	// Line is where the instruction starts, from 1.
	Line int
	// Cmd is the instruction upper-cased: RUN, COPY, ...
	Cmd string
	// Args is the rest with continuation lines joined.
	Args string
}

// ParseDockerfile reads the instructions of a Dockerfile minimally:
// comments, line continuations (with the escape parser directive) and
// stages. Heredocs and the exact quoting rules are not interpreted; the
// result is only used to place layers on lines.
func ParseDockerfile(r io.Reader, name string) (*Dockerfile, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	escape := `\`
	var all []Instruction
	var cur *Instruction
	lineNo := 0
	directives := true
	for sc.Scan() {
		lineNo++
		raw := sc.Text()
		t := strings.TrimSpace(raw)
		if directives {
			if k, v, ok := directive(t); ok {
				if k == "escape" && (v == "`" || v == `\`) {
					escape = v
				}
				continue
			}
			directives = false
		}
		if strings.HasPrefix(t, "#") || t == "" && cur != nil {
			continue // comments and blank lines inside a continuation are dropped
		}
		if t == "" {
			continue
		}
		cont := strings.HasSuffix(t, escape)
		if cont {
			t = strings.TrimSuffix(t, escape)
		}
		if cur == nil {
			cur = newInstruction(t, lineNo)
		} else {
			cur.Args += " " + t
		}
		if !cont {
			cur.Args = collapse(cur.Args)
			all = append(all, *cur)
			cur = nil
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading Dockerfile %s: line %d: %w", name, lineNo+1, err)
	}
	if cur != nil {
		cur.Args = collapse(cur.Args)
		all = append(all, *cur)
	}
	return lastStage(all, name)
}

// newInstruction starts the instruction whose first line is t.
func newInstruction(t string, lineNo int) *Instruction {
	cmd, args, _ := strings.Cut(t, " ")
	if i := strings.IndexAny(cmd, "\t"); i >= 0 {
		cmd, args = cmd[:i], cmd[i+1:]+" "+args
	}
	return &Instruction{Line: lineNo, Cmd: strings.ToUpper(cmd), Args: args}
}

// lastStage is the Dockerfile of the instructions after the last FROM:
// the stage that built the image.
func lastStage(all []Instruction, name string) (*Dockerfile, error) {
	last := -1
	for i, in := range all {
		if in.Cmd == "FROM" {
			last = i
		}
	}
	if last < 0 {
		return nil, fmt.Errorf("parsing %s: no FROM instruction", name)
	}
	return &Dockerfile{Name: name, Instructions: all[last+1:]}, nil
}

// directive parses a "# key=value" parser directive.
func directive(t string) (key, value string, ok bool) {
	if !strings.HasPrefix(t, "#") {
		return "", "", false
	}
	k, v, ok := strings.Cut(strings.TrimSpace(t[1:]), "=")
	if !ok {
		return "", "", false
	}
	k = strings.ToLower(strings.TrimSpace(k))
	if k != "escape" && k != "syntax" && k != "check" {
		return "", "", false
	}
	return k, strings.TrimSpace(v), true
}

func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// step is a history entry read back into an instruction.
type step struct {
	cmd, args string
	// classic marks a COPY or ADD recorded by the classic builder, whose
	// sources are replaced by content hashes: only the destination can be
	// compared.
	classic bool
}

// parseHistory reads the instruction from a created_by string, as BuildKit
// (`RUN /bin/sh -c make # buildkit`, `COPY src /app # buildkit`) and the
// classic builder (`/bin/sh -c make`, `/bin/sh -c #(nop) COPY file:ab in /app`)
// write them.
func parseHistory(createdBy string) step {
	s := collapse(strings.TrimSuffix(strings.TrimSpace(createdBy), "# buildkit"))
	cmd, rest, _ := strings.Cut(s, " ")
	if isInstruction(cmd) {
		if cmd == "RUN" {
			return step{cmd: "RUN", args: shellCommand(rest)}
		}
		return step{cmd: cmd, args: rest}
	}
	sh := shellCommand(s)
	if sh == s {
		return step{} // not something a Dockerfile instruction wrote
	}
	if nop, ok := strings.CutPrefix(sh, "#(nop) "); ok {
		cmd, rest, _ := strings.Cut(strings.TrimSpace(nop), " ")
		return step{cmd: strings.ToUpper(cmd), args: rest, classic: cmd == "COPY" || cmd == "ADD"}
	}
	return step{cmd: "RUN", args: sh}
}

// shellCommand strips build arguments ("|2 A=1 B=2 ") and the shell
// ("/bin/sh -c ") in front of a RUN command.
func shellCommand(s string) string {
	if strings.HasPrefix(s, "|") {
		f := strings.Fields(s)
		if n, err := strconv.Atoi(f[0][1:]); err == nil && n >= 0 && n < len(f) {
			s = strings.Join(f[n+1:], " ")
		}
	}
	for _, sh := range []string{"/bin/sh -c ", "/bin/bash -c ", "sh -c "} {
		if c, ok := strings.CutPrefix(s, sh); ok {
			return c
		}
	}
	return s
}

func isInstruction(s string) bool {
	switch s {
	case "RUN", "COPY", "ADD", "WORKDIR", "ENV", "LABEL", "USER", "EXPOSE", "VOLUME", "CMD", "ENTRYPOINT",
		"ARG", "SHELL", "STOPSIGNAL", "HEALTHCHECK", "ONBUILD", "MAINTAINER":
		return true
	}
	return false
}

// dropFlags removes leading --flag=value options (--chown, --from,
// --mount, ...) which builders record inconsistently.
func dropFlags(args string) string {
	f := strings.Fields(args)
	for len(f) > 0 && strings.HasPrefix(f[0], "--") {
		f = f[1:]
	}
	return strings.Join(f, " ")
}

// execForm turns a JSON array (exec form) into words joined by spaces.
func execForm(args string) string {
	if !strings.HasPrefix(args, "[") {
		return args
	}
	var words []string
	if err := json.Unmarshal([]byte(args), &words); err != nil {
		return args
	}
	return strings.Join(words, " ")
}

func lastWord(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return strings.TrimSuffix(f[len(f)-1], "/")
}

func (in Instruction) matches(h step) bool {
	if in.Cmd != h.cmd {
		return false
	}
	a, b := collapse(execForm(dropFlags(in.Args))), collapse(dropFlags(h.args))
	if a == b {
		return true
	}
	switch in.Cmd {
	case "COPY", "ADD":
		// The classic builder hides the sources; BuildKit may quote or
		// order flags differently: the destination decides.
		return lastWord(a) == lastWord(b) && lastWord(a) != ""
	case "RUN":
		return execForm(b) == a
	}
	return false
}

// MapLayers returns the Dockerfile line of each layer (0 when unknown).
// The layers above the base are matched to instructions from the top down:
// the last layer with the last matching instruction, and so on, each
// instruction used once; base layers were made by another Dockerfile.
func (d *Dockerfile) MapLayers(createdBy []string, base int) []int {
	lines := make([]int, len(createdBy))
	j := len(d.Instructions) - 1
	for i := len(createdBy) - 1; i >= max(base, 0); i-- {
		h := parseHistory(createdBy[i])
		if h.cmd == "" {
			continue
		}
		for k := j; k >= 0; k-- {
			if d.Instructions[k].matches(h) {
				lines[i] = d.Instructions[k].Line
				j = k - 1
				break
			}
		}
	}
	return lines
}
