package run

import "context"

type traceKey struct{}

// WithTrace returns a context under which every run started (Run, Section,
// Poll, Event, ...) also calls fn after each step, beside Runner.Trace. It
// lets a host that shares one Runner between concurrent runs capture the
// steps of one run. Like Runner.Trace, events are not redacted.
func WithTrace(ctx context.Context, fn func(TraceEvent)) context.Context {
	return context.WithValue(ctx, traceKey{}, fn)
}

// traceFor is the trace function of a run started with ctx: Runner.Trace,
// the context's (see WithTrace), both, or nil.
func (r *Runner) traceFor(ctx context.Context) func(TraceEvent) {
	fn, _ := ctx.Value(traceKey{}).(func(TraceEvent))
	switch {
	case fn == nil:
		return r.Trace
	case r.Trace == nil:
		return fn
	}
	rt := r.Trace
	return func(ev TraceEvent) { rt(ev); fn(ev) }
}
