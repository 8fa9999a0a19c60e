package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/load"
	"github.com/spf13/cobra"
)

type validateOptions struct {
	format string
	paths  []string
}

func newValidateCmd(e *env) *cobra.Command {
	o := &validateOptions{}
	cmd := &cobra.Command{
		Use:   "validate [PATH...]",
		Short: "Check connector projects: schema, names, references, types and expressions",
		Long: `validate loads each project (a directory holding connector.yaml; default ".") and
reports every problem of every file at once, sorted by file, line and column, as
path:line:col: error: message. Test suites under tests/ are checked too.

Exit status: 0 valid, 1 problems found, 2 usage error.`,
		Example: `  flowrun validate connectors/github
  flowrun validate --format github connectors/*`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.paths = args
			return runValidate(e, o)
		},
	}
	cmd.Flags().StringVar(&o.format, "format", "text", "output format: text, json or github (GitHub Actions annotations)")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"text", "json", "github"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

type jsonDiag struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
}

func runValidate(e *env, o *validateOptions) error {
	switch o.format {
	case "text", "json", "github":
	default:
		return usageErr("--format must be text, json or github, not %q", o.format)
	}
	paths := o.paths
	if len(paths) == 0 {
		paths = []string{"."}
	}
	// The projects load on every CPU at once (each load is independent);
	// their problems are then taken in the order of the paths.
	errs := make([]error, len(paths))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, p := range paths {
		if st, err := os.Stat(p); err == nil && !st.IsDir() && filepath.Base(p) == "connector.yaml" {
			p = filepath.Dir(p)
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			lo := loadOptions()
			lo.CheckOnly = true // validate runs nothing: check, do not compile
			_, errs[i] = load.ProjectWith(p, lo)
		})
	}
	wg.Wait()
	var all lang.Diagnostics
	for _, err := range errs {
		if err == nil {
			continue
		}
		var ds lang.Diagnostics
		if !errors.As(err, &ds) {
			return &exitError{code: exitUsage, msg: err.Error()}
		}
		all = append(all, ds...)
	}
	for i := range all {
		all[i].Pos.File = relPath(all[i].Pos.File)
	}
	all = all.Sort()
	switch o.format {
	case "text":
		for _, d := range all {
			fmt.Fprintln(e.stdout, d.String())
		}
		if len(all) > 0 {
			fmt.Fprintf(e.stderr, "%d problem(s)\n", len(all))
		}
	case "json":
		out := make([]jsonDiag, 0, len(all))
		for _, d := range all {
			out = append(out, jsonDiag{File: d.Pos.File, Line: d.Pos.Line, Column: d.Pos.Col, Message: d.Message, Hint: d.Hint})
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	case "github":
		for _, d := range all {
			msg := d.Message
			if d.Hint != "" {
				msg += " (hint: " + d.Hint + ")"
			}
			fmt.Fprintf(e.stdout, "::error file=%s,line=%d,col=%d::%s\n", ghEscapeProp(d.Pos.File), max(d.Pos.Line, 1), max(d.Pos.Col, 1), ghEscape(msg))
		}
	}
	if len(all) > 0 {
		return &exitError{code: exitFailed}
	}
	return nil
}

// GitHub workflow command escaping.
func ghEscape(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func ghEscapeProp(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
