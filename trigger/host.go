package trigger

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/run"
	"github.com/flowrun/flowrun/value"
	"github.com/flowrun/flowrun/webhook"
)

// DefaultMaxBody bounds a webhook request body.
const DefaultMaxBody = webhook.DefaultMaxBody

// Host turns webhook and poll flows of one project into running triggers:
// it registers and deregisters webhooks, verifies and handles deliveries,
// runs polls on their schedule, and hands events to a sink, keeping all
// state in a Store.
type Host struct {
	Runner *run.Runner
	Store  *Store
	// State, when set, replaces Store as the host's state (for example a
	// trigger/pgstore store shared by several machines).
	State     StateStore
	Sink      Sink
	PublicURL string // where the service reaches this host, e.g. https://hooks.example.com
	MaxBody   int64  // webhook body limit; 0 means DefaultMaxBody
	Logf      func(format string, args ...any)
	// Log, when set (and Logf is not), gets the host's log lines as
	// structured records: one per delivery, poll and replay (see runDone),
	// the flows' log: steps, and trouble. Everything is redacted.
	Log *slog.Logger
	// ConnectionName names the connection in log lines and metrics ("" when
	// unnamed).
	ConnectionName string
	// Named is the named connection (serve --connections DIR) whose
	// triggers this host runs: On records it in the trigger, and the host
	// serves only triggers of its project with that connection. "" is the
	// --connection FILE host, which serves the triggers turned on that way.
	Named string
	// Peers are the hosts of the other projects and named connections that
	// share this host's listener, state, sink and metrics (connections.go):
	// Serve routes their deliveries to them and runs their polls too.
	Peers []*Host
	// Console, when set, is served under /console/ (flowrun serve
	// --console); webhook deliveries stay under /hooks/.
	Console http.Handler
	// Metrics, when set, records Prometheus metrics and is served at
	// /metrics.
	Metrics *Metrics
	// ReadTimeout and IdleTimeout bound how long one request's body may
	// take to arrive and how long an idle keep-alive connection stays
	// open; 0 means DefaultReadTimeout and DefaultIdleTimeout.
	ReadTimeout, IdleTimeout time.Duration
	// KeepRuns and KeepRunsFor bound the run history: at most KeepRuns runs
	// per trigger, none older than KeepRunsFor; 0 means no bound (beyond
	// Store.MaxRuns). Serve prunes at start and every minute.
	KeepRuns    int
	KeepRunsFor time.Duration
	// GroupCommit makes Serve commit the runs that finish together in one
	// transaction (see GroupCommitter).
	GroupCommit bool
	Now         func() time.Time // the clock used to verify timestamps; default time.Now
	// Every, when set, replaces every poll flow's schedule. It exists for
	// tests: `flowrun serve` reads it from the test-only environment variable
	// FLOWRUN_POLL_EVERY (a Go duration such as "200ms"); schedules written in
	// flows are at least 1m, too slow for a test.
	Every time.Duration
	// RejectEvery is how often, at most, refused deliveries (401, 413,
	// malformed bodies) of one trigger are logged: the first in full, the
	// rest as one summary line with counts by reason. 0 means
	// DefaultRejectEvery.
	RejectEvery time.Duration
	// Ingress, when set, takes each verified delivery's events instead of
	// the sink, and Serve runs no poll (ingress.go).
	Ingress Ingress

	wg       sync.WaitGroup // deliveries in flight; see enter
	wgMu     sync.Mutex
	stopped  bool        // guarded by wgMu: Serve is waiting for wg
	draining atomic.Bool // Serve is shutting down: /readyz answers 503
	group    atomic.Pointer[GroupCommitter]
	pollMu   sync.Mutex
	pollBusy map[string]bool
	claims   keyClaims // dedupe and replay keys of deliveries in flight

	verifiers map[string]compiledVerifier // by flow name, guarded by pollMu
	rejectMu  sync.Mutex
	rejectLog *rejectLog

	holdMu sync.Mutex
	holds  map[string]Hold // the scheduler's view of the store's holds (pause.go)

	listing *triggerListing // shared with the peers while Serve runs (connections.go)

	// reload.go: Peers may grow while Serve runs (a reload); peersMu
	// guards the slice (replaced, never changed in place) and serving
	peersMu sync.RWMutex
	serving *serveState
	retired atomic.Pointer[string] // why h no longer runs its triggers
	inherit *Host                  // the host h replaced: its claims are h's
}

func (h *Host) project() *lang.Project { return h.Runner.Project }

func (h *Host) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// HookPath is the URL path at which a webhook trigger receives deliveries.
func HookPath(id string) string { return "/hooks/" + id }

func (h *Host) hookURL(id string) string {
	return strings.TrimRight(h.PublicURL, "/") + HookPath(id)
}

func newSecret(scheme string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	if scheme == "standard_webhooks" {
		return "whsec_" + base64.StdEncoding.EncodeToString(b)
	}
	return hex.EncodeToString(b)
}

// On turns a trigger on. A webhook runs its register steps with
// webhook.url and a new webhook.secret and stores what they return; a poll is
// recorded with an empty cursor. Nothing is stored when registering fails,
// and a registration whose storing fails is undone.
func (h *Host) On(ctx context.Context, flowName string, input map[string]any) (*Trigger, error) {
	return h.OnWith(ctx, flowName, input, TriggerOptions{})
}

// OnWith is On with the trigger's settings (its memory budget).
func (h *Host) OnWith(ctx context.Context, flowName string, input map[string]any, opts TriggerOptions) (*Trigger, error) {
	if opts.MaxMemory < 0 {
		return nil, &run.RequestError{Msg: errNegativeBudget.Error()}
	}
	f := h.project().Flow(flowName)
	if f == nil {
		return nil, &run.RequestError{Msg: fmt.Sprintf("no flow named %q", flowName), Hint: value.Suggest(flowName, h.project().Order)}
	}
	if f.Type != lang.Webhook && f.Type != lang.Poll {
		return nil, &run.RequestError{Msg: fmt.Sprintf("flow %q is %s; only webhook and poll flows are triggers", flowName, f.Type.Article())}
	}
	if input == nil {
		input = map[string]any{}
	}
	if _, err := h.Runner.CheckInputs(flowName, input); err != nil {
		return nil, err // before anything is registered or stored
	}
	inJSON, err := json.Marshal(input)
	if err != nil {
		return nil, err
	}
	t := &Trigger{ID: newID(f.Name), Project: h.project().Connector.Name, Connection: h.Named, Flow: f.Name, Kind: string(f.Type), Input: inJSON, MaxMemory: opts.MaxMemory}
	if f.Type == lang.Poll {
		if err := h.state().CreateTrigger(ctx, t); err != nil {
			return nil, err
		}
		return t, nil
	}
	if h.PublicURL == "" {
		return nil, &run.RequestError{Msg: "a webhook trigger needs --public-url: the address at which the service reaches `flowrun serve`"}
	}
	scheme := ""
	if f.Verify != nil {
		scheme = f.Verify.Scheme
	}
	t.Secret = newSecret(scheme)
	h.Runner.Connection.AddSecret(t.Secret)
	hook := map[string]any{"url": h.hookURL(t.ID), "secret": t.Secret}
	// The trigger is stored (pending, without a registration) before the
	// register steps run, so that a `flowrun serve` already running can
	// answer a handshake the service sends while registering (Okta's
	// lifecycle/verify). If registering fails, the trigger is removed again.
	if err := h.state().CreateTrigger(ctx, t); err != nil {
		return nil, err
	}
	ctx = h.budget(ctx, t)
	reg, err := h.Runner.Register(ctx, f.Name, input, hook)
	if err == nil {
		t.Registration, err = json.Marshal(reg)
	}
	if err == nil {
		err = h.state().SetRegistration(ctx, t.ID, t.Registration)
		if err != nil {
			if derr := h.Runner.Deregister(ctx, f.Name, input, reg, hook); derr != nil {
				err = errors.Join(err, fmt.Errorf("undoing the registration failed too: %w", derr))
			}
		}
	}
	if err != nil {
		if derr := h.state().DeleteTrigger(context.WithoutCancel(ctx), t.ID); derr != nil {
			return nil, errors.Join(err, fmt.Errorf("removing the pending trigger %s failed: %w", t.ID, derr))
		}
		return nil, err
	}
	return t, nil
}

// Off turns a trigger off: a webhook's deregister steps run with the stored
// registration (the trigger is kept if they fail), then the trigger is forgotten.
func (h *Host) Off(ctx context.Context, id string) error {
	t, err := h.state().GetTrigger(ctx, id)
	if err != nil {
		return err
	}
	if t.Project != h.project().Connector.Name {
		// its register steps were another project's: so must deregister be
		return &run.RequestError{Msg: fmt.Sprintf("trigger %s belongs to project %q, not %q: turn it off with that project", id, t.Project, h.project().Connector.Name)}
	}
	if err := h.ownsConnection(t); err != nil {
		return err
	}
	if t.Kind == "webhook" {
		h.Runner.Connection.AddSecret(t.Secret)
		var reg any
		if len(t.Registration) > 0 {
			if reg, err = value.DecodeJSON(t.Registration); err != nil {
				return err
			}
		}
		in, err := decodeInput(t.Input)
		if err != nil {
			return fmt.Errorf("trigger %s: stored input: %w", t.ID, err)
		}
		if err := h.Runner.Deregister(h.budget(ctx, t), t.Flow, in, reg, map[string]any{"url": h.hookURL(t.ID), "secret": t.Secret}); err != nil {
			return fmt.Errorf("deregister failed; the trigger stays on (fix the cause and run `trigger off` again): %w", err)
		}
	}
	return h.state().DeleteTrigger(ctx, id)
}

func decodeInput(raw json.RawMessage) (map[string]any, error) {
	if len(raw) == 0 {
		return map[string]any{}, nil
	}
	v, err := value.DecodeJSON(raw)
	if err != nil {
		return nil, err
	}
	m, _ := v.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// PollOnce runs one poll of a trigger: the flow runs with the saved cursor,
// events already seen (by the flow's dedupe key) are dropped, the rest go to
// the sink, and only then are the new cursor and the keys committed. The
// run, with its steps, goes to the run history.
func (h *Host) PollOnce(ctx context.Context, t *Trigger) (int, error) {
	n, _, err := h.poll(ctx, t, pollRun{source: "poll"})
	return n, err
}

// pollRun says how a poll is run: normally, or replaying a failed run.
type pollRun struct {
	source   string          // "poll" or "replay"
	replayOf int64           // the run replayed
	cursor   json.RawMessage // replay: the cursor the failed run had
}

func (h *Host) poll(ctx context.Context, t *Trigger, pr pollRun) (int, int64, error) {
	start := time.Now()
	f := h.project().Flow(t.Flow)
	sr := h.recorder(t)
	n, runID, err := h.pollOnce(h.budget(sr.Context(ctx), t), t, f, sr, pr)
	h.afterRun(ctx, t, f, err) // pause or delay the trigger by the error's code
	if err != nil {
		msg := h.Runner.Connection.Redact(err.Error())
		cur := t.Cursor
		if pr.cursor != nil {
			cur = pr.cursor
		}
		if !json.Valid(cur) {
			cur = nil // the stored cursor is what failed
		}
		c := RunCommit{Started: start, Duration: time.Since(start), Status: "error", Error: msg,
			Source: pr.source, ReplayOf: pr.replayOf, Payload: &Payload{Cursor: cur}}
		c.Steps, c.StepsDropped = sr.steps()
		id, cerr := h.commit(context.WithoutCancel(ctx), t.ID, c)
		if cerr != nil {
			h.logf("trigger %s: recording the failed run: %v", t.ID, cerr)
		}
		h.runDone(t, pr.source, id, time.Since(start), 0, err)
		return 0, id, err
	}
	h.runDone(t, pr.source, runID, time.Since(start), n, nil)
	return n, runID, nil
}

func (h *Host) pollOnce(ctx context.Context, t *Trigger, f *lang.Flow, sr *StepRecorder, pr pollRun) (int, int64, error) {
	start := time.Now()
	if f == nil || f.Type != lang.Poll || !h.owns(t) {
		return 0, 0, fmt.Errorf("trigger %s: flow %q is not a poll flow of this project", t.ID, t.Flow)
	}
	stored := t.Cursor
	if pr.cursor != nil {
		stored = pr.cursor
	}
	b, err := h.pollEvents(ctx, t, f, stored) // pollsteps.go
	if err != nil {
		return 0, 0, err
	}
	ds, nextJSON, keys := b.Deliveries, b.Cursor, b.Keys
	if pr.replayOf != 0 {
		nextJSON = nil // a replay leaves the saved cursor as it is
	}
	if err := h.deliverToSink(ctx, t, ds); err != nil {
		return 0, 0, err
	}
	c := RunCommit{Cursor: nextJSON, Keys: keys, Events: len(ds),
		Started: start, Duration: time.Since(start), Status: "ok", Source: pr.source, ReplayOf: pr.replayOf}
	c.Steps, c.StepsDropped = sr.steps()
	runID, err := h.commit(context.WithoutCancel(ctx), t.ID, c)
	if err != nil {
		return len(ds), 0, fmt.Errorf("events were delivered but the cursor was not saved (they will repeat, and dedupe drops repeats): %w", err)
	}
	return len(ds), runID, nil
}

// dedupe drops events whose key was seen before (or earlier in the batch)
// and builds the deliveries.
func (h *Host) dedupe(ctx context.Context, t *Trigger, f *lang.Flow, events []any, in map[string]any, request map[string]any) ([]Delivery, []string, error) {
	keys, err := h.dedupeKeys(f, events, in, request)
	if err != nil {
		return nil, nil, err
	}
	ds, keys, _, err := h.dedupeWith(ctx, t, f, events, keys, "")
	return ds, keys, err
}

// dedupeKeys evaluates the flow's dedupe key of each event ("" without
// dedupe).
func (h *Host) dedupeKeys(f *lang.Flow, events []any, in map[string]any, request map[string]any) ([]string, error) {
	keys := make([]string, len(events))
	if f.Dedupe == nil {
		return keys, nil
	}
	for i, e := range events {
		var k string
		var err error
		if f.Type == lang.Webhook {
			k, err = h.Runner.EvalWebhookDedupe(f, e, in, request)
		} else {
			k, err = h.Runner.EvalDedupe(f, e, in)
		}
		if err != nil {
			return nil, fmt.Errorf("flow %q: dedupe: %w", f.Name, err)
		}
		keys[i] = k
	}
	return keys, nil
}

// dedupeWith is dedupe with the keys evaluated. A replay key is looked up
// in the same query as the dedupe keys (one read per delivery, not two);
// replayed reports it was seen, and then nothing is built.
func (h *Host) dedupeWith(ctx context.Context, t *Trigger, f *lang.Flow, events []any, keys []string, replayKey string) (ds []Delivery, kept []string, replayed bool, err error) {
	now := time.Now().UTC()
	seen := map[string]bool{}
	var ask []string
	if f.Dedupe != nil {
		ask = keys
	}
	if replayKey != "" {
		ask = append(ask[:len(ask):len(ask)], replayKey)
	}
	if len(ask) > 0 {
		if seen, err = h.state().SeenKeys(ctx, t.ID, ask); err != nil {
			return nil, nil, false, err
		}
		if replayKey != "" && seen[replayKey] {
			return nil, nil, true, nil
		}
	}
	ds = make([]Delivery, 0, len(events))
	batch := map[string]bool{}
	for i, e := range events {
		k := keys[i]
		if k != "" && (seen[k] || batch[k]) {
			continue
		}
		if k != "" {
			batch[k] = true
			kept = append(kept, k)
		}
		ds = append(ds, Delivery{Trigger: t.ID, Project: t.Project, Flow: t.Flow, Key: k, Time: now, Event: e})
	}
	return ds, kept, false, nil
}

// ServeHTTP receives webhook deliveries at /hooks/{id}. An unknown trigger
// is 404; a store that cannot be read is 503 (the sender retries); the rest
// is webhook.Deliver's answer.
func (h *Host) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.Console != nil && (r.URL.Path == "/console" || strings.HasPrefix(r.URL.Path, "/console/")) {
		h.Console.ServeHTTP(w, r)
		return
	}
	switch r.URL.Path {
	case "/healthz":
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "ok\n")
		return
	case "/readyz":
		h.serveReady(w, r)
		return
	case "/metrics":
		if h.Metrics != nil {
			h.Metrics.Handler().ServeHTTP(w, r)
			return
		}
	}
	id, ok := strings.CutPrefix(r.URL.Path, "/hooks/")
	if !ok || id == "" || strings.Contains(id, "/") {
		http.NotFound(w, r)
		return
	}
	ctx := r.Context()
	t, err := h.state().GetTrigger(ctx, id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		h.logf("trigger %s: reading the trigger: %v", id, err)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"error":"retry later"}`))
		return
	}
	// a state directory may hold triggers of several projects and
	// connections: the host (or peer) of the trigger's serves it
	if err == nil {
		if o := h.hostOf(t); o != nil {
			h = o
		} else if why := h.retiredFor(t); why != "" && t.Kind == "webhook" {
			// its connection was removed at a reload: the sender retries,
			// and the deliveries arrive once the file is back
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Retry-After", "300")
			w.WriteHeader(http.StatusServiceUnavailable)
			b, _ := json.Marshal(map[string]string{"error": "trigger not served: " + why})
			w.Write(b)
			return
		} else {
			h = nil
		}
	}
	if err != nil || h == nil || t.Kind != "webhook" {
		http.NotFound(w, r)
		return
	}
	f := h.project().Flow(t.Flow)
	if f == nil || f.Type != lang.Webhook {
		http.NotFound(w, r)
		return
	}
	// a serve process restarted after `trigger on` knows the secret only
	// from the store: keep it out of logs all the same
	h.Runner.Connection.AddSecret(t.Secret)
	// The body is read before the delivery counts as work in flight: a
	// client that stalls mid-body is held only by the read timeout (and
	// cut when the drain's registered work is done), never by the drain.
	if !h.readBody(w, r, t) {
		return
	}
	if !h.enter() {
		// the drain has begun: the sender retries
		w.Header().Set("Retry-After", "30")
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	defer h.wg.Done()
	h.metrics().busy(1)
	defer h.metrics().busy(-1)
	hd, paused := h.paused(ctx, t.ID)
	if !paused {
		if why := h.revokedReason(); why != "" {
			// revoked (the console's Revoke, or a reloaded file): every
			// webhook trigger of the connection pauses now, this one too
			h.pauseConnection(ctx, lang.CodeAuthExpired, why)
			hd, paused = h.paused(ctx, t.ID)
		}
	}
	if paused && keepsDeliveries(hd) {
		writeResult(w, r, h.holdDelivery(ctx, t, f, r, hd))
		return
	}
	if paused {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "300")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, `{"error":"trigger paused (%s)"}`, hd.Code)
		return
	}
	writeResult(w, r, h.deliver(ctx, t, f, r))
}

// writeResult sends a delivery's answer. The whole answer goes out before
// the delivery stops counting as work in flight: once none is left, the
// drain closes every connection.
func writeResult(w http.ResponseWriter, r *http.Request, res webhook.Result) {
	for k, v := range res.Header {
		w.Header()[k] = v
	}
	if res.Status != http.StatusNoContent && res.Status != http.StatusNotModified && r.Method != http.MethodHead {
		w.Header().Set("Content-Length", strconv.Itoa(len(res.Body)))
	}
	w.WriteHeader(res.Status)
	w.Write(res.Body)
	if fl, ok := w.(http.Flusher); ok {
		fl.Flush()
	}
}

// readBody reads r's body into memory, up to one byte more than MaxBody
// (webhook.Deliver answers 413 to that), and puts it back for Deliver. A
// body that does not arrive (the client stopped sending and the read
// timeout passed, or it went away) is answered 400 and noted with the
// refused deliveries; readBody then returns false.
func (h *Host) readBody(w http.ResponseWriter, r *http.Request, t *Trigger) bool {
	limit := h.MaxBody
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		h.rejects().note(h.now(), t.ID, "body_unread", fmt.Sprintf("the body did not arrive: %v", err))
		http.Error(w, "the body did not arrive", http.StatusBadRequest)
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return true
}

// deliver handles one webhook request through webhook.Deliver, with the
// host's state: replay keys and dedupe keys from the store, events to the
// sink, and the run recorded with its steps.
func (h *Host) deliver(ctx context.Context, t *Trigger, f *lang.Flow, r *http.Request) webhook.Result {
	start := time.Now()
	sr := h.recorder(t)
	res := h.deliverOnce(h.budget(sr.Context(ctx), t), t, f, r, sr)
	if e := res.Err; e != nil && pauses(run.ErrorCode(e.Err)) {
		h.afterRun(ctx, t, f, e.Err)
	}
	outcome := "ok"
	switch {
	case res.Replayed:
		outcome = "replayed"
	case res.Err != nil && res.Err.Status < 500:
		outcome = "rejected"
	case res.Err != nil:
		outcome = "error"
	}
	h.metrics().delivery(t, outcome)
	if e := res.Err; e != nil {
		msg := h.Runner.Connection.Redact(e.Error())
		switch {
		case e.Status == http.StatusBadRequest && e.Reason == "bad_body", e.Status == http.StatusInternalServerError,
			res.Request != nil: // the steps ran (or the sink failed after them)
			// it passed verification (or the project is at fault): worth a
			// line in the run history and in `trigger list`, and kept for
			// `flowrun runs replay` when the steps saw the request
			c := RunCommit{Started: start, Duration: time.Since(start), Status: "error", Error: msg, Source: "webhook"}
			c.Steps, c.StepsDropped = sr.steps()
			if res.Request != nil {
				c.Payload = &Payload{Request: redactedJSON(h.Runner.Connection, res.Request)}
			}
			id, cerr := h.commit(context.WithoutCancel(ctx), t.ID, c)
			if cerr != nil {
				h.logf("trigger %s: recording the failed delivery: %v", t.ID, cerr)
			}
			h.runDone(t, "webhook", id, time.Since(start), 0, e)
		}
		if e.Status < 500 {
			h.rejects().note(h.now(), t.ID, e.Reason, msg)
		} else {
			h.logf("trigger %s: %s", t.ID, msg)
		}
	}
	return res
}

func (h *Host) deliverOnce(ctx context.Context, t *Trigger, f *lang.Flow, r *http.Request, sr *StepRecorder) webhook.Result {
	return h.deliverOnceWith(ctx, t, f, r, sr, nil)
}

// deliverOnceWith is deliverOnce with the bound flow wrapped by wrap (when
// not nil): holdDelivery's flow verifies but runs no step.
func (h *Host) deliverOnceWith(ctx context.Context, t *Trigger, f *lang.Flow, r *http.Request, sr *StepRecorder, wrap func(webhook.Flow) webhook.Flow) webhook.Result {
	in, err := decodeInput(t.Input)
	if err != nil {
		return webhook.Misconfigured(fmt.Errorf("stored trigger input: %w", err))
	}
	var reg any
	if len(t.Registration) > 0 {
		if reg, err = value.DecodeJSON(t.Registration); err != nil {
			return webhook.Misconfigured(fmt.Errorf("stored registration: %w", err))
		}
	}
	v, err := h.verifier(f)
	if err != nil {
		return webhook.Misconfigured(err)
	}
	hook := map[string]any{"url": h.hookURL(t.ID), "secret": t.Secret}
	var flow webhook.Flow = h.Runner.BindWebhook(f, in, reg, hook)
	if wrap != nil {
		flow = wrap(flow)
	}
	return webhook.Deliver(ctx, webhook.Delivery{
		Flow:       flow,
		Verifier:   v,
		Request:    r,
		MaxBody:    h.MaxBody,
		Now:        h.now(),
		DecodeJSON: value.DecodeJSON,
		Seen: func(ctx context.Context, key string) (bool, error) {
			seen, err := h.state().SeenKeys(ctx, t.ID, []string{key})
			return seen[key], err
		},
		Accept: func(ctx context.Context, a webhook.Accepted) error {
			if h.Ingress != nil {
				return h.acceptIngress(ctx, t, f, in, a, time.Now())
			}
			_, _, err := h.accept(ctx, t, f, in, a, time.Now(), sr, 0)
			return err
		},
	})
}

// accept dedupes a delivery's events, hands them to the sink and commits
// the run with the dedupe keys, the replay key and the recorded steps. It
// returns the run's id and the events delivered.
func (h *Host) accept(ctx context.Context, t *Trigger, f *lang.Flow, in map[string]any, a webhook.Accepted, start time.Time, sr *StepRecorder, replayOf int64) (int64, int, error) {
	keys, err := h.dedupeKeys(f, a.Events, in, a.Request)
	if err != nil {
		return 0, 0, &webhook.Error{Status: http.StatusInternalServerError, Reason: "dedupe_failed", Public: "dedupe failed", Err: err}
	}
	// a sender that retries while the first attempt is still in flight
	// (Okta retries after 3s) must not get past dedupe twice: the keys of
	// this delivery are claimed until it is committed (or failed), and a
	// delivery with a key in flight waits for it. Deliveries with other
	// keys go on, so their commits can share a transaction.
	claim := make([]string, 0, len(keys)+1)
	for _, k := range keys {
		if k != "" {
			claim = append(claim, k)
		}
	}
	if a.ReplayKey != "" {
		claim = append(claim, a.ReplayKey)
	}
	release := h.root().claims.claim(t.ID, claim)
	defer release()
	ds, keys, replayed, err := h.dedupeWith(ctx, t, f, a.Events, keys, a.ReplayKey)
	if err != nil {
		return 0, 0, &webhook.Error{Status: http.StatusInternalServerError, Reason: "dedupe_failed", Public: "dedupe failed", Err: err}
	}
	if replayed {
		return 0, 0, nil // the same body was accepted meanwhile
	}
	if err := h.deliverToSink(ctx, t, ds); err != nil {
		// the sender retries: at-least-once
		return 0, 0, fmt.Errorf("sink: %w", err)
	}
	if a.ReplayKey != "" {
		keys = append(keys, a.ReplayKey)
	}
	source := "webhook"
	if replayOf != 0 {
		source = "replay"
	}
	c := RunCommit{Keys: keys, Events: len(ds), Started: start, Duration: time.Since(start), Status: "ok", Source: source, ReplayOf: replayOf}
	c.Steps, c.StepsDropped = sr.steps()
	id, err := h.commit(context.WithoutCancel(ctx), t.ID, c)
	if err != nil {
		h.logf("trigger %s: events delivered but not recorded: %v", t.ID, err)
	}
	h.runDone(t, source, id, time.Since(start), len(ds), nil)
	return id, len(ds), nil
}

// verifier is a webhook flow's compiled verify block (nil without one),
// compiled once per flow: the project does not change while it is hosted.
func (h *Host) verifier(f *lang.Flow) (*webhook.Verifier, error) {
	if f.Verify == nil {
		return nil, nil
	}
	h.pollMu.Lock()
	defer h.pollMu.Unlock()
	if c, ok := h.verifiers[f.Name]; ok {
		return c.v, c.err
	}
	v, err := webhook.Compile(f.Verify.Spec)
	if h.verifiers == nil {
		h.verifiers = map[string]compiledVerifier{}
	}
	h.verifiers[f.Name] = compiledVerifier{v, err}
	return v, err
}

type compiledVerifier struct {
	v   *webhook.Verifier
	err error
}

// Defaults for Host.ReadTimeout and Host.IdleTimeout.
const (
	DefaultReadTimeout = 30 * time.Second
	DefaultIdleTimeout = 60 * time.Second
)

// closeGrace is how long Serve waits, after the drain deadline has closed
// every connection and canceled the polls, for handlers to return.
const closeGrace = 2 * time.Second

// Serve hosts every trigger that is on: webhooks over HTTP on ln, polls on
// their schedule. When ctx is canceled it stops taking work (/readyz
// answers 503), lets in-flight deliveries and polls finish for up to
// drain, then closes every connection and cancels the polls that are left,
// and returns nil. A delivery is in flight only once its body has been
// read: a client stalled mid-body does not hold the drain at all (its
// connection is closed when the work in flight is done), and the read
// timeout bounds it while serving.
func (h *Host) Serve(ctx context.Context, ln net.Listener, drain time.Duration) error {
	h.startEntering()
	h.draining.Store(false)
	readTimeout, idleTimeout := h.ReadTimeout, h.IdleTimeout
	if readTimeout <= 0 {
		readTimeout = DefaultReadTimeout
	}
	if idleTimeout <= 0 {
		idleTimeout = DefaultIdleTimeout
	}
	if h.GroupCommit && h.State == nil {
		g := NewGroupCommitter(h.Store)
		h.setGroup(g)
		defer func() { h.setGroup(nil); g.Close() }()
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: min(10*time.Second, readTimeout), ReadTimeout: readTimeout, IdleTimeout: idleTimeout,
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) }}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	pollCtx, stopPolls := context.WithCancel(context.WithoutCancel(ctx))
	var pollWG sync.WaitGroup
	// the peers' schedulers first: it sets the listing h's scheduler
	// shares, which must be in place before h's scheduler reads it
	h.schedulePeers(ctx, pollCtx, &pollWG)
	h.setServing(&serveState{stop: ctx, runCtx: pollCtx, wg: &pollWG})
	pollWG.Add(1)
	go func() {
		defer pollWG.Done()
		if h.Ingress == nil {
			h.schedule(ctx, pollCtx, &pollWG)
		}
	}()
	flushDone := make(chan struct{})
	go func() {
		defer close(flushDone)
		every := h.rejects().every
		tick := time.NewTicker(every)
		defer tick.Stop()
		prune := time.NewTicker(time.Minute)
		defer prune.Stop()
		h.pruneRuns(pollCtx)
		for {
			select {
			case <-pollCtx.Done():
				return
			case <-tick.C:
				h.flushRejects(false)
			case <-prune.C:
				h.pruneRuns(pollCtx)
			}
		}
	}()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	h.setServing(nil) // a reload starts no scheduler now: pollWG.Wait follows
	h.draining.Store(true)
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	// Shutdown stops accepting connections and closes the idle ones. The
	// drain waits for the work in flight: deliveries whose body was read
	// (see enter) and polls, not connections still sending a body, which
	// are closed once that work is done.
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(sctx) }()
	done := make(chan struct{})
	h.stopEntering() // no handler enters after this: Wait below is safe
	go func() { pollWG.Wait(); h.waitHandlers(); close(done) }()
	select {
	case <-done:
	case <-sctx.Done():
		// the drain is over: cut slow deliveries and polls short
		h.logf("drain deadline (%s) passed: closing the connections and canceling the polls still running", drain)
		srv.Close()
		stopPolls()
		select {
		case <-done:
		case <-time.After(closeGrace):
			h.logf("some deliveries or polls did not stop; exiting anyway (their events are not committed and will be sent or polled again)")
		}
	}
	srv.Close() // uploads still arriving: their senders retry
	if serr := <-shut; serr != nil && !errors.Is(serr, context.DeadlineExceeded) && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	stopPolls()
	<-flushDone
	h.flushRejects(true)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// enter counts a delivery in flight, unless Serve has begun waiting for
// them to finish (then it returns false).
func (h *Host) enter() bool {
	h.wgMu.Lock()
	defer h.wgMu.Unlock()
	if h.stopped {
		return false
	}
	h.wg.Add(1)
	return true
}

// serveReady answers /readyz: 200 while serving with a readable store,
// 503 while draining or when the store cannot be read.
func (h *Host) serveReady(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if h.draining.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "draining\n")
		return
	}
	if err := h.pingState(r.Context()); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "state store unavailable\n")
		return
	}
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "ready\n")
}

// pruneRuns applies the retention flags (KeepRuns, KeepRunsFor).
func (h *Host) pruneRuns(ctx context.Context) {
	if h.State != nil || (h.KeepRuns <= 0 && h.KeepRunsFor <= 0) {
		return
	}
	var before time.Time
	if h.KeepRunsFor > 0 {
		before = time.Now().Add(-h.KeepRunsFor)
	}
	if _, err := h.Store.PruneRuns(ctx, h.KeepRuns, before); err != nil && ctx.Err() == nil {
		h.logf("pruning the run history: %v", err)
	}
}

// schedule starts each poll trigger on its flow's schedule. New triggers are
// picked up every 10 seconds. stop ends the scheduling; runCtx is what
// in-flight polls run with (canceled only when draining times out).
func (h *Host) schedule(stop, runCtx context.Context, wg *sync.WaitGroup) {
	next := map[string]time.Time{}
	period := time.Second
	if h.Every > 0 && h.Every < period {
		period = h.Every
	}
	tick := time.NewTicker(period)
	defer tick.Stop()
	var lastList time.Time
	var triggers []*Trigger
	for {
		if h.retired.Load() != nil {
			return // replaced or removed at a reload: its polls in flight finish
		}
		now := time.Now()
		if now.Sub(lastList) >= 10*time.Second || lastList.IsZero() {
			ts, err := h.listTriggers(runCtx)
			if err != nil {
				h.logf("listing triggers: %v", err)
			} else {
				triggers = ts
			}
			h.refreshHolds(runCtx)
			lastList = now
		}
		for _, t := range triggers {
			if t.Kind != "poll" || !h.owns(t) {
				continue
			}
			f := h.project().Flow(t.Flow)
			if f == nil {
				continue
			}
			every := f.Schedule
			if h.Every > 0 {
				every = h.Every
			}
			due, ok := next[t.ID]
			if !ok {
				due = t.LastRunAt.Add(every)
			}
			if due, ok = h.due(t.ID, due); !ok {
				continue // paused
			}
			// a trigger due within half a tick runs now: the ticker fires
			// about when the previous run was plus `every`, and a strict
			// comparison would skip every other tick when period == every
			if now.Add(period/2).Before(due) || !h.claim(t.ID) {
				continue
			}
			next[t.ID] = now.Add(every)
			wg.Add(1)
			go func(id string) {
				defer wg.Done()
				defer h.release(id)
				cur, err := h.state().GetTrigger(runCtx, id)
				if err != nil {
					return // turned off meanwhile
				}
				h.metrics().busy(1)
				defer h.metrics().busy(-1)
				n, err := h.PollOnce(runCtx, cur)
				if h.Log != nil {
					return // PollOnce logged it
				}
				if err != nil {
					h.logf("poll %s (%s): %v", id, cur.Flow, err)
					return
				}
				if n > 0 {
					h.logf("poll %s (%s): %d event(s)", id, cur.Flow, n)
				}
			}(t.ID)
		}
		select {
		case <-stop.Done():
			return
		case <-tick.C:
		}
	}
}

func (h *Host) claim(id string) bool {
	h = h.root()
	h.pollMu.Lock()
	defer h.pollMu.Unlock()
	if h.pollBusy == nil {
		h.pollBusy = map[string]bool{}
	}
	if h.pollBusy[id] {
		return false
	}
	h.pollBusy[id] = true
	return true
}

func (h *Host) release(id string) {
	h = h.root()
	h.pollMu.Lock()
	defer h.pollMu.Unlock()
	delete(h.pollBusy, id)
}

// pingState checks the state store for /readyz: the SQLite store's Ping, or a
// trigger listing on another StateStore.
func (h *Host) pingState(ctx context.Context) error {
	if h.State != nil {
		_, err := h.State.ListTriggers(ctx)
		return err
	}
	return h.Store.Ping(ctx)
}
