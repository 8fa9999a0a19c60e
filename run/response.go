package run

import (
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/value"
)

// What happens to a response: on_response rules (SPEC §8.1), the waits a
// response asks for (§8.2) and the code of a status that fails (§8.3).

// ruleOutcome is what the first matching rule decided.
type ruleOutcome struct {
	action lang.RuleAction // 0: no rule matched
	rule   *lang.ResponseRule
	err    error         // fail: the error to raise
	after  time.Duration // retry: the wait the rule gave; 0: the usual wait
}

// applyRules tries the step's on_response rules, then the connector's, on
// one response; the first whose `when` holds decides. A `when` that cannot
// be evaluated for this response does not match, and the trace says so.
// The connector's fail and succeed rules skip a status that the step's
// expect names (or expect: any): the step handles that status itself.
func (fr *frame) applyRules(s *lang.HTTPStep, req *request, resp *response, body any, ev *TraceEvent) (ruleOutcome, error) {
	env := fr.ev.env
	old, had := env["response"]
	env["response"] = lang.ResponseObject.Value(lang.HTTPResult{Status: resp.status, Headers: headerMap(resp.header), Body: body})
	defer restore(env, "response", old, had)
	// a step that names the status in expect (or says expect: any) takes
	// it itself: the connector's fail and succeed rules do not overrule it,
	// while its retry rules still apply, as retry.on does
	named := s.ExpectAll || slices.Contains(s.Expect, resp.status)
	for i, list := range [2][]*lang.ResponseRule{s.OnResponse, fr.run.r.Project.Connector.HTTP.OnResponse} {
		for _, r := range list {
			if i == 1 && named && r.Action != lang.RuleRetry {
				continue
			}
			ok, err := fr.ruleHolds(r)
			if err != nil {
				if uncatchable(err) {
					return ruleOutcome{}, err
				}
				if ev != nil {
					note(ev, fmt.Sprintf("on_response rule at %s does not match: its when could not be evaluated for this %d response: %v", fr.rulePos(r), resp.status, err))
				}
				continue
			}
			if !ok {
				continue
			}
			out := ruleOutcome{action: r.Action, rule: r}
			switch r.Action {
			case lang.RuleFail:
				out.err, err = fr.ruleError(r, req, resp, body)
			case lang.RuleRetry:
				out.after, err = fr.ruleAfter(r)
			}
			if err != nil {
				return ruleOutcome{}, err
			}
			if ev != nil {
				note(ev, fmt.Sprintf("on_response rule at %s: %s", fr.rulePos(r), r.Action))
			}
			return out, nil
		}
	}
	return ruleOutcome{}, nil
}

// rulePos names where a rule is, relative to the project's directory, so
// that messages do not depend on where flowrun was started.
func (fr *frame) rulePos(r *lang.ResponseRule) string {
	p := r.Pos
	if dir := fr.run.r.Project.Dir; dir != "" {
		if rel, err := filepath.Rel(dir, p.File); err == nil && !strings.HasPrefix(rel, "..") {
			p.File = filepath.ToSlash(rel)
		}
	}
	return p.String()
}

// note adds a line to a trace event's message.
func note(ev *TraceEvent, msg string) {
	if ev.Message != "" {
		ev.Message += "; "
	}
	ev.Message += msg
}

func (fr *frame) ruleHolds(r *lang.ResponseRule) (bool, error) {
	x, err := fr.ev.eval(r.When)
	if err != nil {
		return false, err
	}
	switch t := x.(type) {
	case bool:
		return t, nil
	case nil:
		return false, nil
	}
	return false, fmt.Errorf("when gave %s, not true or false", value.TypeName(x))
}

// ruleError is the error a fail rule raises: its message, code and details,
// with the response's status, headers and body. Without a code of its own
// the error has the code of its status (http_error; auth_expired for 401
// and 403, throttled for 429, transient for 5xx), so a rule that only words
// the message better does not hide an expired token from the trigger host.
func (fr *frame) ruleError(r *lang.ResponseRule, req *request, resp *response, body any) (error, error) {
	msg, err := fr.ev.eval(r.Message)
	if err != nil {
		return nil, err
	}
	def := statusCode(resp.status, resp.header)
	var e *codedError
	if m, ok := msg.(map[string]any); ok && r.Code == nil && r.Details == nil {
		e = errorFromObject(m, def)
	} else {
		e = &codedError{code: def, msg: value.Text(msg)}
	}
	if e.msg == "" {
		e.msg = fmt.Sprintf("%s %s: %d %s", req.method, redactURL(req.url), resp.status, http.StatusText(resp.status))
	}
	if r.Code != nil {
		c, err := fr.ev.eval(r.Code)
		if err != nil {
			return nil, err
		}
		if t := value.Text(c); t != "" {
			e.code = t
		}
	}
	if r.Details != nil {
		d, err := fr.ev.eval(r.Details)
		if err != nil {
			return nil, err
		}
		e.details = value.Normalize(d)
	}
	e.status, e.headers, e.body = resp.status, headerMap(resp.header), body
	if e.retryAfter == 0 {
		e.retryAfter = waitHint(resp.header, fr.run.r.now())
	}
	return e, nil
}

// ruleAfter evaluates a retry rule's after: a duration, or a number of
// seconds; null or empty means the usual wait.
func (fr *frame) ruleAfter(r *lang.ResponseRule) (time.Duration, error) {
	if r.After == nil {
		return 0, nil
	}
	x, err := fr.ev.eval(r.After)
	if err != nil {
		return 0, err
	}
	return parseAfter(x)
}

func parseAfter(x any) (time.Duration, error) {
	switch t := x.(type) {
	case nil:
		return 0, nil
	case string:
		t = strings.TrimSpace(t)
		if t == "" {
			return 0, nil
		}
		if n, err := strconv.ParseFloat(t, 64); err == nil {
			return seconds(n)
		}
		d, err := time.ParseDuration(t)
		if err != nil || d < 0 {
			return 0, fmt.Errorf("on_response retry.after: %q is not a duration or a number of seconds", t)
		}
		return d, nil
	case int:
		return seconds(float64(t))
	case int64:
		return seconds(float64(t))
	case float64:
		return seconds(t)
	case time.Duration:
		return max(t, 0), nil
	}
	return 0, fmt.Errorf("on_response retry.after: expected a duration or a number of seconds, got %s", value.TypeName(x))
}

func seconds(n float64) (time.Duration, error) {
	if n < 0 || math.IsNaN(n) {
		return 0, fmt.Errorf("on_response retry.after: %v is not a number of seconds", n)
	}
	if n > 1<<31 {
		n = 1 << 31
	}
	return time.Duration(n * float64(time.Second)), nil
}

// waitHint is how long a response asks a client to wait before trying
// again: Retry-After (seconds or an HTTP date), else RateLimit-Reset
// (seconds), else X-RateLimit-Reset or X-Rate-Limit-Reset (Unix seconds
// when the number is above 10^9, else seconds from now). 0: it does not say.
func waitHint(h http.Header, now time.Time) time.Duration {
	d, _ := waitHintFrom(h, now)
	return d
}

// waitHintFrom is waitHint with the name of the header that said it.
func waitHintFrom(h http.Header, now time.Time) (time.Duration, string) {
	if len(h) == 0 {
		return 0, ""
	}
	if d := retryAfter(h.Get("Retry-After"), now); d > 0 {
		return d, "Retry-After"
	}
	if d := secondsHeader(h.Get("Ratelimit-Reset")); d > 0 {
		return d, "RateLimit-Reset"
	}
	for _, k := range []string{"X-RateLimit-Reset", "X-Rate-Limit-Reset"} {
		if d := resetIn(h.Get(k), now); d > 0 {
			return d, k
		}
	}
	return 0, ""
}

// secondsHeader reads a number of seconds.
func secondsHeader(v string) time.Duration {
	n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || n <= 0 || math.IsNaN(n) {
		return 0
	}
	d, _ := seconds(n)
	return d
}

// resetIn reads a reset header: Unix seconds when the number is above
// 10^9, else seconds from now; an HTTP date also works.
func resetIn(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil {
		if t, err := http.ParseTime(v); err == nil && t.After(now) {
			return t.Sub(now)
		}
		return 0
	}
	if n > 1e9 {
		sec, frac := math.Modf(n)
		t := time.Unix(int64(sec), int64(frac*1e9))
		if !t.After(now) {
			return 0
		}
		return t.Sub(now)
	}
	return secondsHeader(v)
}

// statusCode is the code of an error for a status the step did not
// accept: 429, or 403 with rate-limit signs (GitHub's primary rate limit),
// is throttled; 401 and 403 are auth_expired (the token was refreshed
// already, or cannot be); 408 and 5xx are transient; the rest http_error.
func statusCode(status int, h http.Header) string {
	switch {
	case status == http.StatusTooManyRequests:
		return lang.CodeThrottled
	case status == http.StatusForbidden && rateLimited(h):
		return lang.CodeThrottled
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return lang.CodeAuthExpired
	case status == http.StatusRequestTimeout || status >= 500:
		return lang.CodeTransient
	}
	return lang.CodeHTTPError
}

// rateLimited reports a response that says the rate limit is used up: a
// Retry-After, or a remaining count of 0.
func rateLimited(h http.Header) bool {
	if h.Get("Retry-After") != "" {
		return true
	}
	for _, k := range []string{"X-Ratelimit-Remaining", "X-Rate-Limit-Remaining", "Ratelimit-Remaining"} {
		if v := strings.TrimSpace(h.Get(k)); v == "0" {
			return true
		}
	}
	return false
}
