package flowtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/run"
	"github.com/flowrun/flowrun/value"
)

// suiteRun is the state of one Run.
type suiteRun struct {
	proj *lang.Project
	opts Options

	mu         sync.Mutex
	recordings map[string][]recording // Record: per test file
}

// outcome is what running a case's flow produced.
type outcome struct {
	outputs  any // action, helper, authping, revoke, register, deregister; poll: {events, cursor}
	events   []any
	cursor   any
	response map[string]any // webhook deliveries
	err      error
	what     string // "outputs", "registration": what outputs: compares with
}

func noSleep(ctx context.Context, d time.Duration) error {
	if ctx.Err() != nil {
		return run.ErrCanceled
	}
	return nil
}

func (s *suiteRun) runCase(ctx context.Context, c *testCase, decodeErr *Failure) (res *CaseResult) {
	res = &CaseResult{File: c.file.File, Suite: suiteName(s.proj.Dir, c.file.File), Name: c.name, Flow: c.flow, Pos: c.pos()}
	start := time.Now()
	defer func() {
		res.Duration = time.Since(start)
		if p := recover(); p != nil {
			res.Failures = append(res.Failures, Failure{Pos: c.pos(), Summary: fmt.Sprintf("the test runner panicked: %v", p)})
		}
		if res.Status != Skipped && len(res.Failures) > 0 {
			res.Status = Failed
		}
	}()
	if c.skip != nil {
		res.Status, res.SkipReason = Skipped, *c.skip
		return res
	}
	if decodeErr != nil {
		res.Failures = append(res.Failures, *decodeErr)
		return res
	}
	f := s.proj.Flow(c.flow)
	if f == nil {
		res.Failures = append(res.Failures, Failure{Pos: c.at("flow"), Summary: fmt.Sprintf("no flow named %q", c.flow)})
		return res
	}
	if fs := c.misplaced(f); len(fs) > 0 {
		res.Failures = fs
		return res
	}

	// the connection and the transport: mocks, or the live service; what
	// leaves the runner (failures, -v) is redacted as traces are
	conn := c.connection(s.proj.Connector)
	redact := conn.Redact
	var (
		mt  *mockTransport
		rec *recorder
		vt  *verifyTransport
		rt  http.RoundTripper
	)
	if s.opts.VerifyLive && f.Type == "webhook" {
		res.Status, res.SkipReason = Skipped, "verify-live never delivers, registers or removes webhooks"
		return res
	}
	if s.opts.VerifyLive {
		caseConn := conn
		conn = s.opts.LiveConn
		redact = func(x string) string { return caseConn.Redact(conn.Redact(x)) }
		live := s.opts.LiveTransport
		if live == nil {
			live = http.DefaultTransport
		}
		mt = &mockTransport{mocks: c.mocks, ordered: c.ordered}
		vt = &verifyTransport{mocks: mt, live: live, sc: newScrubber(s.proj.Connector, conn, c), redact: redact}
		rt = vt
	} else if s.opts.Record {
		conn = s.opts.RecordConn
		redact = conn.Redact
		base := s.opts.RecordTransport
		if base == nil {
			base = http.DefaultTransport
		}
		rec = &recorder{base: base}
		rt = rec
	} else {
		mt = &mockTransport{mocks: c.mocks, ordered: c.ordered}
		rt = mt
	}

	// the clock: pinned, to the case's now:, else to the signed timestamp
	// of a webhook request if any, else DefaultNow
	now := DefaultNow
	var (
		req *http.Request
		raw []byte
	)
	if f.Type == lang.Webhook && c.request != nil {
		var err error
		req, raw, err = webhookRequest(c.request)
		if err != nil {
			res.Failures = append(res.Failures, Failure{Pos: c.at("request"), Summary: err.Error()})
			return res
		}
		if c.now == nil {
			now = caseNow(f, req.Header)
		}
	}
	if c.now != nil {
		now = *c.now
	}

	r := &run.Runner{Project: s.proj, Connection: conn, Client: &http.Client{Transport: rt},
		Sleep: noSleep, Now: func() time.Time { return now }, Limits: run.Limits{MaxMemory: s.opts.MaxMemory}}
	var logMu sync.Mutex
	if s.opts.Verbose {
		r.Trace = func(ev run.TraceEvent) {
			logMu.Lock()
			res.Log = append(res.Log, redact(traceLine(ev)))
			logMu.Unlock()
		}
	}
	timeout := s.opts.Timeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	o := s.execute(ctx, r, f, c, req, raw, now)
	if vt != nil {
		// the flow saw the mocks: what counts is how the live service differs
		fails, notes := vt.results()
		res.Failures, res.Notes, res.Compared = append(res.Failures, fails...), notes, vt.compared
		res.Log = append(res.Log, vt.log...)
		res.Failures = append(res.Failures, mt.failures(c, errors.Is(o.err, errNoMock), redact)...)
		return res
	}
	res.Failures = append(res.Failures, c.check(f, o, redact)...)
	if mt != nil {
		if s.opts.Verbose {
			for _, l := range mt.log {
				res.Log = append(res.Log, "http: "+l)
			}
		}
		res.Failures = append(res.Failures, mt.failures(c, errors.Is(o.err, errNoMock), redact)...)
	}
	if rec != nil {
		res.Recorded = s.addRecording(c, rec, conn)
	}
	return res
}

// misplaced reports case keys that do not apply to the flow's type.
func (c *testCase) misplaced(f *lang.Flow) []Failure {
	var out []Failure
	bad := func(key, why string) {
		if c.node.Get(key) != nil {
			out = append(out, Failure{Pos: c.node.KeyNode(key).Pos, Summary: fmt.Sprintf("%s: %s; flow %q is %s %s flow", key, why, f.Name, article(string(f.Type)), f.Type)})
		}
	}
	if f.Type != lang.Poll {
		bad("cursor", "only poll flows take a cursor")
		bad("expect_cursor", "only poll flows return a cursor")
	}
	if f.Type != lang.Webhook {
		bad("request", "only webhook flows receive requests")
		bad("registration", "only webhook flows have a registration")
		bad("secret", "only webhook flows verify a secret")
		bad("response", "only webhook flows answer a sender")
	}
	if f.Type != lang.Webhook && f.Type != lang.Poll {
		bad("events", "only poll and webhook flows produce events")
		bad("seen", "only poll and webhook flows drop events by dedupe key")
	} else if f.Dedupe == nil && c.node.Get("seen") != nil {
		out = append(out, Failure{Pos: c.node.KeyNode("seen").Pos, Summary: fmt.Sprintf("seen: flow %q has no dedupe: expression, so no event is dropped as seen", f.Name)})
	}
	if f.Type == lang.Webhook && c.request != nil {
		bad("outputs", "a delivery produces events and a response: expect them with events: and response:")
	}
	if f.Type == lang.Webhook && c.request == nil {
		bad("events", "only a delivery (request:) produces events")
		bad("response", "only a delivery (request:) gets a response")
	}
	return append(out, c.webhookCaseProblems(f)...)
}

func article(word string) string {
	if strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}

// execute runs the case's flow as its type says.
func (s *suiteRun) execute(ctx context.Context, r *run.Runner, f *lang.Flow, c *testCase, req *http.Request, raw []byte, now time.Time) outcome {
	var o outcome
	o.what = "outputs"
	switch f.Type {
	case "poll":
		o.events, o.cursor, o.err = r.Poll(ctx, f.Name, c.inputs, c.cursor)
		if o.err == nil {
			o.events, o.err = dedupe(r, f, c, o.events, nil)
		}
		o.events = plainList(o.events)
		o.cursor = plain(o.cursor)
		o.outputs = map[string]any{"events": o.events, "cursor": o.cursor}
	case "authping":
		working, label, message, status, err := r.AuthPing(ctx)
		o.err = err
		out := map[string]any{"working": working}
		if label != "" {
			out["label"] = label
		}
		if message != "" {
			out["message"] = message
		}
		if status != 0 {
			out["status"] = status
		}
		o.outputs = out
	case "revoke":
		o.err = r.Revoke(ctx)
		o.outputs = map[string]any{}
	case "webhook":
		reg := any(nil)
		if c.registration != nil {
			reg = plain(c.registration.Value())
		}
		hook := map[string]any{"url": hookURL, "secret": c.secret}
		switch {
		case c.request != nil:
			o = s.deliver(ctx, r, f, c, reg, hook, req, raw, now)
		case c.registration != nil:
			o.err = r.Deregister(ctx, f.Name, c.inputs, reg, hook)
			o.outputs = map[string]any{}
		default:
			var got any
			got, o.err = r.Register(ctx, f.Name, c.inputs, hook)
			o.outputs, o.what = plain(got), "registration"
		}
	default:
		out, err := r.Run(ctx, f.Name, c.inputs)
		o.err = err
		if err == nil {
			o.outputs = plain(map[string]any(out))
		}
	}
	return o
}

func plainList(l []any) []any {
	if l == nil {
		return []any{}
	}
	return plain(l).([]any)
}

// check compares an outcome with the case's expectations.
func (c *testCase) check(f *lang.Flow, o outcome, redact func(string) string) []Failure {
	var out []Failure
	errText := ""
	if o.err != nil {
		errText = redact(o.err.Error())
	}
	switch {
	case c.errWant != nil:
		want := str(c.errWant)
		how := "containing"
		if isRegex(want) {
			how = "matching"
		}
		if o.err == nil {
			fl := Failure{Pos: c.errWant.Pos, Summary: fmt.Sprintf("expected an error %s %q, but the flow succeeded", how, want)}
			if o.outputs != nil {
				fl.Detail = o.what + ": " + redact(compactJSON(o.outputs))
			} else if o.events != nil {
				fl.Detail = "events: " + redact(compactJSON(o.events))
			}
			out = append(out, fl)
		} else if ok, err := errMatches(want, errText); err != nil {
			out = append(out, Failure{Pos: c.errWant.Pos, Summary: err.Error()})
		} else if !ok {
			out = append(out, Failure{Pos: c.errWant.Pos, Summary: "the error does not match",
				Detail: fmt.Sprintf("want: an error %s %q\ngot:  %s", how, want, errText)})
		}
	case o.err != nil && errors.Is(o.err, errNoMock):
		// reported with the unmatched request
	case o.err != nil && !(o.response != nil && c.expectsFailure()):
		summary, detail, _ := strings.Cut(errText, "\n")
		out = append(out, Failure{Pos: c.pos(), Summary: "flow failed: " + summary, Detail: strings.ReplaceAll(detail, "\t", "")})
	}
	if o.err == nil {
		if c.outputs != nil && o.outputs != nil {
			out = append(out, compare(c.outputs, o.what, o.outputs, c.partial, redact)...)
		}
		if c.events != nil {
			out = append(out, compare(c.events, "events", o.events, c.partial, redact)...)
		}
		if c.expectCursor != nil {
			out = append(out, compare(c.expectCursor, "cursor", o.cursor, false, redact)...)
		}
	}
	if c.response != nil && o.response != nil {
		out = append(out, compareResponse(c.response, o.response, c.partial, redact)...)
	}
	return out
}

// compare checks one expected value, which may hold matchers; a difference
// is a failure with a diff.
func compare(want *lang.Node, what string, got any, partial bool, redact func(string) string) []Failure {
	w, f := decodeValue(want, true)
	if f != nil {
		return []Failure{*f}
	}
	if match(w, got, partial) {
		return nil
	}
	return []Failure{{Pos: want.Pos, Summary: what + " differ" + ifs(what == "cursor", "s", ""),
		Detail: redact(diff("expected", "actual", w, shown(w, got, partial)))}}
}

// dedupe drops the events whose dedupe key the case lists as seen, or
// that repeat a key of an earlier event of the run, as the trigger host
// does (trigger.Host.dedupe); request is a webhook delivery's, else nil.
func dedupe(r *run.Runner, f *lang.Flow, c *testCase, events []any, request map[string]any) ([]any, error) {
	if f.Dedupe == nil {
		return events, nil
	}
	seen := make(map[string]bool, len(c.seen)+len(events))
	for _, k := range c.seen {
		seen[k] = true
	}
	kept := make([]any, 0, len(events))
	for _, e := range events {
		var k string
		var err error
		if f.Type == "webhook" {
			k, err = r.EvalWebhookDedupe(f, e, c.inputs, request)
		} else {
			k, err = r.EvalDedupe(f, e, c.inputs)
		}
		if err != nil {
			return nil, fmt.Errorf("flow %q: dedupe: %w", f.Name, err)
		}
		if k != "" && seen[k] {
			continue
		}
		if k != "" {
			seen[k] = true
		}
		kept = append(kept, e)
	}
	return kept, nil
}

func ifs(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
}

// compareResponse checks a webhook response: status, headers (a subset,
// names in any case) and body.
func compareResponse(want *lang.Node, got map[string]any, partial bool, redact func(string) string) []Failure {
	wv, f := decodeValue(want, true)
	if f != nil {
		return []Failure{*f}
	}
	w, _ := wv.(map[string]any)
	ok := true
	shown := map[string]any{}
	if st, has := w["status"]; has {
		shown["status"] = got["status"]
		ok = ok && equal(st, got["status"])
	}
	if wh, has := w["headers"].(map[string]any); has {
		gh, _ := got["headers"].(map[string]any)
		sh := map[string]any{}
		for k, v := range wh {
			var gv any
			found := false
			for gk, x := range gh {
				if strings.EqualFold(gk, k) {
					gv, found = text(x), true
				}
			}
			if found {
				sh[k] = gv
			}
			ok = ok && found && text(v) == gv
		}
		shown["headers"] = sh
	}
	if wb, has := w["body"]; has {
		gb := got["body"]
		if s, isStr := gb.(string); isStr {
			if _, wantStr := wb.(string); !wantStr && s != "" {
				if v, err := value.DecodeJSON([]byte(s)); err == nil {
					gb = v
				}
			}
		}
		if partial {
			shown["body"] = project(wb, gb)
		} else {
			shown["body"] = gb
		}
		ok = ok && match(wb, gb, partial)
	}
	if ok {
		return nil
	}
	return []Failure{{Pos: want.Pos, Summary: "response differs", Detail: redact(diff("expected", "actual", w, shown))}}
}

func isRegex(s string) bool { return len(s) >= 2 && s[0] == '/' && s[len(s)-1] == '/' }

// errMatches checks an error text against an error: expectation, a
// substring or a /regex/.
func errMatches(want, got string) (bool, error) {
	if isRegex(want) {
		re, err := regexp.Compile(want[1 : len(want)-1])
		if err != nil {
			return false, fmt.Errorf("error: %s is not a valid regular expression: %v", want, err)
		}
		return re.MatchString(got), nil
	}
	return strings.Contains(got, want), nil
}

// traceLine is a step as -v shows it.
func traceLine(ev run.TraceEvent) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s%s %s (%s)", strings.Repeat("  ", ev.Depth), ev.Flow, ev.Step, ev.Kind)
	if ev.Method != "" {
		fmt.Fprintf(&b, " %s %s", ev.Method, ev.URL)
		if ev.Status != 0 {
			fmt.Fprintf(&b, " -> %d", ev.Status)
		}
	}
	if ev.Message != "" {
		fmt.Fprintf(&b, ": %s", ev.Message)
	}
	if ev.Error != "" {
		e, _, _ := strings.Cut(ev.Error, "\n")
		fmt.Fprintf(&b, " ERROR %s", e)
	}
	return b.String()
}
