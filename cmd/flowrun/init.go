package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/load"
	"github.com/flowrun/flowrun/scaffold"
)

func init() {
	extraCommands = append(extraCommands, command{"init", newInitCmd})
}

type initOptions struct {
	dir        string
	name       string
	auth       string
	baseURL    string
	trigger    string
	spec       string
	operations string
}

func newInitCmd(e *env) *cobra.Command {
	o := &initOptions{}
	cmd := &cobra.Command{
		Use:   "init DIR",
		Short: "Start a connector project: from templates, or from an OpenAPI description",
		Long: `init writes a new connector project into DIR, which must not exist or be empty:
connector.yaml, flows and tests that pass as written, a connection example, and the
JSON Schemas (.flowrun/) that the files' yaml-language-server modelines point at.

Without --from-openapi it writes a small project: an authping flow, an action
(get_item) that calls a helper (shape_item), and a poll or webhook flow with
--trigger. Replace the placeholder paths with the service's.

With --from-openapi SPEC (an OpenAPI 3.0 or 3.1 file, YAML or JSON) it writes one
action flow per operation (--operations selects them by operationId or by
"METHOD /path"), the connection and its auth from the security schemes, a guessed
authping, and one offline test case per operation with a mock built from the
response schema. What it could not map is listed here and as comments in the files.

The project is loaded after writing, as flowrun validate would.

Exit status: 0 written, 1 the description could not be used, 2 usage error
(including a DIR that is not empty).`,
		Example: `  flowrun init acme --auth bearer --base-url https://api.acme.example/v2
  flowrun init acme --trigger poll
  flowrun init --from-openapi openapi.yaml acme
  flowrun init --from-openapi openapi.json okta --operations '^(listUsers|getUser)$'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.dir = args[0]
			if o.spec != "" {
				for _, f := range []string{"auth", "base-url", "trigger"} {
					if cmd.Flags().Changed(f) {
						return usageErr("--%s is for projects from templates; with --from-openapi it comes from the description", f)
					}
				}
			} else if cmd.Flags().Changed("operations") {
				return usageErr("--operations selects operations of --from-openapi SPEC")
			}
			return runInit(e, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.name, "name", "", "the connector's name (default: from DIR, or the description's title)")
	f.StringVar(&o.auth, "auth", "none", "how requests are authorised: "+strings.Join(scaffold.AuthKinds, ", "))
	f.StringVar(&o.baseURL, "base-url", scaffold.DefaultBaseURL, "the default of the base_url connection parameter")
	f.StringVar(&o.trigger, "trigger", "none", "a trigger flow to include: "+strings.Join(scaffold.TriggerKinds, ", "))
	f.StringVar(&o.spec, "from-openapi", "", "an OpenAPI 3.0/3.1 description (YAML or JSON file) to generate the project from")
	f.StringVar(&o.operations, "operations", "", "with --from-openapi: only the operations whose operationId or \"METHOD /path\" matches this regular expression")
	_ = cmd.RegisterFlagCompletionFunc("auth", cobra.FixedCompletions(scaffold.AuthKinds, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("trigger", cobra.FixedCompletions(scaffold.TriggerKinds, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func runInit(e *env, o *initOptions) error {
	var res *scaffold.Result
	var err error
	if o.spec != "" {
		var re *regexp.Regexp
		if o.operations != "" {
			if re, err = regexp.Compile(o.operations); err != nil {
				return usageErr("--operations: %v", err)
			}
		}
		res, err = scaffold.FromOpenAPI(o.spec, o.dir, scaffold.OpenAPIOptions{Name: o.name, Operations: re})
	} else {
		res, err = scaffold.Init(o.dir, scaffold.Options{Name: o.name, Auth: o.auth, BaseURL: o.baseURL, Trigger: o.trigger})
	}
	if err != nil {
		var se *scaffold.SpecError
		if errors.As(err, &se) {
			return &exitError{code: exitFailed, msg: err.Error()}
		}
		return usageErr("init: %v", err)
	}
	dir := relPath(filepath.Clean(o.dir))
	fmt.Fprintf(e.stdout, "created %s (%d files)\n", dir, len(res.Files))
	for _, f := range res.Files {
		fmt.Fprintf(e.stdout, "  %s\n", f)
	}
	if len(res.Notes) > 0 {
		fmt.Fprintf(e.stdout, "\nto check (%d), also written as comments in the files:\n", len(res.Notes))
		for _, n := range res.Notes {
			fmt.Fprintf(e.stdout, "  - %s\n", n)
		}
	}
	// What init wrote must load: a problem here is a bug in init, reported
	// as such rather than left for the user to find.
	if _, err := load.ProjectWith(o.dir, loadOptions()); err != nil {
		var ds lang.Diagnostics
		if errors.As(err, &ds) {
			for _, d := range ds {
				d.Pos.File = relPath(d.Pos.File)
				fmt.Fprintln(e.stderr, d.String())
			}
		}
		return &exitError{code: exitFailed, msg: fmt.Sprintf("the project written to %s does not validate (%v); this is a bug in flowrun init, please report it with the description used", dir, err)}
	}
	fmt.Fprintf(e.stdout, "\nnext:\n  flowrun validate %s\n  flowrun test %s\n", dir, dir)
	return nil
}
