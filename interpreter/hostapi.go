package interpreter

// EvalWebhookDedupe evaluates a webhook flow's dedupe key for one event of a
// delivery; the expression sees event, inputs and request.
func (r *Runner) EvalWebhookDedupe(f *Flow, event any, inputs map[string]any, request map[string]any) (string, error) {
	if f.Dedupe == nil {
		return "", nil
	}
	ev := evaluator{env: map[string]any{"event": event, "inputs": inputs, "request": request}}
	v, err := ev.eval(f.Dedupe)
	if err != nil {
		return "", err
	}
	return toText(v), nil
}

// EvalConnectorValue evaluates a value of connector.yaml (such as an OAuth
// 2.0 URL or client id) with the connection in scope, as text.
func (r *Runner) EvalConnectorValue(v *Value) (string, error) {
	if v == nil {
		return "", nil
	}
	if err := r.checkConnection(); err != nil {
		return "", err
	}
	ev := evaluator{env: map[string]any{"connection": r.Connection.env(), "connector": r.connectorEnv()}}
	x, err := ev.eval(v)
	if err != nil {
		return "", err
	}
	return toText(x), nil
}

// ToText turns a value into text the way templates and HTTP query values do.
func ToText(v any) string { return toText(v) }
