package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowrun/flowrun/connection"
	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/run"
	"github.com/flowrun/flowrun/trigger"
	"github.com/flowrun/flowrun/value"
)

func init() {
	extraCommands = append(extraCommands, command{"trigger", newTriggerCmd}, command{"serve", newServeCmd},
		command{"poll", newPollCmd}, command{"connection", newConnectionCmd})
}

// hostOptions are the flags shared by the trigger-host commands.
type hostOptions struct {
	connection  string
	connections string // --connections DIR: named connections, see connections.go
	state       string
	input       string
	publicURL   string
}

func (o *hostOptions) flags(cmd *cobra.Command, withInput bool) {
	f := cmd.Flags()
	f.StringVarP(&o.connection, "connection", "c", "", "connection file (YAML or JSON: params, token); with --connections, a connection's name")
	f.StringVar(&o.connections, "connections", "", "directory of named connections: one file per connection, named by its file name (DIR/<project>/ when it exists)")
	f.StringVar(&o.state, "state", "", "state directory (an SQLite database is kept there), or a Postgres database (postgres://...) shared by several machines")
	if withInput {
		f.StringVarP(&o.input, "input", "i", "", "the trigger's options as JSON, @file.json, or - for stdin")
	}
	f.StringVar(&o.publicURL, "public-url", os.Getenv("FLOWRUN_PUBLIC_URL"), "the address at which the service reaches flowrun serve (webhooks)")
}

// openHost loads the project and connection and opens the state store.
func openHost(e *env, project string, o *hostOptions, sink trigger.Sink) (*trigger.Host, func(), error) {
	if o.state == "" {
		return nil, nil, usageErr("--state DIR (or postgres://...) is required: triggers, cursors and history are kept there")
	}
	p, err := loadProject(e, project)
	if err != nil {
		return nil, nil, err
	}
	conn, named, err := hostConnection(e, p, o)
	if err != nil {
		return nil, nil, err
	}
	st, sqlite, closeFn, err := openStateStore(e.ctx, o.state) // state.go
	if err != nil {
		return nil, nil, err
	}
	h := &trigger.Host{Runner: &run.Runner{Project: p, Connection: conn}, Store: sqlite, Sink: sink, PublicURL: o.publicURL, Named: named, ConnectionName: named,
		Logf: func(format string, args ...any) {
			fmt.Fprintf(e.stderr, "%s %s\n", time.Now().UTC().Format(time.RFC3339), fmt.Sprintf(format, args...))
		}}
	if sqlite == nil {
		h.State = st
	}
	return h, closeFn, nil
}

func newTriggerCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trigger",
		Short: "Turn webhook and poll triggers on and off, and list them",
		Long: `A trigger is a webhook or poll flow turned on for a connection with its input options.
'trigger on' registers a webhook with the service (or records a poll with an empty cursor),
'trigger off' deregisters it and forgets it, 'trigger list' shows what is on (and what is
paused, and why), 'trigger pause' pauses a trigger by hand, 'trigger resume' resumes a
paused trigger.
'flowrun serve' then hosts every trigger that is on.`,
	}
	on := &hostOptions{}
	var onMaxMemory int64
	onSched := &scheduleOptions{}
	onCmd := &cobra.Command{
		Use:   "on PROJECT FLOW",
		Short: "Turn a webhook or poll trigger on",
		Long: `on registers a webhook with the service (its register steps run with webhook.url and a
new webhook.secret) or records a poll with an empty cursor. --max-memory gives the
trigger its own memory budget: flowrun serve runs its deliveries and polls with it
instead of serve's --max-memory (change it later with 'flowrun trigger set').`,
		Example: `  flowrun trigger on connectors/github repository_events --connection gh.yaml --state .flowrun \
      --input '{"owner":"octo","repo":"hello"}' --public-url https://hooks.example.com --max-memory 64MiB`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := onSched.check(); err != nil { // before anything changes
				return err
			}
			h, closeFn, err := openHost(e, args[0], on, nil)
			if err != nil {
				return err
			}
			if err := requireNamed(on, h.Runner.Project.Connector.Name); err != nil {
				closeFn()
				return err
			}
			defer closeFn()
			in, err := readInput(e, on.input)
			if err != nil {
				return err
			}
			t, err := h.OnWith(e.ctx, args[1], in, trigger.TriggerOptions{MaxMemory: onMaxMemory})
			if err != nil {
				return hostFailure(e, h, err)
			}
			if err := onSched.create(e, h, t, on.connection); err != nil { // temporal.go
				return err
			}
			fmt.Fprintf(e.stdout, "trigger %s is on (%s %s%s)\n", t.ID, t.Kind, t.Flow, onConnection(t.Connection))
			if t.MaxMemory > 0 {
				fmt.Fprintf(e.stdout, "memory budget of each run: %s (flowrun serve's --max-memory does not apply to it)\n", run.FormatSize(t.MaxMemory))
			}
			if t.Kind == "webhook" {
				fmt.Fprintf(e.stdout, "deliveries go to %s%s\n", strings.TrimRight(on.publicURL, "/"), trigger.HookPath(t.ID))
			}
			return nil
		},
	}
	on.flags(onCmd, true)
	onCmd.Flags().Var((*sizeFlag)(&onMaxMemory), "max-memory", "this trigger's memory budget for each run, e.g. 64MiB (default: flowrun serve's --max-memory)")
	onSched.flags(onCmd, true)

	off := &hostOptions{}
	offSched := &scheduleOptions{}
	offCmd := &cobra.Command{
		Use:   "off PROJECT TRIGGER",
		Short: "Turn a trigger off: deregister a webhook, forget the trigger",
		Long:  "TRIGGER is a trigger id from 'trigger list', or a flow name when exactly one trigger of that flow is on.",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := offSched.check(); err != nil { // before anything changes
				return err
			}
			h, closeFn, err := openHost(e, args[0], off, nil)
			if err != nil {
				return err
			}
			defer closeFn()
			id, err := resolveTrigger(e.ctx, h, off, args[1])
			if err != nil {
				return err
			}
			t, err := h.StateStore().GetTrigger(e.ctx, id)
			if err != nil {
				return &exitError{code: exitFailed, msg: err.Error()}
			}
			if err := bindTrigger(e, h, off, t); err != nil {
				return err
			}
			if t.Kind == "poll" {
				if err := offSched.remove(e, id); err != nil { // temporal.go
					return err
				}
			}
			if err := h.Off(e.ctx, id); err != nil {
				return hostFailure(e, h, err)
			}
			fmt.Fprintf(e.stdout, "trigger %s is off\n", id)
			if f := h.Runner.Project.Flow(t.Flow); t.Kind == "webhook" && f != nil && !f.HasDeregister {
				fmt.Fprintf(e.stdout, "flow %s has no deregister section: the registration was forgotten, but nothing was undone at the service (remove the webhook there if it should stop sending)\n", f.Name)
			}
			return nil
		},
	}
	off.flags(offCmd, false)
	offSched.flags(offCmd, false)

	var listState string
	listCmd := &cobra.Command{
		Use:   "list",
		Short: "List the triggers that are on, with last run, cursor size, events delivered and last error",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, _, closeFn, err := openStateStore(e.ctx, listState) // state.go
			if err != nil {
				return err
			}
			defer closeFn()
			ts, err := st.ListTriggers(e.ctx)
			if err != nil {
				return &exitError{code: exitFailed, msg: err.Error()}
			}
			if len(ts) == 0 {
				fmt.Fprintln(e.stdout, "no triggers are on")
				return nil
			}
			holds, err := st.Holds(e.ctx)
			if err != nil {
				return &exitError{code: exitFailed, msg: err.Error()}
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tPROJECT\tCONNECTION\tFLOW\tKIND\tSTATE\tMEMORY\tLAST RUN\tCURSOR\tEVENTS\tLAST ERROR")
			var paused []trigger.Hold
			for _, t := range ts {
				last := "never"
				if !t.LastRunAt.IsZero() {
					last = t.LastRunAt.UTC().Format(time.RFC3339)
				}
				state := "on"
				errText := t.LastError
				if hd, ok := holds[t.ID]; ok {
					state = hd.String()
					errText = hd.Reason
					if hd.Paused() {
						paused = append(paused, hd)
					}
				}
				if len(errText) > 60 {
					errText = errText[:57] + "..."
				}
				budget := "default" // flowrun serve's --max-memory
				if t.MaxMemory > 0 {
					budget = strings.ReplaceAll(run.FormatSize(t.MaxMemory), " ", "")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%dB\t%d\t%s\n", t.ID, t.Project, dash(t.Connection), t.Flow, t.Kind, state, budget, last, len(t.Cursor), t.Delivered, firstLine(errText))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			for _, hd := range paused {
				fmt.Fprintf(e.stdout, "\n%s is paused since %s (%s): %s\n  fix the cause, then: flowrun trigger resume %s --state DIR (or flowrun connection login ... --state DIR)\n",
					hd.TriggerID, hd.Since.UTC().Format(time.RFC3339), hd.Code, firstLine(hd.Reason), hd.TriggerID)
			}
			return nil
		},
	}
	listCmd.Flags().StringVar(&listState, "state", "", "state directory, or postgres://...")

	var resumeState string
	resumeSched := &scheduleOptions{}
	resumeCmd := &cobra.Command{
		Use:   "resume TRIGGER --state DIR",
		Short: "Resume a trigger that was paused (auth_expired, config) or delayed",
		Long: `A trigger whose run failed with code auth_expired or config is paused: flowrun serve
runs no poll and answers its webhook deliveries 503 until it is resumed. Fix the cause
(the connection's credentials or parameters), then resume it; a running flowrun serve
picks the change up within 10 seconds. 'flowrun connection login --state DIR' resumes
the triggers paused with that connection.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := resumeSched.check(); err != nil { // before anything changes
				return err
			}
			st, _, closeFn, err := openStateStore(e.ctx, resumeState) // state.go
			if err != nil {
				return err
			}
			defer closeFn()
			was, err := trigger.Resume(e.ctx, st, args[0])
			if errors.Is(err, trigger.ErrNotFound) {
				return usageErr("no trigger %q is on (see `flowrun trigger list --state DIR`)", args[0])
			}
			if err != nil {
				return &exitError{code: exitFailed, msg: err.Error()}
			}
			if t, err := st.GetTrigger(e.ctx, args[0]); err == nil && t.Kind == "poll" {
				if err := resumeSched.pause(e, args[0], false); err != nil { // temporal.go
					return err
				}
			}
			if was {
				fmt.Fprintf(e.stdout, "trigger %s is resumed\n", args[0])
			} else {
				fmt.Fprintf(e.stdout, "trigger %s was not paused\n", args[0])
			}
			return nil
		},
	}
	resumeCmd.Flags().StringVar(&resumeState, "state", "", "state directory, or postgres://...")
	resumeSched.flags(resumeCmd, false)
	po := &pauseOptions{}
	pauseSched := &scheduleOptions{}
	pauseCmd := &cobra.Command{
		Use:   "pause TRIGGER --state DIR [--reason TEXT] [--engine temporal]",
		Short: "Pause a trigger by hand (code manual) until it is resumed",
		Long: `pause holds a trigger until 'flowrun trigger resume': flowrun serve runs no poll and
answers its webhook deliveries 503 (so the sender delivers them again later). The pause
has the code manual and the --reason given, shown by 'flowrun trigger list'; unlike a
pause for auth_expired or config, no run's outcome and no 'flowrun connection login
--state' lifts it. A running flowrun serve picks it up within 10 seconds.
With --engine temporal, the poll trigger's Temporal Schedule (poll/<trigger>) is paused
too (without --state, only the Schedule); 'flowrun trigger resume --engine temporal'
unpauses it.`,
		Example: `  flowrun trigger pause new_items-1a2b3c4d --state .flowrun --reason "service maintenance until 14:00"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := pauseSched.check(); err != nil { // before anything changes
				return err
			}
			po.id = args[0]
			if pauseSched.engine != "" {
				if err := pauseSched.pause(e, args[0], true); err != nil { // temporal.go
					return err
				}
				if po.state == "" {
					return nil
				}
			}
			return runTriggerPause(e, po)
		},
	}
	pauseCmd.Flags().StringVar(&po.state, "state", "", "state directory, or postgres://...")
	pauseCmd.Flags().StringVar(&po.reason, "reason", "", "why the trigger is paused, shown beside it")
	pauseSched.flags(pauseCmd, false)
	ro := &resetOptions{}
	resetCmd := &cobra.Command{
		Use:   "reset TRIGGER --state DIR [--cursor JSON] [--forget-dedupe]",
		Short: "Restart a poll trigger from a chosen cursor (none: from the start)",
		Long: `reset sets a poll trigger's saved cursor: to the JSON given with --cursor, or, without it,
to none, so the next poll starts as the first one did. --forget-dedupe also forgets the
dedupe keys, so events seen before are delivered again. A running flowrun serve reads
the cursor at the next poll.`,
		Example: `  flowrun trigger reset new_items-1a2b3c4d --state .flowrun --cursor '{"since":"2026-12-01T00:00:00Z"}'`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ro.id = args[0]
			return runTriggerReset(e, ro)
		},
	}
	resetCmd.Flags().StringVar(&ro.state, "state", "", "state directory, or postgres://...")
	resetCmd.Flags().StringVar(&ro.cursor, "cursor", "", "the cursor to start from, as JSON (default: none)")
	resetCmd.Flags().BoolVar(&ro.forgetDedupe, "forget-dedupe", false, "also forget the dedupe keys")
	so := &setOptions{}
	setCmd := &cobra.Command{
		Use:   "set TRIGGER --state DIR --max-memory SIZE|default",
		Short: "Change a trigger's settings: its memory budget",
		Long: `set changes a trigger that is on without turning it off and on again (a webhook keeps
its registration). --max-memory gives each of its runs (deliveries, polls, replays) its
own memory budget, e.g. 64MiB or 1GiB; 'default' returns it to flowrun serve's
--max-memory. A running flowrun serve uses it from the trigger's next run on.`,
		Example: `  flowrun trigger set new_items-1a2b3c4d --state .flowrun --max-memory 64MiB`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			so.id = args[0]
			return runTriggerSet(e, so)
		},
	}
	setCmd.Flags().StringVar(&so.state, "state", "", "state directory, or postgres://...")
	setCmd.Flags().StringVar(&so.maxMemory, "max-memory", "", "the trigger's memory budget for each run (e.g. 64MiB), or default for serve's")
	cmd.AddCommand(onCmd, offCmd, listCmd, pauseCmd, resumeCmd, resetCmd, setCmd)
	return cmd
}

func resolveTrigger(ctx context.Context, h *trigger.Host, o *hostOptions, arg string) (string, error) {
	if _, err := h.StateStore().GetTrigger(ctx, arg); err == nil {
		return arg, nil
	}
	all, err := h.StateStore().FindTrigger(ctx, h.Runner.Project.Connector.Name, arg)
	if err != nil {
		return "", &exitError{code: exitFailed, msg: err.Error()}
	}
	ts := all[:0:0]
	for _, t := range all {
		// by flow name: the triggers of the connection named, if one is
		if o.connections == "" || o.connection == "" || t.Connection == o.connection {
			ts = append(ts, t)
		}
	}
	switch len(ts) {
	case 0:
		return "", usageErr("no trigger %q is on (see `flowrun trigger list --state DIR`)", arg)
	case 1:
		return ts[0].ID, nil
	}
	ids := make([]string, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
	}
	return "", usageErr("%d triggers of flow %q are on (%s): name one by id", len(ts), arg, strings.Join(ids, ", "))
}

func hostFailure(e *env, h *trigger.Host, err error) error {
	var conn *connection.Connection
	if h != nil && h.Runner != nil {
		conn = h.Runner.Connection
	}
	if errors.Is(err, trigger.ErrExists) {
		return &exitError{code: exitFailed, msg: conn.Redact(err.Error())}
	}
	return runFailure(e, conn, err)
}

// serveOptions are `flowrun serve`'s flags beyond hostOptions.
type serveOptions struct {
	host        hostOptions
	console     consoleMount
	listen      string
	sink        string
	clock       string
	drain       time.Duration
	readTimeout time.Duration
	idleTimeout time.Duration
	keepRuns    int
	keepRunsFor time.Duration
	metrics     bool
	groupCommit bool
	maxMemory   int64 // --max-memory, see size.go
	log         logOptions
	engine      string
	temporal    temporalOptions // with --engine temporal (temporal_flags.go)
}

func newServeCmd(e *env) *cobra.Command {
	o := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve PROJECT...",
		Short: "Host every trigger that is on: receive webhooks, run polls, send events to a sink",
		Long: `serve receives webhook deliveries at /hooks/<trigger id> (verified per the flow's verify:
block; a failed check gets 401 and runs no step), runs poll flows on their schedule, and
sends every event to the sink: stdout (JSON lines), file:PATH (JSON lines, fsync'd) or an
http(s):// URL (POSTed as a JSON array, retried). Every delivery, poll and replay is kept
in the run history (flowrun runs). /healthz answers while the process runs, /readyz while
it takes work, /metrics serves Prometheus metrics (unless --metrics=false).
SIGTERM or Ctrl-C drains in-flight work for up to --drain, then closes what is left, and
exits 0.
With --connections DIR, serve hosts every connection in DIR (one file per connection,
named by its file name) and the triggers turned on with them (trigger on --connections
DIR --connection NAME), each connection with its own token, rate-limit budget and poll
scheduler; several PROJECTs may be served at once, each with its connections in
DIR/<project name>/. SIGHUP reads DIR again: new files are served, changed ones take
effect, removed ones stop their triggers, a file with problems is logged and skipped.`,
		Example: `  flowrun serve connectors/github --connection gh.yaml --state .flowrun --listen 127.0.0.1:8080 --sink file:events.jsonl
  flowrun serve connectors/github connectors/slack --connections conns --state .flowrun --sink file:events.jsonl`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.engine == "temporal" && cmd.Flags().Changed("sink") {
				return usageErr("--sink is the workers' with --engine temporal: give it to flowrun worker")
			}
			return runServe(e, args, o)
		},
	}
	o.host.flags(cmd, false)
	cmd.Flags().StringVar(&o.engine, "engine", "", `"temporal": be a stateless webhook ingress; each event starts a delivery workflow run by flowrun worker (see docs/scaling.md)`)
	o.temporal.flags(cmd)
	maxMemoryVar(cmd, &o.maxMemory)
	f := cmd.Flags()
	f.Lookup("max-memory").Usage = "memory budget of each run, e.g. 64MiB or 1GiB, for the triggers without their own (trigger on/set --max-memory); a run that would hold more fails"
	f.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address to listen on for webhook deliveries")
	f.StringVar(&o.sink, "sink", "stdout", "where events go: stdout, file:PATH, or http(s)://URL")
	f.DurationVar(&o.drain, "drain", 30*time.Second, "how long to let in-flight work finish on shutdown; then connections are closed and polls canceled")
	f.DurationVar(&o.readTimeout, "read-timeout", trigger.DefaultReadTimeout, "longest time to read one request, body included")
	f.DurationVar(&o.idleTimeout, "idle-timeout", trigger.DefaultIdleTimeout, "how long an idle keep-alive connection stays open")
	f.IntVar(&o.keepRuns, "keep-runs", trigger.DefaultMaxRuns, "run history: keep at most this many runs per trigger")
	f.DurationVar(&o.keepRunsFor, "keep-runs-for", 0, "run history: delete runs older than this (e.g. 720h); 0 keeps them")
	f.BoolVar(&o.metrics, "metrics", true, "serve Prometheus metrics at /metrics")
	o.console.flags(cmd)
	f.BoolVar(&o.groupCommit, "group-commit", true, "commit the runs that finish together in one SQLite transaction")
	o.log.flags(cmd)
	f.StringVar(&o.clock, "clock", "", "pin the clock used to check signature timestamps (RFC 3339; for tests)")
	_ = f.MarkHidden("clock")
	return cmd
}

func runServe(e *env, projects []string, o *serveOptions) error {
	logger, err := o.log.logger(e.stderr)
	if err != nil {
		return err
	}
	if o.keepRuns < 0 || o.keepRunsFor < 0 {
		return usageErr("--keep-runs and --keep-runs-for must not be negative")
	}
	if len(projects) > 1 && o.host.connections == "" {
		return usageErr("serving several projects needs --connections DIR (each project's connections in DIR/<project name>/)")
	}
	if o.host.connections != "" && o.host.connection != "" {
		return usageErr("serve takes --connection FILE or --connections DIR, not both: it serves every connection in DIR")
	}
	if err := checkEngine(o.engine, " (leave --engine out to run triggers in this process)"); err != nil {
		return err
	}
	if o.engine == "temporal" && o.host.connections != "" {
		return usageErr("--engine temporal serves one --connection FILE; the workers resolve named connections (flowrun worker --connections DIR)")
	}
	if o.host.connections != "" && isPostgres(o.host.state) {
		return usageErr("--connections DIR needs a state directory; with --state postgres:// serve one --connection FILE per process")
	}
	var sink trigger.Sink
	if o.engine == "" {
		if sink, err = trigger.OpenSink(o.sink, e.stdout); err != nil {
			return usageErr("%v", err)
		}
		defer sink.Close()
	}
	var clock time.Time
	if o.clock != "" {
		if clock, err = time.Parse(time.RFC3339, o.clock); err != nil {
			return usageErr("--clock must be an RFC 3339 time: %v", err)
		}
	}
	var every time.Duration
	if v := os.Getenv("FLOWRUN_POLL_EVERY"); v != "" {
		// test-only: poll more often than the 1m minimum of schedules
		if every, err = time.ParseDuration(v); err != nil {
			return usageErr("FLOWRUN_POLL_EVERY: %v", err)
		}
	}
	var metrics *trigger.Metrics
	if o.metrics {
		metrics = trigger.NewMetrics()
	}
	// configure gives a host serve's settings; with --connections every
	// host (one per connection) gets them.
	configure := func(h *trigger.Host) {
		h.Logf = nil
		h.Log = logger
		h.ReadTimeout, h.IdleTimeout = o.readTimeout, o.idleTimeout
		h.KeepRuns, h.KeepRunsFor = o.keepRuns, o.keepRunsFor
		h.GroupCommit = o.groupCommit
		h.Runner.Limits.MaxMemory = o.maxMemory // see size.go
		h.Metrics = metrics
		if !clock.IsZero() {
			h.Now = func() time.Time { return clock }
		}
		h.Every = every
	}
	var h *trigger.Host
	var served []string
	if o.host.connections == "" {
		var closeFn func()
		h, closeFn, err = openHost(e, projects[0], &o.host, sink)
		if err != nil {
			return err
		}
		defer closeFn()
		h.ConnectionName = connectionName(o.host.connection)
		configure(h)
		warnUnserved(e, h)
	} else {
		if o.host.state == "" {
			return usageErr("--state DIR is required: triggers, cursors and history are kept there")
		}
		st, err := trigger.Open(o.host.state)
		if err != nil {
			return &exitError{code: exitUsage, msg: err.Error()}
		}
		defer st.Close()
		var rl *connReloader
		h, served, rl, err = serveHosts(e, projects, o.host.connections, func(r *run.Runner) *trigger.Host {
			x := &trigger.Host{Runner: r, Store: st, Sink: sink, PublicURL: o.host.publicURL}
			configure(x)
			return x
		})
		if err != nil {
			return err
		}
		warnUnserved(e, h)
		// SIGHUP reads DIR again (reload.go)
		rl.log = logger
		rl.watch(e.ctx)
	}
	if o.keepRuns > 0 && h.Store != nil {
		h.Store.MaxRuns = o.keepRuns
	}
	if h.Store == nil && o.console.on {
		return usageErr("--console reads the run history of a state directory; it is not available with --state postgres://")
	}
	where := "sink " + sinkName(o.sink)
	if o.engine == "temporal" {
		if o.console.on {
			return usageErr("--console is not available with --engine temporal")
		}
		closeFn, err := o.temporal.ingress(e, h) // temporal.go
		if err != nil {
			return err
		}
		defer closeFn()
		where = fmt.Sprintf("ingress: delivery workflows on task queue %q at %s", o.temporal.taskQueue, o.temporal.address)
	}
	if err := o.console.mount(h, projects[0], o.listen); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return usageErr("--listen: %v", err)
	}
	what := h.Runner.Project.Connector.Name
	if served != nil {
		what = fmt.Sprintf("%d connection(s): %s", len(served), strings.Join(served, ", "))
	}
	fmt.Fprintf(e.stderr, "flowrun: serving %s on http://%s (%s)\n", what, ln.Addr(), where)
	if err := h.Serve(e.ctx, ln, o.drain); err != nil {
		return &exitError{code: exitFailed, msg: err.Error()}
	}
	fmt.Fprintln(e.stderr, "flowrun: stopped")
	return nil
}

// warnUnserved says which triggers of the served projects no host runs:
// those turned on with --connection FILE, or with a connection that is not
// in the directory (any more).
func warnUnserved(e *env, h *trigger.Host) {
	ts, err := h.StateStore().ListTriggers(e.ctx)
	if err != nil {
		return
	}
	projects := map[string]bool{}
	named := map[string]bool{}
	for _, x := range append([]*trigger.Host{h}, h.Peers...) {
		projects[x.Runner.Project.Connector.Name] = true
		named[x.Runner.Project.Connector.Name+"\x00"+x.Named] = true
	}
	for _, t := range ts {
		if !projects[t.Project] || named[t.Project+"\x00"+t.Connection] {
			continue
		}
		why := "was turned on with --connection FILE (serve it with --connection FILE)"
		if t.Connection != "" {
			why = fmt.Sprintf("runs with the named connection %q (serve it with --connections DIR holding it)", t.Connection)
		}
		fmt.Fprintf(e.stderr, "flowrun: trigger %s (%s/%s) %s: not served\n", t.ID, t.Project, t.Flow, why)
	}
}

// connectionName is how logs name a connection: its file's base name
// without the extension.
func connectionName(path string) string {
	if path == "" {
		return ""
	}
	base := filepath.Base(path)
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// onConnection is " on connection NAME" for messages, "" without a name.
func onConnection(name string) string {
	if name == "" {
		return ""
	}
	return " on connection " + name
}

func sinkName(s string) string {
	if s == "" {
		return "stdout"
	}
	return s
}

func newPollCmd(e *env) *cobra.Command {
	o := &hostOptions{}
	var once bool
	cmd := &cobra.Command{
		Use:   "poll PROJECT FLOW|TRIGGER --once",
		Short: "Run one poll now and print its new events as JSON lines",
		Long: `poll runs a poll trigger once with its saved cursor, prints the events not seen before
as JSON lines on stdout, and then saves the new cursor. Name the trigger by its id, or
by its flow: the flow's trigger with the same --input, or its only trigger when --input
is left out. A flow with no trigger on is turned on (with an empty cursor) first; a flow
whose triggers are on with other input is refused rather than turned on a second time.
A poll that succeeds lifts a pause (see flowrun trigger resume).`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !once {
				return usageErr("poll runs one poll: pass --once (use `flowrun serve` to poll on a schedule)")
			}
			sink, _ := trigger.OpenSink("stdout", e.stdout)
			h, closeFn, err := openHost(e, args[0], o, sink)
			if err != nil {
				return err
			}
			defer closeFn()
			var in map[string]any
			if o.input != "" {
				if in, err = readInput(e, o.input); err != nil {
					return err
				}
			}
			t, err := pollTrigger(e, h, o, args[1], in)
			if err != nil {
				return err
			}
			if err := bindTrigger(e, h, o, t); err != nil {
				return err
			}
			n, err := h.PollOnce(e.ctx, t)
			if err != nil {
				return hostFailure(e, h, err)
			}
			fmt.Fprintf(e.stderr, "flowrun: %d new event(s)\n", n)
			return nil
		},
	}
	o.flags(cmd, true)
	cmd.Flags().BoolVar(&once, "once", false, "run one poll now")
	return cmd
}

// pollTrigger finds the poll trigger that `flowrun poll` runs: arg is a
// trigger id, or a poll flow's name. in is the --input (nil when not
// given). A flow with no trigger on is turned on with in; one whose
// triggers were turned on with other input is refused, naming them,
// rather than turned on a second time.
func pollTrigger(e *env, h *trigger.Host, o *hostOptions, arg string, in map[string]any) (*trigger.Trigger, error) {
	project := h.Runner.Project.Connector.Name
	if t, err := h.StateStore().GetTrigger(e.ctx, arg); err == nil {
		if t.Kind != "poll" || t.Project != project {
			return nil, usageErr("trigger %s is a %s trigger of project %q, not a poll trigger of %q", t.ID, t.Kind, t.Project, project)
		}
		if in != nil && !sameInput(t.Input, in) {
			return nil, usageErr("trigger %s is on with input %s; --input differs: leave --input out to poll it, or turn a trigger on with the new input (flowrun trigger on)", t.ID, t.Input)
		}
		return t, nil
	}
	f := h.Runner.Project.Flow(arg)
	if f == nil || f.Type != lang.Poll {
		return nil, usageErr("%q is neither a trigger id nor a poll flow of this project", arg)
	}
	if err := requireNamed(o, project); err != nil {
		return nil, err
	}
	all, err := h.StateStore().FindTrigger(e.ctx, project, f.Name)
	if err != nil {
		return nil, &exitError{code: exitFailed, msg: err.Error()}
	}
	var ts []*trigger.Trigger
	for _, t := range all {
		if t.Connection == h.Named {
			ts = append(ts, t)
		}
	}
	if in == nil {
		if len(ts) == 1 {
			return ts[0], nil
		}
		in = map[string]any{}
	}
	for _, t := range ts {
		if sameInput(t.Input, in) {
			return t, nil
		}
	}
	if len(ts) > 0 {
		var on []string
		for _, t := range ts {
			on = append(on, fmt.Sprintf("%s with input %s", t.ID, t.Input))
		}
		return nil, usageErr("--input differs from the trigger(s) of %s that are on (%s): poll one by id, or turn a trigger on with the new input first (flowrun trigger on)", f.Name, strings.Join(on, "; "))
	}
	t, err := h.On(e.ctx, f.Name, in)
	if err != nil {
		return nil, hostFailure(e, h, err)
	}
	fmt.Fprintf(e.stderr, "flowrun: trigger %s is on (first poll: no cursor yet)\n", t.ID)
	return t, nil
}

// sameInput compares a stored trigger input with an --input.
func sameInput(stored json.RawMessage, in map[string]any) bool {
	got, _ := value.DecodeJSON(stored)
	want, _ := value.DecodeJSON(mustJSON(in))
	return string(mustJSON(got)) == string(mustJSON(want))
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

// pauseOptions are `flowrun trigger pause`'s flags.
type pauseOptions struct {
	state  string
	id     string
	reason string
}

func runTriggerPause(e *env, o *pauseOptions) error {
	if strings.ContainsAny(o.reason, "\r\n") {
		return usageErr("--reason must be one line")
	}
	st, _, closeFn, err := openStateStore(e.ctx, o.state) // state.go
	if err != nil {
		return err
	}
	defer closeFn()
	err = trigger.Pause(e.ctx, st, o.id, o.reason, time.Now())
	if errors.Is(err, trigger.ErrNotFound) {
		return usageErr("no trigger %q is on (see `flowrun trigger list --state DIR`)", o.id)
	}
	if err != nil {
		return &exitError{code: exitFailed, msg: err.Error()}
	}
	fmt.Fprintf(e.stdout, "trigger %s is paused (manual)", o.id)
	if o.reason != "" {
		fmt.Fprintf(e.stdout, ": %s", o.reason)
	}
	fmt.Fprintf(e.stdout, "\nresume it with: flowrun trigger resume %s --state DIR\n", o.id)
	return nil
}

// resetOptions are `flowrun trigger reset`'s flags.
type resetOptions struct {
	state        string
	id           string
	cursor       string
	forgetDedupe bool
}

func runTriggerReset(e *env, o *resetOptions) error {
	var cursor json.RawMessage
	if o.cursor != "" {
		if !json.Valid([]byte(o.cursor)) {
			return usageErr("--cursor is not valid JSON")
		}
		cursor = json.RawMessage(o.cursor)
	}
	st, _, closeFn, err := openStateStore(e.ctx, o.state) // state.go
	if err != nil {
		return err
	}
	defer closeFn()
	t, err := st.GetTrigger(e.ctx, o.id)
	if errors.Is(err, trigger.ErrNotFound) {
		return usageErr("no trigger %q is on (see `flowrun trigger list --state DIR`)", o.id)
	}
	if err != nil {
		return &exitError{code: exitFailed, msg: err.Error()}
	}
	if t.Kind != "poll" {
		return usageErr("trigger %s is a %s trigger; only a poll trigger has a cursor", t.ID, t.Kind)
	}
	if err := st.ResetTrigger(e.ctx, o.id, cursor, o.forgetDedupe); err != nil {
		return &exitError{code: exitFailed, msg: err.Error()}
	}
	what := "no cursor"
	if cursor != nil {
		what = "cursor " + string(cursor)
	}
	fmt.Fprintf(e.stdout, "trigger %s is reset: next poll starts from %s", o.id, what)
	if o.forgetDedupe {
		fmt.Fprint(e.stdout, ", dedupe keys forgotten")
	}
	fmt.Fprintln(e.stdout)
	return nil
}

// setOptions are `flowrun trigger set`'s flags.
type setOptions struct {
	state     string
	id        string
	maxMemory string
}

func runTriggerSet(e *env, o *setOptions) error {
	if o.maxMemory == "" {
		return usageErr("nothing to set: give --max-memory SIZE (or --max-memory default)")
	}
	var n int64
	if o.maxMemory != "default" {
		var err error
		if n, err = parseSize(o.maxMemory); err != nil {
			return usageErr("--max-memory: %v", err)
		}
	}
	st, _, closeFn, err := openStateStore(e.ctx, o.state) // state.go
	if err != nil {
		return err
	}
	defer closeFn()
	err = st.SetMaxMemory(e.ctx, o.id, n)
	if errors.Is(err, trigger.ErrNotFound) {
		return usageErr("no trigger %q is on (see `flowrun trigger list --state DIR`)", o.id)
	}
	if err != nil {
		return &exitError{code: exitFailed, msg: err.Error()}
	}
	if n == 0 {
		fmt.Fprintf(e.stdout, "trigger %s runs with flowrun serve's memory budget (--max-memory)\n", o.id)
	} else {
		fmt.Fprintf(e.stdout, "trigger %s: memory budget of each run is %s\n", o.id, run.FormatSize(n))
	}
	return nil
}
