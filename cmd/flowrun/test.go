package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/spf13/cobra"

	"github.com/flowrun/flowrun/flowtest"
	"github.com/flowrun/flowrun/lang"
)

func init() {
	extraCommands = append(extraCommands, command{"test", newTestCmd})
}

type testOptions struct {
	projects   []string
	run        string
	junit      string
	verbose    bool
	record     bool
	verifyLive bool
	connection string
	maxMemory  *int64 // --max-memory, see size.go
}

func newTestCmd(e *env) *cobra.Command {
	o := &testOptions{}
	cmd := &cobra.Command{
		Use:   "test [PROJECT...]",
		Short: "Run a project's test suites offline, against HTTP mocks",
		Long: `test runs the cases of every tests/**/*.yaml file of each PROJECT (default: the
current directory). HTTP is answered by each case's mocks, never the network: a
request that no mock matches, or a mock that is not used, fails the case.

It prints a line per case, the details of each failure (with a diff of expected
and actual and the path:line:col of the case), and a summary line
"N passed, N failed".

With --record, the cases run against the live service with the connection in
--connection, and the exchanges are written into the test files as the cases'
mocks, with secrets, tokens and credential headers redacted (in the 1.1 style:
a mock answers once; a UUID the flow generated is recorded as a $regex matcher).

With --verify-live, the cases run against their mocks as offline, but with the
live connection in --connection, and every safe request (GET or HEAD) whose mock
answers with a JSON fixture is also sent to the live service (the connection's
base_url). Where the live response's shape (keys and value types, not values)
differs from the fixture's, it says so at the fixture's file:line:col: a key
gone or a type changed is breaking (exit 1), a new key is info. Writes are never
sent, and webhook cases are skipped.

Exit status: 0 every case passed, 1 a case failed, 2 usage or load errors.`,
		Example: `  flowrun test
  flowrun test connectors/github connectors/okta --junit report.xml
  flowrun test . --run 'users/creates' -v
  flowrun test . --run 'lists users' --record --connection live.yaml
  flowrun test connectors/okta --verify-live --connection okta-sandbox.yaml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.projects = args
			return runTest(e, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.run, "run", "", "run only the cases whose name, or file/name (file under tests/ without .yaml), matches this regular expression")
	f.StringVar(&o.junit, "junit", "", "write a JUnit XML report to this file")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "show the steps and HTTP exchanges of every case")
	f.BoolVar(&o.record, "record", false, "run against the live service and write the exchanges into the test files as mocks")
	f.BoolVar(&o.verifyLive, "verify-live", false, "re-send the suite's safe requests (GET, HEAD) to the live service and report where the responses' shape drifted from the fixtures")
	f.StringVarP(&o.connection, "connection", "c", "", "with --record or --verify-live: the live connection file (YAML or JSON: params, token)")
	o.maxMemory = maxMemoryFlag(cmd)
	return cmd
}

func runTest(e *env, o *testOptions) error {
	if len(o.projects) == 0 {
		o.projects = []string{"."}
	}
	var re *regexp.Regexp
	if o.run != "" {
		var err error
		if re, err = regexp.Compile(o.run); err != nil {
			return usageErr("--run: %v", err)
		}
	}
	if o.record && o.connection == "" {
		return usageErr("--record needs --connection FILE: the live connection to record with")
	}
	if o.verifyLive && o.connection == "" {
		return usageErr("--verify-live needs --connection FILE: the live connection to compare with")
	}
	if o.record && o.verifyLive {
		return usageErr("--record and --verify-live do not go together: record writes mocks, verify-live compares them")
	}
	if o.connection != "" && !o.record && !o.verifyLive {
		return usageErr("--connection is for --record and --verify-live; offline cases give their connection in the test file")
	}
	if (o.record || o.verifyLive) && len(o.projects) > 1 {
		return usageErr("--record and --verify-live take one project")
	}

	// load every project first: a project that does not load stops the run
	projects := make([]*lang.Project, 0, len(o.projects))
	var loadErr error
	for _, dir := range o.projects {
		p, err := loadProject(e, relPath(filepath.Clean(dir)))
		if err != nil {
			loadErr = err
			continue
		}
		projects = append(projects, p)
	}
	if loadErr != nil {
		return loadErr
	}

	var reports []*flowtest.Report
	for _, p := range projects {
		opts := flowtest.Options{Run: re, Verbose: o.verbose, Out: e.stdout, MaxMemory: *o.maxMemory}
		if o.record {
			conn, err := loadConnection(e, p, o.connection)
			if err != nil {
				return err
			}
			opts.Record, opts.RecordConn = true, conn
		}
		if o.verifyLive {
			conn, err := loadConnection(e, p, o.connection)
			if err != nil {
				return err
			}
			opts.VerifyLive, opts.LiveConn = true, conn
		}
		if len(p.Tests) == 0 {
			fmt.Fprintf(e.stderr, "flowrun: %s has no tests (add test suites as tests/<name>.yaml)\n", p.Dir)
		}
		rep, err := flowtest.Run(e.ctx, p, opts)
		if rep != nil {
			reports = append(reports, rep)
		}
		if err != nil {
			return &exitError{code: exitFailed, msg: err.Error()}
		}
	}
	fmt.Fprintln(e.stdout, flowtest.Summary(reports...))
	if o.verifyLive {
		fmt.Fprintln(e.stdout, flowtest.LiveSummary(reports...))
	}
	if o.junit != "" {
		if err := writeJUnit(o.junit, reports); err != nil {
			return &exitError{code: exitUsage, msg: "--junit: " + err.Error()}
		}
	}
	if e.ctx.Err() != nil {
		return &exitError{code: exitCanceled}
	}
	for _, r := range reports {
		if r.Failed > 0 {
			return &exitError{code: exitFailed}
		}
	}
	return nil
}

func writeJUnit(path string, reports []*flowtest.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := flowtest.WriteJUnit(f, reports...); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
