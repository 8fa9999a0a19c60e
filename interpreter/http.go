package interpreter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// HTTPError is a response whose status the step did not expect.
type HTTPError struct {
	Method string
	URL    string
	Status int
	Body   any
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("%s %s: %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
	if s := bodySnippet(e.Body); s != "" {
		msg += ": " + s
	}
	return msg
}

func bodySnippet(b any) string {
	if b == nil {
		return ""
	}
	s := toText(b)
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
}

func (fr *frame) execHTTP(s *HTTPStep, ev *TraceEvent) (any, error) {
	req, err := fr.buildRequest(s)
	if err != nil {
		return nil, err
	}
	if s.Paginate == nil {
		resp, err := fr.send(s, req, ev)
		if err != nil {
			return nil, err
		}
		return resp, nil
	}
	return fr.paginate(s, req, ev)
}

func (fr *frame) baseURL() (string, error) {
	ru := fr.run
	ru.once.Do(func() {
		c := ru.r.Project.Connector
		if c.BaseURL == nil {
			return
		}
		ev := evaluator{env: map[string]any{"connection": ru.conn, "connector": ru.conEnv}}
		v, err := ev.eval(c.BaseURL)
		if err != nil {
			ru.baseErr = fmt.Errorf("base_url: %w", err)
			return
		}
		ru.baseURL = toText(v)
	})
	return ru.baseURL, ru.baseErr
}

func (fr *frame) buildRequest(s *HTTPStep) (*request, error) {
	var raw string
	if s.URL != nil {
		v, err := fr.ev.eval(s.URL)
		if err != nil {
			return nil, err
		}
		raw = toText(v)
	} else {
		v, err := fr.ev.eval(s.Path)
		if err != nil {
			return nil, err
		}
		base, err := fr.baseURL()
		if err != nil {
			return nil, err
		}
		raw = joinURL(base, toText(v))
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s %q is not an absolute http(s) URL", s.Method, raw)
	}
	req := &request{method: s.Method, url: u, headers: http.Header{}}
	if len(s.Query) > 0 {
		q := u.Query()
		for _, nv := range s.Query {
			v, err := fr.ev.eval(nv.Value)
			if err != nil {
				return nil, err
			}
			addQuery(q, nv.Name, v)
		}
		u.RawQuery = encodeQuery(q)
	}
	c := fr.run.r.Project.Connector
	for _, nv := range c.HTTP.Headers {
		if err := fr.setHeader(req.headers, nv); err != nil {
			return nil, err
		}
	}
	for _, nv := range s.Headers {
		if err := fr.setHeader(req.headers, nv); err != nil {
			return nil, err
		}
	}
	switch {
	case s.HasJSON:
		v, err := fr.ev.eval(s.JSON)
		if err != nil {
			return nil, err
		}
		if v != nil {
			b, err := marshalJSON(v)
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
		m, ok := normalize(v).(map[string]any)
		if !ok && v != nil {
			return nil, fmt.Errorf("form body: expected an object, got %s", typeName(v))
		}
		q := url.Values{}
		for k, x := range m {
			addFormValue(q, k, x)
		}
		req.body = []byte(encodeQuery(q))
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
				b, err := marshalJSON(v)
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
	if !s.NoAuth {
		a := c.Auth
		if s.Auth != nil {
			a = s.Auth
		}
		if err := fr.authorize(a, req); err != nil {
			return nil, err
		}
	}
	return req, nil
}

func (fr *frame) setHeader(h http.Header, nv NamedValue) error {
	v, err := fr.ev.eval(nv.Value)
	if err != nil {
		return err
	}
	if v == nil {
		h.Del(nv.Name)
		return nil
	}
	h.Set(nv.Name, toText(v))
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

func addQuery(q url.Values, k string, v any) {
	switch t := normalize(v).(type) {
	case nil:
	case []any:
		for _, x := range t {
			if x != nil {
				q.Add(k, toText(x))
			}
		}
	default:
		q.Set(k, toText(t))
	}
}

func addFormValue(q url.Values, k string, v any) {
	switch t := v.(type) {
	case nil:
	case []any:
		for i, x := range t {
			addFormValue(q, fmt.Sprintf("%s[%d]", k, i), x)
		}
	case map[string]any:
		for sk, x := range t {
			addFormValue(q, k+"["+sk+"]", x)
		}
	default:
		q.Add(k, toText(t))
	}
}

// encodeQuery encodes with keys sorted and spaces as %20.
func encodeQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, v := range q[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(strings.ReplaceAll(url.QueryEscape(k), "+", "%20"))
			b.WriteByte('=')
			b.WriteString(strings.ReplaceAll(url.QueryEscape(v), "+", "%20"))
		}
	}
	return b.String()
}

// send performs a request with the step's retry policy and expectations.
func (fr *frame) send(s *HTTPStep, req *request, ev *TraceEvent) (map[string]any, error) {
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
	if ev != nil {
		ev.Method, ev.URL = req.method, redactURL(req.url)
	}
	var (
		status  int
		headers map[string]any
		body    any
		lastErr error
	)
	for attempt := 1; attempt <= attempts; attempt++ {
		if ev != nil {
			ev.Attempts = attempt
		}
		var retryAfter time.Duration
		status, headers, body, retryAfter, lastErr = fr.roundTrip(req, timeout)
		if lastErr != nil {
			if errors.Is(lastErr, ErrCanceled) || !retryableErr(lastErr) || attempt == attempts {
				break
			}
		} else if !slices.Contains(policy.On, status) || attempt == attempts {
			break
		}
		wait := backoff(policy, attempt)
		if retryAfter > 0 {
			wait = min(retryAfter, 5*time.Minute)
		}
		if err := ru.r.sleep(ru.ctx, wait); err != nil {
			return nil, err
		}
	}
	if ev != nil {
		ev.Status = status
	}
	if lastErr != nil {
		return nil, lastErr
	}
	resp := map[string]any{"status": status, "headers": headers, "body": body}
	if !s.ExpectAll {
		ok := false
		if len(s.Expect) == 0 {
			ok = status >= 200 && status < 300
		} else {
			ok = slices.Contains(s.Expect, status)
		}
		if !ok {
			return nil, &HTTPError{Method: req.method, URL: redactURL(req.url), Status: status, Body: body}
		}
	}
	return resp, nil
}

func backoff(p Retry, attempt int) time.Duration {
	b := p.Backoff
	if b <= 0 {
		b = time.Second
	}
	d := b << (attempt - 1)
	if d <= 0 || (p.MaxBackoff > 0 && d > p.MaxBackoff) {
		d = p.MaxBackoff
	}
	// full jitter in [d/2, d]
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

func retryableErr(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// roundTrip sends one attempt and reads the response.
func (fr *frame) roundTrip(r *request, timeout time.Duration) (int, map[string]any, any, time.Duration, error) {
	ru := fr.run
	ctx, cancel := context.WithTimeout(ru.ctx, timeout)
	defer cancel()
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	hreq, err := http.NewRequestWithContext(ctx, r.method, r.url.String(), body)
	if err != nil {
		return 0, nil, nil, 0, err
	}
	hreq.Header = r.headers.Clone()
	resp, err := ru.r.client().Do(hreq)
	if err != nil {
		if ru.ctx.Err() != nil {
			return 0, nil, nil, 0, fmt.Errorf("%w: %s %s", ErrCanceled, r.method, redactURL(r.url))
		}
		if ctx.Err() != nil {
			return 0, nil, nil, 0, &timeoutError{fmt.Sprintf("%s %s: no response within %s", r.method, redactURL(r.url), timeout)}
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, nil, nil, 0, fmt.Errorf("%s %s: %w", r.method, redactURL(r.url), err)
	}
	defer resp.Body.Close()
	limit := ru.limits.MaxResponseBody
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, nil, 0, &timeoutError{fmt.Sprintf("%s %s: response not read within %s", r.method, redactURL(r.url), timeout)}
		}
		return 0, nil, nil, 0, fmt.Errorf("%s %s: reading response: %w", r.method, redactURL(r.url), err)
	}
	if int64(len(data)) > limit {
		return 0, nil, nil, 0, fmt.Errorf("%s %s: response body is over the %s limit", r.method, redactURL(r.url), humanBytes(int(limit)))
	}
	headers := make(map[string]any, len(resp.Header))
	for k, vs := range resp.Header {
		headers[strings.ToLower(k)] = strings.Join(vs, ", ")
	}
	var b any
	if len(data) > 0 {
		b = string(data)
		if isJSON(resp.Header.Get("Content-Type")) {
			v, err := DecodeJSON(data)
			if err != nil {
				return 0, nil, nil, 0, fmt.Errorf("%s %s: %d response is not valid JSON: %v", r.method, redactURL(r.url), resp.StatusCode, err)
			}
			b = v
		}
	}
	return resp.StatusCode, headers, b, retryAfter(resp.Header.Get("Retry-After"), fr.run.r.now()), nil
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
	if n, err := strconv.Atoi(h); err == nil {
		if n < 0 {
			return 0
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
		c.RawQuery = encodeQuery(q)
	}
	return c.String()
}

// paginate follows next links or next queries, collecting the items of every page.
func (fr *frame) paginate(s *HTTPStep, first *request, ev *TraceEvent) (any, error) {
	p := s.Paginate
	var items []any
	req := first
	pages := 0
	env := fr.ev.env
	old, had := env["response"]
	defer restore(env, "response", old, had)
	seen := map[string]bool{}
	for {
		resp, err := fr.send(s, req, ev)
		if err != nil {
			return nil, err
		}
		pages++
		env["response"] = resp
		v, err := fr.ev.eval(p.Items)
		if err != nil {
			return nil, err
		}
		page, ok := toList(v)
		if !ok {
			return nil, fmt.Errorf("paginate: items must be a list, got %s", typeName(v))
		}
		items = append(items, page...)
		if pages >= p.MaxPages || len(items) > fr.run.limits.MaxLoopItems {
			break
		}
		next := &request{method: req.method, headers: req.headers, body: req.body}
		if p.Next != nil {
			nv, err := fr.ev.eval(p.Next)
			if err != nil {
				return nil, err
			}
			ns := toText(nv)
			if ns == "" {
				break
			}
			u, err := req.url.Parse(ns)
			if err != nil {
				return nil, fmt.Errorf("paginate: next %q is not a URL", ns)
			}
			next.url = u
		} else {
			q := req.url.Query()
			more := false
			for _, nq := range p.NextQuery {
				x, err := fr.ev.eval(nq.Value)
				if err != nil {
					return nil, err
				}
				if x == nil || x == "" || x == false {
					q.Del(nq.Name)
					continue
				}
				more = true
				addQuery(q, nq.Name, x)
			}
			if !more {
				break
			}
			u := *req.url
			u.RawQuery = encodeQuery(q)
			next.url = &u
		}
		key := next.url.String()
		if seen[key] {
			return nil, fmt.Errorf("paginate: next page %s was already fetched (the service repeats its cursor)", redactURL(next.url))
		}
		seen[key] = true
		req = next
	}
	if items == nil {
		items = []any{}
	}
	return map[string]any{"items": items, "pages": pages}, nil
}
