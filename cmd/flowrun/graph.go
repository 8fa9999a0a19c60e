package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/flowrun/flowrun/console/graph"
)

func init() {
	extraCommands = append(extraCommands, command{"graph", newGraphCmd})
}

type graphOptions struct {
	project string
	flow    string
	format  string
}

func newGraphCmd(e *env) *cobra.Command {
	o := &graphOptions{}
	cmd := &cobra.Command{
		Use:   "graph PROJECT FLOW",
		Short: "Draw a flow as a diagram: SVG, Mermaid or Graphviz DOT",
		Long: `graph loads and checks PROJECT and prints FLOW as a diagram on stdout: one card per
step, with the branches of if, switch and try, for_each bodies (and their
concurrency), calls and the return and fail ends. SVG is laid out by flowrun and
needs no JavaScript; Mermaid and DOT are laid out by their own tools.

Exit status: 0 success, 2 usage or load errors.`,
		Example: `  flowrun graph connectors/example summarize > summarize.svg
  flowrun graph connectors/example classify --format mermaid`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.project, o.flow = args[0], args[1]
			return runGraph(e, o)
		},
	}
	cmd.Flags().StringVar(&o.format, "format", "svg", "output format: "+strings.Join(graph.Formats, ", "))
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(graph.Formats, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func runGraph(e *env, o *graphOptions) error {
	switch o.format {
	case "svg", "mermaid", "dot":
	default:
		return usageErr("--format must be svg, mermaid or dot, not %q", o.format)
	}
	p, err := loadProject(e, o.project)
	if err != nil {
		return err
	}
	f := p.Flow(o.flow)
	if f == nil {
		return usageErr("project %s has no flow %q%s", o.project, o.flow, hintSuffix(o.flow, p.Order))
	}
	g := graph.Build(f)
	// positions relative to the working directory, so output is stable
	for _, n := range g.Nodes {
		n.Pos.File = relPath(n.Pos.File)
	}
	return graph.Write(e.stdout, g, o.format, graph.Options{})
}
