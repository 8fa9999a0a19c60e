// Package trigger hosts webhook and poll triggers: durable state (SQLite),
// request verification, and (later) the serve loop that runs them.
//
// The package owns two self-contained pieces today:
//
//   - [Store], the trigger host's durable state in DIR/state.db: the triggers
//     that are on, what each webhook registration returned, poll cursors,
//     bounded dedupe keys and the run history. A run's outcome is saved with
//     [Store.Commit] in one transaction, only after its events were delivered,
//     so a crash repeats events (dedupe drops the repeats) but never loses one.
//   - [Verify], which checks a webhook request's signature (hmac_sha256 in the
//     GitHub, Slack and Stripe styles, and Standard Webhooks) before any step
//     of the flow runs.
//
// The CLI (flowrun serve, flowrun poll, trigger commands) imports this package;
// it sits beside the interpreter and uses it, never the other way round.
package trigger
