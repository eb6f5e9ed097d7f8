package main

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// envPrefix starts the environment variable of every flag.
const envPrefix = "LAYERLINT_"

// envBinding is one flag settable from the environment.
type envBinding struct {
	Var      string   // LAYERLINT_…
	Flag     string   // the flag's name, without dashes
	Commands []string // the commands that have the flag
	Slice    bool     // a repeatable flag: the variable holds a comma-separated list
}

// bindEnv gives every flag of the visible commands an environment
// variable: LAYERLINT_<FLAG> for the flags shared by every command that
// opens an image (the same setting means the same thing to all of them),
// LAYERLINT_<COMMAND>_<FLAG> for the others, so that lint's --output (a
// report) and fix's --output (an image) never share a variable. urfave/cli
// then applies the precedence flag > environment > default; lint's
// configuration file sits between the environment and the default because
// lint reads it only for what no flag set (c.IsSet is true for both).
// It returns the bindings, sorted by variable, for the generated table.
func bindEnv(cmds []*cli.Command) []envBinding {
	shared := map[string]bool{}
	for _, f := range imageFlags() {
		shared[f.Names()[0]] = true
	}
	byVar := map[string]*envBinding{}
	for _, cmd := range cmds {
		if cmd.Hidden {
			continue
		}
		for _, f := range cmd.Flags {
			name := f.Names()[0]
			v := envPrefix + envWord(cmd.Name) + "_" + envWord(name)
			if shared[name] {
				v = envPrefix + envWord(name)
			}
			slice := setEnvVar(f, v)
			b := byVar[v]
			if b == nil {
				b = &envBinding{Var: v, Flag: name, Slice: slice}
				byVar[v] = b
			}
			b.Commands = append(b.Commands, cmd.Name)
		}
	}
	out := make([]envBinding, 0, len(byVar))
	for _, b := range byVar {
		out = append(out, *b)
	}
	slices.SortFunc(out, func(a, b envBinding) int { return strings.Compare(a.Var, b.Var) })
	return out
}

// envWord spells a flag or command name as part of a variable name.
func envWord(s string) string { return strings.ToUpper(strings.ReplaceAll(s, "-", "_")) }

// setEnvVar sets the flag's variable and reports whether it is a
// repeatable flag. The switch lists every flag type the commands use; a
// test checks that every visible flag got its variable, so a new type is
// noticed.
func setEnvVar(f cli.Flag, v string) (slice bool) {
	switch f := f.(type) {
	case *cli.StringFlag:
		f.EnvVars = []string{v}
	case *cli.BoolFlag:
		f.EnvVars = []string{v}
	case *cli.IntFlag:
		f.EnvVars = []string{v}
	case *cli.Int64Flag:
		f.EnvVars = []string{v}
	case *cli.DurationFlag:
		f.EnvVars = []string{v}
	case *cli.StringSliceFlag:
		f.EnvVars = []string{v}
		return true
	}
	return false
}

// envReference renders the environment table of docs/cli.md.
func envReference(bindings []envBinding) []byte {
	var b bytes.Buffer
	b.WriteString("\n## Environment variables\n\n")
	b.WriteString("Every option can also be set from the environment, which suits CI, where a job's\n")
	b.WriteString("variables are easier to change than its command line. The options every command that\n")
	b.WriteString("opens an image shares are `LAYERLINT_<OPTION>`; the others are `LAYERLINT_<COMMAND>_<OPTION>`,\n")
	b.WriteString("so that one variable never means two things (lint's `--output` is a report, fix's an image).\n")
	b.WriteString("A boolean takes `true`/`false`/`1`/`0`; a repeatable option takes a comma-separated list.\n\n")
	b.WriteString("Precedence, highest first: the option on the command line, then the environment\n")
	b.WriteString("variable, then the configuration file (`.layerlint.yaml`, lint only, for a setting it\n")
	b.WriteString("shares with an option, such as `failOn`), then the default. A variable that is set, even\n")
	b.WriteString("to the empty string, is used (unset it to fall back); a value that does not parse exits 2\n")
	b.WriteString("naming the variable.\n\n")
	b.WriteString("| variable | option | commands |\n| --- | --- | --- |\n")
	for _, e := range bindings {
		flag := "`--" + e.Flag + "`"
		if e.Slice {
			flag += " (list)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", e.Var, flag, strings.Join(e.Commands, ", "))
	}
	return b.Bytes()
}
