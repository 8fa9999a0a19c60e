package main

import (
	"context"
	"fmt"
	"html"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/flowrun/flowrun/run"
	"github.com/flowrun/flowrun/trigger"
	"github.com/spf13/cobra"
)

func newConnectionCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "connection",
		Short: "Check, revoke and log in connections",
	}
	var testConn string
	testCmd := &cobra.Command{
		Use:   "test PROJECT --connection FILE",
		Short: "Run the authping flow: is this connection working?",
		Long:  "test prints `working` and the account's label, or `not working` with the service's status and message (exit 1).",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := connRunner(e, args[0], testConn)
			if err != nil {
				return err
			}
			working, label, msg, status, err := r.AuthPing(e.ctx)
			if err != nil {
				return runFailure(e, r.Connection, err)
			}
			if working {
				if label != "" {
					fmt.Fprintf(e.stdout, "working: %s\n", r.Connection.Redact(label))
				} else {
					fmt.Fprintln(e.stdout, "working")
				}
				return nil
			}
			line := "not working"
			if status != 0 {
				line += fmt.Sprintf(": %d %s", status, http.StatusText(status))
			}
			if msg != "" {
				line += ": " + firstLine(msg)
			}
			fmt.Fprintln(e.stdout, r.Connection.Redact(line))
			return &exitError{code: exitFailed}
		},
	}
	testCmd.Flags().StringVarP(&testConn, "connection", "c", "", "connection file")

	var revokeConn, revokeState string
	revokeSched := &scheduleOptions{}
	revokeCmd := &cobra.Command{
		Use:   "revoke PROJECT --connection FILE",
		Short: "Run the revoke flow, then mark the connection file revoked",
		Long: `revoke runs the project's revoke flow, then marks the connection file revoked.
With --engine temporal it also stops what runs on Temporal with the connection (named
by --connection-id, default the file's name): it deletes the Schedules of its poll
triggers, cancels their running polls and its running flow workflows, pauses those
triggers in --state (reason "connection revoked") and says what it did. Run again on a
revoked file, it skips the revoke flow and only stops what still runs.`,
		Example: `  flowrun connection revoke connectors/stripe --connection acme.yaml \
      --engine temporal --temporal 127.0.0.1:7233 --state postgres://flowrun@db/flowrun`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := revokeSched.check(); err != nil {
				return err
			}
			if revokeSched.engine == "" && (revokeState != "" || revokeSched.connectionID != "") {
				return usageErr("--state and --connection-id go with --engine temporal")
			}
			r, err := connRunner(e, args[0], revokeConn)
			if err != nil {
				return err
			}
			if r.Connection.Revoked && revokeSched.engine != "" {
				fmt.Fprintf(e.stdout, "%s is marked revoked already\n", relPath(revokeConn))
			} else {
				if err := r.Revoke(e.ctx); err != nil {
					return runFailure(e, r.Connection, err)
				}
				if err := r.Connection.MarkRevoked(time.Now()); err != nil {
					return &exitError{code: exitFailed, msg: "the token was revoked but the connection file could not be updated: " + err.Error()}
				}
				fmt.Fprintf(e.stdout, "revoked; %s is marked revoked\n", relPath(revokeConn))
			}
			if revokeSched.engine == "" {
				return nil
			}
			return revokeOnTemporal(e, r.Project.Connector.Name, revokeConn, revokeState, revokeSched)
		},
	}
	revokeCmd.Flags().StringVarP(&revokeConn, "connection", "c", "", "connection file")
	revokeCmd.Flags().StringVar(&revokeState, "state", "", "with --engine temporal: the trigger state (postgres://...); the connection's poll triggers are paused there")
	revokeSched.flags(revokeCmd, true)

	var loginConn, loginListen, loginState string
	var loginTimeout time.Duration
	loginCmd := &cobra.Command{
		Use:   "login PROJECT --connection FILE",
		Short: "Log in with OAuth 2.0 (authorization code + PKCE) and save the token in the connection file",
		Long: `login starts a callback server on 127.0.0.1, prints the authorization URL for you to open,
waits for the service to redirect back, exchanges the code (with PKCE) for a token and
writes it into the connection file with 0600 permissions. Register the printed
redirect URI with the service. With --state, the project's triggers that were paused
(auth_expired, config) while running with this connection file are resumed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := connRunner(e, args[0], loginConn)
			if err != nil {
				return err
			}
			if err := login(e, r, loginListen, loginTimeout); err != nil {
				return err
			}
			return resumeAfterLogin(e, r, loginState)
		},
	}
	loginCmd.Flags().StringVarP(&loginConn, "connection", "c", "", "connection file (params: client id and secret, etc.)")
	loginCmd.Flags().StringVar(&loginListen, "listen", "127.0.0.1:8085", "callback server address (the redirect URI is http://ADDR/callback)")
	loginCmd.Flags().DurationVar(&loginTimeout, "timeout", 5*time.Minute, "how long to wait for the browser")
	loginCmd.Flags().StringVar(&loginState, "state", "", "state directory of flowrun serve: resume the triggers paused with this connection")
	cmd.AddCommand(testCmd, revokeCmd, loginCmd)
	return cmd
}

func connRunner(e *env, project, connFile string) (*run.Runner, error) {
	if connFile == "" {
		return nil, usageErr("--connection FILE is required")
	}
	p, err := loadProject(e, project)
	if err != nil {
		return nil, err
	}
	conn, err := loadConnection(e, p, connFile)
	if err != nil {
		return nil, err
	}
	return &run.Runner{Project: p, Connection: conn}, nil
}

func login(e *env, r *run.Runner, listen string, timeout time.Duration) error {
	if !run.CanOAuthLogin(r.Project) {
		return usageErr("connector %q does not use OAuth 2.0 with grant authorization_code", r.Project.Connector.Name)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return usageErr("--listen: %v", err)
	}
	defer ln.Close()
	l, err := r.StartOAuthLogin("http://" + ln.Addr().String() + "/callback")
	if err != nil {
		return usageErr("%v", err)
	}
	fmt.Fprintf(e.stderr, "Open this URL in your browser to log in:\n\n  %s\n\nWaiting for the redirect to %s ...\n", l.AuthURL, l.RedirectURL)

	type result struct {
		code string
		err  error
	}
	done := make(chan result, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("/callback", func(w http.ResponseWriter, req *http.Request) {
		var res result
		res.code, res.err = l.Code(req.URL.Query())
		if res.err != nil {
			http.Error(w, html.EscapeString(res.err.Error()), http.StatusBadRequest)
		} else {
			fmt.Fprintln(w, "Logged in. You can close this window.")
		}
		select {
		case done <- res:
		default:
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(e.ctx, timeout)
	defer cancel()
	var res result
	select {
	case res = <-done:
	case <-ctx.Done():
		if e.ctx.Err() != nil {
			return &exitError{code: exitCanceled, msg: "login canceled"}
		}
		return &exitError{code: exitFailed, msg: fmt.Sprintf("no redirect within %s", timeout)}
	}
	if res.err != nil {
		return &exitError{code: exitFailed, msg: res.err.Error()}
	}
	if err := l.Exchange(ctx, res.code); err != nil {
		return &exitError{code: exitFailed, msg: err.Error()}
	}
	fmt.Fprintf(e.stdout, "logged in; token saved to %s\n", relPath(r.Connection.File))
	return nil
}

// resumeAfterLogin resumes, when a state directory is given, the project's
// triggers that were paused while running with the connection file.
func resumeAfterLogin(e *env, r *run.Runner, state string) error {
	if state == "" {
		return nil
	}
	st, err := trigger.Open(state)
	if err != nil {
		return &exitError{code: exitFailed, msg: err.Error()}
	}
	defer st.Close()
	file, _ := filepath.Abs(r.Connection.File)
	ids, err := st.ResumeConnection(e.ctx, r.Project.Connector.Name, file)
	if err != nil {
		return &exitError{code: exitFailed, msg: err.Error()}
	}
	for _, id := range ids {
		fmt.Fprintf(e.stdout, "trigger %s is resumed\n", id)
	}
	return nil
}
