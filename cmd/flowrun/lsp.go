package main

import (
	"io"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/flowrun/flowrun/lsp"
)

func init() { extraCommands = append(extraCommands, command{"lsp", newLSPCmd}) }

type lspOptions struct {
	stdio bool // accepted for editors that pass --stdio; stdio is the only transport
}

func newLSPCmd(e *env) *cobra.Command {
	o := &lspOptions{}
	cmd := &cobra.Command{
		Use:   "lsp",
		Short: "Run the language server (LSP over stdin and stdout) for editors",
		Long: `lsp runs flowrun's language server: the Language Server Protocol over stdin and
stdout, for VS Code, Neovim, Helix and other editors (see docs/editors.md). It reports
the problems flowrun validate finds while you type, and completes, explains (hover)
and navigates (go to definition, outline) connector projects. Logs go to stderr.

Exit status: 0 after the editor's shutdown and exit, 1 when the connection ends without them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLSP(e, o)
		},
	}
	cmd.Flags().BoolVar(&o.stdio, "stdio", true, "speak LSP over stdin and stdout (the default and only transport)")
	return cmd
}

func runLSP(e *env, _ *lspOptions) error {
	v := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		v = bi.Main.Version
	}
	s := lsp.New(v, e.stderr)
	if !s.Serve(e.ctx, stdio{e.stdin, e.stdout}) {
		return &exitError{code: exitFailed}
	}
	return nil
}

// stdio is the command's stdin and stdout as one stream.
type stdio struct {
	r io.Reader
	w io.Writer
}

func (s stdio) Read(p []byte) (int, error)  { return s.r.Read(p) }
func (s stdio) Write(p []byte) (int, error) { return s.w.Write(p) }
func (s stdio) Close() error {
	if c, ok := s.r.(io.Closer); ok && s.r != os.Stdin {
		return c.Close()
	}
	return nil
}
