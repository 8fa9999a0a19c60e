package run

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/value"
)

// HTTPError is a response whose status the step did not expect.
type HTTPError struct {
	Method     string
	URL        string
	Status     int
	Headers    map[string]any // lower-case names
	Body       any
	Note       string        // why it was not retried, when that is not obvious
	Code       string        // see statusCode
	RetryAfter time.Duration // what the response asked to wait; 0: nothing
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("%s %s: %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
	if e.Note != "" {
		msg += " (" + e.Note + ")"
	}
	if s := bodySnippet(e.Body); s != "" {
		msg += ": " + s
	}
	return msg
}

func bodySnippet(b any) string {
	if b == nil {
		return ""
	}
	s := value.Text(b)
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

var defaultClient = &http.Client{Transport: http.DefaultTransport}

func (r *Runner) client() *http.Client {
	if r.Client != nil {
		return r.Client
	}
	return defaultClient
}

// request is one evaluated HTTP request, ready to send (possibly several times).
type request struct {
	method  string
	url     *url.URL
	headers http.Header
	body    []byte
	// authHeaders are the headers the connection's authorisation set;
	// secretHeaders those whose value is built from a secret of the
	// connection. Neither goes to another origin than base_url's and the
	// allowed ones (a redirect, a next page elsewhere).
	authHeaders   []string
	secretHeaders []string
	oauth         *oauthSource // set when authorised with OAuth 2.0: a 401 refreshes once
	// trusted: the URL's origin may receive the connection's credentials
	trusted bool
	step    string       // the step's label, for messages
	hc      *http.Client // the client with this request's redirect policy
	ev      *TraceEvent  // the step's trace event: notes go to its Message
	// retry: the step's policy, handed to the transport in the request's
	// context when the Runner retries in its transport (RetryInTransport)
	retry *TransportRetry
}

// note adds a line to the trace event's message.
func (r *request) note(msg string) {
	if r.ev == nil {
		return
	}
	if r.ev.Message != "" {
		r.ev.Message += "; "
	}
	r.ev.Message += msg
}

func (fr *frame) execHTTP(s *lang.HTTPStep, ev *TraceEvent) (control, any, error) {
	req, note, err := fr.buildRequest(s)
	if err != nil {
		return ctlNext, nil, err
	}
	if ev != nil {
		ev.Method, ev.URL = req.method, redactURL(req.url)
		ev.Input = req.traceInput()
		req.ev = ev
		if note != "" {
			req.note(note)
		}
	}
	var res any
	ctl := ctlNext
	if s.Paginate == nil {
		res, err = fr.send(s, req, ev)
	} else {
		ctl, res, err = fr.paginate(s, req, ev)
	}
	if err != nil || ctl == ctlReturn {
		return ctl, nil, err
	}
	if ev != nil {
		ev.Output = traceOutput(res)
	}
	return ctlNext, res, nil
}

// traceOutput is a response as traces show it: headers that carry
// credentials (a session cookie) masked.
func traceOutput(res any) any {
	m, ok := res.(map[string]any)
	if !ok {
		return res
	}
	h, ok := m["headers"].(map[string]any)
	if !ok {
		return res
	}
	masked := make(map[string]any, len(h))
	for k, v := range h {
		if k == "set-cookie" || sensitiveHeader(k) {
			v = "***"
		}
		masked[k] = v
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	out["headers"] = masked
	return out
}

// traceInput describes a request for --trace-json, with credentials masked.
func (r *request) traceInput() map[string]any {
	h := make(map[string]any, len(r.headers))
	for k, vs := range r.headers {
		v := strings.Join(vs, ", ")
		if slices.Contains(r.authHeaders, k) || sensitiveHeader(k) {
			v = "***"
		}
		h[strings.ToLower(k)] = v
	}
	in := map[string]any{"method": r.method, "url": redactURL(r.url), "headers": h}
	if r.body != nil {
		if v, err := value.DecodeJSON(r.body); err == nil {
			in["body"] = v
		} else {
			in["body"] = string(r.body)
		}
	}
	return in
}

func sensitiveHeader(k string) bool {
	switch strings.ToLower(k) {
	case "authorization", "proxy-authorization", "cookie", "x-api-key", "api-key", "x-auth-token":
		return true
	}
	return false
}

func (fr *frame) baseURL() (string, error) {
	ru := fr.run
	ru.once.Do(func() {
		c := ru.r.Project.Connector
		if c.BaseURL == nil {
			return
		}
		// the frame's env holds connection and connector, all base_url sees
		v, err := fr.ev.eval(c.BaseURL)
		if err != nil {
			ru.baseErr = &codedError{code: lang.CodeConfig, msg: "base_url: " + err.Error(), cause: err}
			return
		}
		ru.baseURL = value.Text(v)
	})
	return ru.baseURL, ru.baseErr
}

// httpMethods are the methods an expression may give an http step.
var httpMethods = map[string]bool{"GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "HEAD": true, "OPTIONS": true}

// buildRequest evaluates a step's request. The note, for the trace, says
// when the request goes without the connection's credentials.
func (fr *frame) buildRequest(s *lang.HTTPStep) (*request, string, error) {
	req, err := fr.buildRequest1(s)
	if err != nil || req.trusted {
		return req, "", err
	}
	return req, fmt.Sprintf("sent without the connection's credentials: %s is not among the origins they go to (%s)", originText(req.url), fr.credOrigins()), nil
}

func (fr *frame) buildRequest1(s *lang.HTTPStep) (*request, error) {
	method := s.Method
	if s.MethodValue != nil {
		v, err := fr.ev.eval(s.MethodValue)
		if err != nil {
			return nil, err
		}
		method = strings.ToUpper(value.Text(v))
		if !httpMethods[method] {
			return nil, fmt.Errorf("http method %q is not one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS", value.Text(v))
		}
	}
	var raw string
	if s.URL != nil {
		v, err := fr.ev.eval(s.URL)
		if err != nil {
			return nil, err
		}
		raw = value.Text(v)
	} else {
		v, err := fr.ev.eval(s.Path)
		if err != nil {
			return nil, err
		}
		base, err := fr.baseURL()
		if err != nil {
			return nil, err
		}
		p := value.Text(v)
		if strings.Contains(p, "://") || strings.HasPrefix(p, "//") {
			// a path always stays under base_url: an absolute URL here would
			// carry the connection's credentials to another host
			return nil, fmt.Errorf("%s %s: path must be relative to base_url; use url: for an absolute URL", method, p)
		}
		if base == "" {
			return nil, &codedError{code: lang.CodeConfig, msg: fmt.Sprintf("%s %s: the connector has no base_url to join the path to (use url: for an absolute URL)", method, p)}
		}
		raw = joinURL(base, p)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s %q is not an absolute http(s) URL", method, raw)
	}
	req := &request{method: method, url: u, headers: make(http.Header, 4), trusted: true}
	var baseErr error
	if s.URL != nil {
		// url: may point anywhere; credentials go only to their origins
		req.trusted, baseErr = fr.credTrusted(u)
	}
	if len(s.Query) > 0 || s.QueryExpr != nil {
		q := u.Query()
		for _, nv := range s.Query {
			v, err := fr.ev.eval(nv.Value)
			if err != nil {
				return nil, err
			}
			q.Del(nv.Name)
			value.AddQuery(q, nv.Name, v)
		}
		if s.QueryExpr != nil {
			m, err := fr.evalObject(s.QueryExpr, "query")
			if err != nil {
				return nil, err
			}
			for k, v := range m {
				q.Del(k)
				value.AddQuery(q, k, v)
			}
		}
		u.RawQuery = value.EncodeQuery(q)
	}
	c := fr.run.r.Project.Connector
	for _, nv := range c.HTTP.Headers {
		if err := fr.setHeader(req, nv); err != nil {
			return nil, err
		}
	}
	for _, nv := range s.Headers {
		if err := fr.setHeader(req, nv); err != nil {
			return nil, err
		}
	}
	if s.HeadersExpr != nil {
		m, err := fr.evalObject(s.HeadersExpr, "headers")
		if err != nil {
			return nil, err
		}
		secret := fr.secretRef(s.HeadersExpr)
		for k, v := range m {
			if v == nil {
				req.headers.Del(k)
			} else {
				req.headers.Set(k, value.Text(v))
				if secret {
					req.secretHeaders = append(req.secretHeaders, http.CanonicalHeaderKey(k))
				}
			}
		}
	}
	switch {
	case s.HasJSON:
		v, err := fr.ev.eval(s.JSON)
		if err != nil {
			return nil, err
		}
		if s.OmitNulls {
			v = value.Compact(v)
		}
		if v != nil {
			b, err := value.MarshalJSON(v)
			if err != nil {
				return nil, fmt.Errorf("json body: %v", err)
			}
			req.body = b
			if req.headers.Get("Content-Type") == "" {
				req.headers.Set("Content-Type", "application/json")
			}
		}
	case s.Form != nil:
		v, err := fr.ev.eval(s.Form)
		if err != nil {
			return nil, err
		}
		m, ok := value.Normalize(v).(map[string]any)
		if !ok && v != nil {
			return nil, fmt.Errorf("form body: expected an object, got %s", value.TypeName(v))
		}
		q := url.Values{}
		for k, x := range m {
			value.AddForm(q, k, x)
		}
		req.body = []byte(value.EncodeQuery(q))
		if req.headers.Get("Content-Type") == "" {
			req.headers.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	case s.Body != nil:
		v, err := fr.ev.eval(s.Body)
		if err != nil {
			return nil, err
		}
		if v != nil {
			if str, ok := v.(string); ok {
				req.body = []byte(str)
			} else {
				b, err := value.MarshalJSON(v)
				if err != nil {
					return nil, err
				}
				req.body = b
				if req.headers.Get("Content-Type") == "" {
					req.headers.Set("Content-Type", "application/json")
				}
			}
		}
	}
	if err := fr.run.mem.Check(int64(len(req.body))); err != nil { // memory.go
		return nil, fmt.Errorf("request body: %w", err)
	}
	if !s.NoAuth {
		a := c.Auth
		if s.Auth != nil {
			a = s.Auth
		}
		switch {
		case req.trusted:
			if err := fr.authorize(a, req); err != nil {
				return nil, err
			}
		case a == nil || a.Type == "" || a.Type == "none":
		case baseErr != nil:
			return nil, baseErr
		case s.Auth != nil:
			return nil, fmt.Errorf("%s %s: its auth: settings would send credentials to %s, but they go only to %s; list the origin in the connector's http.allowed_origins, or use auth: false",
				method, redactURL(u), originText(u), fr.credOrigins())
		}
	}
	if !req.trusted {
		fr.stripCreds(req, req.headers, false)
		req.authHeaders, req.secretHeaders = nil, nil
		what := ""
		switch {
		case fr.secretRef(s.URL) || fr.holdsSecret(u.String()):
			what = "its URL"
		case fr.queryRefSecret(s):
			what = "its query"
		case fr.bodyRefSecret(s) || fr.holdsSecret(string(req.body)):
			what = "its body"
		}
		if what != "" {
			return nil, fmt.Errorf("%s %s: %s holds a secret of the connection, which goes only to %s", method, redactURL(u), what, fr.credOrigins())
		}
	}
	return req, nil
}

// queryRefSecret and bodyRefSecret report whether a step's query or body
// is built from a secret of the connection.
func (fr *frame) queryRefSecret(s *lang.HTTPStep) bool {
	for _, nv := range s.Query {
		if fr.secretRef(nv.Value) {
			return true
		}
	}
	return fr.secretRef(s.QueryExpr)
}

func (fr *frame) bodyRefSecret(s *lang.HTTPStep) bool {
	return fr.secretRef(s.JSON) || fr.secretRef(s.Form) || fr.secretRef(s.Body)
}

func (fr *frame) setHeader(req *request, nv lang.NamedValue) error {
	v, err := fr.ev.eval(nv.Value)
	if err != nil {
		return err
	}
	if v == nil {
		req.headers.Del(nv.Name)
		return nil
	}
	req.headers.Set(nv.Name, value.Text(v))
	if fr.secretRef(nv.Value) {
		req.secretHeaders = append(req.secretHeaders, http.CanonicalHeaderKey(nv.Name))
	}
	return nil
}

// joinURL appends a path to a base URL, keeping the base's path.
func joinURL(base, path string) string {
	if path == "" {
		return base
	}
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") {
		return path
	}
	return strings.TrimRight(base, "/") + "/" + strings.TrimLeft(path, "/")
}

// response is one attempt's answer, before its body is parsed.
type response struct {
	status int
	header http.Header
	data   []byte
}

// send performs a request with the step's retry policy, then applies expect.
// Every response goes through the on_response rules first (see
// applyRules); when none matches, a status in retry.on is retried even
// under expect: any, and expect judges the last response. With a rate
// limit, every attempt takes its slot of the connection's budget.
func (fr *frame) send(s *lang.HTTPStep, req *request, ev *TraceEvent) (map[string]any, error) {
	ru := fr.run
	c := ru.r.Project.Connector
	policy := c.HTTP.Retry
	if s.Retry != nil {
		policy = *s.Retry
	}
	attempts := max(policy.Attempts, 1)
	timeout := c.HTTP.Timeout
	if s.Timeout > 0 {
		timeout = s.Timeout
	}
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	rl := c.HTTP.RateLimit
	bud := ru.budget()
	// the longest wait a response may ask for: rate_limit.max_wait when the
	// connector paces itself, else retry.max_backoff
	maxWait, maxWaitName := policy.MaxBackoff, "retry.max_backoff"
	if rl != nil {
		maxWait, maxWaitName = rl.MaxWait, "rate_limit.max_wait"
	}
	hasRules := len(s.OnResponse) > 0 || len(c.HTTP.OnResponse) > 0
	if ru.r.RetryInTransport {
		// the transport applies the timeout and retries failed connections
		// and, for a step without rules, statuses in retry.on (a Temporal
		// activity's retry policy): then one round trip here is all the
		// attempts
		req.retry = &TransportRetry{Attempts: attempts, Backoff: policy.Backoff, MaxBackoff: policy.MaxBackoff, MaxWait: maxWait, Timeout: timeout}
		if !hasRules {
			req.retry.On = policy.On
			attempts = 1
		}
	}
	var (
		resp     response
		note     string
		reauthed bool
		body     any
		jsonErr  error
		parsed   bool
		accepted bool // a succeed rule matched
	)
	for attempt := 1; ; attempt++ {
		if ev != nil {
			ev.Attempts = attempt
		}
		if bud != nil {
			wait, err := bud.reserve(rl, ru.r.now())
			if err != nil {
				ce := err.(*codedError)
				ce.msg = fmt.Sprintf("%s %s: %s", req.method, redactURL(req.url), ce.msg)
				return nil, ce
			}
			if wait > 0 {
				if err := ru.r.sleep(fr.ctx, wait); err != nil {
					return nil, err
				}
			}
		}
		var err error
		resp, err = fr.roundTrip(req, timeout)
		if err == nil && resp.status == http.StatusUnauthorized && req.oauth != nil && !reauthed {
			// the token may have been revoked or expired early: refresh it once
			reauthed = true
			ok, rerr := fr.reauthorize(req)
			if rerr != nil {
				return nil, rerr
			}
			if ok {
				resp, err = fr.roundTrip(req, timeout)
			}
		}
		var wait time.Duration
		if err != nil {
			if errors.Is(err, ErrCanceled) || errors.Is(err, ErrLimit) {
				return nil, err
			}
			if attempt >= attempts || !retryableErr(err, req.method) {
				return nil, withCode(lang.CodeTransient, err)
			}
			wait = backoff(policy, attempt)
		} else {
			now := ru.r.now()
			if bud != nil {
				bud.observe(rl, resp.header, now)
			}
			parsed = false
			var out ruleOutcome
			if hasRules {
				body, jsonErr = parseBody(&resp)
				parsed = true
				if out, err = fr.applyRules(s, req, &resp, body, ev); err != nil {
					return nil, err
				}
			}
			switch out.action {
			case lang.RuleFail:
				if ev != nil {
					ev.Status = resp.status
				}
				return nil, out.err
			case lang.RuleSucceed:
				accepted = true
			case lang.RuleRetry:
				// the rule's after, else what the response asks for, else
				// the backoff
				wait = out.after
				if wait == 0 {
					wait = waitHint(resp.header, now)
				}
				asked := wait > 0
				if !asked {
					wait = backoff(policy, attempt)
				}
				why := ""
				switch {
				case attempt >= attempts:
					why = fmt.Sprintf("all %d attempts (retry.attempts) are used", attempts)
				case asked && maxWait > 0 && wait > maxWait:
					why = fmt.Sprintf("waiting %s is longer than %s %s", lang.FormatWait(wait), maxWaitName, maxWait)
				default:
					if dl, ok := fr.ctx.Deadline(); ok && time.Until(dl) < wait {
						why = fmt.Sprintf("waiting %s would pass the run's deadline", lang.FormatWait(wait))
					}
				}
				if why != "" {
					// the service asked to come back later (throttled), or
					// the rule simply wants another try (transient)
					code := lang.CodeTransient
					var retryAfter time.Duration
					if asked || resp.status == http.StatusTooManyRequests {
						code = lang.CodeThrottled
					}
					if asked {
						retryAfter = wait
					}
					if ev != nil {
						ev.Status = resp.status
					}
					return nil, &codedError{code: code, status: resp.status, headers: headerMap(resp.header), body: body, retryAfter: retryAfter,
						msg: fmt.Sprintf("%s %s: %d %s: the on_response rule at %s asked for a retry, but %s",
							req.method, redactURL(req.url), resp.status, http.StatusText(resp.status), fr.rulePos(out.rule), why)}
				}
			}
			if out.action != lang.RuleRetry {
				if accepted || attempt >= attempts || !slices.Contains(policy.On, resp.status) {
					break
				}
				wait = backoff(policy, attempt)
				if ra, hdr := waitHintFrom(resp.header, now); ra > 0 {
					if maxWait > 0 && ra > maxWait {
						note = fmt.Sprintf("not retried: %s asks to wait %s, longer than %s %s", hdr, lang.FormatWait(ra), maxWaitName, maxWait)
						break
					}
					wait = ra
				}
				if dl, ok := fr.ctx.Deadline(); ok && time.Until(dl) < wait {
					note = fmt.Sprintf("not retried: waiting %s would pass the run's deadline", wait.Round(time.Millisecond))
					break
				}
			}
		}
		if err := ru.r.sleep(fr.ctx, wait); err != nil {
			return nil, err
		}
	}
	if ev != nil {
		ev.Status = resp.status
	}
	expected := s.ExpectAll || accepted
	if !expected {
		if len(s.Expect) == 0 {
			expected = resp.status >= 200 && resp.status < 300
		} else {
			expected = slices.Contains(s.Expect, resp.status)
		}
	}
	if !parsed {
		body, jsonErr = parseBody(&resp)
	}
	if err := fr.run.mem.Check(fr.run.mem.size(body)); err != nil { // memory.go
		return nil, fmt.Errorf("%s %s: response body: %w", req.method, redactURL(req.url), err)
	}
	if jsonErr != nil && expected && resp.status >= 200 && resp.status < 300 {
		// JSON that does not parse is an error for a 2xx response the step
		// accepts; otherwise it stays text, so an error page cannot hide
		// the status
		return nil, fmt.Errorf("%s %s: %d response: %v", req.method, redactURL(req.url), resp.status, jsonErr)
	}
	if !expected {
		return nil, &HTTPError{Method: req.method, URL: redactURL(req.url), Status: resp.status, Headers: headerMap(resp.header), Body: body, Note: note,
			Code: statusCode(resp.status, resp.header), RetryAfter: waitHint(resp.header, ru.r.now())}
	}
	// build only what can be read: a step without id keeps no result, and
	// the headers go only where an expression (or a trace) may look at them
	if s.ID == "" && s.Paginate == nil && ev == nil {
		return nil, nil
	}
	var headers map[string]any
	if s.Paginate != nil || ev != nil || fr.flow.Reads.ReadsField(s.ID, "headers") {
		headers = headerMap(resp.header)
	}
	return lang.ResponseObject.Value(lang.HTTPResult{Status: resp.status, Headers: headers, Body: body}), nil
}

// parseBody returns a response body as flows see it: parsed JSON when the
// content type says JSON, else text; nil when empty. JSON that does not
// parse is returned as text, with the parse error.
func parseBody(resp *response) (any, error) {
	if len(resp.data) == 0 {
		return nil, nil
	}
	if isJSON(resp.header.Get("Content-Type")) {
		v, err := value.DecodeJSON(resp.data)
		if err == nil {
			return v, nil
		}
		return string(resp.data), fmt.Errorf("body is not valid JSON: %v", err)
	}
	return string(resp.data), nil
}

func backoff(p lang.Retry, attempt int) time.Duration {
	b := p.Backoff
	if b <= 0 {
		b = time.Second
	}
	d := b << (attempt - 1)
	if d <= 0 || (p.MaxBackoff > 0 && d > p.MaxBackoff) {
		d = p.MaxBackoff
		if d <= 0 {
			d = b
		}
	}
	// jitter in [d/2, d]
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// TransportRetry is an HTTP step's retry policy as a Runner with
// RetryInTransport hands it to its transport, in each request's context
// (TransportRetryOf): the transport makes up to Attempts attempts, retrying
// a status in On and a failed connection (RetryableError), waiting what the
// response asks for (WaitHint) when it is at most MaxWait (no bound when 0),
// else a backoff from Backoff doubling up to MaxBackoff; Timeout bounds one
// attempt.
type TransportRetry struct {
	Attempts            int
	On                  []int
	Backoff, MaxBackoff time.Duration
	MaxWait             time.Duration
	Timeout             time.Duration
}

// Delay is the wait after a failed attempt (1-based) whose response names
// none: Backoff doubling up to MaxBackoff, with the jitter the Runner's own
// retries have (a wait in [d/2, d]), so many workers retrying one service
// do not retry in step.
func (p *TransportRetry) Delay(attempt int) time.Duration {
	return backoff(lang.Retry{Backoff: p.Backoff, MaxBackoff: p.MaxBackoff}, max(attempt, 1))
}

type transportRetryKey struct{}

// TransportRetryOf returns the retry policy a request's step hands its
// transport; nil when the Runner retries itself. A step with on_response
// rules hands no statuses (On): the interpreter judges every response by
// the rules first and retries statuses itself.
func TransportRetryOf(ctx context.Context) *TransportRetry {
	p, _ := ctx.Value(transportRetryKey{}).(*TransportRetry)
	return p
}

// RetryableError reports whether a request that failed with err (no
// response) may be sent again, as the interpreter's own retries judge it.
func RetryableError(err error, method string) bool { return retryableErr(err, method) }

// WaitHint is how long a response's headers ask a client to wait before
// trying again (Retry-After, RateLimit-Reset, X-RateLimit-Reset), and the
// header's name; 0 when they do not say.
func WaitHint(h http.Header, now time.Time) (time.Duration, string) { return waitHintFrom(h, now) }

// retryableErr reports whether a failed attempt may be repeated: a
// connection that was never made (refused, DNS) for any method; a timeout or
// a connection dropped mid-way only for idempotent methods, since the server
// may have acted on it.
func retryableErr(err error, method string) bool {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return !dns.IsNotFound
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return true
	}
	switch method {
	case "GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE":
	default:
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}

// reqDeadline is a context that a timer cancels: the per-attempt timeout.
// Most attempts end before their timeout, so the context, its timer and the
// bookkeeping the transport adds to it are pooled and reused rather than
// built per request (as context.WithTimeout would).
type reqDeadline struct {
	ctx    context.Context
	cancel context.CancelFunc
	timer  *time.Timer
}

var deadlinePool sync.Pool

// startDeadline returns a deadline whose ctx is canceled after d or when
// parent is; call its finish with the returned stop once the attempt is over.
func startDeadline(parent context.Context, d time.Duration) (*reqDeadline, func() bool) {
	rd, _ := deadlinePool.Get().(*reqDeadline)
	if rd == nil {
		rd = &reqDeadline{}
		rd.ctx, rd.cancel = context.WithCancel(context.Background())
		rd.timer = time.AfterFunc(d, rd.cancel)
	} else {
		rd.timer.Reset(d)
	}
	if parent.Done() != nil {
		return rd, context.AfterFunc(parent, rd.cancel)
	}
	return rd, nil
}

// withValuesOf is a context (a pooled deadline) that carries the values of
// another (the frame's).
type withValuesOf struct {
	context.Context
	values context.Context
}

func (c withValuesOf) Value(key any) any { return c.values.Value(key) }

// finish stops the deadline and pools it if it never fired.
func (rd *reqDeadline) finish(stopParent func() bool) {
	timerStopped := rd.timer.Stop()
	parentStopped := stopParent == nil || stopParent()
	if timerStopped && parentStopped && rd.ctx.Err() == nil {
		deadlinePool.Put(rd)
		return
	}
	rd.cancel()
}

// roundTrip sends one attempt and reads the response.
func (fr *frame) roundTrip(r *request, timeout time.Duration) (response, error) {
	ru := fr.run
	var ctx context.Context
	if r.retry != nil {
		// the transport applies the timeout to each of its attempts
		ctx = context.WithValue(fr.ctx, transportRetryKey{}, r.retry)
	} else {
		rd, stopParent := startDeadline(fr.ctx, timeout)
		defer rd.finish(stopParent)
		ctx = rd.ctx
		if ru.r.Parallel != nil {
			// the host's transport finds its values (a workflow
			// coroutine's context) in the request's context
			ctx = withValuesOf{rd.ctx, fr.ctx}
		}
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	// an empty URL parses for free; the request gets the parsed one
	hreq, err := http.NewRequestWithContext(ctx, r.method, "", body)
	if err != nil {
		return response{}, err
	}
	hreq.URL, hreq.Host, hreq.Header = r.url, r.url.Host, r.headers
	if h := r.headers.Get("Host"); h != "" {
		hreq.Host = h
	}
	resp, err := fr.httpClient(r).Do(hreq)
	if err != nil {
		if fr.ctx.Err() != nil {
			return response{}, fmt.Errorf("%w: %s %s", cancelError(fr.ctx), r.method, redactURL(r.url))
		}
		if ctx.Err() != nil {
			return response{}, &timeoutError{fmt.Sprintf("%s %s: no response within %s", r.method, redactURL(r.url), timeout)}
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return response{}, fmt.Errorf("%s %s: %w", r.method, redactURL(r.url), err)
	}
	defer resp.Body.Close()
	limit := ru.limits.MaxResponseBody
	if resp.ContentLength > limit {
		return response{}, limitf("%s %s: response body of %s is over the %s limit", r.method, redactURL(r.url), value.Bytes(int(resp.ContentLength)), value.Bytes(int(limit)))
	}
	var data []byte
	if resp.ContentLength >= 0 {
		data = make([]byte, resp.ContentLength)
		_, err = io.ReadFull(resp.Body, data)
	} else {
		data, err = io.ReadAll(io.LimitReader(resp.Body, limit+1))
	}
	if err != nil {
		if fr.ctx.Err() != nil {
			return response{}, fmt.Errorf("%w: %s %s", cancelError(fr.ctx), r.method, redactURL(r.url))
		}
		if ctx.Err() != nil {
			return response{}, &timeoutError{fmt.Sprintf("%s %s: response not read within %s", r.method, redactURL(r.url), timeout)}
		}
		return response{}, fmt.Errorf("%s %s: reading response: %w", r.method, redactURL(r.url), err)
	}
	if int64(len(data)) > limit {
		return response{}, limitf("%s %s: response body is over the %s limit", r.method, redactURL(r.url), value.Bytes(int(limit)))
	}
	return response{status: resp.StatusCode, header: resp.Header, data: data}, nil
}

// httpClient is the Runner's client with a redirect policy that keeps the
// request's credentials with their origins.
func (fr *frame) httpClient(r *request) *http.Client {
	if r.hc != nil {
		return r.hc
	}
	base := fr.run.r.client()
	c := *base
	prev := base.CheckRedirect
	c.CheckRedirect = func(hr *http.Request, via []*http.Request) error {
		if prev == nil && len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		if err := fr.checkRedirect(r, hr, via); err != nil {
			return err
		}
		if prev != nil {
			return prev(hr, via)
		}
		return nil
	}
	r.hc = &c
	return r.hc
}

// checkRedirect applies the origin rule to a redirect: to base_url's origin
// or an allowed one it is followed as is; elsewhere (or once a redirect left
// them) it is followed without credentials for GET and HEAD, and refused
// for other methods, requests with a body and URLs holding a secret.
func (fr *frame) checkRedirect(r *request, hr *http.Request, via []*http.Request) error {
	if !r.trusted {
		return nil // sent without credentials from the start
	}
	left := false
	for _, v := range via[1:] {
		if ok, _ := fr.credTrusted(v.URL); !ok {
			left = true
			break
		}
	}
	if !left {
		if ok, _ := fr.credTrusted(hr.URL); ok {
			return nil
		}
	}
	status := 0
	if hr.Response != nil {
		status = hr.Response.StatusCode
	}
	from, to := originText(via[len(via)-1].URL), originText(hr.URL)
	if (hr.Method != "GET" && hr.Method != "HEAD") || hr.ContentLength > 0 {
		r.note(fmt.Sprintf("redirect %d from %s to %s refused", status, from, to))
		return fmt.Errorf("refused to follow a %d redirect from %s to %s: the %s request carries the connection's credentials, which go only to %s; a redirect to another origin is followed only for GET and HEAD (without credentials)",
			status, from, to, hr.Method, fr.credOrigins())
	}
	if fr.holdsSecret(hr.URL.String()) {
		// the service kept a query built from a secret in its Location
		r.note(fmt.Sprintf("redirect %d from %s to %s refused", status, from, to))
		return fmt.Errorf("refused to follow a %d redirect from %s to %s: its URL holds a secret of the connection, which goes only to %s",
			status, from, to, fr.credOrigins())
	}
	fr.stripCreds(r, hr.Header, true)
	r.note(fmt.Sprintf("redirect %d from %s to %s followed without credentials", status, from, to))
	return nil
}

// headerMap is a response's headers as flows see them: lower-case names,
// several values joined with ", ".
func headerMap(h http.Header) map[string]any {
	m := make(map[string]any, len(h))
	for k, vs := range h {
		v := vs[0]
		if len(vs) > 1 {
			v = strings.Join(vs, ", ")
		}
		m[lowerHeader(k)] = v
	}
	return m
}

// commonHeaders maps the canonical form of frequent response headers to
// lower case without allocating.
var commonHeaders = func() map[string]string {
	m := map[string]string{}
	for _, h := range []string{"Content-Type", "Content-Length", "Date", "Link", "Retry-After", "Server", "Etag",
		"Cache-Control", "Connection", "Vary", "Location", "Set-Cookie", "X-Ratelimit-Limit", "X-Ratelimit-Remaining",
		"X-Ratelimit-Reset", "X-Request-Id", "Content-Encoding", "Transfer-Encoding", "Expires", "Last-Modified", "Strict-Transport-Security"} {
		m[h] = strings.ToLower(h)
	}
	return m
}()

func lowerHeader(k string) string {
	if l, ok := commonHeaders[k]; ok {
		return l
	}
	return strings.ToLower(k)
}

type timeoutError struct{ msg string }

func (e *timeoutError) Error() string   { return e.msg }
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return true }

var _ net.Error = (*timeoutError)(nil)

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func isJSON(ct string) bool {
	if ct == "" {
		return false
	}
	if strings.HasPrefix(ct, "application/json") && (len(ct) == 16 || ct[16] == ';') {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if n, err := strconv.ParseInt(h, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > 1<<31 {
			n = 1 << 31
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// redactURL hides userinfo and the values of query parameters that look like
// credentials.
func redactURL(u *url.URL) string {
	if u.User == nil && u.RawQuery == "" {
		return u.String()
	}
	c := *u
	c.User = nil
	q := c.Query()
	changed := false
	for k := range q {
		lk := strings.ToLower(k)
		if strings.Contains(lk, "token") || strings.Contains(lk, "key") || strings.Contains(lk, "secret") || strings.Contains(lk, "password") || lk == "sig" || lk == "signature" {
			q.Set(k, "***")
			changed = true
		}
	}
	if changed {
		c.RawQuery = value.EncodeQuery(q)
	}
	return c.String()
}

// paginate follows next links or next queries, collecting the items of
// every page; or, with each_page, runs those steps on each page as it
// arrives and keeps only what collect gives, so that what a run holds does
// not grow with the number of pages. It returns ctlReturn when a return in
// each_page ended the flow.
func (fr *frame) paginate(s *lang.HTTPStep, first *request, ev *TraceEvent) (control, any, error) {
	p := s.Paginate
	var items []any
	req := first
	pages := 0
	env := fr.ev.env
	old, had := env["response"]
	defer restore(env, "response", old, had)
	if p.Streams() {
		oldPage, hadPage := env["page"]
		defer restore(env, "page", oldPage, hadPage)
	}
	seen := pagesSeen{}
	seen.add(first.url.String())
	var col collected
	defer col.release(fr.run)
	maxPages := p.MaxPages
	if p.MaxPagesV != nil {
		v, err := fr.ev.eval(p.MaxPagesV)
		if err != nil {
			return ctlNext, nil, err
		}
		if v != nil {
			n, ok := toInt(value.Normalize(v))
			if !ok || n < 1 {
				return ctlNext, nil, fmt.Errorf("paginate: max_pages must be a whole number of pages, at least 1; got %s", value.Text(v))
			}
			maxPages = n
		}
	}
	for {
		resp, err := fr.send(s, req, ev)
		if err != nil {
			return ctlNext, nil, err
		}
		pages++
		if ev != nil {
			ev.Pages = pages
		}
		env["response"] = resp
		v, err := fr.ev.eval(p.Items)
		if err != nil {
			return ctlNext, nil, err
		}
		page, ok := toList(v)
		if !ok {
			return ctlNext, nil, fmt.Errorf("paginate: items must be a list, got %s", value.TypeName(v))
		}
		if p.Streams() {
			ctl, keep, err := fr.eachPage(p, page, pages)
			if err != nil || ctl == ctlReturn {
				return ctl, nil, err
			}
			page = keep
			env["response"] = resp // a step of each_page may have set its own
		}
		if err := col.add(fr.run, fr.run.mem.size(page)); err != nil { // memory.go
			return ctlNext, nil, fmt.Errorf("paginate: %w", err)
		}
		items = append(items, page...)
		if len(items) > fr.run.limits.MaxLoopItems {
			return ctlNext, nil, limitf("paginate: more than %d items (limit)", fr.run.limits.MaxLoopItems)
		}
		if maxPages > 0 && pages >= maxPages {
			break
		}
		next := &request{method: req.method, headers: req.headers, body: req.body, authHeaders: req.authHeaders,
			secretHeaders: req.secretHeaders, oauth: req.oauth, trusted: req.trusted, ev: req.ev}
		if p.Next != nil {
			nv, err := fr.ev.eval(p.Next)
			if err != nil {
				return ctlNext, nil, err
			}
			ns := strings.TrimSpace(value.Text(nv))
			if ns == "" {
				break
			}
			u, err := req.url.Parse(ns)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
				return ctlNext, nil, fmt.Errorf("paginate: next %q is not an http(s) URL", ns)
			}
			next.url = u
		} else {
			q := req.url.Query()
			more := false
			for _, nq := range p.NextQuery {
				x, err := fr.ev.eval(nq.Value)
				if err != nil {
					return ctlNext, nil, err
				}
				q.Del(nq.Name)
				if x == nil || x == "" || x == false {
					continue
				}
				more = true
				value.AddQuery(q, nq.Name, x)
			}
			if !more {
				break
			}
			u := *req.url
			u.RawQuery = value.EncodeQuery(q)
			next.url = &u
		}
		// once a page left the credentials' origins, the next links come
		// from elsewhere: no later page gets credentials
		if req.trusted {
			if ok, _ := fr.credTrusted(next.url); ok {
				next.headers, next.authHeaders, next.secretHeaders, next.oauth = first.headers, first.authHeaders, first.secretHeaders, first.oauth
			} else {
				// credentials are for their origins, not for wherever a
				// next link points
				if fr.holdsSecret(next.url.String()) || (len(next.body) > 0 && (fr.bodyRefSecret(s) || fr.holdsSecret(string(next.body)))) {
					return ctlNext, nil, fmt.Errorf("paginate: next page %s is on another origin and its request holds a secret of the connection, which goes only to %s", redactURL(next.url), fr.credOrigins())
				}
				next.headers = first.headers.Clone()
				fr.stripCreds(first, next.headers, false)
				next.authHeaders, next.secretHeaders, next.oauth, next.trusted = nil, nil, nil, false
				next.note(fmt.Sprintf("next page on %s sent without the connection's credentials", originText(next.url)))
			}
		}
		key := next.url.String()
		if !seen.add(key) {
			return ctlNext, nil, fmt.Errorf("paginate: next page %s was already fetched (the service repeats its cursor)", redactURL(next.url))
		}
		req = next
	}
	if items == nil {
		items = []any{}
	}
	return ctlNext, lang.PagesObject.Value(lang.PagedResult{Items: items, Pages: pages}), nil
}

// pagesSeen is the set of page URLs a paginate fetched, kept to refuse a
// service that repeats its cursor. It holds a 128-bit hash of each URL
// rather than the URL, so that a long each_page export holds ~40 bytes a
// page, not the URLs themselves; two different URLs share a hash with a
// probability of about 2^-128.
type pagesSeen map[[2]uint64]struct{}

var pageSeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

// add adds url and reports whether it was new.
func (s pagesSeen) add(url string) bool {
	k := [2]uint64{maphash.String(pageSeeds[0], url), maphash.String(pageSeeds[1], url)}
	if _, ok := s[k]; ok {
		return false
	}
	s[k] = struct{}{}
	return true
}

// eachPage runs the each_page steps on one page (number n) and returns the
// items of it to keep: what collect gives, or none.
func (fr *frame) eachPage(p *lang.Paginate, items []any, n int) (control, []any, error) {
	fr.ev.env["page"] = lang.PageObject.Value(lang.PageInfo{Items: items, Number: n})
	ctl, err := fr.execBlock(p.EachPage)
	if err != nil || ctl == ctlReturn || ctl == ctlContinue || p.Collect == nil {
		// continue_if: the rest of this page is skipped, collect included
		return ctl, nil, err
	}
	v, err := fr.ev.eval(p.Collect)
	if err != nil {
		return ctlNext, nil, err
	}
	keep, ok := toList(v)
	if !ok {
		return ctlNext, nil, fmt.Errorf("paginate: collect must give a list (the items of this page to keep), got %s", value.TypeName(v))
	}
	return ctlNext, keep, nil
}

// evalObject evaluates a value that must give an object (or null: empty).
func (fr *frame) evalObject(v *lang.Value, what string) (map[string]any, error) {
	x, err := fr.ev.eval(v)
	if err != nil {
		return nil, err
	}
	switch m := value.Normalize(x).(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return m, nil
	}
	return nil, fmt.Errorf("%s: expected an object, got %s", what, value.TypeName(x))
}
