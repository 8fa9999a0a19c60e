package flowtest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/run"
	"github.com/flowrun/flowrun/value"
	"github.com/flowrun/flowrun/webhook"
)

// DefaultNow is the clock of every case unless the case's webhook request
// carries a signed timestamp, in which case the clock is that timestamp.
var DefaultNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// hookURL is the webhook URL a test case's flow sees as webhook.url.
const hookURL = "https://flowrun.test/hooks/test"

// webhookRequest builds the HTTP request a case's request: describes. The
// body is raw when given, else body: as JSON (a mapping or list, with
// Content-Type application/json unless the case sets one) or as text.
func webhookRequest(n *lang.Node) (*http.Request, []byte, error) {
	method := "POST"
	if m := str(n.Get("method")); m != "" {
		method = strings.ToUpper(m)
	}
	path := str(n.Get("path"))
	if path == "" {
		path = "/hooks/test"
	} else if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	var raw []byte
	jsonBody := false
	if r := n.Get("raw"); r != nil {
		raw = []byte(text(plain(r.Value())))
	} else if b := n.Get("body"); b != nil {
		switch v := plain(b.Value()).(type) {
		case nil:
		case string:
			raw = []byte(v)
		default:
			raw = []byte(compactJSON(v))
			jsonBody = true
		}
	}
	u := "https://flowrun.test" + path
	if q := n.Get("query"); q != nil && q.Kind == lang.MapNode {
		vals := url.Values{}
		for i, k := range q.Keys {
			switch v := plain(q.Vals[i].Value()).(type) {
			case nil:
			case []any:
				for _, x := range v {
					vals.Add(k.Str, text(x))
				}
			default:
				vals.Add(k.Str, text(v))
			}
		}
		if len(vals) > 0 {
			u += "?" + vals.Encode()
		}
	}
	req, err := http.NewRequest(method, u, bytes.NewReader(raw))
	if err != nil {
		return nil, nil, fmt.Errorf("request: %v", err)
	}
	if h := n.Get("headers"); h != nil && h.Kind == lang.MapNode {
		for i, k := range h.Keys {
			req.Header.Add(k.Str, text(plain(h.Vals[i].Value())))
		}
	}
	if jsonBody && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, raw, nil
}

// caseNow pins a webhook case's clock: the signed timestamp the request
// carries, else DefaultNow.
func caseNow(f *lang.Flow, h http.Header) time.Time {
	if f.Verify == nil {
		return DefaultNow
	}
	v, err := webhook.Compile(f.Verify.Spec)
	if err != nil {
		return DefaultNow
	}
	if t, ok := v.SignedTimestamp(h); ok {
		return t
	}
	return DefaultNow
}

// webhookCaseProblems reports the keys of a webhook case that do not fit
// the flow (SPEC §8.7): secret: or signed: for a flow without verify,
// secret: beside signed: false, and a deregister case for a flow without
// deregister.
func (c *testCase) webhookCaseProblems(f *lang.Flow) []Failure {
	var out []Failure
	at := func(key string) lang.Pos { return c.node.KeyNode(key).Pos }
	if f.Type != lang.Webhook {
		if c.node.Get("signed") != nil {
			out = append(out, Failure{Pos: at("signed"), Summary: fmt.Sprintf("signed: only webhook deliveries are signed; flow %q is %s %s flow", f.Name, article(string(f.Type)), f.Type)})
		}
		return out
	}
	if !f.HasDeregister && c.request == nil && c.registration != nil {
		out = append(out, Failure{Pos: at("registration"), Summary: fmt.Sprintf("registration: a case with a registration and no request tests deregister, but flow %q has none; give request: to test event", f.Name)})
	}
	if f.Verify == nil {
		for _, key := range []string{"secret", "signed"} {
			if c.node.Get(key) != nil {
				out = append(out, Failure{Pos: at(key), Summary: fmt.Sprintf("%s: flow %q has no verify block, so its requests are not signed; remove %s:", key, f.Name, key)})
			}
		}
		return out
	}
	if c.node.Get("signed") != nil && c.request == nil {
		out = append(out, Failure{Pos: at("signed"), Summary: "signed: only a delivery (request:) is signed"})
	}
	if c.node.Get("secret") != nil && c.unsigned() {
		out = append(out, Failure{Pos: at("secret"), Summary: "secret: is not used: signed: false sends the request unsigned"})
	}
	return out
}

// unsigned reports whether the case says signed: false.
func (c *testCase) unsigned() bool {
	n := c.node.Get("signed")
	return n != nil && n.Kind == lang.BoolNode && !n.Bool
}

// deliver delivers a webhook case's request through webhook.Deliver, as the
// trigger host does, signing it first with the case's secret (else the
// flow's) unless the case carries its own signature or says signed: false.
func (s *suiteRun) deliver(ctx context.Context, r *run.Runner, f *lang.Flow, c *testCase, reg any, hook map[string]any, req *http.Request, raw []byte, now time.Time) outcome {
	flow := r.BindWebhook(f, c.inputs, reg, hook)
	var v *webhook.Verifier
	if f.Verify != nil {
		var err error
		if v, err = webhook.Compile(f.Verify.Spec); err != nil {
			return deliveryOutcome(webhook.Misconfigured(err))
		}
		if !v.Carries(req.Header) && !c.unsigned() {
			signWith := c.secret
			if signWith == "" {
				secrets, err := flow.Secrets()
				if err != nil {
					return deliveryOutcome(webhook.Misconfigured(fmt.Errorf("verify.secret: %w", err)))
				}
				for _, s := range secrets {
					if s != "" {
						signWith = s
						break
					}
				}
			}
			// without a secret the request goes unsigned, and Deliver says
			// what serve would say of the flow's empty secret
			if signWith != "" {
				if err := v.Sign(req.Header, raw, signWith, now); err != nil {
					return outcome{err: fmt.Errorf("signing the case's request: %w", err)}
				}
			}
		}
	}
	res := webhook.Deliver(ctx, webhook.Delivery{Flow: flow, Verifier: v, Request: req, Now: now, DecodeJSON: value.DecodeJSON})
	if res.Err == nil && res.Events != nil {
		// dedupe as the host applies it: repeats in the delivery and seen: keys
		events, err := dedupe(r, f, c, res.Events, res.Request)
		if err != nil {
			return outcome{err: fmt.Errorf("dedupe: %w", err)}
		}
		res.Events = events
	}
	return deliveryOutcome(res)
}

// deliveryOutcome is what a case compares: the events, and the response
// the sender got ({status, headers, body}, the body as text).
func deliveryOutcome(res webhook.Result) outcome {
	var o outcome
	headers := map[string]any{}
	for k, vs := range res.Header {
		headers[k] = strings.Join(vs, ", ")
	}
	var body any
	if len(res.Body) > 0 {
		body = string(res.Body)
	}
	o.response = map[string]any{"status": res.Status, "headers": headers, "body": body}
	if res.Err != nil {
		o.err = res.Err
		return o
	}
	o.events = plainList(res.Events)
	return o
}
