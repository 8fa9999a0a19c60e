package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowrun/flowrun/trigger"
)

// TestConnectionLogin runs the OAuth 2.0 authorization-code flow with PKCE
// against a fake authorization server: the test plays the browser.
func TestConnectionLogin(t *testing.T) {
	var mu sync.Mutex
	var challenge, gotVerifier, gotAuth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/authorize":
			q := r.URL.Query()
			mu.Lock()
			challenge = q.Get("code_challenge")
			mu.Unlock()
			if q.Get("code_challenge_method") != "S256" || q.Get("client_id") != "cid" || q.Get("scope") != "read write" {
				http.Error(w, "bad authorize request: "+r.URL.RawQuery, 400)
				return
			}
			http.Redirect(w, r, q.Get("redirect_uri")+"?code=the-code&state="+q.Get("state"), http.StatusFound)
		case "/token":
			r.ParseForm()
			mu.Lock()
			gotVerifier, gotAuth = r.PostForm.Get("code_verifier"), r.Header.Get("Authorization")
			mu.Unlock()
			sum := sha256.Sum256([]byte(gotVerifier))
			if base64.RawURLEncoding.EncodeToString(sum[:]) != challenge || r.PostForm.Get("code") != "the-code" {
				http.Error(w, `{"error":"invalid_grant"}`, 400)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"access_token":"at-123456","refresh_token":"rt-654321","token_type":"Bearer","expires_in":3600}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	conn := filepath.Join(dir, "conn.yaml")
	os.WriteFile(conn, []byte(fmt.Sprintf("params:\n  base_url: %s\n  client_id: cid\n  client_secret: csecret\n", srv.URL)), 0o644)

	// a trigger paused with this connection (auth_expired), and one paused
	// with another: the login resumes the first
	state := filepath.Join(dir, "state")
	st, err := trigger.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	mine := &trigger.Trigger{ID: "mine-1", Project: "oauthy", Flow: "f", Kind: "poll", Input: []byte(`{}`)}
	theirs := &trigger.Trigger{ID: "theirs-1", Project: "oauthy", Flow: "f", Kind: "poll", Input: []byte(`{"a":1}`)}
	for _, tr := range []*trigger.Trigger{mine, theirs} {
		if err := st.CreateTrigger(context.Background(), tr); err != nil {
			t.Fatal(err)
		}
	}
	st.SetHold(context.Background(), trigger.Hold{TriggerID: mine.ID, Code: "auth_expired", Connection: conn})
	st.SetHold(context.Background(), trigger.Hold{TriggerID: theirs.ID, Code: "auth_expired", Connection: filepath.Join(dir, "other.yaml")})
	st.Close()

	pr, pw := io.Pipe()
	var out strings.Builder
	done := make(chan int, 1)
	go func() {
		done <- Main([]string{"connection", "login", "../../testdata/trigger/oauth", "--connection", conn, "--listen", "127.0.0.1:0", "--timeout", "20s", "--state", state}, nil, &out, pw)
		pw.Close()
	}()
	urlRe := regexp.MustCompile(`https?://\S+/authorize\S*`)
	sc := bufio.NewScanner(pr)
	var authURL string
	for sc.Scan() {
		if m := urlRe.FindString(sc.Text()); m != "" {
			authURL = m
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if authURL == "" {
		t.Fatal("login printed no authorization URL")
	}
	resp, err := http.Get(authURL) // the browser: authorize, then the redirect to the callback
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("callback answered %d: %s", resp.StatusCode, body)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("login exit %d: %s", code, out.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("login did not finish")
	}
	if !strings.HasPrefix(gotAuth, "Basic ") || gotVerifier == "" {
		t.Fatalf("token request: auth %q verifier %q", gotAuth, gotVerifier)
	}
	fi, err := os.Stat(conn)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("connection file mode %v, %v", fi.Mode(), err)
	}
	b, _ := os.ReadFile(conn)
	if !strings.Contains(string(b), "at-123456") || !strings.Contains(string(b), "rt-654321") || !strings.Contains(string(b), "client_id") {
		t.Fatalf("connection file:\n%s", b)
	}
	if strings.Contains(out.String(), "at-123456") {
		t.Fatal("the token was printed")
	}
	if !strings.Contains(out.String(), "trigger mine-1 is resumed\n") || strings.Contains(out.String(), "theirs-1") {
		t.Fatalf("login output:\n%s", out.String())
	}
	st, err = trigger.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if hs, _ := st.Holds(context.Background()); len(hs) != 1 || hs["theirs-1"].Code != "auth_expired" {
		t.Fatalf("holds after login: %v", hs)
	}
}
