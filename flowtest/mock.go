package flowtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/value"
)

// mock is one entry of a case's http: list.
type mock struct {
	index int // 1-based, as shown to authors
	pos   lang.Pos
	node  *lang.Node

	method, path       string         // "" matches any
	query, headers     map[string]any // values may be matchers
	json               any            // may hold matchers
	hasJSON, jsonExact bool
	body               *string

	status     int
	respHeader http.Header
	respBody   []byte
	respJSON   *lang.Node // the inline response json:, for --verify-live
	respFile   *fixture   // the response's json_file: or body_file:
	fault      string     // connection_refused, timeout, reset

	times    int  // how many requests it answers (default 1)
	timesAny bool // times: any
	used     int
}

// faults are the network faults a mock response may simulate.
var faults = []string{"connection_refused", "timeout", "reset"}

func decodeMock(n *lang.Node, i int, projDir, testFile string) (*mock, *Failure) {
	m := &mock{index: i + 1, pos: n.Pos, node: n, status: http.StatusOK, respHeader: http.Header{}, times: 1}
	if n.Kind != lang.MapNode {
		return nil, &Failure{Pos: n.Pos, Summary: fmt.Sprintf("mock %d must be a mapping of request and response", m.index)}
	}
	if t := n.Get("times"); t != nil {
		switch {
		case t.Kind == lang.IntNode && t.Int >= 1:
			m.times = int(t.Int)
		case t.Kind == lang.StringNode && t.Str == "any":
			m.timesAny = true
		default:
			return nil, &Failure{Pos: t.Pos, Summary: "times: must be a number of requests (1 or more) or `any`"}
		}
	}
	var f *Failure
	if rq := n.Get("request"); rq != nil {
		m.method = strings.ToUpper(str(rq.Get("method")))
		m.path = str(rq.Get("path"))
		if q := rq.Get("query"); q != nil {
			var v any
			if v, f = decodeValue(q, true); f != nil {
				return nil, f
			}
			m.query, _ = v.(map[string]any)
		}
		if h := rq.Get("headers"); h != nil {
			var v any
			if v, f = decodeValue(h, true); f != nil {
				return nil, f
			}
			m.headers, _ = v.(map[string]any)
		}
		if j := rq.Get("json"); j != nil {
			if m.json, f = decodeValue(j, true); f != nil {
				return nil, f
			}
			m.hasJSON = true
		}
		m.jsonExact = boolean(rq.Get("json_exact"))
		if b := rq.Get("body"); b != nil {
			s := text(plain(b.Value()))
			m.body = &s
		}
	}
	if rs := n.Get("response"); rs != nil {
		if s := rs.Get("status"); s != nil && s.Kind == lang.IntNode {
			m.status = int(s.Int)
		}
		if fn := rs.Get("fault"); fn != nil {
			m.fault = str(fn)
			if !slices.Contains(faults, m.fault) {
				return nil, &Failure{Pos: fn.Pos, Summary: fmt.Sprintf("fault: %q is not one of %s", fn.Value(), strings.Join(faults, ", "))}
			}
		}
		if h := rs.Get("headers"); h != nil && h.Kind == lang.MapNode {
			for j, k := range h.Keys {
				m.respHeader.Add(k.Str, text(plain(h.Vals[j].Value())))
			}
		}
		switch {
		case rs.Get("json") != nil:
			j := rs.Get("json")
			m.respJSON = j
			m.respBody = []byte(compactJSON(plain(j.Value())))
			if m.respHeader.Get("Content-Type") == "" {
				m.respHeader.Set("Content-Type", "application/json")
			}
		case rs.Get("json_file") != nil:
			if m.respFile, f = readFixture(projDir, testFile, rs.Get("json_file"), "json_file"); f != nil {
				return nil, f
			}
			m.respBody = m.respFile.data
			if m.respHeader.Get("Content-Type") == "" {
				m.respHeader.Set("Content-Type", "application/json")
			}
		case rs.Get("body_file") != nil:
			if m.respFile, f = readFixture(projDir, testFile, rs.Get("body_file"), "body_file"); f != nil {
				return nil, f
			}
			m.respBody = m.respFile.data
		case rs.Get("body") != nil:
			m.respBody = []byte(text(plain(rs.Get("body").Value())))
		}
	}
	return m, nil
}

// label names a mock for messages: "mock 2 (GET /users)".
func (m *mock) label() string {
	var parts []string
	if m.method != "" {
		parts = append(parts, m.method)
	}
	if m.path != "" {
		parts = append(parts, m.path)
	}
	if len(parts) == 0 {
		return fmt.Sprintf("mock %d", m.index)
	}
	return fmt.Sprintf("mock %d (%s)", m.index, strings.Join(parts, " "))
}

// exhausted reports whether the mock has answered all it may.
func (m *mock) exhausted() bool { return !m.timesAny && m.used >= m.times }

// satisfied reports whether the mock was used as often as it must be: its
// times, or (times: any) at least once.
func (m *mock) satisfied() bool {
	if m.timesAny {
		return m.used > 0
	}
	return m.used >= m.times
}

// seenRequest is a request the flow sent, as the matcher sees it.
type seenRequest struct {
	n       int // 1-based, in the case
	method  string
	url     *url.URL
	header  http.Header
	body    []byte
	json    any
	jsonErr error
}

func readRequest(req *http.Request, n int) (*seenRequest, error) {
	r := &seenRequest{n: n, method: req.Method, url: req.URL, header: req.Header}
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		r.body = b
	}
	if len(r.body) > 0 {
		r.json, r.jsonErr = value.DecodeJSON(r.body)
	} else {
		r.jsonErr = errors.New("no body")
	}
	return r, nil
}

// String is the request line: "POST https://demo.acme.example/api/v2/users".
func (r *seenRequest) String() string { return r.method + " " + r.url.String() }

func (r *seenRequest) pathMatches(p string) bool {
	return p == r.url.Path || p == r.url.EscapedPath()
}

// queryValue is what the request carries for a query key: a string, a list
// of strings when it repeats, or nil when absent.
func (r *seenRequest) queryValue(k string) any {
	vs, ok := r.url.Query()[k]
	if !ok {
		return nil
	}
	return queryText(vs)
}

func queryText(vs []string) any {
	if len(vs) == 1 {
		return vs[0]
	}
	l := make([]any, len(vs))
	for i, v := range vs {
		l[i] = v
	}
	return l
}

func (r *seenRequest) headerValue(k string) any {
	vs := r.header.Values(k)
	if len(vs) == 0 {
		return nil
	}
	return strings.Join(vs, ", ")
}

// textValue turns a mock's query or header value into what the request
// would carry: text, a list of texts, or nil; a matcher stays a matcher.
func textValue(v any) any {
	switch t := v.(type) {
	case nil, *matcher:
		return v
	case []any:
		l := make([]any, len(t))
		for i, x := range t {
			l[i] = text(x)
		}
		return l
	}
	return text(v)
}

// checks lists what a mock asks of a request, and whether this request
// meets each; the weights rank the nearest mock for an unmatched request.
func (m *mock) checks(r *seenRequest) (ok bool, score int) {
	ok = true
	add := func(pass bool, weight int) {
		if pass {
			score += weight
		} else {
			ok = false
		}
	}
	if m.method != "" {
		add(m.method == r.method, 4)
	}
	if m.path != "" {
		add(r.pathMatches(m.path), 8)
	}
	for _, k := range sortedKeys(m.query) {
		got := r.queryValue(k)
		add(fieldMatches(textValue(m.query[k]), got, got != nil), 2)
	}
	for _, k := range sortedKeys(m.headers) {
		got := r.headerValue(k)
		add(fieldMatches(textValue(m.headers[k]), got, got != nil), 1)
	}
	if m.hasJSON {
		if mt, ok := m.json.(*matcher); ok && mt.kind == "$absent" {
			add(len(r.body) == 0, 3)
		} else {
			add(r.jsonErr == nil && match(m.json, r.json, !m.jsonExact), 3)
		}
	}
	if m.body != nil {
		add(*m.body == string(r.body), 3)
	}
	return ok, score
}

// fieldMatches checks one query parameter or header: a matcher as it says,
// null for "absent", else the value.
func fieldMatches(want, got any, present bool) bool {
	switch w := want.(type) {
	case *matcher:
		return w.matchField(got, present)
	case nil:
		return !present
	}
	return present && equal(want, got)
}

func (m *mock) matches(r *seenRequest) bool {
	ok, _ := m.checks(r)
	return ok
}

// wanted is the mock's request as a value, for diffs. Values of headers
// that carry credentials are masked (see maskSecret).
func (m *mock) wanted(r *seenRequest) map[string]any {
	w := map[string]any{}
	if m.method != "" {
		w["method"] = m.method
	}
	if m.path != "" {
		w["path"] = m.path
	}
	if m.query != nil {
		q := map[string]any{}
		for k, v := range m.query {
			q[k] = textValue(v)
		}
		w["query"] = q
	}
	if m.headers != nil {
		h := map[string]any{}
		for k, v := range m.headers {
			v = textValue(v)
			if s, ok := v.(string); ok && sensitiveHeader(k) {
				got, _ := r.headerValue(k).(string)
				v = maskSecret(s, s == got)
			}
			h[k] = v
		}
		w["headers"] = h
	}
	if m.hasJSON {
		w["json"] = m.json
	}
	if m.body != nil {
		w["body"] = *m.body
	}
	return w
}

// actual is the request as a value, shaped like wanted for a readable diff:
// method and path, the whole query, the headers the mock names, and the
// body in the form the mock gives it. Where a matcher of the mock matches,
// the matcher shows instead of the value, so that the diff shows only what
// differs.
func (m *mock) actual(r *seenRequest) map[string]any {
	a := map[string]any{"method": r.method, "path": r.url.Path}
	if q := r.url.Query(); len(q) > 0 || m.query != nil {
		qm := map[string]any{}
		for k, vs := range q {
			qm[k] = queryText(vs)
		}
		a["query"] = shownFields(m.query, qm)
	}
	if m.headers != nil {
		h := map[string]any{}
		for k := range m.headers {
			if v := r.headerValue(k); v != nil {
				if s, ok := v.(string); ok && sensitiveHeader(k) {
					want, _ := textValue(m.headers[k]).(string)
					if _, isM := m.headers[k].(*matcher); !isM {
						v = maskSecret(s, s == want)
					}
				}
				h[k] = v
			}
		}
		a["headers"] = shownFields(m.headers, h)
	}
	if m.hasJSON {
		switch {
		case r.jsonErr != nil && len(r.body) == 0:
			if mt, ok := m.json.(*matcher); ok && mt.kind == "$absent" {
				a["json"] = mt
			} else {
				a["json"] = nil
			}
		case r.jsonErr != nil:
			a["json"] = "(not JSON) " + string(r.body)
		default:
			a["json"] = shown(m.json, r.json, !m.jsonExact)
		}
	}
	if m.body != nil {
		a["body"] = string(r.body)
	}
	return a
}

// shownFields is a request's query or headers for a diff: where the mock's
// matcher (or null, for "absent") holds, what the mock wrote.
func shownFields(want, got map[string]any) map[string]any {
	out := make(map[string]any, len(got))
	for k, v := range got {
		out[k] = v
	}
	for k, w := range want {
		gv, present := got[k]
		if !present {
			// header names match in any case
			for gk, x := range got {
				if strings.EqualFold(gk, k) {
					gv, present = x, true
				}
			}
		}
		switch wt := textValue(w).(type) {
		case *matcher:
			if wt.matchField(gv, present) {
				out[k] = wt
			}
		case nil:
			if !present {
				out[k] = nil
			}
		}
	}
	return out
}

// sensitiveHeader reports whether a header carries credentials; the
// nearest-mock diff masks its values as traces do.
func sensitiveHeader(k string) bool {
	switch strings.ToLower(k) {
	case "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key", "x-auth-token":
		return true
	}
	return sensitiveName().MatchString(k)
}

// maskSecret shows a credential header's value in a diff: its scheme word
// (Bearer, Basic, SSWS) if any, then ***, and whether the mock's and the
// request's values are the same, so that the diff still tells a wrong key
// from a right one without printing either.
func maskSecret(v string, same bool) string {
	scheme := ""
	if i := strings.IndexByte(v, ' '); i > 0 && i < 16 {
		scheme = v[:i+1]
	}
	if same {
		return scheme + "***"
	}
	return scheme + "*** (" + strconv.Itoa(len(v)) + " characters, sha256 " + shortHash(v) + ")"
}

// unmatched is a request no mock answered.
type unmatched struct {
	req     *seenRequest
	nearest *mock
	note    string
}

// errNoMock is the transport's answer to a request that no mock matches;
// the flow sees it as a failed request.
var errNoMock = errors.New("no mock matches this request (flowrun test)")

// mockTransport answers a case's requests from its mocks.
type mockTransport struct {
	mu        sync.Mutex
	mocks     []*mock
	ordered   bool
	next      int // ordered: the mock the next request should match
	n         int
	unmatched []*unmatched
	log       []string // one line per exchange, for -v
}

func (t *mockTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, _, err := t.roundTrip(req)
	return resp, err
}

// roundTrip answers a request and says which mock did (nil: none).
func (t *mockTransport) roundTrip(req *http.Request) (*http.Response, *mock, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n++
	r, err := readRequest(req, t.n)
	if err != nil {
		return nil, nil, err
	}
	m := t.find(r)
	if m == nil {
		t.log = append(t.log, fmt.Sprintf("%s -> no mock", r))
		return nil, nil, errNoMock
	}
	m.used++
	if m.fault != "" {
		t.log = append(t.log, fmt.Sprintf("%s -> %s: fault %s", r, m.label(), m.fault))
		return nil, m, faultError(m.fault, req)
	}
	t.log = append(t.log, fmt.Sprintf("%s -> %s: %d", r, m.label(), m.status))
	body := m.respBody
	if req.Method == http.MethodHead {
		body = nil
	}
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", m.status, http.StatusText(m.status)),
		StatusCode:    m.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        m.respHeader.Clone(),
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}, m, nil
}

// find picks the mock that answers r, or records r as unmatched.
func (t *mockTransport) find(r *seenRequest) *mock {
	if t.ordered {
		for t.next < len(t.mocks) {
			m := t.mocks[t.next]
			if !m.exhausted() && m.matches(r) {
				return m
			}
			if !m.satisfied() {
				break
			}
			t.next++
		}
		u := &unmatched{req: r}
		if t.next < len(t.mocks) {
			u.nearest = t.mocks[t.next]
			for _, m := range t.mocks {
				if m != u.nearest && !m.exhausted() && m.matches(r) {
					u.note = fmt.Sprintf("it matches %s, but the mocks are ordered and %s comes first", m.label(), u.nearest.label())
					break
				}
			}
		} else {
			u.nearest = nearest(t.mocks, r)
			if len(t.mocks) > 0 {
				u.note = "every ordered mock was already used"
			}
		}
		t.unmatched = append(t.unmatched, u)
		return nil
	}
	// the first matching mock that is not used up answers; a times: any
	// mock only when no other one does, so that it never shadows the
	// mocks of a paginated or retried exchange
	var fallback *mock
	for _, m := range t.mocks {
		if m.exhausted() || !m.matches(r) {
			continue
		}
		if !m.timesAny {
			return m
		}
		if fallback == nil {
			fallback = m
		}
	}
	if fallback != nil {
		return fallback
	}
	u := &unmatched{req: r, nearest: nearest(t.mocks, r)}
	if u.nearest != nil && u.nearest.exhausted() && u.nearest.matches(r) {
		u.note = fmt.Sprintf("%s matches, but it answers only %s and was used up (say times: N, or times: any, for a mock that answers more)", u.nearest.label(), timesText(u.nearest.times))
	}
	t.unmatched = append(t.unmatched, u)
	return nil
}

// nearest is the mock that meets most of what it asks of r (first on ties).
func nearest(mocks []*mock, r *seenRequest) *mock {
	var best *mock
	bestScore := -1
	for _, m := range mocks {
		_, s := m.checks(r)
		if s > bestScore {
			best, bestScore = m, s
		}
	}
	return best
}

func timesText(n int) string {
	if n == 1 {
		return "once"
	}
	return strconv.Itoa(n) + " times"
}

// failures reports the unmatched requests and the mocks not used enough.
// When the run stopped at an unmatched request, the mocks it did not reach
// are not reported: that they were not used is no news.
func (t *mockTransport) failures(c *testCase, stopped bool, redact func(string) string) []Failure {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Failure
	for _, u := range t.unmatched {
		var b strings.Builder
		if len(u.req.body) > 0 {
			fmt.Fprintf(&b, "body: %s\n", bodyText(u.req))
		}
		switch {
		case u.nearest == nil:
			b.WriteString("the case has no mocks (add an http: list)\n")
		default:
			fmt.Fprintf(&b, "nearest mock: %s at %s\n", u.nearest.label(), u.nearest.pos)
			if u.note != "" {
				b.WriteString(u.note + "\n")
			}
			b.WriteString(diff("mock", "request", u.nearest.wanted(u.req), u.nearest.actual(u.req)))
		}
		out = append(out, Failure{Pos: c.pos(),
			Summary: redact(fmt.Sprintf("request %d matched no mock: %s", u.req.n, u.req)),
			Detail:  redact(b.String())})
	}
	for _, m := range t.mocks {
		if m.satisfied() || stopped {
			continue
		}
		msg := fmt.Sprintf("%s was never used", m.label())
		if m.timesAny {
			msg += " (times: any answers any number of requests, but at least one)"
		} else if m.used > 0 {
			msg = fmt.Sprintf("%s was used %d of %d times", m.label(), m.used, m.times)
		} else if m.times > 1 {
			msg = fmt.Sprintf("%s was never used (times: %d)", m.label(), m.times)
		}
		out = append(out, Failure{Pos: m.pos, Summary: msg})
	}
	return out
}

// bodyText shows a request body on one line: compact JSON, or the text.
func bodyText(r *seenRequest) string {
	if r.jsonErr == nil {
		return compactJSON(r.json)
	}
	s := string(r.body)
	if len(s) > 2000 {
		s = s[:2000] + "..."
	}
	return strconv.Quote(s)
}

// isJSONType reports whether a Content-Type is JSON.
func isJSONType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:3])
}
