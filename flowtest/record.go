package flowtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/flowrun/flowrun/connection"
	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/load"
	"github.com/flowrun/flowrun/value"
	"github.com/goccy/go-yaml"
)

// maxRecordedBody bounds one recorded response body.
const maxRecordedBody = 10 << 20

// exchange is one request and response recorded from the live service.
type exchange struct {
	method     string
	url        *url.URL
	reqHeader  http.Header
	reqBody    []byte
	status     int
	respHeader http.Header
	respBody   []byte
}

// recorder passes requests to the live service and keeps the exchanges.
type recorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	ex   []*exchange
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.ContentLength = int64(len(body))
	if len(body) == 0 {
		out.Body = nil
	}
	resp, err := r.base.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxRecordedBody+1))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if len(data) > maxRecordedBody {
		return nil, fmt.Errorf("response body over %d bytes: too large to record", maxRecordedBody)
	}
	resp.Body = io.NopCloser(bytes.NewReader(data))
	r.mu.Lock()
	r.ex = append(r.ex, &exchange{method: req.Method, url: req.URL, reqHeader: req.Header.Clone(), reqBody: body,
		status: resp.StatusCode, respHeader: resp.Header.Clone(), respBody: data})
	r.mu.Unlock()
	return resp, nil
}

// recording is the mocks recorded for one case.
type recording struct {
	c     *testCase
	mocks []yaml.MapSlice
}

// addRecording turns a case's exchanges into mocks, redacted, and keeps them
// for writeRecordings. It returns the number of exchanges.
func (s *suiteRun) addRecording(c *testCase, rec *recorder, conn *connection.Connection) int {
	rec.mu.Lock()
	ex := rec.ex
	rec.mu.Unlock()
	sc := newScrubber(s.proj.Connector, conn, c)
	var mocks []yaml.MapSlice
	var last string
	for _, e := range ex {
		m := sc.mock(e)
		key := compactJSON(mapSliceValue(m))
		if key == last {
			// the same exchange again (a retry that got the same answer, a
			// poll): one mock that answers as many times
			t := mocks[len(mocks)-1]
			t[len(t)-1].Value = t[len(t)-1].Value.(int) + 1
			continue
		}
		last = key
		mocks = append(mocks, append(m, yaml.MapItem{Key: "times", Value: 1}))
	}
	s.mu.Lock()
	if s.recordings == nil {
		s.recordings = map[string][]recording{}
	}
	s.recordings[c.file.File] = append(s.recordings[c.file.File], recording{c: c, mocks: mocks})
	s.mu.Unlock()
	return len(ex)
}

func mapSliceValue(m yaml.MapSlice) map[string]any {
	out := map[string]any{}
	for _, it := range m {
		k := fmt.Sprint(it.Key)
		if k == "times" {
			continue
		}
		if ms, ok := it.Value.(yaml.MapSlice); ok {
			out[k] = mapSliceValue(ms)
		} else {
			out[k] = it.Value
		}
	}
	return out
}

// scrubber redacts what a recording must not hold: the live connection's
// secret params and tokens become the case's own values (so the recorded
// mocks still match when the case runs offline) or "***"; every other
// secret the run met (Authorization values, client secrets, fresh tokens)
// becomes "***". Non-secret string params the case gives too (a subdomain,
// a base URL) become the case's values as well.
type scrubber struct {
	pairs [][2]string // live value -> replacement, longest first
	conn  *connection.Connection
}

func newScrubber(c *lang.Connector, live *connection.Connection, tc *testCase) *scrubber {
	sc := &scrubber{conn: live}
	add := func(liveVal, caseVal string) {
		if len(liveVal) < 4 {
			return
		}
		if caseVal == "" {
			caseVal = "***"
		}
		sc.pairs = append(sc.pairs, [2]string{liveVal, caseVal})
	}
	if c != nil {
		for _, p := range c.Params {
			lv, cv := text(live.Params[p.Name]), text(tc.params[p.Name])
			switch {
			case p.Secret:
				add(lv, cv)
			case p.Type == "string" && cv != "" && lv != cv:
				// a subdomain or base URL: recorded URLs (Link headers,
				// hrefs) point at the case's service, not the live one
				add(lv, cv)
			}
		}
	}
	if live.Token != nil {
		var ct connection.Token
		if tc.token != nil {
			ct = *tc.token
		}
		add(live.Token.AccessToken, ct.AccessToken)
		add(live.Token.RefreshToken, ct.RefreshToken)
	}
	sort.SliceStable(sc.pairs, func(i, j int) bool { return len(sc.pairs[i][0]) > len(sc.pairs[j][0]) })
	return sc
}

func (sc *scrubber) str(s string) string {
	for _, p := range sc.pairs {
		s = strings.ReplaceAll(s, p[0], p[1])
	}
	return sc.conn.Redact(s)
}

func (sc *scrubber) value(v any) any {
	switch t := v.(type) {
	case string:
		return sc.str(t)
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[sc.str(k)] = sc.value(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = sc.value(x)
		}
		return out
	}
	return v
}

// sensitiveName matches header and query names that carry credentials.
var sensitiveName = regexp.MustCompile(`(?i)auth|cookie|token|secret|password|passwd|api[-_]?key|^key$|session|signature|^sig$|credential|csrf`)

// droppedHeaders are response headers a mock has no use for.
var droppedHeaders = map[string]bool{"Date": true, "Content-Length": true, "Connection": true, "Keep-Alive": true,
	"Transfer-Encoding": true, "Content-Encoding": true, "Server": true, "Alt-Svc": true, "Via": true,
	"Strict-Transport-Security": true}

// mock builds the mock of one exchange. Request headers are not recorded:
// mocks match headers as a subset, credentials must not be written, and
// volatile ones (request ids) would keep the mock from matching.
func (sc *scrubber) mock(e *exchange) yaml.MapSlice {
	req := yaml.MapSlice{{Key: "method", Value: e.method}, {Key: "path", Value: sc.str(e.url.Path)}}
	if q := e.url.Query(); len(q) > 0 {
		qs := yaml.MapSlice{}
		for _, k := range sortedKeys(q) {
			vs := q[k]
			var v any
			if len(vs) == 1 {
				s := sc.str(vs[0])
				if strings.Contains(s, "***") || (sensitiveName.MatchString(k) && s == vs[0]) {
					continue // not required by the mock, and not written
				}
				v = s
			} else {
				l := make([]any, len(vs))
				for i, x := range vs {
					l[i] = sc.str(x)
				}
				v = l
			}
			qs = append(qs, yaml.MapItem{Key: k, Value: v})
		}
		if len(qs) > 0 {
			req = append(req, yaml.MapItem{Key: "query", Value: qs})
		}
	}
	if len(e.reqBody) > 0 {
		if v, err := value.DecodeJSON(e.reqBody); err == nil && isJSONType(e.reqHeader.Get("Content-Type")) {
			req = append(req, yaml.MapItem{Key: "json", Value: orderedValue(sc.value(v))})
		} else {
			req = append(req, yaml.MapItem{Key: "body", Value: sc.str(string(e.reqBody))})
		}
	}
	resp := yaml.MapSlice{{Key: "status", Value: e.status}}
	hs := yaml.MapSlice{}
	for _, k := range sortedKeys(e.respHeader) {
		if droppedHeaders[k] {
			continue
		}
		v := sc.str(strings.Join(e.respHeader[k], ", "))
		if sensitiveName.MatchString(k) {
			v = "***"
		}
		hs = append(hs, yaml.MapItem{Key: k, Value: v})
	}
	if len(hs) > 0 {
		resp = append(resp, yaml.MapItem{Key: "headers", Value: hs})
	}
	if len(e.respBody) > 0 {
		if v, err := value.DecodeJSON(e.respBody); err == nil && isJSONType(e.respHeader.Get("Content-Type")) {
			resp = append(resp, yaml.MapItem{Key: "json", Value: orderedValue(sc.value(v))})
		} else {
			resp = append(resp, yaml.MapItem{Key: "body", Value: sc.str(string(e.respBody))})
		}
	}
	return yaml.MapSlice{{Key: "request", Value: req}, {Key: "response", Value: resp}}
}

// orderedValue turns mappings into MapSlices with sorted keys, so that the
// YAML written is stable.
func orderedValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		ms := make(yaml.MapSlice, 0, len(t))
		for _, k := range sortedKeys(t) {
			ms = append(ms, yaml.MapItem{Key: k, Value: orderedValue(t[k])})
		}
		return ms
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = orderedValue(x)
		}
		return out
	}
	return v
}

// writeRecordings rewrites each test file's recorded cases' http: lists.
func (s *suiteRun) writeRecordings() error {
	var errs []error
	for _, file := range sortedKeys(s.recordings) {
		if err := rewriteFile(file, s.recordings[file]); err != nil {
			errs = append(errs, fmt.Errorf("recording into %s: %w", file, err))
		}
	}
	return errors.Join(errs...)
}

// rewriteFile replaces the http: list of each recorded case in a test file,
// keeping every other line as it was.
func rewriteFile(file string, recs []recording) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	st, err := os.Stat(file)
	if err != nil {
		return err
	}
	lines := strings.SplitAfter(string(data), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	// from the bottom up, so that earlier line numbers stay valid
	sort.Slice(recs, func(i, j int) bool { return recs[i].c.node.Pos.Line > recs[j].c.node.Pos.Line })
	for _, rec := range recs {
		lines, err = spliceMocks(lines, rec)
		if err != nil {
			return err
		}
	}
	out := []byte(strings.Join(lines, ""))
	if _, err := load.ParseYAML(file, out); err != nil {
		return fmt.Errorf("the rewritten file would not parse (left unchanged): %v", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".flowrun-record-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(out); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(st.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}

// spliceMocks replaces (or adds) one case's http: entry in the file's lines.
func spliceMocks(lines []string, rec recording) ([]string, error) {
	n := rec.c.node
	if n.Flow || len(n.Keys) == 0 {
		return nil, fmt.Errorf("%s: case %q is written in flow style ({...}); write it in block style to record into it", n.Pos, rec.c.name)
	}
	indent := n.Keys[0].Pos.Col - 1
	var body []byte
	var err error
	if len(rec.mocks) == 0 {
		body, err = yaml.MarshalWithOptions(yaml.MapSlice{{Key: "http", Value: []any{}}}, yaml.Indent(2), yaml.IndentSequence(true))
	} else {
		body, err = yaml.MarshalWithOptions(yaml.MapSlice{{Key: "http", Value: rec.mocks}},
			yaml.Indent(2), yaml.IndentSequence(true), yaml.UseLiteralStyleIfMultiline(true))
	}
	if err != nil {
		return nil, err
	}
	repl := strings.SplitAfter(strings.TrimRight(string(body), "\n")+"\n", "\n")
	repl = repl[:len(repl)-1]
	pad := strings.Repeat(" ", indent)
	for i := range repl {
		repl[i] = pad + repl[i]
	}

	// where: the http: entry, else before the first expectation, else after the case
	var start, end int // 1-based lines, inclusive; end < start inserts before start
	keyLine := func(k *lang.Node) int { return k.Pos.Line }
	if hk := n.KeyNode("http"); hk != nil {
		start = keyLine(hk)
		end = entryEnd(lines, start, indent)
	} else {
		start = 0
		for _, k := range n.Keys[1:] {
			switch k.Str {
			case "outputs", "partial", "error", "events", "expect_cursor", "response":
				if start == 0 {
					start = keyLine(k)
				}
			}
		}
		if start == 0 {
			lastKey := n.Keys[len(n.Keys)-1]
			start = entryEnd(lines, keyLine(lastKey), indent) + 1
		}
		end = start - 1
	}
	if start < 1 || start > len(lines)+1 {
		return nil, fmt.Errorf("%s: cannot find where case %q's http: goes", n.Pos, rec.c.name)
	}
	if end >= start {
		// keep what precedes the key on its line ("  - " when http: is the first key)
		first := lines[start-1]
		if len(first) >= indent {
			repl[0] = first[:indent] + strings.TrimLeft(repl[0], " ")
		}
	}
	out := make([]string, 0, len(lines)+len(repl))
	out = append(out, lines[:start-1]...)
	out = append(out, repl...)
	out = append(out, lines[max(end, start-1):]...)
	return out, nil
}

// entryEnd finds the last line of the mapping entry whose key is on line
// start (1-based) at the given indentation: the lines after it that are
// more indented, or list items at the same indentation. Trailing blank and
// comment lines are left to what follows.
func entryEnd(lines []string, start, indent int) int {
	last := start
	for j := start + 1; j <= len(lines); j++ {
		l := strings.TrimRight(lines[j-1], "\r\n")
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		ind := len(l) - len(strings.TrimLeft(l, " "))
		if ind > indent || (ind == indent && (t == "-" || strings.HasPrefix(t, "- "))) {
			last = j
			continue
		}
		break
	}
	return last
}
