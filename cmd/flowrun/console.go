package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowrun/flowrun/console"
	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/trigger"
)

func init() {
	extraCommands = append(extraCommands, command{"console", newConsoleCmd})
}

type consoleOptions struct {
	projects    []string
	connections []string
	listen      string
	state       string
	token       string
	publicURL   string
}

func newConsoleCmd(e *env) *cobra.Command {
	o := &consoleOptions{}
	cmd := &cobra.Command{
		Use:   "console PROJECT...",
		Short: "Serve a web console: flows as diagrams, a form per action, runs step by step",
		Long: `console serves a web console for the projects: each connector's flows grouped by
type, every flow drawn as a diagram with the checker's problems, a form generated
from an action flow's inputs that runs it, the connection (secrets never shown)
with test (its authping flow), revoke and, for OAuth 2.0, log-in-again buttons,
runs with each step's inputs and outputs, and the triggers of a state
directory with pause, resume and reset.

The console listens on loopback only unless --console-token is given; with a
token, every request must present it (open the console once with ?token=...).

--connection may be given once per project, in the same order.`,
		Example: `  flowrun console connectors/example --connection conn.yaml
  flowrun console connectors/github connectors/slack --listen 127.0.0.1:9000 --state .flowrun`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.projects = args
			return runConsole(e, o)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.connections, "connection", "c", nil, "connection file of a project (once per project, in order)")
	f.StringVar(&o.listen, "listen", "127.0.0.1:8686", "address to listen on (port 0 picks a free one)")
	f.StringVar(&o.state, "state", "", "state directory of flowrun serve, to show its triggers")
	f.StringVar(&o.token, "console-token", os.Getenv("FLOWRUN_CONSOLE_TOKEN"), "token every request must present; required to listen beyond loopback")
	f.StringVar(&o.publicURL, "public-url", os.Getenv("FLOWRUN_PUBLIC_URL"), "the address browsers reach the console at, when it is behind a proxy (OAuth log-in-again's redirect URI is built from it)")
	return cmd
}

func runConsole(e *env, o *consoleOptions) error {
	if len(o.connections) > len(o.projects) {
		return usageErr("%d --connection files for %d projects", len(o.connections), len(o.projects))
	}
	if !console.Loopback(o.listen) && o.token == "" {
		return usageErr("--listen %s is not a loopback address: give --console-token (or FLOWRUN_CONSOLE_TOKEN) to serve the console beyond this machine", o.listen)
	}
	ps, err := console.Open(o.projects, o.connections, loadOptions())
	if err != nil {
		var ds lang.Diagnostics
		if errors.As(err, &ds) {
			for _, d := range ds {
				d.Pos.File = relPath(d.Pos.File)
				fmt.Fprintln(e.stderr, d.String())
			}
			return &exitError{code: exitUsage, msg: "a project or connection file has problems"}
		}
		return &exitError{code: exitUsage, msg: err.Error()}
	}
	for _, p := range ps {
		if n := len(p.Diagnostics); n > 0 {
			fmt.Fprintf(e.stderr, "%s: %d problem(s), shown in the console; its flows cannot be run\n", p.Dir, n)
		}
	}
	cfg := console.Config{Projects: ps, Token: o.token, PublicURL: o.publicURL}
	if o.state != "" {
		st, err := trigger.Open(o.state)
		if err != nil {
			return &exitError{code: exitUsage, msg: err.Error()}
		}
		defer st.Close()
		cfg.Store = st
	}
	srv, err := console.New(cfg)
	if err != nil {
		return usageErr("--public-url: %v", err)
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return usageErr("--listen: %v", err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(e.stdout, "flowrun console on http://%s/\n", ln.Addr())
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-e.ctx.Done():
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = hs.Shutdown(ctx)
	return nil
}

// consoleMount is serve's --console: the console of the served project
// under /console/, with its run history and triggers.
type consoleMount struct {
	on    bool
	token string
}

func (c *consoleMount) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.BoolVar(&c.on, "console", false, "serve the web console under /console/ (loopback only unless --console-token is set)")
	f.StringVar(&c.token, "console-token", os.Getenv("FLOWRUN_CONSOLE_TOKEN"), "token every console request must present; required when --listen is beyond loopback")
}

func (c *consoleMount) mount(h *trigger.Host, dir, listen string) error {
	if !c.on {
		return nil
	}
	if !console.Loopback(listen) && c.token == "" {
		return usageErr("--console with --listen %s (beyond loopback) needs --console-token (or FLOWRUN_CONSOLE_TOKEN)", listen)
	}
	srv, err := console.New(console.Config{
		Projects: consoleProjects(h, dir),
		Prefix:   "/console", Token: c.token, Store: h.Store, Replay: h.Replay, Pause: h.Pause, Resume: h.Resume,
		PublicURL: h.PublicURL,
	})
	if err != nil {
		return usageErr("--public-url: %v", err)
	}
	h.Console = srv
	return nil
}

// consoleProjects are the console's projects under flowrun serve: one per
// host (h and its peers, one per project and named connection with
// --connections DIR), each with that host's connection object and limits,
// so the console's test, revoke and log-in-again act on that host's
// connection. A project served with named connections is keyed
// "<connector>@<connection>".
func consoleProjects(h *trigger.Host, dir string) []*console.Project {
	var out []*console.Project
	for _, x := range append([]*trigger.Host{h}, h.Peers...) {
		p := x.Runner.Project
		d := p.Dir
		if d == "" {
			d = dir
		}
		key := p.Connector.Name
		if x.Named != "" {
			key += "@" + x.Named
		}
		out = append(out, &console.Project{Name: key, Dir: d, Project: p, Connection: x.Runner.Connection,
			ConnectionName: x.Named, Limits: x.Runner.Limits})
	}
	return out
}
