// Package trigger hosts webhook and poll triggers: durable state (SQLite),
// the serve loop, and the sinks events go to.
//
// The package owns two self-contained pieces today:
//
//   - [Store], the trigger host's durable state in DIR/state.db: the triggers
//     that are on, what each webhook registration returned, poll cursors,
//     bounded dedupe keys and the run history. A run's outcome is saved with
//     [Store.Commit] in one transaction, only after its events were delivered,
//     so a crash repeats events (dedupe drops the repeats) but never loses one.
//   - [Host], which registers webhooks, serves their deliveries through
//     webhook.Deliver (verification, the request object and the answer live
//     in package webhook, shared with flowtest) and adds the host's state:
//     replay and dedupe keys, the sink, the run history, and refusals logged
//     as one summary line per trigger and interval; and runs polls on their
//     schedule.
//
// The run history (history.go) is a stable API for other readers, such as
// the web console: [Store.ListRuns], [Store.GetRun] and [Store.RunPayload]
// with [RunRecord], [StepRecord], [Payload] and [RunFilter]. Every step is
// redacted with the run's connection before it is stored ([StepRecorder]).
// Concurrent commits can share a transaction ([GroupCommitter],
// [Store.CommitBatch]); serve's logs (log/slog) and Prometheus metrics
// ([Metrics]) are in logs.go and metrics.go.
//
// The CLI (flowrun serve, flowrun poll, trigger commands) imports this package;
// it sits beside the interpreter and uses it, never the other way round.
package trigger
