package run

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowrun/flowrun/connection"
)

// fakeClock is a Runner clock that only Sleep moves: waits are recorded and
// the clock advances by them, so no test sleeps.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.waits = append(c.waits, d)
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

func (c *fakeClock) list() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

// clockRunner loads a project (connector + flows/main.yaml as an action
// flow) and returns a runner on a fake clock against base.
func clockRunner(t *testing.T, connector, body, base string) (*Runner, *fakeClock) {
	t.Helper()
	p := loadProject(t, map[string]string{"connector.yaml": connector, "flows/main.yaml": "name: main\ntype: action\n" + strings.TrimLeft(body, "\n")})
	clk := newFakeClock()
	r := &Runner{Project: p, Connection: &connection.Connection{Params: map[string]any{"base_url": base, "api_key": "sekret-key-123"}},
		Now: clk.Now, Sleep: clk.Sleep}
	return r, clk
}

func runErr(t *testing.T, err error) *RunError {
	t.Helper()
	var re *RunError
	if !errors.As(err, &re) {
		t.Fatalf("error %v (%T) is not a *RunError", err, err)
	}
	return re
}

// slackish answers like Slack: 200 with ok false for errors.
func slackish(t *testing.T) *recorder {
	var once atomic.Bool
	return newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v2/once404":
			if !once.Swap(true) {
				jsonReply(w, 404, `{"ok": false, "error": "not yet"}`)
				return
			}
			jsonReply(w, 200, `{"ok": true}`)
		case "/api/v2/ok":
			jsonReply(w, 200, `{"ok": true, "user": "U1"}`)
		case "/api/v2/missing":
			jsonReply(w, 200, `{"ok": false, "error": "channel_not_found"}`)
		case "/api/v2/gone":
			jsonReply(w, 404, `{"ok": false, "error": "gone"}`)
		case "/api/v2/401":
			jsonReply(w, 401, `{"message": "Bad credentials"}`)
		case "/api/v2/text":
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(200)
			w.Write([]byte("plain words"))
		default:
			http.NotFound(w, r)
		}
	})
}

const slackRules = `on_response:
  - when: ${ response.body.ok == false }
    fail:
      code: ${ response.body.error }
      message: "Slack answered ${ response.body.error }"
      details: ${ response.body }
`

func TestOnResponseFailAndSucceed(t *testing.T) {
	srv := slackish(t)
	conn := httpConnector("", slackRules)
	t.Run("connector rule fails a 200 with ok false", func(t *testing.T) {
		_, err, _ := httpRun(t, conn, "steps:\n  - id: c\n    http: {path: /missing}\n", srv.URL, nil)
		re := runErr(t, err)
		if re.Code != "channel_not_found" || re.Message != "Slack answered channel_not_found" || re.Status != 200 ||
			toJSON(t, re.Details) != `{"error":"channel_not_found","ok":false}` || re.Headers["content-type"] == nil || re.Step != "c" {
			t.Errorf("error %+v", *re)
		}
	})
	t.Run("no rule matches: the response passes", func(t *testing.T) {
		out, err, _ := httpRun(t, conn, "outputs: {u: string}\nsteps:\n  - id: c\n    http: {path: /ok}\n  - return:\n      u: ${ steps.c.body.user }\n", srv.URL, nil)
		checkRun(t, out, err, `{"u":"U1"}`, nil)
	})
	t.Run("the step's rules come first; first match wins", func(t *testing.T) {
		_, err, _ := httpRun(t, conn, `steps:
  - http:
      path: /missing
      on_response:
        - when: ${ response.status == 500 }
          fail: never
        - when: ${ response.body.error == "channel_not_found" }
          fail: {message: "no such channel", code: not_found}
        - when: ${ true }
          fail: also never
`, srv.URL, nil)
		if re := runErr(t, err); re.Code != "not_found" || re.Message != "no such channel" {
			t.Errorf("error %+v", *re)
		}
	})
	t.Run("succeed accepts a status outside expect", func(t *testing.T) {
		out, err, _ := httpRun(t, httpConnector("", ""), `outputs: {s: integer}
steps:
  - id: c
    http:
      path: /gone
      on_response:
        - when: ${ response.status == 404 }
          succeed: true
  - return:
      s: ${ steps.c.status }
`, srv.URL, nil)
		checkRun(t, out, err, `{"s":404}`, nil)
	})
	t.Run("succeed on the step's rule wins over the connector's fail", func(t *testing.T) {
		out, err, _ := httpRun(t, conn, `outputs: {s: integer}
steps:
  - id: c
    http:
      path: /missing
      on_response:
        - when: ${ response.body.error == "channel_not_found" }
          succeed: true
  - return:
      s: ${ steps.c.status }
`, srv.URL, nil)
		checkRun(t, out, err, `{"s":200}`, nil)
	})
	t.Run("the connector's fail rules skip a status the step expects by name; its retry rules do not", func(t *testing.T) {
		out, err, sl := httpRun(t, httpConnector("", `retry: {attempts: 2}
on_response:
  - when: ${ response.status == 404 && response.body.error == "not yet" }
    retry: {after: 3s}
  - when: ${ response.body.ok == false }
    fail: {message: "failed: ${ response.body.error }", code: slack}
`), `outputs: {a: integer, b: integer}
steps:
  - id: a
    http: {path: /once404, expect: [200, 404]}
  - id: a2
    http: {path: /gone, expect: [200, 404]}
  - id: b
    http: {path: /missing, expect: any}
  - try:
      - http: {path: /missing, expect: [201]}
    catch:
      - if: ${ error.code != "slack" }
        then:
          - fail: ${ error }
  - return:
      a: ${ steps.a.status * 1000 + steps.a2.status }
      b: ${ steps.b.status }
`, srv.URL, nil)
		checkRun(t, out, err, `{"a":200404,"b":200}`, nil)
		if got := sl.list(); len(got) != 1 || got[0] != 3*time.Second {
			t.Errorf("waits %v: the 404 expected by name is still retried", got)
		}
	})
	t.Run("a fail rule without code has its status's code", func(t *testing.T) {
		_, err, _ := httpRun(t, httpConnector("", "retry: {attempts: 1}"), `steps:
  - http:
      path: /401
      on_response:
        - when: ${ response.status >= 400 }
          fail: "refused: ${ response.status }"
`, srv.URL, nil)
		if re := runErr(t, err); re.Code != "auth_expired" || re.Message != "refused: 401" || re.Status != 401 {
			t.Errorf("error %+v", *re)
		}
	})
	t.Run("a fail rule without code is http_error, with a message of its own", func(t *testing.T) {
		_, err, _ := httpRun(t, httpConnector("", ""), `steps:
  - http:
      path: /missing
      on_response:
        - when: ${ !response.body.ok }
          fail: "${ response.body.error }"
`, srv.URL, nil)
		if re := runErr(t, err); re.Code != "http_error" || re.Message != "channel_not_found" || re.Status != 200 {
			t.Errorf("error %+v", *re)
		}
	})
	t.Run("a when that cannot be evaluated does not match, and the trace says so", func(t *testing.T) {
		p := loadProject(t, map[string]string{"connector.yaml": conn, "flows/main.yaml": "name: main\ntype: action\noutputs: {b: string}\nsteps:\n  - id: c\n    http: {path: /text}\n  - return:\n      b: ${ steps.c.body }\n"})
		r, _ := newTestRunner(p, map[string]any{"base_url": srv.URL})
		var msgs []string
		r.Trace = func(ev TraceEvent) { msgs = append(msgs, ev.Message) }
		out, err := r.Run(context.Background(), "main", nil)
		checkRun(t, out, err, `{"b":"plain words"}`, nil)
		if len(msgs) == 0 || !strings.Contains(msgs[0], "connector.yaml") || !strings.Contains(msgs[0], "does not match: its when could not be evaluated for this 200 response") {
			t.Errorf("trace messages %q", msgs)
		}
	})
	t.Run("rules see the step's names", func(t *testing.T) {
		_, err, _ := httpRun(t, httpConnector("", ""), `inputs: {strict: boolean}
steps:
  - http:
      path: /ok
      on_response:
        - when: ${ inputs.strict && response.body.user != "U2" }
          fail: {message: "want U2, got ${ response.body.user }", code: wrong_user}
`, srv.URL, map[string]any{"strict": true})
		if re := runErr(t, err); re.Code != "wrong_user" || re.Message != "want U2, got U1" {
			t.Errorf("error %+v", *re)
		}
	})
}

func TestOnResponseRetry(t *testing.T) {
	retry := "retry: {attempts: 3, on: [503], backoff: 1s, max_backoff: 30s}\n"
	ratelimited := func(t *testing.T, okAfter int32) (*recorder, *atomic.Int32) {
		var n atomic.Int32
		return newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) <= okAfter {
				w.Header().Set("Retry-After", "4")
				jsonReply(w, 200, `{"ok": false, "error": "ratelimited"}`)
				return
			}
			jsonReply(w, 200, `{"ok": true}`)
		}), &n
	}
	rules := `      on_response:
        - when: ${ response.body.error == "ratelimited" }
          retry: {after: "${ response.headers['retry-after'] }"}
`
	t.Run("after from a header; counted against attempts", func(t *testing.T) {
		srv, _ := ratelimited(t, 2)
		r, clk := clockRunner(t, httpConnector("", retry), "steps:\n  - http:\n      path: /x\n"+rules, srv.URL)
		if _, err := r.Run(context.Background(), "main", nil); err != nil {
			t.Fatal(err)
		}
		if got := clk.list(); len(got) != 2 || got[0] != 4*time.Second || got[1] != 4*time.Second {
			t.Errorf("waits %v", got)
		}
	})
	t.Run("attempts used up: throttled with retry_after", func(t *testing.T) {
		srv, _ := ratelimited(t, 10)
		r, clk := clockRunner(t, httpConnector("", retry), "steps:\n  - http:\n      path: /x\n"+rules, srv.URL)
		_, err := r.Run(context.Background(), "main", nil)
		re := runErr(t, err)
		if re.Code != "throttled" || re.RetryAfter != 4*time.Second || !strings.Contains(re.Message, "asked for a retry, but all 3 attempts (retry.attempts) are used") ||
			len(srv.requests()) != 3 || len(clk.list()) != 2 {
			t.Errorf("error %+v, %d requests, waits %v", *re, len(srv.requests()), clk.list())
		}
		if obj := re.object(); obj["retry_after"] != "4s" || obj["code"] != "throttled" {
			t.Errorf("error object %s", toJSON(t, obj))
		}
	})
	t.Run("after as a number of seconds, a duration, or empty (the usual wait)", func(t *testing.T) {
		for _, c := range []struct {
			after string
			want  time.Duration
		}{{"2.5", 2500 * time.Millisecond}, {"90s", 90 * time.Second}, {`"${ response.headers['x-none'] ?? '' }"`, 4 * time.Second}} {
			srv, _ := ratelimited(t, 1)
			r, clk := clockRunner(t, httpConnector("", "retry: {attempts: 2, max_backoff: 2m}"), `steps:
  - http:
      path: /x
      on_response:
        - when: ${ response.body.ok == false }
          retry: {after: `+c.after+`}
`, srv.URL)
			if _, err := r.Run(context.Background(), "main", nil); err != nil {
				t.Fatal(err)
			}
			if got := clk.list(); len(got) != 1 || got[0] != c.want {
				t.Errorf("after %s: waits %v, want %s", c.after, got, c.want)
			}
		}
	})
	t.Run("after longer than max_backoff fails at once", func(t *testing.T) {
		srv, _ := ratelimited(t, 1)
		r, clk := clockRunner(t, httpConnector("", retry), `steps:
  - http:
      path: /x
      on_response:
        - when: ${ response.body.ok == false }
          retry: {after: 1h}
`, srv.URL)
		_, err := r.Run(context.Background(), "main", nil)
		if re := runErr(t, err); re.Code != "throttled" || !strings.Contains(re.Message, "asked for a retry, but waiting 1h0m0s is longer than retry.max_backoff 30s") || len(clk.list()) != 0 {
			t.Errorf("error %+v, waits %v", *re, clk.list())
		}
	})
}

func TestOnResponseEveryPage(t *testing.T) {
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("cursor") {
		case "":
			jsonReply(w, 200, `{"ok": true, "items": [1, 2], "next": "p2"}`)
		case "p2":
			jsonReply(w, 200, `{"ok": false, "error": "ratelimited_page"}`)
		}
	})
	flow := `steps:
  - id: all
    http:
      path: /list
      paginate:
        items: ${ response.body.items }
        next_query:
          cursor: ${ response.body.next }
`
	_, err, _ := httpRun(t, httpConnector("", slackRules), flow, srv.URL, nil)
	if re := runErr(t, err); re.Code != "ratelimited_page" || len(srv.requests()) != 2 {
		t.Errorf("error %+v, %d requests", *re, len(srv.requests()))
	}
}

func TestErrorCodes(t *testing.T) {
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v2/401":
			jsonReply(w, 401, `{}`)
		case "/api/v2/403":
			jsonReply(w, 403, `{}`)
		case "/api/v2/403-rate":
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", "30")
			jsonReply(w, 403, `{"message": "API rate limit exceeded"}`)
		case "/api/v2/429":
			w.Header().Set("Retry-After", "20")
			jsonReply(w, 429, `{}`)
		case "/api/v2/503":
			jsonReply(w, 503, `{}`)
		case "/api/v2/404":
			jsonReply(w, 404, `{}`)
		}
	})
	conn := httpConnector("", "retry: {attempts: 1}")
	cases := []struct {
		name, steps, code string
		status            int
		retryAfter        time.Duration
	}{
		{"401", "  - http: {path: /401}", "auth_expired", 401, 0},
		{"403", "  - http: {path: /403}", "auth_expired", 403, 0},
		{"403 rate limit", "  - http: {path: /403-rate}", "throttled", 403, 30 * time.Second},
		{"429", "  - http: {path: /429}", "throttled", 429, 20 * time.Second},
		{"503", "  - http: {path: /503}", "transient", 503, 0},
		{"404", "  - http: {path: /404}", "http_error", 404, 0},
		{"network", "  - http:\n      url: http://127.0.0.1:1/x", "transient", 0, 0},
		{"fail", "  - fail: no", "failed", 0, 0},
		{"fail with code", "  - fail: {message: no, code: \"42\"}", "42", 0, 0},
		{"expression", "  - set:\n      x: ${ int(\"x\") }", "flow_error", 0, 0},
		{"path not relative", "  - http: {path: \"${ 'http://' + 'x.example/' }\"}", "flow_error", 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err, _ := httpRun(t, conn, "steps:\n"+c.steps+"\n", srv.URL, nil)
			re := runErr(t, err)
			if re.Code != c.code || re.Status != c.status || re.RetryAfter != c.retryAfter || ErrorCode(err) != c.code {
				t.Errorf("code %q status %d retry_after %s (%s)", re.Code, re.Status, re.RetryAfter, re.Message)
			}
		})
	}
	t.Run("base_url that cannot be evaluated is config", func(t *testing.T) {
		c := strings.Replace(conn, "base_url: ${ connection.base_url }/api/v2", "base_url: ${ fromJSON(connection.base_url).x }", 1)
		_, err, _ := httpRun(t, c, "steps:\n  - http: {path: /x}\n", srv.URL, nil)
		if ErrorCode(err) != "config" {
			t.Errorf("code %q: %v", ErrorCode(err), err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		p := loadProject(t, mainFlow("steps:\n  - wait: 1s\n"))
		r := &Runner{Project: p}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := r.Run(ctx, "main", nil)
		if ErrorCode(err) != "cancelled" {
			t.Errorf("code %q: %v", ErrorCode(err), err)
		}
	})
}

func TestFailReraisesUnchanged(t *testing.T) {
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "9")
		jsonReply(w, 429, `{"why": "slow"}`)
	})
	_, err, _ := httpRun(t, httpConnector("", "retry: {attempts: 1}"), `steps:
  - try:
      - id: fetch
        http: {path: /x}
    catch:
      - if: ${ error.status == 404 }
        then:
          - return: {}
      - fail: ${ error }
`, srv.URL, nil)
	re := runErr(t, err)
	if re.Step != "fetch" || re.Pos.Line != 6 || re.Code != "throttled" || re.Status != 429 || re.RetryAfter != 9*time.Second ||
		toJSON(t, re.Body) != `{"why":"slow"}` || re.Headers["retry-after"] != "9" {
		t.Errorf("re-raised %+v", *re)
	}
	t.Run("an error object passed to another flow keeps its fields", func(t *testing.T) {
		out, err := func() (map[string]any, error) {
			p := loadProject(t, map[string]string{
				"flows/raise.yaml": "name: raise\ntype: helper\ninputs: {e: object}\nsteps:\n  - fail: ${ inputs.e }\n",
				"flows/main.yaml": `name: main
type: action
outputs: {e: object}
steps:
  - try:
      - try:
          - fail: {message: inner, code: E1, details: {n: 1}}
        catch:
          - call: raise
            with: {e: "${ error }"}
    catch:
      - return:
          e: ${ error }
`})
			r, _ := newTestRunner(p, nil)
			return r.Run(context.Background(), "main", nil)
		}()
		checkRun(t, out, err, `{"e":{"body":null,"code":"E1","details":{"n":1},"flow":"raise","headers":null,"message":"inner","retry_after":null,"status":null,"step":"fail"}}`, nil)
	})
}

func TestWaitHint(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		h    map[string]string
		want time.Duration
		from string
	}{
		{map[string]string{"Retry-After": "7"}, 7 * time.Second, "Retry-After"},
		{map[string]string{"Retry-After": now.Add(12 * time.Second).Format(http.TimeFormat)}, 12 * time.Second, "Retry-After"},
		{map[string]string{"RateLimit-Reset": "3"}, 3 * time.Second, "RateLimit-Reset"},
		{map[string]string{"X-RateLimit-Reset": fmt.Sprint(now.Unix() + 2)}, 2 * time.Second, "X-RateLimit-Reset"},
		{map[string]string{"X-Rate-Limit-Reset": fmt.Sprint(now.Unix() + 60)}, time.Minute, "X-Rate-Limit-Reset"},
		{map[string]string{"X-Rate-Limit-Reset": "15"}, 15 * time.Second, "X-Rate-Limit-Reset"},
		{map[string]string{"X-RateLimit-Reset": fmt.Sprint(now.Unix() - 5)}, 0, ""},
		{map[string]string{"Retry-After": "soon", "RateLimit-Reset": "-1"}, 0, ""},
		{map[string]string{"Retry-After": "1", "X-RateLimit-Reset": "100"}, time.Second, "Retry-After"},
	}
	for _, c := range cases {
		h := http.Header{}
		for k, v := range c.h {
			h.Set(k, v)
		}
		if got, from := waitHintFrom(h, now); got != c.want || from != c.from {
			t.Errorf("%v: %s from %q, want %s from %q", c.h, got, from, c.want, c.from)
		}
	}
}

func TestRateLimit(t *testing.T) {
	rateLimit := func(extra string) string {
		return httpConnector("", "retry: {attempts: 3, on: [429], backoff: 1s, max_backoff: 30s}\nrate_limit:\n  remaining_header: x-rate-limit-remaining\n  reset_header: x-rate-limit-reset\n"+extra)
	}
	t.Run("a 429 whose reset is 2s ahead is waited for, not retried at once", func(t *testing.T) {
		var n atomic.Int32
		var clk *fakeClock
		srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 1 {
				w.Header().Set("X-Rate-Limit-Remaining", "0")
				w.Header().Set("X-Rate-Limit-Reset", fmt.Sprint(clk.Now().Unix()+2))
				jsonReply(w, 429, `{}`)
				return
			}
			jsonReply(w, 200, `{}`)
		})
		r, c := clockRunner(t, rateLimit(""), "steps:\n  - http: {path: /x}\n", srv.URL)
		clk = c
		if _, err := r.Run(context.Background(), "main", nil); err != nil {
			t.Fatal(err)
		}
		if got := clk.list(); len(got) != 1 || got[0] != 2*time.Second {
			t.Errorf("waits %v, want [2s]", got)
		}
	})
	t.Run("remaining 0 holds the next request until the reset", func(t *testing.T) {
		var clk *fakeClock
		srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Rate-Limit-Remaining", "0")
			w.Header().Set("X-Rate-Limit-Reset", fmt.Sprint(clk.Now().Unix()+2))
			jsonReply(w, 200, `{}`)
		})
		r, c := clockRunner(t, rateLimit(""), "steps:\n  - http: {path: /a}\n  - http: {path: /b}\n", srv.URL)
		clk = c
		if _, err := r.Run(context.Background(), "main", nil); err != nil {
			t.Fatal(err)
		}
		if got := clk.list(); len(got) != 1 || got[0] != 2*time.Second {
			t.Errorf("waits %v, want [2s] before the second request", got)
		}
	})
	t.Run("a wait over max_wait fails at once with code throttled", func(t *testing.T) {
		var clk *fakeClock
		srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Rate-Limit-Remaining", "0")
			w.Header().Set("X-Rate-Limit-Reset", fmt.Sprint(clk.Now().Unix()+120))
			jsonReply(w, 200, `{}`)
		})
		r, c := clockRunner(t, rateLimit("  max_wait: 60s\n"), "steps:\n  - http: {path: /a}\n  - id: second\n    http: {path: /b}\n", srv.URL)
		clk = c
		_, err := r.Run(context.Background(), "main", nil)
		re := runErr(t, err)
		if re.Code != "throttled" || re.Step != "second" || re.RetryAfter != 2*time.Minute || len(clk.list()) != 0 || len(srv.requests()) != 1 ||
			!strings.Contains(re.Message, "waiting 2m0s for the rate limit to reset (x-rate-limit-remaining reached 0) would take longer than rate_limit.max_wait 1m0s") {
			t.Errorf("error %+v, waits %v, %d requests", *re, clk.list(), len(srv.requests()))
		}
	})
	t.Run("a 429 asking for more than max_wait fails at once", func(t *testing.T) {
		srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "600")
			jsonReply(w, 429, `{}`)
		})
		r, clk := clockRunner(t, rateLimit("  max_wait: 60s\n"), "steps:\n  - http: {path: /a}\n", srv.URL)
		_, err := r.Run(context.Background(), "main", nil)
		re := runErr(t, err)
		if re.Code != "throttled" || re.RetryAfter != 10*time.Minute || len(clk.list()) != 0 || len(srv.requests()) != 1 ||
			!strings.Contains(re.Message, "not retried: Retry-After asks to wait 10m0s, longer than rate_limit.max_wait 1m0s") {
			t.Errorf("error %+v, waits %v", *re, clk.list())
		}
	})
	t.Run("requests_per_second spaces the requests of parallel iterations", func(t *testing.T) {
		srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) { jsonReply(w, 200, `{}`) })
		r, clk := clockRunner(t, httpConnector("", "rate_limit: {requests_per_second: 4}"), `steps:
  - for_each: ${ [1, 2, 3, 4, 5, 6, 7, 8] }
    concurrency: 4
    steps:
      - http: {path: /x}
`, srv.URL)
		if _, err := r.Run(context.Background(), "main", nil); err != nil {
			t.Fatal(err)
		}
		var total time.Duration
		for _, w := range clk.list() {
			total += w
		}
		// 8 requests at 4 a second: slots at 0, 250ms, ..., 1750ms
		if len(srv.requests()) != 8 || clk.Now().Sub(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)) < 1750*time.Millisecond/4 || total < 1750*time.Millisecond {
			t.Errorf("waits %v (total %s)", clk.list(), total)
		}
	})
	t.Run("Runners that share a connection share its budget", func(t *testing.T) {
		var clkNow func() time.Time
		srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Rate-Limit-Remaining", "0")
			w.Header().Set("X-Rate-Limit-Reset", fmt.Sprint(clkNow().Unix()+5))
			jsonReply(w, 200, `{}`)
		})
		p := loadProject(t, map[string]string{"connector.yaml": rateLimit(""), "flows/main.yaml": "name: main\ntype: action\nsteps:\n  - http: {path: /x}\n"})
		clk := newFakeClock()
		clkNow = clk.Now
		conn := &connection.Connection{Params: map[string]any{"base_url": srv.URL}}
		r1 := &Runner{Project: p, Connection: conn, Now: clk.Now, Sleep: clk.Sleep}
		r2 := &Runner{Project: p, Connection: conn, Now: clk.Now, Sleep: clk.Sleep}
		other := &Runner{Project: p, Connection: &connection.Connection{Params: map[string]any{"base_url": srv.URL}}, Now: clk.Now, Sleep: clk.Sleep}
		for _, r := range []*Runner{r1, other, r2} {
			if _, err := r.Run(context.Background(), "main", nil); err != nil {
				t.Fatal(err)
			}
		}
		// r1 used up conn's budget; other has its own; r2 waits for conn's reset
		if got := clk.list(); len(got) != 1 || got[0] != 5*time.Second {
			t.Errorf("waits %v, want [5s] (r2 only)", got)
		}
	})
}

func TestOmitNullsAndMaxPages(t *testing.T) {
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		jsonReply(w, 200, `{"items": [1], "next": "again"}`)
	})
	_, err, _ := httpRun(t, httpConnector("", ""), `inputs: {phone: string}
steps:
  - http:
      method: POST
      path: /contacts
      omit_nulls: true
      json:
        name: Ada
        phone: ${ inputs.phone }
        address: {city: London, zip: null}
        tags: [a, null]
`, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := srv.requests()[0].Body; got != `{"address":{"city":"London"},"name":"Ada","tags":["a",null]}` {
		t.Errorf("body %s", got)
	}
	for _, c := range []struct {
		pages any
		want  string
		err   string
	}{{3, `{"n":3}`, ""}, {nil, `{"n":100}`, ""}, {0, "", "paginate: max_pages must be a whole number of pages, at least 1; got 0"}} {
		var n atomic.Int32
		srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
			jsonReply(w, 200, fmt.Sprintf(`{"items": [1], "next": "p%d"}`, n.Add(1)))
		})
		out, err, _ := httpRun(t, httpConnector("", ""), `inputs: {pages: integer}
outputs: {n: integer}
steps:
  - id: all
    http:
      path: /list
      paginate:
        items: ${ response.body.items }
        next_query:
          c: ${ response.body.next }
        max_pages: ${ inputs.pages }
  - return:
      n: ${ steps.all.pages }
`, srv.URL, map[string]any{"pages": c.pages})
		var wantErr []string
		if c.err != "" {
			wantErr = []string{c.err}
		}
		checkRun(t, out, err, c.want, wantErr)
	}
}
