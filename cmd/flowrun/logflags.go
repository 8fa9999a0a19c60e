package main

import (
	"io"
	"log/slog"

	"github.com/spf13/cobra"
)

// logOptions are the --log-format and --log-level flags of the long-running
// commands.
type logOptions struct {
	format string
	level  string
}

func (o *logOptions) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.format, "log-format", "text", "log lines on stderr as text or json")
	cmd.Flags().StringVar(&o.level, "log-level", "info", "least level logged: debug, info, warn or error")
}

// logger makes the slog.Logger the flags ask for, writing to w.
func (o *logOptions) logger(w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(o.level)); err != nil {
		return nil, usageErr("--log-level must be debug, info, warn or error, not %q", o.level)
	}
	ho := &slog.HandlerOptions{Level: lvl}
	switch o.format {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, ho)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, ho)), nil
	}
	return nil, usageErr("--log-format must be text or json, not %q", o.format)
}
