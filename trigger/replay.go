package trigger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/run"
	"github.com/flowrun/flowrun/value"
	"github.com/flowrun/flowrun/webhook"
)

// recorder is a StepRecorder for one run of t; the flows' log lines go to
// the host's log.
func (h *Host) recorder(t *Trigger) *StepRecorder {
	sr := NewStepRecorder(h.Runner.Connection)
	sr.OnLog = func(flow, step, msg string) { h.flowLog(t, flow, step, msg) }
	return sr
}

// steps is what was recorded, for a RunCommit.
func (sr *StepRecorder) steps() ([]StepRecord, int) {
	var rec RunRecord
	sr.Fill(&rec)
	return rec.Steps, rec.StepsDropped
}

// deliverToSink hands events to the sink, timing it.
func (h *Host) deliverToSink(ctx context.Context, t *Trigger, ds []Delivery) error {
	start := time.Now()
	err := h.Sink.Deliver(ctx, ds)
	h.metrics().sink(time.Since(start), len(ds), err)
	return err
}

// ErrNotReplayable is returned (wrapped) by Replay for a run that cannot be
// replayed: it succeeded, kept no payload, or its trigger is gone.
var ErrNotReplayable = errors.New("run cannot be replayed")

// Replay runs a failed run again: a webhook delivery's event steps with the
// request object they saw, or a poll with the cursor it had; the events go
// through dedupe and the sink as in serve, and the new run is recorded
// with source "replay" and ReplayOf set. A replayed poll leaves the saved
// cursor as it is. It returns the new run's id and the events delivered.
func (h *Host) Replay(ctx context.Context, runID int64) (int64, int, error) {
	rec, err := h.Store.GetRun(ctx, runID)
	if err != nil {
		return 0, 0, err
	}
	if rec.Status != "error" {
		return 0, 0, fmt.Errorf("run %d succeeded: %w", runID, ErrNotReplayable)
	}
	p, err := h.Store.RunPayload(ctx, runID)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %w", ErrNotReplayable, err)
	}
	if rec.TriggerID == "" {
		return h.replayAction(ctx, rec, p)
	}
	t, err := h.Store.GetTrigger(ctx, rec.TriggerID)
	if err != nil {
		return 0, 0, fmt.Errorf("run %d: its trigger is off (%w): %w", runID, err, ErrNotReplayable)
	}
	if o := h.hostOf(t); o != nil && o != h {
		return o.Replay(ctx, runID) // a peer's trigger: replayed with its connection
	}
	if err := h.ownsConnection(t); err != nil && t.Project == h.project().Connector.Name {
		return 0, 0, err
	}
	if t.Project != h.project().Connector.Name {
		return 0, 0, &run.RequestError{Msg: fmt.Sprintf("run %d belongs to project %q, not %q", runID, t.Project, h.project().Connector.Name)}
	}
	f := h.project().Flow(t.Flow)
	if f == nil {
		return 0, 0, fmt.Errorf("run %d: the project has no flow %q: %w", runID, t.Flow, ErrNotReplayable)
	}
	h.Runner.Connection.AddSecret(t.Secret)
	if f.Type == lang.Poll {
		n, id, err := h.poll(ctx, t, pollRun{source: "replay", replayOf: runID, cursor: p.Cursor})
		return id, n, err
	}
	if f.Type != lang.Webhook || p.Request == nil {
		return 0, 0, fmt.Errorf("run %d kept no request: %w", runID, ErrNotReplayable)
	}
	return h.replayDelivery(ctx, t, f, p, runID)
}

func (h *Host) replayDelivery(ctx context.Context, t *Trigger, f *lang.Flow, p *Payload, runID int64) (int64, int, error) {
	start := time.Now()
	in, err := decodeInput(t.Input)
	if err != nil {
		return 0, 0, fmt.Errorf("trigger %s: stored input: %w", t.ID, err)
	}
	var reg any
	if len(t.Registration) > 0 {
		if reg, err = value.DecodeJSON(t.Registration); err != nil {
			return 0, 0, fmt.Errorf("trigger %s: stored registration: %w", t.ID, err)
		}
	}
	rv, err := value.DecodeJSON(p.Request)
	if err != nil {
		return 0, 0, fmt.Errorf("run %d: stored request: %w", runID, err)
	}
	request, _ := rv.(map[string]any)
	sr := h.recorder(t)
	hook := map[string]any{"url": h.hookURL(t.ID), "secret": t.Secret}
	events, _, err := h.Runner.Event(h.budget(sr.Context(ctx), t), f.Name, in, reg, hook, request)
	var id, n int64 = 0, 0
	if err == nil {
		var k int
		id, k, err = h.accept(ctx, t, f, in, webhook.Accepted{Events: events, Request: request}, start, sr, runID)
		n = int64(k)
	}
	if err != nil {
		msg := h.Runner.Connection.Redact(err.Error())
		c := RunCommit{Started: start, Duration: time.Since(start), Status: "error", Error: msg, Source: "replay", ReplayOf: runID, Payload: p}
		c.Steps, c.StepsDropped = sr.steps()
		id, cerr := h.commit(context.WithoutCancel(ctx), t.ID, c)
		if cerr != nil {
			h.logf("trigger %s: recording the failed replay: %v", t.ID, cerr)
		}
		h.runDone(t, "replay", id, time.Since(start), 0, err)
		return id, 0, err
	}
	return id, int(n), nil
}

// replayAction runs a recorded `flowrun run` again with the inputs it had
// (redacted when stored: a secret input is not replayed).
func (h *Host) replayAction(ctx context.Context, rec *RunRecord, p *Payload) (int64, int, error) {
	if rec.Project != h.project().Connector.Name {
		return 0, 0, &run.RequestError{Msg: fmt.Sprintf("run %d belongs to project %q, not %q", rec.ID, rec.Project, h.project().Connector.Name)}
	}
	in := map[string]any{}
	if len(p.Input) > 0 {
		v, err := value.DecodeJSON(p.Input)
		if err != nil {
			return 0, 0, fmt.Errorf("run %d: stored input: %w", rec.ID, err)
		}
		if m, ok := v.(map[string]any); ok {
			in = m
		}
	}
	sr := NewStepRecorder(h.Runner.Connection)
	start := time.Now()
	_, err := h.Runner.Run(sr.Context(ctx), rec.Flow, in)
	nr := &RunRecord{Project: rec.Project, Flow: rec.Flow, Source: "replay", ReplayOf: rec.ID, Started: start, Duration: time.Since(start), Status: "ok"}
	var keep *Payload
	if err != nil {
		nr.Status, nr.Error, keep = "error", h.Runner.Connection.Redact(err.Error()), p
	}
	sr.Fill(nr)
	id, rerr := h.Store.RecordRun(context.WithoutCancel(ctx), nr, keep)
	if rerr != nil {
		h.logf("recording the replay of run %d: %v", rec.ID, rerr)
	}
	return id, 0, err
}
