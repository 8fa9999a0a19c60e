package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowrun/flowrun/trigger"
	"github.com/flowrun/flowrun/trigger/pgstore"
)

func init() {
	extraCommands = append(extraCommands, command{"runs", newRunsCmd})
}

// runsListOptions are `flowrun runs list`'s flags.
type runsListOptions struct {
	state      string
	trigger    string
	connection string
	flow       string
	failed     bool
	limit      int
	json       bool
}

// runsShowOptions are `flowrun runs show`'s flags.
type runsShowOptions struct {
	state string
	id    string
	json  bool
}

// runsReplayOptions are `flowrun runs replay`'s flags.
type runsReplayOptions struct {
	host    hostOptions
	project string
	id      string
	sink    string
}

func newRunsCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "Look back at the run history: list runs, show one with its steps, replay a failed one",
		Long: `flowrun serve records every webhook delivery, poll and replay in the state directory
(and 'flowrun run --state DIR' records action runs): when, how long, how many events,
the outcome and error, and each step with its inputs and outputs, redacted (secrets are
never stored) and capped at 4 KiB per value and 200 steps per run. A failed delivery
keeps the request its steps saw, a failed poll its cursor, so it can be replayed.
Retention: serve --keep-runs N and --keep-runs-for DURATION.`,
	}
	lo := &runsListOptions{}
	list := &cobra.Command{
		Use:   "list --state DIR",
		Short: "List runs, newest first",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return runsList(e, lo) },
	}
	f := list.Flags()
	f.StringVar(&lo.state, "state", "", "state directory, or postgres://... (run summaries)")
	f.StringVar(&lo.trigger, "trigger", "", "only this trigger's runs")
	f.StringVar(&lo.connection, "connection", "", "only the runs of this named connection")
	f.StringVar(&lo.flow, "flow", "", "only this flow's runs")
	f.BoolVar(&lo.failed, "failed", false, "only failed runs")
	f.IntVar(&lo.limit, "limit", 50, "at most this many runs")
	f.BoolVar(&lo.json, "json", false, "print JSON lines (one run per line)")

	so := &runsShowOptions{}
	show := &cobra.Command{
		Use:   "show ID --state DIR",
		Short: "Show one run with its steps, their inputs and outputs",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			so.id = args[0]
			return runsShow(e, so)
		},
	}
	show.Flags().StringVar(&so.state, "state", "", "state directory, or postgres://... (run summaries)")
	show.Flags().BoolVar(&so.json, "json", false, "print the run as JSON")

	ro := &runsReplayOptions{}
	replay := &cobra.Command{
		Use:   "replay PROJECT ID --state DIR",
		Short: "Run a failed delivery or poll again, through dedupe and the sink",
		Long: `replay runs a failed webhook delivery's event steps again with the request they saw
(the signature is not checked again: it was checked when the delivery arrived), or a
failed poll with the cursor it had (the saved cursor is left as it is). The events go
through dedupe and the sink as in flowrun serve, and the new run is recorded as a
replay of the old one.`,
		Example: `  flowrun runs replay connectors/github 42 --state .flowrun --connection gh.yaml --sink file:events.jsonl`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ro.project, ro.id = args[0], args[1]
			return runsReplay(e, ro)
		},
	}
	ro.host.flags(replay, false)
	replay.Flags().StringVar(&ro.sink, "sink", "stdout", "where events go: stdout, file:PATH, or http(s)://URL")
	cmd.AddCommand(list, show, replay)
	return cmd
}

func openState(dir string) (*trigger.Store, error) {
	if dir == "" {
		return nil, usageErr("--state DIR is required")
	}
	st, err := trigger.Open(dir)
	if err != nil {
		return nil, &exitError{code: exitUsage, msg: err.Error()}
	}
	return st, nil
}

// runHistory is what runs list and show read: a state directory's history
// (runs with their steps) or, with postgres://, the run summaries the
// Postgres state keeps (their steps are in Temporal's workflow history).
type runHistory interface {
	ListRuns(ctx context.Context, f trigger.RunFilter) ([]trigger.RunRecord, error)
	GetRun(ctx context.Context, id int64) (*trigger.RunRecord, error)
}

func openHistory(ctx context.Context, state string) (runHistory, func(), error) {
	if isPostgres(state) { // state.go
		pg, err := pgstore.Open(ctx, state)
		if err != nil {
			return nil, nil, &exitError{code: exitFailed, msg: err.Error()}
		}
		return pg, func() { pg.Close() }, nil
	}
	st, err := openState(state)
	if err != nil {
		return nil, nil, err
	}
	return st, func() { st.Close() }, nil
}

func parseRunID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, usageErr("run id %q is not a number (see `flowrun runs list --state DIR`)", s)
	}
	return id, nil
}

func runsList(e *env, o *runsListOptions) error {
	st, closeFn, err := openHistory(e.ctx, o.state)
	if err != nil {
		return err
	}
	defer closeFn()
	runs, err := st.ListRuns(e.ctx, trigger.RunFilter{TriggerID: o.trigger, Connection: o.connection, Flow: o.flow, Failed: o.failed, Limit: o.limit})
	if err != nil {
		return &exitError{code: exitFailed, msg: err.Error()}
	}
	if o.json {
		enc := json.NewEncoder(e.stdout)
		enc.SetEscapeHTML(false)
		for _, r := range runs {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	if len(runs) == 0 {
		fmt.Fprintln(e.stdout, "no runs")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTARTED\tSOURCE\tTRIGGER\tCONNECTION\tFLOW\tDURATION\tEVENTS\tSTATUS\tERROR")
	for _, r := range runs {
		status := r.Status
		if r.Replayable {
			status += " (replayable)"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r.ID, r.Started.Format(time.RFC3339), dash(r.Source), dash(r.TriggerID),
			dash(r.Connection), r.Flow, r.Duration.Round(time.Millisecond), r.Events, status, shorten(firstLine(r.Error), 60))
	}
	return tw.Flush()
}

func runsShow(e *env, o *runsShowOptions) error {
	id, err := parseRunID(o.id)
	if err != nil {
		return err
	}
	st, closeFn, err := openHistory(e.ctx, o.state)
	if err != nil {
		return err
	}
	defer closeFn()
	r, err := st.GetRun(e.ctx, id)
	if errors.Is(err, trigger.ErrRunNotFound) {
		return usageErr("no run %d in %s (see `flowrun runs list --state DIR`)", id, o.state)
	}
	if err != nil {
		return &exitError{code: exitFailed, msg: err.Error()}
	}
	if o.json {
		enc := json.NewEncoder(e.stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	writeRun(e.stdout, r)
	return nil
}

// writeRun prints a run and its steps for `runs show`.
func writeRun(w io.Writer, r *trigger.RunRecord) {
	fmt.Fprintf(w, "run %d: %s %s/%s", r.ID, dash(r.Source), r.Project, r.Flow)
	if r.TriggerID != "" {
		fmt.Fprintf(w, " (trigger %s%s)", r.TriggerID, onConnection(r.Connection))
	}
	fmt.Fprintf(w, "\nstarted %s, took %s, %d event(s), %s\n", r.Started.Format(time.RFC3339), r.Duration.Round(time.Millisecond), r.Events, r.Status)
	if r.ReplayOf != 0 {
		fmt.Fprintf(w, "replay of run %d\n", r.ReplayOf)
	}
	if r.Error != "" {
		fmt.Fprintf(w, "error: %s\n", r.Error)
	}
	if r.Replayable {
		fmt.Fprintf(w, "replayable: flowrun runs replay PROJECT %d --state DIR\n", r.ID)
	}
	if len(r.Steps) > 0 {
		fmt.Fprintln(w, "steps:")
	}
	for _, s := range r.Steps {
		fmt.Fprintf(w, "%s- %s %s (%s) %s", strings.Repeat("  ", s.Depth+s.Nest+1), s.Flow, s.Step, s.Kind, s.Duration.Round(time.Microsecond))
		if s.Method != "" {
			fmt.Fprintf(w, " %s %s", s.Method, s.URL)
			if s.Status != 0 {
				fmt.Fprintf(w, " -> %d", s.Status)
			}
		}
		if s.Message != "" {
			fmt.Fprintf(w, ": %s", s.Message)
		}
		if s.Error != "" {
			fmt.Fprintf(w, " ERROR %s", firstLine(s.Error))
		}
		fmt.Fprintln(w)
		ind := strings.Repeat("  ", s.Depth+s.Nest+2)
		if len(s.Input) > 0 {
			fmt.Fprintf(w, "%sinput:  %s\n", ind, s.Input)
		}
		if len(s.Output) > 0 {
			fmt.Fprintf(w, "%soutput: %s\n", ind, s.Output)
		}
	}
	if r.StepsDropped > 0 {
		fmt.Fprintf(w, "(%d more step(s) not kept: at most %d per run)\n", r.StepsDropped, trigger.MaxStepsPerRun)
	}
}

func runsReplay(e *env, o *runsReplayOptions) error {
	id, err := parseRunID(o.id)
	if err != nil {
		return err
	}
	if isPostgres(o.host.state) { // state.go
		return usageErr("replay needs a state directory: with --state postgres:// a delivery is retried inside Temporal (see docs/scaling.md)")
	}
	sink, err := trigger.OpenSink(o.sink, e.stdout)
	if err != nil {
		return usageErr("%v", err)
	}
	defer sink.Close()
	h, closeFn, err := openHost(e, o.project, &o.host, sink)
	if err != nil {
		return err
	}
	defer closeFn()
	// the replay runs with the connection of the run's trigger
	if rec, err := h.Store.GetRun(e.ctx, id); err == nil && rec.TriggerID != "" {
		if t, err := h.Store.GetTrigger(e.ctx, rec.TriggerID); err == nil {
			if err := bindTrigger(e, h, &o.host, t); err != nil {
				return err
			}
		}
	}
	newID, n, err := h.Replay(e.ctx, id)
	switch {
	case errors.Is(err, trigger.ErrNotReplayable):
		return &exitError{code: exitFailed, msg: h.Runner.Connection.Redact(err.Error())}
	case errors.Is(err, trigger.ErrRunNotFound):
		return usageErr("%s", h.Runner.Connection.Redact(err.Error()))
	case err != nil:
		fmt.Fprintf(e.stderr, "flowrun: replay of run %d failed (recorded as run %d)\n", id, newID)
		return hostFailure(e, h, err)
	}
	fmt.Fprintf(e.stderr, "flowrun: run %d replayed as run %d: %d event(s)\n", id, newID, n)
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func shorten(s string, n int) string {
	if len(s) > n {
		return s[:n-3] + "..."
	}
	return s
}
