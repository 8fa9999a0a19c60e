package main

import (
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowrun/flowrun/run"
)

// The Temporal engine's commands and flags (flowrun worker, flowrun start,
// --engine temporal) are defined here for every build, so that help and
// usage are the same in each; what they do is in temporal.go, linked only in
// a build with -tags temporal. Without it (temporal_off.go) the Temporal SDK,
// gRPC and protobuf stay out of the binary, whose start-up every flowrun run
// pays (bench/README.md), and the commands say how to get a build with it.

func init() {
	extraCommands = append(extraCommands, command{"worker", newWorkerCmd}, command{"start", newStartCmd})
}

// Defaults of engine/temporal, repeated here so that a build without it can
// show them; temporal_test.go checks that they agree.
const (
	defaultLargePayload = 128 << 10 // tengine.DefaultLargePayload
	defaultLoopPart     = 200       // tengine.DefaultLoopPart
)

// errNoTemporal is what the Temporal commands and flags do in a build
// without the engine.
func errNoTemporal() error {
	return usageErr("this flowrun is built without the Temporal engine (flowrun worker, flowrun start, --engine temporal); " +
		"build one with it: go install -tags temporal github.com/flowrun/flowrun/cmd/flowrun@latest (see docs/scaling.md)")
}

// checkEngine accepts an --engine value: "" (this process) or "temporal"
// (in a build with the engine).
func checkEngine(engine, what string) error {
	switch engine {
	case "":
		return nil
	case "temporal":
		if !temporalBuilt {
			return errNoTemporal()
		}
		return nil
	}
	return usageErr("--engine %q: the only engine is temporal%s", engine, what)
}

// temporalOptions are the flags that say where Temporal is.
type temporalOptions struct {
	address      string
	namespace    string
	taskQueue    string
	payloadKeys  []string
	largePayload int64 // --large-payload, see size.go
}

func (o *temporalOptions) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.address, "temporal", "127.0.0.1:7233", "Temporal frontend HOST:PORT")
	f.StringVar(&o.namespace, "namespace", "default", "Temporal namespace")
	f.StringVar(&o.taskQueue, "task-queue", "flowrun", "Temporal task queue")
	var keys []string
	if v := os.Getenv("FLOWRUN_PAYLOAD_KEY"); v != "" {
		keys = strings.Split(v, ",")
	}
	f.StringSliceVar(&o.payloadKeys, "payload-key", keys, "file of an AES-256 key sealing every payload sent to Temporal (repeat, or FILE,FILE: the first seals, all open; default $FLOWRUN_PAYLOAD_KEY)")
	o.largePayload = defaultLargePayload
	f.Var(byteSize{&o.largePayload}, "large-payload", "with a Postgres --state: payloads larger than this go to the state database, history keeps a claim (0: none move)")
}

// byteSize is a flag value of bytes written as parseSize reads them.
type byteSize struct{ n *int64 }

func (f byteSize) String() string {
	if f.n == nil {
		return "0"
	}
	return run.FormatSize(*f.n)
}

func (f byteSize) Set(s string) error {
	if strings.TrimSpace(s) == "0" {
		*f.n = 0
		return nil
	}
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	*f.n = n
	return nil
}

func (byteSize) Type() string { return "size" }

type workerOptions struct {
	temporalOptions
	projects          []string
	connections       string
	stateDSN          string
	activityTimeout   time.Duration
	idempotencyHeader string
	maxRuns           int
	sink              string
	blobRetention     time.Duration
	loopPart          int
}

func newWorkerCmd(e *env) *cobra.Command {
	o := &workerOptions{}
	cmd := &cobra.Command{
		Use:   "worker PROJECT...",
		Short: "Run flows as Temporal workflows (scale out: several workers share the work)",
		Long: `worker loads and checks each PROJECT and runs its flows as Temporal workflows
started on the task queue (by flowrun start, or any Temporal client). Flow steps
run as workflow code; every HTTP request is an activity, sent again by another
worker if this one dies. Connections are files in --connections named by their id
(DIR/ID.yaml); secrets stay in them and never enter workflow history.
--state (or --state-dsn) opens (and migrates) the shared Postgres state. See docs/scaling.md.`,
		Example: `  flowrun worker connectors/stripe --temporal 127.0.0.1:7233 --task-queue flowrun --connections /etc/flowrun/connections`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.projects = args
			return runWorker(e, o) // temporal.go, or temporal_off.go
		},
	}
	o.flags(cmd)
	f := cmd.Flags()
	f.StringVar(&o.connections, "connections", ".", "directory of connection files, one per connection id (ID.yaml)")
	f.StringVar(&o.stateDSN, "state", "", "Postgres state (postgres://user@host/db), as serve's and trigger's --state: opened and migrated at start; scheduled polls read and commit it")
	f.StringVar(&o.stateDSN, "state-dsn", "", "the same as --state")
	f.DurationVar(&o.activityTimeout, "activity-timeout", time.Minute, "longest one HTTP request's activity may take before another worker sends it again")
	f.StringVar(&o.idempotencyHeader, "idempotency-header", "Idempotency-Key", "header carrying a key that is the same for every attempt of one request (\"\" sends none)")
	f.IntVar(&o.maxRuns, "max-runs", 0, "workflow tasks run at once (0: Temporal's default)")
	f.IntVar(&o.loopPart, "loop-part", defaultLoopPart, "a for_each over more items runs in parts of this many, each a child workflow (history limits)")
	f.StringVar(&o.sink, "sink", "stdout", "where the events of webhook deliveries (flowrun serve --engine temporal) go: stdout, file:PATH, or http(s)://URL")
	f.DurationVar(&o.blobRetention, "blob-retention", 0, "with --state: every hour, delete the large payloads (--large-payload) stored longer ago than this, e.g. 720h; keep it above the namespace's retention plus the longest run (0: keep them)")
	return cmd
}

type startOptions struct {
	temporalOptions
	project, flow string
	connectionID  string
	input         string
	id            string
	wait          bool
	stateDSN      string
}

func newStartCmd(e *env) *cobra.Command {
	o := &startOptions{}
	cmd := &cobra.Command{
		Use:   "start PROJECT FLOW",
		Short: "Start a flow as a Temporal workflow (run by flowrun worker)",
		Long: `start checks that PROJECT has FLOW and starts it as a workflow on the task queue,
with the connection named by its id (the worker resolves it). It prints the
workflow id; with --wait it waits and prints the outputs as JSON. A workflow id
given with --id is started at most once: starting it again is a no-op that
prints "already started".`,
		Example: `  flowrun start connectors/stripe create_customer --connection-id acme --input '{"email":"ada@example.com"}' --wait`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.project, o.flow = args[0], args[1]
			return runStart(e, o) // temporal.go, or temporal_off.go
		},
	}
	o.flags(cmd)
	f := cmd.Flags()
	f.StringVar(&o.connectionID, "connection-id", "", "the connection's id (its file name in the worker's --connections)")
	f.StringVarP(&o.input, "input", "i", "", "inputs as JSON, @file.json, or - for stdin")
	f.StringVar(&o.id, "id", "", "workflow id (default: FLOW/<random>); an id is started at most once")
	f.BoolVar(&o.wait, "wait", false, "wait for the run and print its outputs")
	f.StringVar(&o.stateDSN, "state", "", "the workers' Postgres state: inputs and outputs over --large-payload are kept there (claim check)")
	return cmd
}

// scheduleOptions are the trigger commands' flags for polls as Temporal
// Schedules (--engine temporal).
type scheduleOptions struct {
	engine       string
	temporal     temporalOptions
	connectionID string
}

func (o *scheduleOptions) flags(cmd *cobra.Command, on bool) {
	cmd.Flags().StringVar(&o.engine, "engine", "", `"temporal": a poll trigger is a Temporal Schedule (poll/<trigger>) run by flowrun worker`)
	o.temporal.flags(cmd)
	if on {
		cmd.Flags().StringVar(&o.connectionID, "connection-id", "", "with --engine temporal: the connection's id in the workers' --connections (default: the --connection file's name)")
	}
}

func (o *scheduleOptions) check() error {
	return checkEngine(o.engine, "")
}
