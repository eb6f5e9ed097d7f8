package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/layerlint/layerlint/internal/escape"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// run builds the app, runs it and maps the outcome to an exit code (see
// docs/exit-codes.md). It is main without os.Exit, so tests can call it.
func run(args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	args = flagsFirst(app, args)
	withHelpCommand(app, args)
	err := app.Run(args)
	if cerr := closeCache(app); cerr != nil && err == nil {
		err = cerr
	}
	if err == nil {
		return ExitOK
	}
	code := exitCode(err)
	if !errors.Is(err, errSilent) {
		// An error may quote the image (a name, a tag, a media type): one
		// escaped line, whatever it holds.
		fmt.Fprintf(stderr, "layerlint: %s\n", escape.Text(err.Error()+advice(err)))
	}
	return code
}

// flagsFirst moves the flags of a command that follow its arguments in
// front of them, so that `layerlint fix IMAGE --load` means what it says:
// urfave/cli v2 stops at the first argument. Only the command's own flags
// move (with their value when they take one); everything after "--"
// stays an argument.
func flagsFirst(app *cli.App, args []string) []string {
	if len(args) < 3 || strings.HasPrefix(args[1], "-") {
		return args
	}
	cmd := app.Command(args[1])
	if cmd == nil || len(cmd.Subcommands) > 0 {
		return args
	}
	known, takesValue := map[string]bool{}, map[string]bool{}
	for _, f := range cmd.Flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			known[n], takesValue[n] = true, !isBool
		}
	}
	var flags, rest []string
	tail := args[2:]
	for i := 0; i < len(tail); i++ {
		a := tail[i]
		if a == "--" {
			rest = append(rest, tail[i:]...)
			break
		}
		n, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && known[n] {
			flags = append(flags, a)
			if takesValue[n] && !hasValue && i+1 < len(tail) {
				flags = append(flags, tail[i+1])
				i++
			}
			continue
		}
		rest = append(rest, a)
	}
	return append(append(append([]string{}, args[:2]...), flags...), rest...)
}

// newApp builds the command tree writing to the given writers.
func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:    "layerlint",
		Usage:   "lint and optimize OCI container images",
		Version: version,
		Description: "layerlint replays an image's layers through an overlay model, reports the bytes\n" +
			"that no container will ever see, and rewrites images without them.\n\n" +
			"IMAGE is oci:DIR[:TAG|@DIGEST], oci-archive:FILE[:TAG], docker-archive:FILE[:REPO:TAG|:N],\n" +
			"registry:REF or docker://REF (an image in a registry, streamed), docker-daemon:NAME[:TAG]\n" +
			"(the local engine at DOCKER_HOST), podman:NAME[:TAG] (Podman's socket), or a bare path\n" +
			"whose format is detected from what it holds. See docs/images.md.",
		Writer:          stdout,
		ErrWriter:       stderr,
		HideHelpCommand: true,
		// The completion scripts ask the binary for candidates.
		EnableBashCompletion: true,
		// Errors are printed once, by run, with the exit code they map to.
		ExitErrHandler: func(*cli.Context, error) {},
		Commands: []*cli.Command{
			analyzeCommand(),
			completionCommand(),
			diffCommand(),
			explainCommand(),
			fixCommand(),
			lintCommand(),
			lsCommand(),
			manCommand(),
			mountCommand(),
			rulesCommand(),
			umountCommand(),
			versionCommand(),
			docsCommand(),
		},
	}
	bindEnv(app.Commands)
	return app
}
