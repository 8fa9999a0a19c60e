package trigger

import (
	"fmt"
	"log/slog"
	"time"
)

// runDone logs one finished delivery, poll or replay (one line each, with
// the trigger, run id, connection, duration and outcome) and counts it in
// the metrics. Everything logged is redacted.
func (h *Host) runDone(t *Trigger, source string, runID int64, d time.Duration, events int, err error) {
	h.metrics().run(source, h.ConnectionName, d, events, err)
	if h.Log == nil {
		return
	}
	attrs := []any{
		slog.String("trigger", t.ID), slog.Int64("run_id", runID), slog.String("project", t.Project),
		slog.String("flow", t.Flow), slog.String("source", source), slog.String("connection", h.ConnectionName),
		slog.Duration("duration", d), slog.Int("events", events),
	}
	if err != nil {
		attrs = append(attrs, slog.String("outcome", "error"), slog.String("error", h.Runner.Connection.Redact(err.Error())))
		h.Log.Warn("run", attrs...)
		return
	}
	attrs = append(attrs, slog.String("outcome", "ok"))
	h.Log.Info("run", attrs...)
}

// flowLog writes a flow's log: step line (already redacted).
func (h *Host) flowLog(t *Trigger, flow, step, msg string) {
	if h.Log == nil {
		h.logf("trigger %s: %s %s: %s", t.ID, flow, step, msg)
		return
	}
	h.Log.Info("log", slog.String("trigger", t.ID), slog.String("flow", flow), slog.String("step", step),
		slog.String("msg", h.Runner.Connection.Redact(msg)))
}

// logf writes a free-form line: to Logf when it is set, else to Log at
// level warn (these lines report trouble). Redacted either way.
func (h *Host) logf(format string, args ...any) {
	msg := h.Runner.Connection.Redact(fmt.Sprintf(format, args...))
	switch {
	case h.Logf != nil:
		h.Logf("%s", msg)
	case h.Log != nil:
		h.Log.Warn(msg)
	}
}
