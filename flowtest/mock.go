package flowtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
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

	method, path       string // "" matches any
	query, headers     map[string]any
	json               any
	hasJSON, jsonExact bool
	body               *string

	status     int
	respHeader http.Header
	respBody   []byte

	times int // 0: any number of times, at least once
	used  int
}

func decodeMock(n *lang.Node, i int) (*mock, *Failure) {
	m := &mock{index: i + 1, pos: n.Pos, node: n, status: http.StatusOK, respHeader: http.Header{}}
	if n.Kind != lang.MapNode {
		return nil, &Failure{Pos: n.Pos, Summary: fmt.Sprintf("mock %d must be a mapping of request and response", m.index)}
	}
	if t := n.Get("times"); t != nil && t.Kind == lang.IntNode {
		m.times = int(t.Int)
	}
	if rq := n.Get("request"); rq != nil {
		m.method = strings.ToUpper(str(rq.Get("method")))
		m.path = str(rq.Get("path"))
		if q := rq.Get("query"); q != nil {
			m.query, _ = plain(q.Value()).(map[string]any)
		}
		if h := rq.Get("headers"); h != nil {
			m.headers, _ = plain(h.Value()).(map[string]any)
		}
		if j := rq.Get("json"); j != nil {
			m.json, m.hasJSON = plain(j.Value()), true
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
		if h := rs.Get("headers"); h != nil && h.Kind == lang.MapNode {
			for j, k := range h.Keys {
				m.respHeader.Add(k.Str, text(plain(h.Vals[j].Value())))
			}
		}
		if j := rs.Get("json"); j != nil {
			m.respBody = []byte(compactJSON(plain(j.Value())))
			if m.respHeader.Get("Content-Type") == "" {
				m.respHeader.Set("Content-Type", "application/json")
			}
		} else if b := rs.Get("body"); b != nil {
			m.respBody = []byte(text(plain(b.Value())))
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
func (m *mock) exhausted() bool { return m.times > 0 && m.used >= m.times }

// satisfied reports whether the mock was used as often as it must be.
func (m *mock) satisfied() bool {
	if m.times > 0 {
		return m.used >= m.times
	}
	return m.used > 0
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
// would carry: text, a list of texts, or nil.
func textValue(v any) any {
	switch t := v.(type) {
	case nil:
		return nil
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
		add(equal(textValue(m.query[k]), r.queryValue(k)), 2)
	}
	for _, k := range sortedKeys(m.headers) {
		add(equal(textValue(m.headers[k]), r.headerValue(k)), 1)
	}
	if m.hasJSON {
		add(r.jsonErr == nil && match(m.json, r.json, !m.jsonExact), 3)
	}
	if m.body != nil {
		add(*m.body == string(r.body), 3)
	}
	return ok, score
}

func (m *mock) matches(r *seenRequest) bool {
	ok, _ := m.checks(r)
	return ok
}

// wanted is the mock's request as a value, for diffs.
func (m *mock) wanted() map[string]any {
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
			h[k] = textValue(v)
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
// body in the form the mock gives it.
func (m *mock) actual(r *seenRequest) map[string]any {
	a := map[string]any{"method": r.method, "path": r.url.Path}
	if q := r.url.Query(); len(q) > 0 || m.query != nil {
		qm := map[string]any{}
		for k := range q {
			qm[k] = r.queryValue(k)
		}
		a["query"] = qm
	}
	if m.headers != nil {
		h := map[string]any{}
		for k := range m.headers {
			if v := r.headerValue(k); v != nil {
				h[k] = v
			}
		}
		a["headers"] = h
	}
	if m.hasJSON {
		switch {
		case r.jsonErr != nil && len(r.body) == 0:
			a["json"] = nil
		case r.jsonErr != nil:
			a["json"] = "(not JSON) " + string(r.body)
		case m.jsonExact:
			a["json"] = r.json
		default:
			a["json"] = project(m.json, r.json)
		}
	}
	if m.body != nil {
		a["body"] = string(r.body)
	}
	return a
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
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n++
	r, err := readRequest(req, t.n)
	if err != nil {
		return nil, err
	}
	m := t.find(r)
	if m == nil {
		t.log = append(t.log, fmt.Sprintf("%s -> no mock", r))
		return nil, errNoMock
	}
	m.used++
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
	}, nil
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
	for _, m := range t.mocks {
		if !m.exhausted() && m.matches(r) {
			return m
		}
	}
	u := &unmatched{req: r, nearest: nearest(t.mocks, r)}
	if u.nearest != nil && u.nearest.exhausted() && u.nearest.matches(r) {
		u.note = fmt.Sprintf("%s matches, but it answers only %s and was used up", u.nearest.label(), timesText(u.nearest.times))
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
			b.WriteString(diff("mock", "request", u.nearest.wanted(), u.nearest.actual(u.req)))
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
		if m.used > 0 {
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
