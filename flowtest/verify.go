package flowtest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/value"
)

// Verify-live (Options.VerifyLive): each case's flow runs with the live
// connection, and every request it sends is answered by the case's mocks as
// offline, so the run takes the path the test describes. A safe request (GET
// or HEAD) whose mock answers with a JSON fixture is also sent to the live
// service, once per mock, and the live response's shape (keys and value
// types, not values) is compared with the fixture's. Writes are never sent
// and webhook cases never run. A key of the fixture that the live response
// lacks, or whose type changed, is breaking (the case fails, at the
// fixture's file:line:col); a key only the live response has is info.
//
// A null on either side is not a type change (fields are often nullable);
// a list's elements are compared with the union of the live elements' keys.

// drift is one difference between a fixture and the live response.
type drift struct {
	pos      lang.Pos
	breaking bool
	msg      string
}

// verifyTransport answers the flow from the mocks and checks the safe
// exchanges against the live service.
type verifyTransport struct {
	mocks  *mockTransport
	live   http.RoundTripper
	sc     *scrubber
	redact func(string) string

	mu       sync.Mutex
	verified map[*mock]bool
	drifts   []drift
	log      []string
	compared int
}

func (v *verifyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	// the request as the case's mocks know it: the live connection's
	// values (base URL, subdomain, key) replaced by the case's
	u, err := url.Parse(v.sc.str(req.URL.String()))
	if err != nil {
		u = req.URL
	}
	offline := req.Clone(req.Context())
	offline.URL, offline.Host = u, u.Host
	offline.Header = http.Header{}
	for k, vs := range req.Header {
		for _, x := range vs {
			offline.Header.Add(k, v.sc.str(x))
		}
	}
	offline.Body = io.NopCloser(strings.NewReader(v.sc.str(string(body))))
	resp, m, err := v.mocks.roundTrip(offline)
	if m == nil || m.fault != "" || (req.Method != http.MethodGet && req.Method != http.MethodHead) {
		return resp, err
	}
	v.mu.Lock()
	done := v.verified[m]
	if v.verified == nil {
		v.verified = map[*mock]bool{}
	}
	v.verified[m] = true
	v.mu.Unlock()
	if !done {
		v.verify(req, m)
	}
	return resp, err
}

// verify sends a safe request to the live service and compares the shape.
func (v *verifyTransport) verify(req *http.Request, m *mock) {
	out := req.Clone(req.Context())
	out.Body, out.ContentLength = nil, 0
	line := v.redact(req.Method + " " + req.URL.String())
	resp, err := v.live.RoundTrip(out)
	if err != nil {
		v.note(drift{pos: m.pos, msg: fmt.Sprintf("%s: not compared: %v", line, v.redact(err.Error()))})
		return
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxFixtureBytes+1))
	if err != nil {
		v.note(drift{pos: m.pos, msg: fmt.Sprintf("%s: not compared: reading the live response: %v", line, err)})
		return
	}
	v.mu.Lock()
	v.compared++
	v.log = append(v.log, fmt.Sprintf("live: %s -> %d (%s answers %d)", line, resp.StatusCode, m.label(), m.status))
	v.mu.Unlock()
	if resp.StatusCode != m.status {
		v.note(drift{pos: m.pos, msg: fmt.Sprintf("%s: the live service answered %d, the mock %d: shapes not compared (the fixture's ids may not exist on the live service)", line, resp.StatusCode, m.status)})
		return
	}
	_, fixNode := m.fixtureShape()
	if req.Method == http.MethodHead || fixNode == nil {
		return
	}
	live, err := value.DecodeJSON(bytes.TrimSpace(data))
	if err != nil || len(bytes.TrimSpace(data)) == 0 {
		v.note(drift{pos: m.respPos(), breaking: true, msg: fmt.Sprintf("%s: the live response is not JSON (Content-Type %q)", line, resp.Header.Get("Content-Type"))})
		return
	}
	var ds []drift
	compareShape(fixNode, m.respPos(), plain(live), "", &ds)
	for _, d := range ds {
		d.msg = v.redact(d.msg + " (" + line + ")")
		v.note(d)
	}
}

func (v *verifyTransport) note(d drift) {
	v.mu.Lock()
	v.drifts = append(v.drifts, d)
	v.mu.Unlock()
}

// fixtureShape is the mock's JSON response with positions: the inline
// json: node, or the json_file: parsed again; nil when it has none.
func (m *mock) fixtureShape() (any, *lang.Node) {
	if m.respJSON != nil {
		return nil, m.respJSON
	}
	if m.respFile != nil && m.respFile.json != nil {
		if n := m.respFile.nodes(); n != nil {
			return m.respFile.json, n
		}
		return m.respFile.json, nodeOf(m.respFile.json, lang.Pos{File: m.respFile.path, Line: 1, Col: 1})
	}
	return nil, nil
}

// respPos is where the mock's response body is written.
func (m *mock) respPos() lang.Pos {
	if m.respJSON != nil {
		return m.respJSON.Pos
	}
	if m.respFile != nil {
		return lang.Pos{File: m.respFile.path, Line: 1, Col: 1}
	}
	return m.pos
}

// nodeOf builds a node tree for a value, every node at pos (a fixture that
// could not be parsed with positions).
func nodeOf(v any, pos lang.Pos) *lang.Node {
	n := &lang.Node{Pos: pos}
	switch t := v.(type) {
	case nil:
		n.Kind = lang.NullNode
	case bool:
		n.Kind, n.Bool = lang.BoolNode, t
	case string:
		n.Kind, n.Str = lang.StringNode, t
	case map[string]any:
		n.Kind = lang.MapNode
		for _, k := range sortedKeys(t) {
			n.Keys = append(n.Keys, &lang.Node{Kind: lang.StringNode, Str: k, Pos: pos})
			n.Vals = append(n.Vals, nodeOf(t[k], pos))
		}
	case []any:
		n.Kind = lang.ListNode
		for _, x := range t {
			n.Items = append(n.Items, nodeOf(x, pos))
		}
	default:
		n.Kind = lang.FloatNode
	}
	return n
}

// shapeName is a value's JSON type.
func shapeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case map[string]any:
		return "object"
	case []any:
		return "list"
	}
	return "number"
}

func nodeShape(n *lang.Node) string {
	switch n.Kind {
	case lang.NullNode:
		return "null"
	case lang.BoolNode:
		return "boolean"
	case lang.StringNode:
		return "string"
	case lang.MapNode:
		return "object"
	case lang.ListNode:
		return "list"
	}
	return "number"
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func showPath(path string) string {
	if path == "" {
		return "the body"
	}
	return path
}

// compareShape compares a fixture (with positions) and a live value.
func compareShape(n *lang.Node, at lang.Pos, live any, path string, out *[]drift) {
	if n == nil {
		return
	}
	ft, lt := nodeShape(n), shapeName(live)
	if ft == "null" || lt == "null" {
		if ft != lt && lt == "null" {
			*out = append(*out, drift{pos: n.Pos, msg: fmt.Sprintf("%s is null on the live service (%s in the fixture)", showPath(path), ft)})
		}
		return
	}
	if ft != lt {
		*out = append(*out, drift{pos: n.Pos, breaking: true, msg: fmt.Sprintf("%s: the type changed from %s (fixture) to %s (live)", showPath(path), ft, lt)})
		return
	}
	switch ft {
	case "object":
		lm := live.(map[string]any)
		have := map[string]bool{}
		for i, k := range n.Keys {
			have[k.Str] = true
			lv, ok := lm[k.Str]
			if !ok {
				*out = append(*out, drift{pos: k.Pos, breaking: true, msg: fmt.Sprintf("%s: gone from the live response", joinPath(path, k.Str))})
				continue
			}
			compareShape(n.Vals[i], k.Pos, lv, joinPath(path, k.Str), out)
		}
		var added []string
		for k := range lm {
			if !have[k] {
				added = append(added, k)
			}
		}
		sort.Strings(added)
		for _, k := range added {
			*out = append(*out, drift{pos: n.Pos, msg: fmt.Sprintf("%s: new key in the live response (%s)", joinPath(path, k), shapeName(lm[k]))})
		}
	case "list":
		ll := live.([]any)
		if len(n.Items) == 0 {
			return
		}
		if len(ll) == 0 {
			*out = append(*out, drift{pos: n.Pos, msg: fmt.Sprintf("%s: the live list is empty, its elements were not compared", showPath(path))})
			return
		}
		merged := mergeElements(ll)
		var all []drift
		for _, it := range n.Items {
			compareShape(it, it.Pos, merged, path+"[]", &all)
		}
		// one report per difference, at the first element that shows it
		seen := map[string]bool{}
		for _, d := range all {
			if !seen[d.msg] {
				seen[d.msg] = true
				*out = append(*out, d)
			}
		}
	}
}

// mergeElements is the shape of a live list's elements: for objects, the
// union of their keys, each with its first non-null value; else the first
// non-null element.
func mergeElements(l []any) any {
	var first any
	merged := map[string]any{}
	objects := false
	for _, x := range l {
		if m, ok := x.(map[string]any); ok {
			objects = true
			for k, v := range m {
				if cur, has := merged[k]; !has || cur == nil {
					merged[k] = v
				}
			}
		} else if first == nil {
			first = x
		}
	}
	if objects {
		return merged
	}
	return first
}

// verifyResults turns the drifts into the case's failures (breaking) and
// notes (info), in file order.
func (v *verifyTransport) results() (failures, notes []Failure) {
	v.mu.Lock()
	defer v.mu.Unlock()
	ds := append([]drift(nil), v.drifts...)
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i].pos, ds[j].pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	for _, d := range ds {
		if d.breaking {
			failures = append(failures, Failure{Pos: d.pos, Summary: "breaking: " + d.msg})
		} else {
			notes = append(notes, Failure{Pos: d.pos, Summary: "info: " + d.msg})
		}
	}
	return failures, notes
}
