package run

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/flowrun/flowrun/connection"
)

// rotatingTokens is a token endpoint that rotates refresh tokens, as many
// services do: each refresh token works once, and the API takes only the
// access token issued last.
type rotatingTokens struct {
	mu       sync.Mutex
	refresh  string // the one refresh token that works
	access   string
	issued   int
	refusals int
}

func (s *rotatingTokens) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path == "/oauth/token" {
		_ = r.ParseForm()
		if r.PostForm.Get("grant_type") != "refresh_token" || r.PostForm.Get("refresh_token") != s.refresh {
			s.refusals++
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error": "invalid_grant"}`)
			return
		}
		s.issued++
		s.access, s.refresh = fmt.Sprintf("access-%d", s.issued), fmt.Sprintf("refresh-%d", s.issued)
		fmt.Fprintf(w, `{"access_token": %q, "token_type": "Bearer", "expires_in": 3600, "refresh_token": %q}`, s.access, s.refresh)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+s.access {
		w.WriteHeader(401)
		fmt.Fprint(w, `{"error": "invalid_token"}`)
		return
	}
	fmt.Fprint(w, `{"ok": true}`)
}

// TestRefreshSharedConnectionFile: two processes (here two Connections
// with their own Runners, each holding the file open on its own, as two
// flowrun serve processes would) find the token in one connection file
// expired at once. The service rotates refresh tokens, so two refreshes
// with the same one would fail the second; the file lock makes one of them
// refresh and the other take the token it wrote.
func TestRefreshSharedConnectionFile(t *testing.T) {
	svc := &rotatingTokens{refresh: "refresh-0", access: "access-0"}
	srv := httptest.NewServer(svc)
	defer srv.Close()
	p := loadProject(t, map[string]string{"connector.yaml": oauthConnector("authorization_code"),
		"flows/main.yaml": "name: main\ntype: action\nsteps:\n  - http: {path: /me}\n"})
	connFile := filepath.Join(t.TempDir(), "conn.yaml")
	if err := os.WriteFile(connFile, []byte("params:\n  base_url: "+srv.URL+"\n  client_id: cid\n  client_secret: csecret-456\n"+
		"token:\n  access_token: access-expired\n  refresh_token: refresh-0\n  expiry: 2020-01-01T00:00:00Z\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const procs = 4
	conns := make([]*connection.Connection, procs)
	for i := range conns {
		c, err := connection.Load(connFile, p.Connector)
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	var wg sync.WaitGroup
	errs := make([]error, procs)
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = (&Runner{Project: p, Connection: c}).Run(context.Background(), "main", nil)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("process %d: %v", i, err)
		}
	}
	svc.mu.Lock()
	issued, refusals := svc.issued, svc.refusals
	svc.mu.Unlock()
	if issued != 1 || refusals != 0 {
		t.Fatalf("the token endpoint issued %d tokens and refused %d refreshes; want 1 and 0", issued, refusals)
	}
	for i, c := range conns {
		if c.Token.AccessToken != "access-1" || c.Token.RefreshToken != "refresh-1" {
			t.Errorf("process %d holds token %+v", i, c.Token)
		}
		if c.Redact("x access-1 refresh-1") != "x *** ***" {
			t.Errorf("process %d does not redact the token it took from the file", i)
		}
	}
	again, err := connection.Load(connFile, p.Connector)
	if err != nil {
		t.Fatal(err)
	}
	if again.Token.AccessToken != "access-1" || again.Token.RefreshToken != "refresh-1" {
		t.Fatalf("the file holds token %+v", again.Token)
	}
}
