package run

import (
	"context"
	"fmt"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/value"
)

// EvalWebhookDedupe evaluates a webhook flow's dedupe key for one event of a
// delivery; the expression sees event, inputs and request.
func (r *Runner) EvalWebhookDedupe(f *lang.Flow, event any, inputs map[string]any, request map[string]any) (string, error) {
	if f.Dedupe == nil {
		return "", nil
	}
	ev := evaluator{env: map[string]any{"event": event, "inputs": inputs, "request": request}}
	v, err := ev.eval(f.Dedupe)
	if err != nil {
		return "", err
	}
	return value.Text(v), nil
}

// EvalConnectorValue evaluates a value of connector.yaml (such as an OAuth
// 2.0 URL or client id) with the connection in scope, as text.
func (r *Runner) EvalConnectorValue(v *lang.Value) (string, error) {
	if v == nil {
		return "", nil
	}
	if err := r.checkConnection(); err != nil {
		return "", err
	}
	ev := evaluator{env: map[string]any{"connection": r.Connection.Env(), "connector": r.connectorEnv()}}
	x, err := ev.eval(v)
	if err != nil {
		return "", err
	}
	return value.Text(x), nil
}

// ToText turns a value into text the way templates and HTTP query values do.
func ToText(v any) string { return value.Text(v) }

// CheckInputs checks inputs against a flow's declared inputs (types,
// required, enum, unknown names) and returns them with defaults filled.
func (r *Runner) CheckInputs(flowName string, inputs map[string]any) (map[string]any, error) {
	f := r.Project.Flow(flowName)
	if f == nil {
		return nil, &RequestError{Msg: fmt.Sprintf("no flow named %q", flowName), Hint: value.Suggest(flowName, r.Project.Order)}
	}
	in, err := lang.CoerceFields(f.Inputs, inputs, "input", false)
	if err != nil {
		return nil, &RequestError{Msg: fmt.Sprintf("flow %q: %v", flowName, err)}
	}
	return in, nil
}

// EvalVerifySecrets evaluates a webhook flow's verify.secret as a list of
// secrets: a list value (secret rotation) gives each item as text (null
// items as ""), any other value one text. No verify.secret gives nil.
func (r *Runner) EvalVerifySecrets(f *lang.Flow, registration any, webhook map[string]any, inputs map[string]any) ([]string, error) {
	if f.Verify == nil || f.Verify.Secret == nil {
		return nil, nil
	}
	// a revoked connection still verifies: a webhook trigger paused for
	// it keeps the deliveries that pass (trigger/connpause.go)
	conn := r.verifyConnection()
	ev := evaluator{env: map[string]any{"registration": registration, "webhook": webhook, "inputs": inputs,
		"connection": conn.Env()}}
	v, err := ev.eval(f.Verify.Secret)
	if err != nil {
		return nil, err
	}
	list, ok := v.([]any)
	if !ok {
		return []string{value.Text(v)}, nil
	}
	out := make([]string, len(list))
	for i, x := range list {
		if x != nil {
			out[i] = value.Text(x)
		}
	}
	return out, nil
}

// BoundWebhook is a webhook flow bound to the inputs, registration and
// webhook values of one trigger (or test case): what webhook.Deliver runs.
// It implements webhook.Flow.
type BoundWebhook struct {
	r            *Runner
	f            *lang.Flow
	inputs       map[string]any
	registration any
	hook         map[string]any
}

// BindWebhook binds a webhook flow for webhook.Deliver.
func (r *Runner) BindWebhook(f *lang.Flow, inputs map[string]any, registration any, webhook map[string]any) *BoundWebhook {
	return &BoundWebhook{r: r, f: f, inputs: inputs, registration: registration, hook: webhook}
}

// Secrets evaluates verify.secret (see EvalVerifySecrets).
func (b *BoundWebhook) Secrets() ([]string, error) {
	return b.r.EvalVerifySecrets(b.f, b.registration, b.hook, b.inputs)
}

// Event runs the event steps with request in scope (see Runner.Event).
func (b *BoundWebhook) Event(ctx context.Context, request map[string]any) ([]any, map[string]any, error) {
	return b.r.Event(ctx, b.f.Name, b.inputs, b.registration, b.hook, request)
}
