package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/load"
	"github.com/spf13/cobra"
)

// Exit codes (SPEC §6).
const (
	exitOK       = 0
	exitFailed   = 1 // problems found, flow failed, tests failed
	exitUsage    = 2 // usage or load errors
	exitCanceled = 130
)

// exitError carries an exit code out of a command; its message (if any) has
// already been printed or is printed by Main.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func usageErr(format string, args ...any) error {
	return &exitError{code: exitUsage, msg: fmt.Sprintf(format, args...)}
}

// env is what every command gets: its streams and a context canceled on Ctrl-C.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	ctx            context.Context
}

// Main runs flowrun with args and returns the exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, ctx: ctx}
	first := ""
	if len(args) > 0 {
		first = args[0]
	}
	root := newRoot(e, first)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var xe *exitError
	if errors.As(err, &xe) {
		if xe.msg != "" {
			fmt.Fprintln(stderr, "flowrun: "+xe.msg)
		}
		return xe.code
	}
	// cobra's own errors: unknown command, bad flags, wrong argument count
	fmt.Fprintln(stderr, "flowrun: "+err.Error())
	fmt.Fprintln(stderr, "Run 'flowrun --help' for usage.")
	return exitUsage
}

// newRoot builds the command tree. When first, the first argument, names a
// command, only that command is built: building every command's flags and
// help is a measurable part of a cold `flowrun run` (bench/README.md). Help,
// completion and unknown names get the whole tree.
func newRoot(e *env, first string) *cobra.Command {
	root := &cobra.Command{
		Use:   "flowrun",
		Short: "Validate, run and test connector projects written as YAML flows",
		Long: `flowrun runs connector projects: a connector.yaml plus flows/*.yaml, written in the
flowrun connector language. It validates them (for CI), runs their flows, tests them
offline against HTTP mocks, and hosts their webhook and poll triggers.

Environment:
  FLOWRUN_CACHE  directory of the shape cache, which records project files the
                 schema accepted so unchanged files skip the schema pass on the
                 next load (default: flowrun/shapes in the user cache directory;
                 "off" disables it; safe to delete at any time)`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	all := append([]command{{"validate", newValidateCmd}, {"schema", newSchemaCmd}, {"version", newVersionCmd},
		{"run", newRunCmd}, {"builtins", newBuiltinsCmd}}, extraCommands...)
	for _, c := range all {
		if c.name == first {
			root.AddCommand(c.new(e))
			return root
		}
	}
	for _, c := range all {
		root.AddCommand(c.new(e))
	}
	return root
}

// command is a top-level command: its name (the cobra.Command's Name, which
// TestCommandNames checks) and how to build it.
type command struct {
	name string
	new  func(*env) *cobra.Command
}

// extraCommands lets command files register themselves.
var extraCommands []command

func newVersionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print flowrun's version and the connector language version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := "(devel)"
			if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
				v = bi.Main.Version
			}
			engine := "without the Temporal engine"
			if temporalBuilt {
				engine = "with the Temporal engine"
			}
			fmt.Fprintf(e.stdout, "flowrun %s (connector language 1, %s)\n", v, engine)
			return nil
		},
	}
}

// relPath shows a path relative to the working directory when it is inside it.
func relPath(p string) string {
	if p == "" || !filepath.IsAbs(p) {
		return p
	}
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	if r, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

// loadOptions gives every command the shape cache (see
// load.ShapeCache): FLOWRUN_CACHE names its directory, or "off".
func loadOptions() load.Options {
	return load.Options{ShapeCache: load.OpenShapeCache(load.DefaultShapeCacheDir())}
}

// loadProject loads a project, printing its diagnostics on failure.
func loadProject(e *env, dir string) (*lang.Project, error) {
	p, err := load.ProjectWith(dir, loadOptions())
	if err != nil {
		var ds lang.Diagnostics
		if errors.As(err, &ds) {
			for _, d := range ds {
				d.Pos.File = relPath(d.Pos.File)
				fmt.Fprintln(e.stderr, d.String())
			}
			return nil, &exitError{code: exitUsage, msg: fmt.Sprintf("%s: %d problem(s); run `flowrun validate %s` for details", dir, len(ds), dir)}
		}
		return nil, &exitError{code: exitUsage, msg: err.Error()}
	}
	return p, nil
}
