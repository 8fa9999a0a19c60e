//go:build temporal

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

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	tengine "github.com/flowrun/flowrun/engine/temporal"
	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/trigger"
	"github.com/flowrun/flowrun/trigger/pgstore"
)

// temporalBuilt says the Temporal engine is linked (-tags temporal).
const temporalBuilt = true

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

// ingress makes serve --engine temporal's deliveries start workflows: it
// dials Temporal (a Postgres state keeps the claim check's payloads) and
// sets h.Ingress; closeFn closes the client.
func (o *temporalOptions) ingress(e *env, h *trigger.Host) (closeFn func(), err error) {
	blobs, _ := h.StateStore().(tengine.BlobStore)
	c, err := o.dialWith(e, blobs)
	if err != nil {
		return nil, err
	}
	h.Ingress = &tengine.Ingress{Client: c, TaskQueue: o.taskQueue}
	return c.Close, nil
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

func runWorker(e *env, o *workerOptions) error {
	projects := map[string]*lang.Project{}
	for _, dir := range o.projects {
		p, err := loadProject(e, dir) // root.go
		if err != nil {
			return err
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
		st, err := openWorkersState(e, o.stateDSN, "worker --state takes a Postgres database (postgres://user@host/db), shared by the workers; a state directory belongs to one flowrun serve")
		if err != nil {
			return err
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

// openWorkersState opens the workers' Postgres state; notPostgres is the
// usage error for a DSN that is not one.
func openWorkersState(e *env, dsn, notPostgres string) (*pgstore.Store, error) {
	if !isPostgres(dsn) {
		return nil, usageErr("%s", notPostgres)
	}
	st, err := pgstore.Open(e.ctx, dsn)
	if err != nil {
		return nil, &exitError{code: exitFailed, msg: err.Error()}
	}
	return st, nil
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

func runStart(e *env, o *startOptions) error {
	p, err := loadProject(e, o.project) // root.go
	if err != nil {
		return err
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
		st, err := openWorkersState(e, o.stateDSN, "start --state takes the workers' Postgres database (postgres://user@host/db)")
		if err != nil {
			return err
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

// create makes a poll trigger's Schedule; when that fails, the trigger is
// turned off again.
func (o *scheduleOptions) create(e *env, h *trigger.Host, t *trigger.Trigger, connFile string) error {
	if err := o.check(); err != nil || o.engine == "" || t.Kind != "poll" {
		return err
	}
	every := h.Runner.Project.Flow(t.Flow).Schedule
	if v := os.Getenv("FLOWRUN_POLL_EVERY"); v != "" { // test-only, as for serve
		d, err := time.ParseDuration(v)
		if err != nil {
			return usageErr("FLOWRUN_POLL_EVERY: %v", err)
		}
		every = d
	}
	id := o.connectionID
	if id == "" {
		id = connectionName(connFile)
	}
	c, err := o.temporal.dial(e)
	if err == nil {
		defer c.Close()
		err = tengine.SchedulePoll(e.ctx, c, o.temporal.taskQueue, tengine.PollInput{Project: t.Project, Trigger: t.ID, ConnectionID: id}, every)
	}
	if err != nil {
		if oerr := h.Off(e.ctx, t.ID); oerr != nil {
			err = fmt.Errorf("%v (and turning the trigger off again: %v)", err, oerr)
		}
		return &exitError{code: exitFailed, msg: fmt.Sprintf("schedule %s: %v", tengine.PollScheduleID(t.ID), err)}
	}
	fmt.Fprintf(e.stdout, "schedule %s polls every %s on task queue %q\n", tengine.PollScheduleID(t.ID), every, o.temporal.taskQueue)
	return nil
}

// remove deletes a poll trigger's Schedule.
func (o *scheduleOptions) remove(e *env, triggerID string) error {
	return o.onSchedule(e, triggerID, "is deleted", func(c client.Client) error {
		return tengine.DeletePollSchedule(e.ctx, c, triggerID)
	})
}

// pause pauses or unpauses a poll trigger's Schedule.
func (o *scheduleOptions) pause(e *env, triggerID string, pause bool) error {
	done := "" // trigger resume reports the trigger, not the Schedule
	if pause {
		done = "is paused"
	}
	return o.onSchedule(e, triggerID, done, func(c client.Client) error {
		return tengine.PausePollSchedule(e.ctx, c, triggerID, pause, "flowrun trigger")
	})
}

// onSchedule runs op on a poll trigger's Schedule with --engine temporal,
// and says done ("is deleted") when it is not "".
func (o *scheduleOptions) onSchedule(e *env, triggerID, done string, op func(client.Client) error) error {
	if err := o.check(); err != nil || o.engine == "" {
		return err
	}
	c, err := o.temporal.dial(e)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := op(c); err != nil {
		return &exitError{code: exitFailed, msg: fmt.Sprintf("schedule %s: %v", tengine.PollScheduleID(triggerID), err)}
	}
	if done != "" {
		fmt.Fprintf(e.stdout, "schedule %s %s\n", tengine.PollScheduleID(triggerID), done)
	}
	return nil
}

// revokeOnTemporal stops what runs on Temporal with a revoked connection
// (tengine.RevokeConnection) and pauses its poll triggers in the state.
func revokeOnTemporal(e *env, project, connFile, state string, o *scheduleOptions) error {
	id := o.connectionID
	if id == "" {
		id = connectionName(connFile)
	}
	var st trigger.StateStore
	var polls []string
	if state != "" {
		s, _, closeFn, err := openStateStore(e.ctx, state) // state.go
		if err != nil {
			return err
		}
		defer closeFn()
		ts, err := s.ListTriggers(e.ctx)
		if err != nil {
			return &exitError{code: exitFailed, msg: err.Error()}
		}
		for _, t := range ts {
			if t.Project == project && t.Kind == "poll" {
				polls = append(polls, t.ID)
			}
		}
		st = s
	}
	c, err := o.temporal.dial(e)
	if err != nil {
		return err
	}
	defer c.Close()
	codecs, err := o.temporal.codecs(nil) // sealed Schedules, memos and inputs are read with the keys
	if err != nil {
		return err
	}
	dc, _ := tengine.Converters(codecs...)
	rep, err := tengine.RevokeConnection(e.ctx, c, dc, project, id, polls)
	if err != nil {
		return &exitError{code: exitFailed, msg: fmt.Sprintf("the connection is revoked, but stopping its runs on Temporal failed (run revoke again): %v (so far: %s)", err, rep)}
	}
	fmt.Fprintf(e.stdout, "temporal: %s (connection %s)\n", rep, tengine.ConnectionKey(project, id))
	if st == nil {
		return nil
	}
	for _, sid := range rep.Schedules {
		tid := strings.TrimPrefix(sid, "poll/")
		err := trigger.Pause(e.ctx, st, tid, "connection revoked", time.Now())
		if err != nil && !errors.Is(err, trigger.ErrNotFound) {
			return &exitError{code: exitFailed, msg: fmt.Sprintf("pausing trigger %s: %v", tid, err)}
		}
		if err == nil {
			fmt.Fprintf(e.stdout, "trigger %s is paused: connection revoked\n", tid)
		}
	}
	return nil
}
