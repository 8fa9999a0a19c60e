package console

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowrun/flowrun/load"
	"github.com/flowrun/flowrun/trigger"
)

// TestNamedConnections: under flowrun serve --connections DIR the console
// shows one entry per project and named connection; each connection's test
// runs with that connection's own credentials, and the triggers and runs
// pages name the connection.
func TestNamedConnections(t *testing.T) {
	keys := map[string]string{"eu": "key-eu-0123456789abcdef", "us": "key-us-0123456789abcdef"}
	var mu sync.Mutex
	var seen []string // the Authorization headers the service got
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"me","profile":{"login":"ada@example.com"}}`)
	}))
	defer svc.Close()
	dir := t.TempDir()
	var ps []*Project
	for _, name := range []string{"eu", "us"} {
		file := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(file, []byte("params:\n  base_url: "+svc.URL+"\n  api_key: "+keys[name]+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		loaded, err := Open([]string{"../connectors/example"}, []string{file}, load.Options{})
		if err != nil {
			t.Fatal(err)
		}
		p := loaded[0]
		p.Name, p.ConnectionName = "example@"+name, name
		ps = append(ps, p)
	}
	st, err := trigger.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	trs := map[string]*trigger.Trigger{}
	for _, name := range []string{"eu", "us"} {
		tr := &trigger.Trigger{Project: "example", Connection: name, Flow: "list_users", Kind: "poll", Input: []byte(`{"c":"` + name + `"}`)}
		if err := st.CreateTrigger(ctx, tr); err != nil {
			t.Fatal(err)
		}
		trs[name] = tr
	}
	// a hold whose reason holds us's key (as a service might echo it): only
	// us's connection knows to redact it
	if err := st.SetHold(ctx, trigger.Hold{TriggerID: trs["us"].ID, Code: "config", Reason: "bad key " + keys["us"], Since: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RecordRun(ctx, &trigger.RunRecord{TriggerID: trs["eu"].ID, Project: "example", Connection: "eu", Flow: "list_users",
		Source: "poll", Started: time.Now(), Duration: time.Millisecond, Status: "ok"}, nil); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Projects: ps, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	noSecret := func(where, body string) {
		t.Helper()
		for _, k := range keys {
			if strings.Contains(body, k) {
				t.Errorf("%s shows a connection's key", where)
			}
		}
	}

	home := do(t, s, "GET", "/", nil, nil).body
	for _, want := range []string{`href="/c/example@eu/"`, `href="/c/example@us/"`, `href="/c/example@eu/connection">eu<`, `href="/c/example@us/connection">us<`} {
		if !strings.Contains(home, want) {
			t.Errorf("home lacks %q:\n%s", want, home)
		}
	}
	noSecret("home", home)
	for _, name := range []string{"eu", "us"} {
		r := do(t, s, "GET", "/c/example@"+name+"/connection", nil, nil)
		if r.code != 200 || !strings.Contains(r.body, `id="connection-name">`+name+`<`) || !strings.Contains(r.body, "/c/example@"+name+"/connection/test") {
			t.Errorf("connection page of %s: %d\n%s", name, r.code, r.body)
		}
		noSecret("connection page", r.body)
		if c := do(t, s, "GET", "/c/example@"+name+"/", nil, nil); c.code != 200 || !strings.Contains(c.body, "Connection "+name) {
			t.Errorf("connector page of %s: %d", name, c.code)
		}
	}

	// Test on each connection runs authping with that connection's key
	for _, name := range []string{"us", "eu"} {
		mu.Lock()
		seen = nil
		mu.Unlock()
		r := do(t, s, "POST", "/c/example@"+name+"/connection/test", url.Values{"csrf": {s.csrf}}, nil)
		if r.code != http.StatusSeeOther {
			t.Fatalf("test %s: %d %s", name, r.code, r.body)
		}
		mu.Lock()
		got := append([]string(nil), seen...)
		mu.Unlock()
		if len(got) != 1 || got[0] != "SSWS "+keys[name] {
			t.Errorf("test of %s sent %d request(s) with the wrong key", name, len(got))
		}
		run := do(t, s, "GET", r.h.Get("Location"), nil, nil).body
		if !strings.Contains(run, `id="run-status">ok<`) || !strings.Contains(run, `on connection <span class="connection">`+name+`</span>`) {
			t.Errorf("run of test %s:\n%s", name, run)
		}
		noSecret("run page", run)
	}

	page := do(t, s, "GET", "/triggers", nil, nil).body
	for _, name := range []string{"eu", "us"} {
		if !strings.Contains(page, `<td class="connection">`+name+`</td>`) {
			t.Errorf("triggers page does not name connection %s:\n%s", name, page)
		}
	}
	if !strings.Contains(page, "bad key") {
		t.Error("triggers page lacks the hold's reason")
	}
	noSecret("triggers page", page)
	runs := do(t, s, "GET", "/runs", nil, nil).body
	if !strings.Contains(runs, `<span class="connection">on eu</span>`) {
		t.Errorf("runs page does not name the stored run's connection:\n%s", runs)
	}
	if r := do(t, s, "GET", "/c/example/", nil, nil); r.code != 404 {
		t.Errorf("/c/example/ with only named connections: %d", r.code)
	}
}

// TestNamedConnectionRevoke: Revoke on one named connection's page revokes
// that connection's token at the service and marks only its file revoked;
// the other connection's file is untouched and its page still offers
// Revoke.
func TestNamedConnectionRevoke(t *testing.T) {
	tokens := map[string]string{"eu": "ghp_eu0123456789abcdefABCDEF0123456789", "us": "ghp_us0123456789abcdefABCDEF0123456789"}
	var mu sync.Mutex
	var revoked []string // the request bodies of POST /credentials/revoke
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" || r.URL.Path != "/credentials/revoke" || r.Header.Get("Authorization") != "" {
			http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusBadRequest)
			return
		}
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		revoked = append(revoked, string(b))
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer svc.Close()
	dir := t.TempDir()
	files := map[string]string{}
	var ps []*Project
	for _, name := range []string{"eu", "us"} {
		files[name] = filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(files[name], []byte("params:\n  api_url: "+svc.URL+"\n  token: "+tokens[name]+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		loaded, err := Open([]string{"../connectors/github"}, []string{files[name]}, load.Options{})
		if err != nil {
			t.Fatal(err)
		}
		p := loaded[0]
		p.Name, p.ConnectionName = "github@"+name, name
		ps = append(ps, p)
	}
	usBefore, err := os.ReadFile(files["us"])
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Projects: ps})
	if err != nil {
		t.Fatal(err)
	}
	r := do(t, s, "POST", "/c/github@eu/connection/revoke", url.Values{"csrf": {s.csrf}}, nil)
	if r.code != http.StatusSeeOther {
		t.Fatalf("revoke eu: %d %s", r.code, r.body)
	}
	run := do(t, s, "GET", r.h.Get("Location"), nil, nil).body
	if !strings.Contains(run, `id="run-status">ok<`) || strings.Contains(run, tokens["eu"]) {
		t.Errorf("run of revoke eu:\n%s", run)
	}
	mu.Lock()
	got := append([]string(nil), revoked...)
	mu.Unlock()
	if len(got) != 1 || !strings.Contains(got[0], tokens["eu"]) || strings.Contains(got[0], tokens["us"]) {
		t.Fatalf("the service was asked to revoke %q", got)
	}
	eu, err := os.ReadFile(files["eu"])
	if err != nil || !strings.Contains(string(eu), "revoked_at") {
		t.Fatalf("eu's file after revoke (%v):\n%s", err, eu)
	}
	if us, err := os.ReadFile(files["us"]); err != nil || string(us) != string(usBefore) {
		t.Fatalf("us's file changed (%v):\n%s", err, us)
	}
	if page := do(t, s, "GET", "/c/github@us/connection", nil, nil).body; !strings.Contains(page, "/c/github@us/connection/revoke") {
		t.Errorf("us's connection page lost its Revoke button:\n%s", page)
	}
}
