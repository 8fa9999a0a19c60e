package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
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

	"github.com/flowrun/flowrun/trigger"
)

// These tests drive a real `flowrun` binary over loopback: trigger on,
// serve (webhooks, polls, SIGTERM, SIGKILL), trigger off, connection test
// and revoke, against httptest services.

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

func flowrunBin(t *testing.T) string {
	t.Helper()
	// The test binary is the flowrun command when it is started under that
	// name (testscript.Main in TestMain), so a link named flowrun to it is
	// the binary under test: no second build.
	binOnce.Do(func() {
		self, err := os.Executable()
		if err != nil {
			binErr = err
			return
		}
		dir, err := os.MkdirTemp("", "flowrun-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "flowrun")
		binErr = os.Symlink(self, binPath)
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// fakeService is the SaaS API the acme fixture talks to.
type fakeService struct {
	mu     sync.Mutex
	calls  []string
	events int
	status int // for /me: 0 means 200
	evStat int // for /events: 0 means 200
	srv    *httptest.Server
}

func newFakeService(t *testing.T) *fakeService {
	s := &fakeService{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.calls = append(s.calls, r.Method+" "+r.URL.Path+" "+string(body))
		n, status, evStat := s.events, s.status, s.evStat
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/me":
			if status != 0 {
				w.WriteHeader(status)
				io.WriteString(w, `{"message": "Bad credentials"}`)
				return
			}
			io.WriteString(w, `{"login": "octocat"}`)
		case r.URL.Path == "/revoke" || r.URL.Path == "/slow":
			io.WriteString(w, `{}`)
		case r.Method == "POST" && r.URL.Path == "/hooks":
			w.WriteHeader(201)
			io.WriteString(w, `{"id": 42}`)
		case r.Method == "DELETE":
			w.WriteHeader(204)
		case r.URL.Path == "/events" && evStat != 0:
			w.WriteHeader(evStat)
			io.WriteString(w, `{"message": "Bad credentials"}`)
		case r.URL.Path == "/events":
			// inclusive of the cursor: the last event comes again every poll,
			// so dedupe has something to drop
			since, _ := strconv.Atoi(r.URL.Query().Get("since"))
			evs := []map[string]any{}
			for i := max(since, 1); i <= n; i++ {
				evs = append(evs, map[string]any{"id": i, "title": fmt.Sprintf("event %d", i)})
			}
			json.NewEncoder(w).Encode(map[string]any{"events": evs})
		default:
			w.WriteHeader(404)
		}
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *fakeService) count(prefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

func writeConn(t *testing.T, dir, baseURL string) string {
	p := filepath.Join(dir, "conn.yaml")
	body := fmt.Sprintf("params:\n  base_url: %s\n  token: {env: ACME_TOKEN}\n", baseURL)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const acmeToken = "acme-secret-token-1234"

func runBin(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(flowrunBin(t), args...)
	cmd.Env = append(os.Environ(), "ACME_TOKEN="+acmeToken)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String()+errb.String(), acmeToken) {
		t.Errorf("flowrun %v printed the secret token", args)
	}
	return out.String(), errb.String(), code
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// serveProc is a running `flowrun serve`.
type serveProc struct {
	cmd    *exec.Cmd
	addr   string
	stderr *bytes.Buffer
	done   chan error
}

func startServe(t *testing.T, project, conn, state, addr, sink string, env ...string) *serveProc {
	t.Helper()
	cmd := exec.Command(flowrunBin(t), "serve", project, "--connection", conn, "--state", state,
		"--listen", addr, "--sink", sink, "--public-url", "http://"+addr, "--clock", "2026-01-01T00:00:00Z")
	cmd.Env = append(append(os.Environ(), "ACME_TOKEN="+acmeToken), env...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serveProc{cmd: cmd, addr: addr, stderr: &errb, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not come up: %s", errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitFor polls cond until it holds, failing the test after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func hubSign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func post(t *testing.T, url string, h map[string]string, body []byte) int {
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func readLines(t *testing.T, p string) []string {
	b, err := os.ReadFile(p)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func TestServeWebhookEndToEnd(t *testing.T) {
	svc := newFakeService(t)
	dir := t.TempDir()
	conn := writeConn(t, dir, svc.srv.URL)
	state := filepath.Join(dir, "state")
	project := "../../testdata/trigger/acme"
	addr := freeAddr(t)

	out, errs, code := runBin(t, "trigger", "on", project, "issue_events", "--connection", conn, "--state", state, "--public-url", "http://"+addr)
	if code != 0 {
		t.Fatalf("trigger on: exit %d\n%s%s", code, out, errs)
	}
	m := regexp.MustCompile(`trigger (\S+) is on`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("trigger on printed %q", out)
	}
	id := m[1]
	if svc.count("POST /hooks") != 1 {
		t.Fatalf("register not called: %v", svc.calls)
	}
	st, err := trigger.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := st.GetTrigger(context.Background(), id)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}

	events := filepath.Join(dir, "events.jsonl")
	p := startServe(t, project, conn, state, addr, "file:"+events)
	url := "http://" + addr + trigger.HookPath(id)
	body, err := os.ReadFile("../../testdata/realdata/github-webhook-issues-opened.json")
	if err != nil {
		t.Fatal(err)
	}
	hdr := map[string]string{"X-GitHub-Event": "issues", "X-GitHub-Delivery": "d-1", "X-Hub-Signature-256": hubSign(tr.Secret, body)}
	if c := post(t, url, hdr, body); c != 200 {
		t.Fatalf("signed delivery: %d\n%s", c, p.stderr)
	}
	if c := post(t, url, hdr, body); c != 200 { // the sender retries the same delivery
		t.Fatalf("repeated delivery: %d", c)
	}
	tampered := bytes.Replace(body, []byte(`"opened"`), []byte(`"deleted"`), 1)
	if c := post(t, url, map[string]string{"X-GitHub-Delivery": "d-2", "X-Hub-Signature-256": hubSign(tr.Secret, body)}, tampered); c != 401 {
		t.Fatalf("tampered delivery: %d, want 401", c)
	}
	lines := readLines(t, events)
	if len(lines) != 1 || !strings.Contains(lines[0], `"action":"opened"`) {
		t.Fatalf("events file: %q", lines)
	}

	// SIGTERM while a slow delivery is in flight: it completes, serve exits 0
	// (another body: the same bytes again would be answered as a replay)
	slowBody := append(bytes.Clone(body), '\n')
	slow := map[string]string{"X-GitHub-Event": "issues", "X-GitHub-Delivery": "d-3", "X-Slow": "2s", "X-Hub-Signature-256": hubSign(tr.Secret, slowBody)}
	res := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest("POST", url, bytes.NewReader(slowBody))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range slow {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			res <- err.Error()
			return
		}
		resp.Body.Close()
		res <- resp.Status
	}()
	// the event steps call GET /slow and then wait 2s: once the service saw
	// that call, the delivery is in flight
	waitFor(t, 15*time.Second, "the slow delivery to start", func() bool { return svc.count("GET /slow") == 1 })
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case r := <-res:
		if r != "200 OK" {
			t.Fatalf("in-flight delivery during shutdown: %s\n%s", r, p.stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the in-flight delivery got no answer")
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("serve exited with %v\n%s", err, p.stderr)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
	if n := len(readLines(t, events)); n != 2 {
		t.Fatalf("after drain the file has %d events, want 2", n)
	}

	out, _, _ = runBin(t, "trigger", "list", "--state", state)
	if !strings.Contains(out, id) || !strings.Contains(out, "issue_events") || strings.Contains(out, tr.Secret) {
		t.Fatalf("trigger list:\n%s", out)
	}
	out, errs, code = runBin(t, "trigger", "off", project, "issue_events", "--connection", conn, "--state", state)
	if code != 0 || svc.count("DELETE /hooks/42") != 1 {
		t.Fatalf("trigger off: exit %d %s%s, calls %v", code, out, errs, svc.calls)
	}
	out, _, _ = runBin(t, "trigger", "list", "--state", state)
	if !strings.Contains(out, "no triggers are on") {
		t.Fatalf("after off: %s", out)
	}
}

// TestPollCrashAtLeastOnce kills `flowrun serve` with SIGKILL while its sink
// is receiving a batch, restarts it, and counts what the sink got: every
// event at least once, none lost.
func TestPollCrashAtLeastOnce(t *testing.T) {
	svc := newFakeService(t)
	svc.events = 5
	dir := t.TempDir()
	conn := writeConn(t, dir, svc.srv.URL)
	state := filepath.Join(dir, "state")
	project := "../../testdata/trigger/acme"
	if _, errs, code := runBin(t, "trigger", "on", project, "new_events", "--connection", conn, "--state", state); code != 0 {
		t.Fatalf("trigger on: %s", errs)
	}

	var mu sync.Mutex
	got := map[float64]int{}
	batches := 0
	firstBatch := make(chan struct{})
	release := make(chan struct{})
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ds []trigger.Delivery
		if err := json.NewDecoder(r.Body).Decode(&ds); err != nil {
			w.WriteHeader(400)
			return
		}
		mu.Lock()
		batches++
		first := batches == 1
		for _, d := range ds {
			got[d.Event.(map[string]any)["id"].(float64)]++
		}
		mu.Unlock()
		if first {
			close(firstBatch)
			<-release // hold the first batch until flowrun is dead
		}
	}))
	defer sink.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()

	addr := freeAddr(t)
	p := startServe(t, project, conn, state, addr, sink.URL, "FLOWRUN_POLL_EVERY=150ms")
	select {
	case <-firstBatch:
	case <-time.After(20 * time.Second):
		t.Fatalf("no batch reached the sink\n%s", p.stderr)
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	close(release)

	// restart; more events appear meanwhile
	svc.mu.Lock()
	svc.events = 8
	svc.mu.Unlock()
	p = startServe(t, project, conn, state, addr, sink.URL, "FLOWRUN_POLL_EVERY=150ms")
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 8 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d distinct events arrived\n%s", n, p.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// let three more polls run: the last event comes back from the service
	// each time, and dedupe must drop it
	after := svc.count("GET /events")
	waitFor(t, 20*time.Second, "three more polls", func() bool { return svc.count("GET /events") >= after+3 })
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("serve exited with %v after SIGTERM\n%s", err, p.stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}

	mu.Lock()
	defer mu.Unlock()
	total, dups := 0, 0
	for id := 1.0; id <= 8; id++ {
		if got[id] == 0 {
			t.Errorf("event %v was lost", id)
		}
		total += got[id]
		dups += got[id] - 1
	}
	polls := svc.count("GET /events")
	t.Logf("crash test: %d polls, %d sink batches, %d deliveries of 8 distinct events, %d duplicates (the batch in flight at the kill)", polls, batches, total, dups)
	if dups > 5 {
		t.Errorf("%d duplicates: only the 5 events of the killed batch may repeat", dups)
	}
}

func TestConnectionTestAndRevoke(t *testing.T) {
	svc := newFakeService(t)
	dir := t.TempDir()
	project := "../../testdata/trigger/acme"
	conn := writeConn(t, dir, svc.srv.URL)

	out, errs, code := runBin(t, "connection", "test", project, "--connection", conn)
	if code != 0 || strings.TrimSpace(out) != "working: octocat" {
		t.Fatalf("working service: exit %d %q %q", code, out, errs)
	}
	svc.mu.Lock()
	svc.status = 401
	svc.mu.Unlock()
	out, _, code = runBin(t, "connection", "test", project, "--connection", conn)
	if code != 1 || !strings.HasPrefix(out, "not working: 401 Unauthorized") {
		t.Fatalf("rejected: exit %d %q", code, out)
	}
	down := writeConn(t, t.TempDir(), "http://"+freeAddr(t))
	out, _, code = runBin(t, "connection", "test", project, "--connection", down)
	if code != 1 || !strings.Contains(out, "not working") || !strings.Contains(out, "refused") {
		t.Fatalf("unreachable: exit %d %q", code, out)
	}

	out, errs, code = runBin(t, "connection", "revoke", project, "--connection", conn)
	if code != 0 || svc.count("POST /revoke") != 1 {
		t.Fatalf("revoke: exit %d %q %q", code, out, errs)
	}
	b, _ := os.ReadFile(conn)
	if !strings.Contains(string(b), "revoked_at") || strings.Contains(string(b), acmeToken) {
		t.Fatalf("connection file after revoke:\n%s", b)
	}
	_, errs, code = runBin(t, "run", project, "hello", "--connection", conn)
	if code != 2 || !strings.Contains(errs, "revoked") {
		t.Fatalf("run on a revoked connection: exit %d %q", code, errs)
	}
}

// TestPollOnceCLI runs `flowrun poll --once` three times: the first run turns
// the trigger on and prints every event, a repeat prints nothing new (the
// service sends the cursor's event again; dedupe drops it), and new events
// come out once.
func TestPollOnceCLI(t *testing.T) {
	svc := newFakeService(t)
	svc.events = 3
	dir := t.TempDir()
	conn := writeConn(t, dir, svc.srv.URL)
	state := filepath.Join(dir, "state")
	project := "../../testdata/trigger/acme"
	poll := func() []string {
		t.Helper()
		out, errs, code := runBin(t, "poll", project, "new_events", "--once", "--connection", conn, "--state", state)
		if code != 0 {
			t.Fatalf("poll --once: exit %d\n%s%s", code, out, errs)
		}
		var ids []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if l == "" {
				continue
			}
			var d trigger.Delivery
			if err := json.Unmarshal([]byte(l), &d); err != nil {
				t.Fatalf("stdout line %q: %v", l, err)
			}
			ids = append(ids, fmt.Sprint(d.Event.(map[string]any)["id"]))
		}
		return ids
	}
	if got := strings.Join(poll(), ","); got != "1,2,3" {
		t.Fatalf("first poll: %s", got)
	}
	if got := poll(); len(got) != 0 {
		t.Fatalf("repeat poll printed %v", got)
	}
	svc.mu.Lock()
	svc.events = 5
	svc.mu.Unlock()
	if got := strings.Join(poll(), ","); got != "4,5" {
		t.Fatalf("third poll: %s", got)
	}
	out, _, _ := runBin(t, "trigger", "list", "--state", state)
	if !strings.Contains(out, "new_events") || strings.Count(out, "\n") != 2 {
		t.Fatalf("trigger list:\n%s", out)
	}
	if _, _, code := runBin(t, "poll", project, "new_events", "--connection", conn, "--state", state); code != 2 {
		t.Fatalf("poll without --once: exit %d, want 2", code)
	}
}

// TestPollPauseAndResume: a poll refused with 401 pauses its trigger
// (`trigger list` says why), `trigger resume` resumes it; `poll` takes a
// trigger id, and refuses an --input that differs from the trigger's.
func TestPollPauseAndResume(t *testing.T) {
	svc := newFakeService(t)
	svc.events = 2
	dir := t.TempDir()
	conn := writeConn(t, dir, svc.srv.URL)
	state := filepath.Join(dir, "state")
	project := "../../testdata/trigger/acme"
	out, errs, code := runBin(t, "poll", project, "new_events", "--once", "--connection", conn, "--state", state)
	if code != 0 {
		t.Fatalf("first poll: exit %d\n%s%s", code, out, errs)
	}
	id := regexp.MustCompile(`trigger (new_events-[0-9a-f]+) is on`).FindStringSubmatch(errs)
	if id == nil {
		t.Fatalf("first poll said %q", errs)
	}
	svc.mu.Lock()
	svc.evStat = 401
	svc.mu.Unlock()
	if out, errs, code := runBin(t, "poll", project, id[1], "--once", "--connection", conn, "--state", state); code != 1 || !strings.Contains(errs, "401 Unauthorized") {
		t.Fatalf("poll refused: exit %d\n%s%s", code, out, errs)
	}
	out, _, _ = runBin(t, "trigger", "list", "--state", state)
	if !strings.Contains(out, "paused (auth_expired)") || !strings.Contains(out, id[1]+" is paused since") || !strings.Contains(out, "flowrun trigger resume "+id[1]) {
		t.Fatalf("trigger list:\n%s", out)
	}
	if out, _, code := runBin(t, "trigger", "resume", id[1], "--state", state); code != 0 || out != "trigger "+id[1]+" is resumed\n" {
		t.Fatalf("resume: exit %d %q", code, out)
	}
	if out, _, code := runBin(t, "trigger", "resume", "nope", "--state", state); code != 2 {
		t.Fatalf("resume of an unknown trigger: exit %d %q", code, out)
	}
	out, _, _ = runBin(t, "trigger", "list", "--state", state)
	if strings.Contains(out, "paused") || !regexp.MustCompile(`new_events\s+poll\s+on\s`).MatchString(out) {
		t.Fatalf("trigger list after resume:\n%s", out)
	}
	svc.mu.Lock()
	svc.evStat = 0
	svc.mu.Unlock()
	if out, errs, code := runBin(t, "poll", project, id[1], "--once", "--connection", conn, "--state", state); code != 0 {
		t.Fatalf("poll by id: exit %d\n%s%s", code, out, errs)
	}
	_, errs, code = runBin(t, "poll", project, "new_events", "--once", "--input", `{"label": "x"}`, "--connection", conn, "--state", state)
	if code != 2 || !strings.Contains(errs, "--input differs from the trigger(s) of new_events that are on ("+id[1]+" with input {})") {
		t.Fatalf("poll with other input: exit %d\n%s", code, errs)
	}
	_, errs, code = runBin(t, "poll", project, id[1], "--once", "--input", `{"label": "x"}`, "--connection", conn, "--state", state)
	if code != 2 || !strings.Contains(errs, "trigger "+id[1]+" is on with input {}; --input differs") {
		t.Fatalf("poll by id with other input: exit %d\n%s", code, errs)
	}
	if out, _, _ := runBin(t, "trigger", "list", "--state", state); strings.Count(out, "new_events-") != 1 {
		t.Fatalf("a second trigger was turned on:\n%s", out)
	}
}

// TestTriggerOffWithoutDeregister: a webhook flow without deregister is
// turned off by forgetting it, and the command says nothing was undone.
func TestTriggerOffWithoutDeregister(t *testing.T) {
	dir := t.TempDir()
	project := filepath.Join(dir, "p")
	os.MkdirAll(filepath.Join(project, "flows"), 0o755)
	os.WriteFile(filepath.Join(project, "connector.yaml"), []byte("flowrun: 1\nname: manual\nbase_url: https://manual.example\n"), 0o644)
	os.WriteFile(filepath.Join(project, "flows", "hook.yaml"), []byte(`flowrun: 1
name: hook
type: webhook
register:
  steps:
    - log: "paste ${ webhook.url } into the service's settings"
    - return: {url: "${ webhook.url }"}
event:
  steps:
    - return: {events: ["${ request.body }"]}
`), 0o644)
	state := filepath.Join(dir, "state")
	out, errs, code := runBin(t, "trigger", "on", project, "hook", "--state", state, "--public-url", "https://hooks.example.com")
	if code != 0 {
		t.Fatalf("on: exit %d %s%s", code, out, errs)
	}
	out, errs, code = runBin(t, "trigger", "off", project, "hook", "--state", state)
	if code != 0 || !strings.Contains(out, "is off\nflow hook has no deregister section: the registration was forgotten, but nothing was undone at the service") {
		t.Fatalf("off: exit %d %s%s", code, out, errs)
	}
	if out, _, _ := runBin(t, "trigger", "list", "--state", state); !strings.Contains(out, "no triggers are on") {
		t.Fatalf("list after off:\n%s", out)
	}
}
