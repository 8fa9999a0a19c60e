package run

import (
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
