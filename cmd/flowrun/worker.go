package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	tengine "github.com/flowrun/flowrun/engine/temporal"
	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/load"
	"github.com/flowrun/flowrun/run"
	"github.com/flowrun/flowrun/trigger"
	"github.com/flowrun/flowrun/trigger/pgstore"
)

func init() { extraCommands = append(extraCommands, newWorkerCmd, newStartCmd) }

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
	o.largePayload = tengine.DefaultLargePayload
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

// codecs returns the payload codecs of the flags: the claim check (with
// blobs, the Postgres state; it applies first) and the encrypting codec,
// which seals what the claim check leaves and what it stores. Both are there
// even without their flags, so that a sealed payload or a claim met without
// a key or a store is a clear error; without the flags they change nothing.
func (o *temporalOptions) codecs(blobs tengine.BlobStore) ([]converter.PayloadCodec, error) {
	var keys []tengine.PayloadKey
	for _, path := range o.payloadKeys {
		k, err := tengine.ReadPayloadKey(path)
		if err != nil {
			return nil, usageErr("--payload-key: %v", err)
		}
		keys = append(keys, k)
	}
	enc := tengine.NewEncryptionCodec(keys...)
	claim := &tengine.ClaimCheckCodec{Store: blobs, Threshold: int(o.largePayload), Seal: enc}
	if o.largePayload <= 0 {
		claim.Threshold = math.MaxInt
	}
	return []converter.PayloadCodec{enc, claim}, nil
}

func (o *temporalOptions) dial(e *env) (client.Client, error) { return o.dialWith(e, nil) }

// dialWith dials Temporal with the payload codecs; blobs (the Postgres
// state, or nil) keeps the claim check's large payloads.
func (o *temporalOptions) dialWith(e *env, blobs tengine.BlobStore) (client.Client, error) {
	codecs, err := o.codecs(blobs)
	if err != nil {
		return nil, err
	}
	dc, fc := tengine.Converters(codecs...)
	c, err := client.DialContext(e.ctx, client.Options{HostPort: o.address, Namespace: o.namespace,
		DataConverter: dc, FailureConverter: fc,
		Logger: log.NewStructuredLogger(slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))})
	if err != nil {
		return nil, &exitError{code: exitFailed, msg: fmt.Sprintf("temporal at %s: %v", o.address, err)}
	}
	return c, nil
}

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
			return runWorker(e, o)
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
	f.IntVar(&o.loopPart, "loop-part", tengine.DefaultLoopPart, "a for_each over more items runs in parts of this many, each a child workflow (history limits)")
	f.StringVar(&o.sink, "sink", "stdout", "where the events of webhook deliveries (flowrun serve --engine temporal) go: stdout, file:PATH, or http(s)://URL")
	f.DurationVar(&o.blobRetention, "blob-retention", 0, "with --state: every hour, delete the large payloads (--large-payload) stored longer ago than this, e.g. 720h; keep it above the namespace's retention plus the longest run (0: keep them)")
	return cmd
}

func runWorker(e *env, o *workerOptions) error {
	projects := map[string]*lang.Project{}
	for _, dir := range o.projects {
		p, err := load.Project(dir)
		if err != nil {
			return loadFailed(e, err)
		}
		if _, dup := projects[p.Connector.Name]; dup {
			return usageErr("two projects are named %q", p.Connector.Name)
		}
		projects[p.Connector.Name] = p
	}
	var state trigger.StateStore
	var blobs tengine.BlobStore
	if o.blobRetention < 0 || o.blobRetention > 0 && o.stateDSN == "" {
		return usageErr("--blob-retention needs --state (the large payloads are kept there) and must not be negative")
	}
	if o.stateDSN != "" {
		if !isPostgres(o.stateDSN) {
			return usageErr("worker --state takes a Postgres database (postgres://user@host/db), shared by the workers; a state directory belongs to one flowrun serve")
		}
		st, err := pgstore.Open(e.ctx, o.stateDSN)
		if err != nil {
			return &exitError{code: exitFailed, msg: err.Error()}
		}
		defer st.Close()
		state, blobs = st, st
		if o.blobRetention > 0 {
			go deleteOldBlobs(e, st, o.blobRetention)
		}
	}
	c, err := o.dialWith(e, blobs)
	if err != nil {
		return err
	}
	defer c.Close()
	sink, err := trigger.OpenSink(o.sink, e.stdout)
	if err != nil {
		return usageErr("%v", err)
	}
	defer sink.Close()
	if o.loopPart < 1 {
		return usageErr("--loop-part must be at least 1")
	}
	eng := &tengine.Engine{Projects: projects, Resolve: tengine.DirResolver(o.connections),
		ActivityTimeout: o.activityTimeout, IdempotencyHeader: o.idempotencyHeader, Sink: sink, State: state, LoopPart: o.loopPart}
	w := worker.New(c, o.taskQueue, worker.Options{MaxConcurrentWorkflowTaskExecutionSize: o.maxRuns})
	eng.Register(w)
	if err := w.Start(); err != nil {
		return &exitError{code: exitFailed, msg: fmt.Sprintf("worker: %v", err)}
	}
	fmt.Fprintf(e.stderr, "flowrun worker: serving %d project(s) on task queue %q at %s\n", len(projects), o.taskQueue, o.address)
	<-e.ctx.Done()
	w.Stop()
	return nil
}

// deleteOldBlobs deletes the stored large payloads older than keep, at
// start and every hour, until the worker stops.
func deleteOldBlobs(e *env, st *pgstore.Store, keep time.Duration) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := st.DeleteBlobsBefore(e.ctx, time.Now().Add(-keep)); err != nil && e.ctx.Err() == nil {
			fmt.Fprintf(e.stderr, "flowrun worker: %v\n", err)
		} else if n > 0 {
			fmt.Fprintf(e.stderr, "flowrun worker: deleted %d stored payload(s) older than %s\n", n, keep)
		}
		select {
		case <-e.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// loadFailed prints a project's load problems and returns exit code 2.
func loadFailed(e *env, err error) error {
	var ds lang.Diagnostics
	if errors.As(err, &ds) {
		for _, d := range ds {
			fmt.Fprintln(e.stderr, d.String())
		}
		return &exitError{code: exitUsage}
	}
	return usageErr("%v", err)
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
			return runStart(e, o)
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

func runStart(e *env, o *startOptions) error {
	p, err := load.Project(o.project)
	if err != nil {
		return loadFailed(e, err)
	}
	if p.Flow(o.flow) == nil {
		return usageErr("project %q has no flow %q", p.Connector.Name, o.flow)
	}
	in, err := readInput(e, o.input)
	if err != nil {
		return err
	}
	var blobs tengine.BlobStore
	if o.stateDSN != "" {
		if !isPostgres(o.stateDSN) {
			return usageErr("start --state takes the workers' Postgres database (postgres://user@host/db)")
		}
		st, err := pgstore.Open(e.ctx, o.stateDSN)
		if err != nil {
			return &exitError{code: exitFailed, msg: err.Error()}
		}
		defer st.Close()
		blobs = st
	}
	c, err := o.dialWith(e, blobs)
	if err != nil {
		return err
	}
	defer c.Close()
	id := o.id
	if id == "" {
		id = o.flow + "/" + time.Now().UTC().Format("20060102T150405.000000000")
	}
	run, err := c.ExecuteWorkflow(e.ctx, client.StartWorkflowOptions{ID: id, TaskQueue: o.taskQueue,
		WorkflowIDReusePolicy:                    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true, Memo: tengine.ConnectionMemo(p.Connector.Name, o.connectionID)},
		tengine.WorkflowName, tengine.FlowInput{Project: p.Connector.Name, Flow: o.flow, ConnectionID: o.connectionID, Inputs: in})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		fmt.Fprintf(e.stdout, "%s already started\n", id)
		return nil
	}
	if err != nil {
		return &exitError{code: exitFailed, msg: fmt.Sprintf("start: %v", err)}
	}
	if !o.wait {
		fmt.Fprintln(e.stdout, run.GetID())
		return nil
	}
	var out map[string]any
	if err := run.Get(e.ctx, &out); err != nil {
		return &exitError{code: exitFailed, msg: err.Error()}
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	fmt.Fprintln(e.stdout, string(b))
	return nil
}
