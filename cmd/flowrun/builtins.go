package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/flowrun/flowrun/builtins"
)

func newBuiltinsCmd(e *env) *cobra.Command {
	var markdown bool
	cmd := &cobra.Command{
		Use:   "builtins",
		Short: "List the builtin functions available in expressions, with examples",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if markdown {
				_, err := fmt.Fprint(e.stdout, builtins.Markdown())
				return err
			}
			builtins.Text(e.stdout)
			return nil
		},
	}
	cmd.Flags().BoolVar(&markdown, "markdown", false, "print the table as Markdown")
	return cmd
}
