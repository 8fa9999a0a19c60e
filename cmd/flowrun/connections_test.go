package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/flowrun/flowrun/trigger"
)

// oauthService is one account's SaaS API for the multi fixture: OAuth 2.0
// refresh (each refresh hands out the next access and refresh token),
// /events behind the current access token, webhook registration. Its
// /events can hang or fail, and its refresh token can be revoked.
type oauthService struct {
	name string
	srv  *httptest.Server

	mu      sync.Mutex
	gen     int    // tokens handed out
	access  string // the valid access token
	refresh string // the valid refresh token
	events  int    // events 1..events exist
	status  int    // /events answers this when not 0
	hang    chan struct{}
	hanging chan struct{} // closed when a request hangs
	revoked bool
	polls   int
}

func newOAuthService(t *testing.T, name string) *oauthService {
	s := &oauthService{name: name, refresh: "rt-" + name + "-0"}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		s.mu.Lock()
		if s.hang != nil {
			close(s.hang)
			s.hang = nil
		}
		s.mu.Unlock()
		s.srv.Close()
	})
	return s
}

func (s *oauthService) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path == "/token" {
		r.ParseForm()
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.revoked || r.PostForm.Get("grant_type") != "refresh_token" || r.PostForm.Get("refresh_token") != s.refresh {
			w.WriteHeader(400)
			io.WriteString(w, `{"error":"invalid_grant"}`)
			return
		}
		s.gen++
		s.access = fmt.Sprintf("at-%s-%d", s.name, s.gen)
		s.refresh = fmt.Sprintf("rt-%s-%d", s.name, s.gen)
		json.NewEncoder(w).Encode(map[string]any{"access_token": s.access, "refresh_token": s.refresh, "token_type": "Bearer", "expires_in": 3600})
		return
	}
	s.mu.Lock()
	ok := s.access != "" && r.Header.Get("Authorization") == "Bearer "+s.access
	n, status, hang, hanging := s.events, s.status, s.hang, s.hanging
	if r.URL.Path == "/events" {
		s.polls++
	}
	s.mu.Unlock()
	if !ok {
		w.WriteHeader(401)
		io.WriteString(w, `{"message":"bad token"}`)
		return
	}
	switch {
	case r.Method == "POST" && r.URL.Path == "/hooks":
		w.WriteHeader(201)
		io.WriteString(w, `{"id": 7}`)
	case r.Method == "DELETE":
		w.WriteHeader(204)
	case r.URL.Path == "/events" && hang != nil:
		if hanging != nil {
			select {
			case <-hanging:
			default:
				close(hanging)
			}
		}
		select {
		case <-hang:
		case <-r.Context().Done():
		}
		w.WriteHeader(503)
	case r.URL.Path == "/events" && status != 0:
		w.WriteHeader(status)
		io.WriteString(w, `{"message":"down"}`)
	case r.URL.Path == "/events":
		since, _ := strconv.Atoi(r.URL.Query().Get("since"))
		evs := []map[string]any{}
		for i := max(since, 1); i <= n; i++ {
			evs = append(evs, map[string]any{"id": i, "title": fmt.Sprintf("%s event %d", s.name, i)})
		}
		json.NewEncoder(w).Encode(map[string]any{"events": evs})
	default:
		w.WriteHeader(404)
	}
}

func (s *oauthService) set(f func(s *oauthService)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *oauthService) pollCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.polls
}

func (s *oauthService) tokens() (string, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.access, s.refresh
}

// writeOAuthConn writes a connection file with the service's refresh token
// and an expired access token, so the first request refreshes it.
func writeOAuthConn(t *testing.T, path string, s *oauthService) {
	_, rt := s.tokens()
	body := fmt.Sprintf("params:\n  base_url: %s\n  client_id: cid-%s\n  client_secret: csecret-%s-1234\ntoken:\n  access_token: at-%s-expired\n  refresh_token: %s\n  expiry: 2020-01-01T00:00:00Z\n",
		s.srv.URL, s.name, s.name, s.name, rt)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// deliverBody posts a signed issue_events delivery (X-GitHub-Delivery
// who-n) and returns the status and body of the answer.
func deliverBody(t *testing.T, addr, id, secret, who string, n int) (int, string) {
	t.Helper()
	body := []byte(fmt.Sprintf(`{"action":"opened","issue":{"number":%d}}`, n))
	req, _ := http.NewRequest("POST", "http://"+addr+trigger.HookPath(id), strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("%s-%d", who, n))
	req.Header.Set("X-Hub-Signature-256", hubSign(secret, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// sinkEvents reads the sink file: per trigger, the ids (poll events) or
// numbers (webhook events) delivered, in order.
func sinkEvents(t *testing.T, path string) map[string][]int {
	out := map[string][]int{}
	for _, line := range readLines(t, path) {
		var d struct {
			Trigger string
			Event   struct {
				ID     int `json:"id"`
				Number int `json:"number"`
			}
		}
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("sink line %q: %v", line, err)
		}
		out[d.Trigger] = append(out[d.Trigger], d.Event.ID+d.Event.Number)
	}
	return out
}

// TestServeNamedConnectionsEndToEnd runs a real `flowrun serve
// --connections DIR` with two connections (alpha, beta) to two services,
// each with a poll and a webhook trigger of the same flows and input. The
// tokens are refreshed and written back each to its own file. beta's
// service hangs, then fails with 500, then revokes beta's refresh token
// (beta's poll trigger pauses): all the while alpha's polls and deliveries
// go on. The failed beta poll
// is replayed with `runs replay` once its service is back, and nothing is
// delivered twice. runs list and trigger list show the connections, and
// /metrics counts runs by connection.
func TestServeNamedConnectionsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts flowrun serve")
	}
	alpha, beta := newOAuthService(t, "alpha"), newOAuthService(t, "beta")
	dir := t.TempDir()
	conns := filepath.Join(dir, "conns")
	os.Mkdir(conns, 0o700)
	writeOAuthConn(t, filepath.Join(conns, "alpha.yaml"), alpha)
	writeOAuthConn(t, filepath.Join(conns, "beta.yaml"), beta)
	state := filepath.Join(dir, "state")
	sink := filepath.Join(dir, "events.jsonl")
	project := "../../testdata/trigger/multi"
	addr := freeAddr(t)
	secrets := []string{"csecret-alpha-1234", "csecret-beta-1234"}

	ids := map[string]string{} // "alpha poll" -> trigger id
	for _, name := range []string{"alpha", "beta"} {
		for _, flow := range []string{"new_events", "issue_events"} {
			out, errs, code := runBin(t, "trigger", "on", project, flow, "--connections", conns, "--connection", name,
				"--state", state, "--public-url", "http://"+addr)
			m := regexp.MustCompile(`trigger (\S+) is on \(\w+ ` + flow + ` on connection ` + name + `\)`).FindStringSubmatch(out)
			if code != 0 || m == nil {
				t.Fatalf("trigger on %s %s: exit %d\n%s%s", flow, name, code, out, errs)
			}
			ids[name+" "+flow] = m[1]
		}
	}
	// bad input is refused, naming what is wrong
	if _, errs, code := runBin(t, "trigger", "on", project, "new_events", "--connections", conns, "--connection", "alpah", "--state", state); code != 2 ||
		!strings.Contains(errs, `no connection "alpah"`) || !strings.Contains(errs, `did you mean "alpha"?`) {
		t.Fatalf("unknown connection: exit %d\n%s", code, errs)
	}

	secretOf := map[string]string{}
	st, err := trigger.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	for k, id := range ids {
		tr, err := st.GetTrigger(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.Fields(k)[0]; tr.Connection != want {
			t.Fatalf("trigger %s has connection %q, want %q", id, tr.Connection, want)
		}
		secretOf[k] = tr.Secret
		if tr.Secret != "" {
			secrets = append(secrets, tr.Secret)
		}
	}
	st.Close()
	// serve starts with expired tokens: it refreshes each and writes it
	// back to its own file
	writeOAuthConn(t, filepath.Join(conns, "alpha.yaml"), alpha)
	writeOAuthConn(t, filepath.Join(conns, "beta.yaml"), beta)
	genBefore := map[string]int{}
	for _, svc := range []*oauthService{alpha, beta} {
		svc.set(func(s *oauthService) { genBefore[s.name] = s.gen })
	}

	alpha.set(func(s *oauthService) { s.events = 2 })
	beta.set(func(s *oauthService) {
		s.events = 2
		s.hang, s.hanging = make(chan struct{}), make(chan struct{})
	})
	cmd := exec.Command(flowrunBin(t), "serve", project, "--connections", conns, "--state", state, "--listen", addr,
		"--sink", "file:"+sink, "--public-url", "http://"+addr, "--clock", "2026-01-01T00:00:00Z", "--log-format", "json", "--drain", "2s")
	cmd.Env = append(os.Environ(), "FLOWRUN_POLL_EVERY=100ms")
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	waitReady(t, addr)

	deliver := func(who string, n int) int {
		body := []byte(fmt.Sprintf(`{"action":"opened","issue":{"number":%d}}`, n))
		hdr := map[string]string{"X-GitHub-Delivery": fmt.Sprintf("%s-%d", who, n), "X-Hub-Signature-256": hubSign(secretOf[who+" issue_events"], body)}
		return post(t, "http://"+addr+trigger.HookPath(ids[who+" issue_events"]), hdr, body)
	}
	got := func(who, flow string) []int { return sinkEvents(t, sink)[ids[who+" "+flow]] }

	// 1. beta's service hangs on /events: alpha polls and takes deliveries
	<-beta.hanging
	waitFor(t, 20*time.Second, "alpha's poll events while beta's poll hangs", func() bool { return len(got("alpha", "new_events")) == 2 })
	if c := deliver("alpha", 1); c != 200 {
		t.Fatalf("alpha delivery while beta hangs: %d\n%s", c, stderr.String())
	}
	if c := deliver("beta", 1); c != 200 {
		t.Fatalf("beta delivery while beta's poll hangs: %d\n%s", c, stderr.String())
	}
	alpha.set(func(s *oauthService) { s.events = 4 })
	waitFor(t, 20*time.Second, "alpha's later events while beta's poll hangs", func() bool { return len(got("alpha", "new_events")) == 4 })

	// 2. beta's service answers 500: its polls fail (recorded, replayable),
	// alpha's go on
	beta.set(func(s *oauthService) {
		s.status = 500
		close(s.hang)
		s.hang = nil
	})
	var failedRun string
	waitFor(t, 20*time.Second, "a failed beta poll in the run history", func() bool {
		out, _, _ := runBin(t, "runs", "list", "--state", state, "--failed", "--connection", "beta")
		m := regexp.MustCompile(`(?m)^(\d+) .* poll +` + regexp.QuoteMeta(ids["beta new_events"]) + ` +beta +new_events .* error \(replayable\)`).FindStringSubmatch(out)
		if m != nil {
			failedRun = m[1]
		}
		return m != nil
	})
	alpha.set(func(s *oauthService) { s.events = 5 })
	waitFor(t, 20*time.Second, "alpha's events while beta's service fails", func() bool { return len(got("alpha", "new_events")) == 5 })
	if c := deliver("alpha", 2); c != 200 {
		t.Fatalf("alpha delivery while beta fails: %d", c)
	}

	// 3. beta's service is back: its poll delivers; the failed run is
	// replayed by another process, through dedupe: nothing twice
	beta.set(func(s *oauthService) { s.status = 0; s.events = 3 })
	waitFor(t, 40*time.Second, "beta's events after its service is back", func() bool { return len(got("beta", "new_events")) == 3 })
	out, errs, code := runBin(t, "runs", "replay", project, failedRun, "--state", state, "--connections", conns, "--sink", "file:"+sink)
	if code != 0 || !strings.Contains(errs, "run "+failedRun+" replayed as run ") {
		t.Fatalf("runs replay: exit %d\n%s%s", code, out, errs)
	}

	// 4. beta's refresh token is revoked: its triggers pause (deliveries
	// 503), alpha's go on
	beta.set(func(s *oauthService) { s.revoked = true; s.access = "" })
	waitFor(t, 20*time.Second, "beta's poll trigger to pause", func() bool {
		out, _, _ := runBin(t, "trigger", "list", "--state", state)
		return regexp.MustCompile(regexp.QuoteMeta(ids["beta new_events"]) + ` +multi +beta +new_events +poll +paused \(auth_expired\)`).MatchString(out)
	})
	alpha.set(func(s *oauthService) { s.events = 6 })
	waitFor(t, 20*time.Second, "alpha's events while beta is paused", func() bool { return len(got("alpha", "new_events")) == 6 })
	if c := deliver("alpha", 3); c != 200 {
		t.Fatalf("alpha delivery while beta is paused: %d", c)
	}
	// beta's webhook trigger pauses with it (its connection's token cannot
	// be refreshed): its delivery is kept for replay and answered 503
	waitFor(t, 20*time.Second, "beta's webhook trigger to pause", func() bool {
		out, _, _ := runBin(t, "trigger", "list", "--state", state)
		return regexp.MustCompile(regexp.QuoteMeta(ids["beta issue_events"]) + ` +multi +beta +issue_events +webhook +paused \(auth_expired\)`).MatchString(out)
	})
	code, body := deliverBody(t, addr, ids["beta issue_events"], secretOf["beta issue_events"], "beta", 2)
	kept := regexp.MustCompile(`^\{"error":"trigger paused \(auth_expired\): the delivery is kept as run (\d+) for replay","run":\d+\}$`).FindStringSubmatch(body)
	if code != 503 || kept == nil {
		t.Fatalf("beta delivery while beta is paused: %d %s", code, body)
	}
	if c := deliver("alpha", 4); c != 200 {
		t.Fatalf("alpha delivery while beta is paused: %d", c)
	}

	// 5. a new login for beta (a new refresh token in beta.yaml) and
	// SIGHUP: serve reloads the changed file, the pauses are lifted, the
	// sender's retry is taken and the kept delivery replays through dedupe
	reloads := func() int { return strings.Count(stderr.String(), `"msg":"reload: connections read"`) }
	reload := func(what string) {
		t.Helper()
		n := reloads()
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 20*time.Second, "reload after "+what, func() bool { return reloads() > n })
	}
	beta.set(func(s *oauthService) { s.revoked = false; s.refresh = "rt-beta-login"; s.events = 4 })
	writeOAuthConn(t, filepath.Join(conns, "beta.yaml"), beta)
	beta.set(func(s *oauthService) { genBefore[s.name] = s.gen })
	reload("beta's login")
	if !strings.Contains(stderr.String(), `"msg":"reload: connection changed","project":"multi","connection":"beta"`) {
		t.Fatalf("no reload of beta in the log:\n%s", stderr.String())
	}
	if c := deliver("beta", 2); c != 200 {
		t.Fatalf("beta's retried delivery after the login: %d\n%s", c, stderr.String())
	}
	waitFor(t, 40*time.Second, "beta's poll after the login", func() bool { return len(got("beta", "new_events")) == 4 })
	out, errs, code = runBin(t, "runs", "replay", project, kept[1], "--state", state, "--connections", conns, "--sink", "file:"+sink)
	if code != 0 || !strings.Contains(errs, "run "+kept[1]+" replayed as run ") {
		t.Fatalf("runs replay of the kept delivery: exit %d\n%s%s", code, out, errs)
	}

	// 6. a broken file is logged with file:line:col and skipped; a new
	// connection (gamma) is served after a reload, its trigger turned on by
	// another process; removing gamma's file stops its deliveries with a
	// clear answer; the others go on throughout
	os.WriteFile(filepath.Join(conns, "broken.yaml"), []byte("params:\n  base_url: [\n"), 0o600)
	gamma := newOAuthService(t, "gamma")
	writeOAuthConn(t, filepath.Join(conns, "gamma.yaml"), gamma)
	reload("a broken file and gamma")
	if !regexp.MustCompile(`"msg":"reload: connection file skipped \(not added\)","project":"multi","connection":"broken","error":"[^"]*broken\.yaml:\d+:\d+: `).MatchString(stderr.String()) {
		t.Fatalf("the broken file is not logged with its position:\n%s", stderr.String())
	}
	out, errs, code = runBin(t, "trigger", "on", project, "issue_events", "--connections", conns, "--connection", "gamma",
		"--state", state, "--public-url", "http://"+addr)
	m := regexp.MustCompile(`trigger (\S+) is on`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("trigger on gamma: exit %d\n%s%s", code, out, errs)
	}
	st, err = trigger.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	gt, err := st.GetTrigger(context.Background(), m[1])
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, gt.Secret, "csecret-gamma-1234")
	if code, body := deliverBody(t, addr, gt.ID, gt.Secret, "gamma", 1); code != 200 {
		t.Fatalf("gamma delivery after the reload: %d %s\n%s", code, body, stderr.String())
	}
	os.Remove(filepath.Join(conns, "gamma.yaml"))
	reload("gamma's removal")
	if code, body := deliverBody(t, addr, gt.ID, gt.Secret, "gamma", 2); code != 503 || !strings.Contains(body, `trigger not served: connection gamma was removed from `) {
		t.Fatalf("gamma delivery after its file was removed: %d %s", code, body)
	}
	if c := deliver("alpha", 5); c != 200 {
		t.Fatalf("alpha delivery after the reloads: %d", c)
	}
	os.Remove(filepath.Join(conns, "broken.yaml"))

	// metrics: runs by connection
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	runsBy := map[string]float64{}
	for _, m := range fams["flowrun_runs_total"].GetMetric() {
		key := ""
		for _, l := range m.GetLabel() {
			key += l.GetName() + "=" + l.GetValue() + " "
		}
		runsBy[key] += m.GetCounter().GetValue()
	}
	if runsBy["connection=alpha outcome=ok source=poll "] < 3 || runsBy["connection=beta outcome=error source=poll "] < 1 {
		t.Fatalf("flowrun_runs_total: %v", runsBy)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exited with %v\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("serve still running after SIGTERM\n%s", stderr.String())
	}

	// every event once, per trigger
	all := sinkEvents(t, sink)
	want := map[string]string{"alpha new_events": "1,2,3,4,5,6", "beta new_events": "1,2,3,4", "alpha issue_events": "1,2,3,4,5", "beta issue_events": "1,2"}
	for k, w := range want {
		var s []string
		for _, n := range all[ids[k]] {
			s = append(s, strconv.Itoa(n))
		}
		if g := strings.Join(s, ","); g != w {
			t.Errorf("%s delivered %s, want %s", k, g, w)
		}
	}
	// each file holds its own connection's latest tokens
	for _, svc := range []*oauthService{alpha, beta} {
		b, err := os.ReadFile(filepath.Join(conns, svc.name+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		_, rt := svc.tokens()
		other := "alpha"
		if svc.name == "alpha" {
			other = "beta"
		}
		if !strings.Contains(string(b), `"refresh_token": "`+rt+`"`) || strings.Contains(string(b), other) || !strings.Contains(string(b), "cid-"+svc.name) {
			t.Errorf("%s.yaml after serve (its service's refresh token is %s):\n%s", svc.name, rt, b)
		}
	}
	for _, svc := range []*oauthService{alpha, beta} {
		svc.set(func(s *oauthService) {
			if s.gen != genBefore[s.name]+1 {
				t.Errorf("%s's token was refreshed %d times by serve, want once", s.name, s.gen-genBefore[s.name])
			}
		})
	}
	// the lists name the connections; nothing printed or logged holds a secret
	out, _, _ = runBin(t, "runs", "list", "--state", state, "--connection", "alpha", "--limit", "1000")
	if strings.Contains(out, " beta ") || !strings.Contains(out, " alpha ") || !strings.Contains(out, "CONNECTION") {
		t.Errorf("runs list --connection alpha:\n%s", out)
	}
	logs := stderr.String()
	for _, svc := range []*oauthService{alpha, beta} {
		a, r := svc.tokens()
		secrets = append(secrets, a, r)
	}
	for _, sec := range secrets {
		if sec != "" && strings.Contains(logs, sec) {
			t.Errorf("secret %q in the log", sec)
		}
	}
	var sawBeta bool
	for _, line := range strings.Split(logs, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "run" && m["connection"] == "beta" && m["outcome"] == "error" {
			sawBeta = true
		}
	}
	if !sawBeta {
		t.Errorf("no log line of a failed beta run:\n%s", logs)
	}
}

// TestConnectionsDirErrors: a malformed file, two files of one name, an
// unknown name and --connection with --connections on serve are refused,
// naming the file (with line:col) or offering the name meant.
func TestConnectionsDirErrors(t *testing.T) {
	project := "../../testdata/trigger/multi"
	dir := t.TempDir()
	conns := filepath.Join(dir, "conns")
	os.Mkdir(conns, 0o700)
	good := "params:\n  base_url: http://127.0.0.1:1\n  client_id: c\n  client_secret: s3cr3t-value\n"
	os.WriteFile(filepath.Join(conns, "alpha.yaml"), []byte(good), 0o600)
	os.WriteFile(filepath.Join(conns, "beta.yaml"), []byte("params:\n  base_url: http://127.0.0.1:1\n  client_id: c\n  client_secret: x\n  colour: red\n"), 0o600)
	state := filepath.Join(dir, "state")

	// serve skips a broken file and serves the others
	// (TestServeSkipsBrokenConnectionAtStart); with nothing else, it exits 2
	os.Rename(filepath.Join(conns, "alpha.yaml"), filepath.Join(dir, "alpha.yaml"))
	code, _, errs := flowrunMain(t, "serve", project, "--connections", conns, "--state", state, "--listen", "127.0.0.1:0")
	if code != 2 || !regexp.MustCompile(`beta\.yaml:5:3: .*no connection parameter "colour"`).MatchString(errs) || !strings.Contains(errs, "could be loaded") {
		t.Fatalf("malformed file: exit %d\n%s", code, errs)
	}
	os.WriteFile(filepath.Join(conns, "beta.yaml"), []byte(good), 0o600)
	os.WriteFile(filepath.Join(conns, "beta.json"), []byte(`{"params": {}}`), 0o600)
	code, _, errs = flowrunMain(t, "serve", project, "--connections", conns, "--state", state, "--listen", "127.0.0.1:0")
	if code != 2 || !strings.Contains(errs, "beta.json") || !strings.Contains(errs, "beta.yaml") || !strings.Contains(errs, `both named "beta"`) {
		t.Fatalf("duplicate name: exit %d\n%s", code, errs)
	}
	os.Remove(filepath.Join(conns, "beta.json"))
	os.Rename(filepath.Join(dir, "alpha.yaml"), filepath.Join(conns, "alpha.yaml"))
	code, _, errs = flowrunMain(t, "trigger", "on", project, "new_events", "--connections", conns, "--connection", "betta", "--state", state)
	if code != 2 || !strings.Contains(errs, `no connection "betta"`) || !strings.Contains(errs, `did you mean "beta"?`) {
		t.Fatalf("unknown name: exit %d\n%s", code, errs)
	}
	code, _, errs = flowrunMain(t, "trigger", "on", project, "new_events", "--connections", conns, "--connection", filepath.Join(conns, "beta.yaml"), "--state", state)
	if code != 2 || !strings.Contains(errs, `--connection takes a name: "beta"`) {
		t.Fatalf("a file for a name: exit %d\n%s", code, errs)
	}
	code, _, errs = flowrunMain(t, "trigger", "on", project, "new_events", "--connections", conns, "--state", state)
	if code != 2 || !strings.Contains(errs, "--connection NAME") || !strings.Contains(errs, "one of alpha, beta") {
		t.Fatalf("no name: exit %d\n%s", code, errs)
	}
	code, _, errs = flowrunMain(t, "serve", project, "--connections", conns, "--connection", "alpha", "--state", state)
	if code != 2 || !strings.Contains(errs, "not both") {
		t.Fatalf("--connection with --connections: exit %d\n%s", code, errs)
	}
	code, _, errs = flowrunMain(t, "serve", project, project, "--connection", filepath.Join(conns, "alpha.yaml"), "--state", state)
	if code != 2 || !strings.Contains(errs, "several projects needs --connections") {
		t.Fatalf("two projects without --connections: exit %d\n%s", code, errs)
	}
	if strings.Contains(errs, "s3cr3t-value") {
		t.Fatal("a secret in an error")
	}
}

// TestServeSkipsBrokenConnectionAtStart: serve --connections starts with
// the connections that load and names the broken file (with its position)
// it skipped, as a reload does; with none that loads it exits 2.
func TestServeSkipsBrokenConnectionAtStart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts flowrun serve")
	}
	alpha := newOAuthService(t, "alpha")
	dir := t.TempDir()
	conns := filepath.Join(dir, "conns")
	os.Mkdir(conns, 0o700)
	writeOAuthConn(t, filepath.Join(conns, "alpha.yaml"), alpha)
	os.WriteFile(filepath.Join(conns, "broken.yaml"), []byte("params:\n  base_url: [\n"), 0o600)
	os.WriteFile(filepath.Join(conns, "bad name!.yaml"), []byte("params: {}\n"), 0o600)
	state := filepath.Join(dir, "state")
	project := "../../testdata/trigger/multi"
	addr := freeAddr(t)
	cmd := exec.Command(flowrunBin(t), "serve", project, "--connections", conns, "--state", state, "--listen", addr, "--sink", "file:"+filepath.Join(dir, "events.jsonl"))
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitReady(t, addr)
	waitFor(t, 5*time.Second, "the skipped files to be named", func() bool {
		s := stderr.String()
		return regexp.MustCompile(`broken\.yaml:\d+:\d+: `).MatchString(s) &&
			strings.Contains(s, "connection broken of project multi is skipped") &&
			strings.Contains(s, "bad name!.yaml: a connection's name")
	})
	cmd.Process.Signal(syscall.SIGTERM)

	// nothing that loads: exit 2
	os.Remove(filepath.Join(conns, "alpha.yaml"))
	_, errs, code := runBin(t, "serve", project, "--connections", conns, "--state", state, "--listen", freeAddr(t))
	if code != 2 || !strings.Contains(errs, "could be loaded") {
		t.Fatalf("serve with only broken files: exit %d\n%s", code, errs)
	}
}
