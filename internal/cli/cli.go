// Package cli implements the cmc-stream commands. Each command parses its
// own flags, does its work through the project's packages and maps errors to
// an exit status; main only wires signals and the process exit.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"

	"github.com/cmc-stream/cmc-stream/pipeline"
)

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
	// exitInterrupted is the status of a command stopped by SIGINT or
	// SIGTERM before it finished (128 + SIGINT, as shells report it).
	exitInterrupted = 130
)

// errUsage marks an error in the command line; the command's usage follows.
var errUsage = errors.New("usage")

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands maps names to subcommands; each file cmd_<name>.go registers one.
var commands = map[string]command{}

// Main runs the command named by args[0] and returns the exit status.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "cmc-stream: unknown command %q\n\n", args[0])
		usage(stderr)
		return exitUsage
	}
	err := cmd.run(ctx, args[1:], stdout, stderr)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "cmc-stream %s: %v\n", args[0], err)
		return exitUsage
	case errors.Is(err, pipeline.ErrShutdownTimeout):
		fmt.Fprintf(stderr, "cmc-stream %s: the shutdown hit its deadline (pipeline.shutdown_timeout), items in flight were abandoned: %v\n", args[0], err)
		return exitError
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		fmt.Fprintf(stderr, "cmc-stream %s: stopped by a signal before the end: %v\n", args[0], err)
		return exitInterrupted
	default:
		fmt.Fprintf(stderr, "cmc-stream %s: %v\n", args[0], err)
		return exitError
	}
}

// untilDone runs fn and returns its error, or ctx's as soon as ctx is done:
// a command stops at once on a signal even inside a long computation, whose
// goroutine ends with the process.
func untilDone(ctx context.Context, fn func() error) error {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: cmc-stream <command> [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun \"cmc-stream <command> -h\" for a command's flags.")
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("cmc-stream "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses args and wraps flag errors as usage errors.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return nil
}
