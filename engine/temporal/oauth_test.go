package temporal

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/load"
)

// oauthService is an OAuth 2.0 token endpoint that rotates refresh tokens
// and an API (/me) that takes only the access token issued last.
type oauthService struct {
	mu       sync.Mutex
	refresh  string
	access   string
	issued   int
	refusals int
	api      int // requests to /me
}

func (s *oauthService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/token":
		_ = r.ParseForm()
		if id, secret, _ := r.BasicAuth(); id != "cid" || secret != "client-secret-5e6f" ||
			r.PostForm.Get("grant_type") != "refresh_token" || r.PostForm.Get("refresh_token") != s.refresh {
			s.refusals++
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error": "invalid_grant"}`)
			return
		}
		s.issued++
		s.access, s.refresh = fmt.Sprintf("oauth-access-%d-9f8e7d", s.issued), fmt.Sprintf("oauth-refresh-%d-6c5b4a", s.issued)
		fmt.Fprintf(w, `{"access_token": %q, "token_type": "Bearer", "expires_in": 3600, "refresh_token": %q}`, s.access, s.refresh)
	case "/me":
		s.api++
		if r.Header.Get("Authorization") != "Bearer "+s.access {
			w.WriteHeader(401)
			fmt.Fprint(w, `{"error": "invalid_token"}`)
			return
		}
		// a service that echoes the token it got: it must not reach history
		fmt.Fprintf(w, `{"login": "ada", "seen": %q}`, r.Header.Get("Authorization"))
	default:
		w.WriteHeader(404)
	}
}

// runOAuthWorkflow runs testdata/trigger/oauth's me flow as a workflow with
// connection "acme" holding token (access, expiry); it returns the result,
// the workflow's error, and everything the activities got and returned
// (what history keeps).
func runOAuthWorkflow(t *testing.T, svc *oauthService, srvURL, access, expiry string) (map[string]any, error, string, string) {
	t.Helper()
	p, err := load.Project("../../testdata/trigger/oauth")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "acme.yaml")
	conn := "params:\n  base_url: " + srvURL + "\n  client_id: cid\n  client_secret: client-secret-5e6f\n" +
		"token:\n  access_token: " + access + "\n  refresh_token: oauth-refresh-0-6c5b4a\n  expiry: " + expiry + "\n"
	if err := os.WriteFile(file, []byte(conn), 0o600); err != nil {
		t.Fatal(err)
	}
	e := &Engine{Projects: map[string]*lang.Project{"oauthy": p}, Resolve: DirResolver(dir)}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	e.Register(env)
	history := recordActivities(env)
	env.ExecuteWorkflow(WorkflowName, FlowInput{Project: "oauthy", Flow: "me", ConnectionID: "acme"})
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	var out map[string]any
	werr := env.GetWorkflowError()
	if werr == nil {
		if err := env.GetWorkflowResult(&out); err != nil {
			t.Fatal(err)
		}
	}
	saved, _ := os.ReadFile(file)
	return out, werr, history.String(), string(saved)
}

// noToken fails when history holds a token or the client secret.
func noToken(t *testing.T, history string) {
	t.Helper()
	for _, s := range []string{"oauth-access-", "oauth-refresh-", "client-secret-5e6f", "expired-access-1a2b"} {
		if strings.Contains(history, s) {
			t.Errorf("history holds %q:\n%s", s, history)
		}
	}
}

// TestOAuthTokenStaysOnTheWorker: an expired authorization-code token is
// refreshed by the HTTP activity on the worker (once; the refreshed token
// written back to the connection file), and neither token, the refresh
// token nor the client secret is in any activity's arguments or results.
func TestOAuthTokenStaysOnTheWorker(t *testing.T) {
	svc := &oauthService{refresh: "oauth-refresh-0-6c5b4a", access: "none-yet"}
	srv := httptest.NewServer(svc)
	defer srv.Close()
	out, err, history, saved := runOAuthWorkflow(t, svc, srv.URL, "expired-access-1a2b", "2020-01-01T00:00:00Z")
	if err != nil || out["login"] != "ada" {
		t.Fatalf("result %v, error %v", out, err)
	}
	if svc.issued != 1 || svc.refusals != 0 || svc.api != 1 {
		t.Fatalf("%d tokens issued, %d refused, %d API requests; want 1, 0, 1", svc.issued, svc.refusals, svc.api)
	}
	if !strings.Contains(saved, "oauth-access-1-9f8e7d") || !strings.Contains(saved, "oauth-refresh-1-6c5b4a") {
		t.Fatalf("the refreshed token was not written back:\n%s", saved)
	}
	noToken(t, history)
}

// TestOAuthRejectedTokenRefreshedOnTheWorker: a token valid by its expiry
// but refused (401) is refreshed by the activity, which sends the request
// again once; history holds neither token.
func TestOAuthRejectedTokenRefreshedOnTheWorker(t *testing.T) {
	svc := &oauthService{refresh: "oauth-refresh-0-6c5b4a", access: "not-the-file's"}
	srv := httptest.NewServer(svc)
	defer srv.Close()
	out, err, history, _ := runOAuthWorkflow(t, svc, srv.URL, "oauth-access-0-9f8e7d", "2999-01-01T00:00:00Z")
	if err != nil || out["login"] != "ada" {
		t.Fatalf("result %v, error %v", out, err)
	}
	if svc.issued != 1 || svc.api != 2 {
		t.Fatalf("%d tokens issued, %d API requests; want 1 and 2 (the 401, then the retry)", svc.issued, svc.api)
	}
	noToken(t, history)
}

// TestOAuthRefusedRefreshIsAuthExpired: a refresh the token endpoint
// refuses fails the step with auth_expired (only a new login helps), not
// retried, with no secret in the failure.
func TestOAuthRefusedRefreshIsAuthExpired(t *testing.T) {
	svc := &oauthService{refresh: "some-other-refresh", access: "x"}
	srv := httptest.NewServer(svc)
	defer srv.Close()
	_, err, history, _ := runOAuthWorkflow(t, svc, srv.URL, "expired-access-1a2b", "2020-01-01T00:00:00Z")
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != lang.CodeAuthExpired || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("workflow error %v, want type auth_expired naming invalid_grant", err)
	}
	if svc.refusals != 1 || svc.api != 0 {
		t.Fatalf("%d refusals, %d API requests; want 1 and 0", svc.refusals, svc.api)
	}
	noToken(t, history)
}
