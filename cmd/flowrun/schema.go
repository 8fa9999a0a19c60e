package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/flowrun/flowrun/schema"
)

func newSchemaCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "schema [connector|flow|test]",
		Short: "Print the JSON Schema of connector.yaml, flow files or test files",
		Long: `schema prints the JSON Schema (draft 2020-12) that flowrun validate uses, for editors.
With yaml-language-server, start a file with a modeline such as
  # yaml-language-server: $schema=./.flowrun/flow.schema.json
after saving the schema there with: flowrun schema flow > .flowrun/flow.schema.json`,
		Args:      cobra.MaximumNArgs(1),
		ValidArgs: schema.Kinds(),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind := "flow"
			if len(args) == 1 {
				kind = args[0]
			}
			b, ok := schema.JSON(kind)
			if !ok {
				return usageErr("unknown schema %q: use one of %s", kind, strings.Join(schema.Kinds(), ", "))
			}
			_, err := fmt.Fprintln(e.stdout, strings.TrimRight(string(b), "\n"))
			return err
		},
	}
}
