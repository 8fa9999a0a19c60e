package run

import (
	"context"
	"fmt"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/value"
)

// The system flows of SPEC §3, as the trigger host and the test runner call them.

// AuthPing runs the project's authping flow. working is false when the flow
// returned working: false or failed; label and message are what it returned
// (or the failure's message). err is set only when the flow could not run at
// all (no authping flow, revoked connection, canceled).
func (r *Runner) AuthPing(ctx context.Context) (working bool, label, message string, status int, err error) {
	f := r.systemFlow(lang.AuthPing)
	if f == nil {
		return false, "", "", 0, &RequestError{Msg: "the project has no authping flow"}
	}
	out, err := r.Section(ctx, f.Name, "steps", nil, nil)
	if err != nil {
		if _, ok := err.(*RequestError); ok || uncatchable(err) {
			return false, "", "", 0, err
		}
		if re, ok := err.(*RunError); ok {
			return false, "", re.Message, re.Status, nil
		}
		return false, "", "", 0, err
	}
	working = true
	if w, ok := out["working"].(bool); ok {
		working = w
	}
	if l, ok := out["label"]; ok && l != nil {
		label = value.Text(l)
	}
	if m, ok := out["message"]; ok && m != nil {
		message = value.Text(m)
	}
	return working, label, message, 0, nil
}

// Revoke runs the project's revoke flow.
func (r *Runner) Revoke(ctx context.Context) error {
	f := r.systemFlow(lang.Revoke)
	if f == nil {
		return &RequestError{Msg: "the project has no revoke flow"}
	}
	_, err := r.Section(ctx, f.Name, "steps", nil, nil)
	return err
}

func (r *Runner) systemFlow(typ lang.FlowType) *lang.Flow {
	for _, name := range r.Project.Order {
		if f := r.Project.Flows[name]; f.Type == typ {
			return f
		}
	}
	return nil
}

// Poll runs a poll flow once with the given cursor and returns its events
// and new cursor.
func (r *Runner) Poll(ctx context.Context, flowName string, inputs map[string]any, cursor any) (events []any, next any, err error) {
	f, err := r.flowOfType(flowName, lang.Poll)
	if err != nil {
		return nil, nil, err
	}
	out, err := r.Section(ctx, flowName, "steps", inputs, map[string]any{"cursor": cursor})
	if err != nil {
		return nil, nil, err
	}
	events, err = r.events(f, out["events"])
	if err != nil {
		return nil, nil, err
	}
	return events, value.Normalize(out["cursor"]), nil
}

// Register runs a webhook flow's register section; webhook is {url, secret}.
// It returns the registration data to store.
func (r *Runner) Register(ctx context.Context, flowName string, inputs map[string]any, webhook map[string]any) (any, error) {
	if _, err := r.flowOfType(flowName, lang.Webhook); err != nil {
		return nil, err
	}
	out, err := r.Section(ctx, flowName, "register", inputs, map[string]any{"webhook": webhook})
	if err != nil {
		return nil, err
	}
	return value.Normalize(out), nil
}

// Deregister runs a webhook flow's deregister section with the stored registration.
func (r *Runner) Deregister(ctx context.Context, flowName string, inputs map[string]any, registration any, webhook map[string]any) error {
	if _, err := r.flowOfType(flowName, lang.Webhook); err != nil {
		return err
	}
	_, err := r.Section(ctx, flowName, "deregister", inputs, map[string]any{"registration": registration, "webhook": webhook})
	return err
}

// Event runs a webhook flow's event section for one delivery. request is
// {method, path, headers, query, body, raw}. It returns the events and the
// response to answer the sender with (nil for the default 200).
func (r *Runner) Event(ctx context.Context, flowName string, inputs map[string]any, registration any, webhook map[string]any, request map[string]any) (events []any, response map[string]any, err error) {
	f, err := r.flowOfType(flowName, lang.Webhook)
	if err != nil {
		return nil, nil, err
	}
	out, err := r.Section(ctx, flowName, "event", inputs, map[string]any{"registration": registration, "webhook": webhook, "request": request})
	if err != nil {
		return nil, nil, err
	}
	events, err = r.events(f, out["events"])
	if err != nil {
		return nil, nil, err
	}
	if resp, ok := out["response"]; ok && resp != nil {
		m, ok := value.Normalize(resp).(map[string]any)
		if !ok {
			return nil, nil, fmt.Errorf("flow %q: response must be an object {status, headers, body}, got %s", flowName, value.TypeName(resp))
		}
		response = m
	}
	return events, response, nil
}

func (r *Runner) flowOfType(name string, typ lang.FlowType) (*lang.Flow, error) {
	f := r.Project.Flow(name)
	if f == nil {
		return nil, &RequestError{Msg: fmt.Sprintf("no flow named %q", name), Hint: value.Suggest(name, r.Project.Order)}
	}
	if f.Type != typ {
		return nil, &RequestError{Msg: fmt.Sprintf("flow %q is %s, not %s", name, f.Type.Article(), typ.Article())}
	}
	return f, nil
}

// events checks a flow's events against its outputs (the shape of one event).
func (r *Runner) events(f *lang.Flow, v any) ([]any, error) {
	if v == nil {
		return []any{}, nil
	}
	list, ok := toList(v)
	if !ok {
		return nil, fmt.Errorf("flow %q: events must be a list, got %s", f.Name, value.TypeName(v))
	}
	out := make([]any, len(list))
	for i, e := range list {
		e = value.Normalize(e)
		m, ok := e.(map[string]any)
		if !ok || len(f.Outputs) == 0 {
			if len(f.Outputs) > 0 {
				return nil, fmt.Errorf("flow %q: event %d must be an object, got %s", f.Name, i, value.TypeName(e))
			}
			out[i] = e
			continue
		}
		ev := make(map[string]any, len(m))
		for k, x := range m {
			ev[k] = x
		}
		for _, o := range f.Outputs {
			x, msg := lang.CoerceField(o, m[o.Name], false)
			if msg != "" {
				return nil, fmt.Errorf("flow %q: event %d: %q %s", f.Name, i, o.Name, msg)
			}
			if x != nil {
				ev[o.Name] = x
			}
		}
		out[i] = ev
	}
	return out, nil
}
