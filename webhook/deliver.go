package webhook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/flowrun/flowrun/value"
)

// DefaultMaxBody bounds a delivery's body when Delivery.MaxBody is 0.
const DefaultMaxBody = 1 << 20

// Flow is a webhook flow bound to one trigger (or one test case): its
// inputs, registration and webhook values are already in place. It is all
// Deliver needs of the interpreter.
type Flow interface {
	// Secrets evaluates verify.secret: one secret, or several when it is a
	// list (secret rotation). Deliver calls it only when it has a Verifier.
	Secrets() ([]string, error)
	// Event runs the event steps with request in scope and returns the
	// events and the response object ({status, headers, body}; nil for the
	// default 200).
	Event(ctx context.Context, request map[string]any) (events []any, response map[string]any, err error)
}

// Delivery is one request to deliver to a flow.
type Delivery struct {
	Flow Flow
	// Verifier is the flow's compiled verify block; nil when it has none.
	Verifier *Verifier
	// Request is the request as received; its body is read (up to MaxBody).
	Request *http.Request
	// MaxBody bounds the body; 0 means DefaultMaxBody. A longer body is 413.
	MaxBody int64
	// Now is the clock timestamps are verified against.
	Now time.Time
	// DecodeJSON decodes a JSON body into the values expressions see (the
	// interpreter's decoder). nil: encoding/json with float64 numbers.
	DecodeJSON func([]byte) (any, error)
	// Seen, if set, reports whether a delivery with this replay key was
	// accepted before (see ReplayKey); one that was is answered 200 with
	// no step run. The key is handed to Accept to be remembered.
	Seen func(ctx context.Context, replayKey string) (bool, error)
	// Accept, if set, takes the events of a delivery whose steps succeeded,
	// before the sender is answered (the trigger host dedupes them, hands
	// them to its sink and records the run). An *Error says what to answer;
	// any other error answers 503, so the sender retries.
	Accept func(ctx context.Context, a Accepted) error
}

// Accepted is what Deliver hands to Delivery.Accept.
type Accepted struct {
	Events    []any
	Request   map[string]any // the request object the steps saw
	ReplayKey string         // "" when the scheme signs a timestamp
}

// Result is the outcome of one delivery: the answer to the sender and what
// happened.
type Result struct {
	Status int
	Header http.Header // complete: Content-Type is set when there is a body
	Body   []byte
	// Events are the event steps' events (nil when they did not run).
	Events []any
	// Request is the request object the steps saw (nil when they did not run).
	Request map[string]any
	// Replayed is true when Seen said the delivery was accepted before.
	Replayed bool
	// Err is why the answer is not the flow's: nil on success.
	Err *Error
}

// Error is why a delivery was refused or failed.
type Error struct {
	// Status is what the sender gets: 400 malformed body (after verify, so
	// the sender stops retrying), 401 verification failed, 413 body too
	// large, 500 the flow failed or is misconfigured, 503 try again later
	// (the event steps failed in a way that may pass: see eventFailed).
	Status int
	// Reason is a stable short name for counting rejections: "body_too_large",
	// "unreadable_body", "missing_header", "malformed_signature",
	// "malformed_timestamp", "stale_timestamp", "bad_signature",
	// "verify_config", "bad_body", "event_failed", "event_transient",
	// "event_throttled", "event_cancelled", "event_auth_expired",
	// "event_config", "bad_response", "unavailable".
	Reason string
	// Public is the text the sender reads in {"error": ...}; never a secret.
	Public string
	// Err is the cause.
	Err error
}

// Error is the text `flowrun test` and `flowrun serve` both show.
func (e *Error) Error() string {
	return fmt.Sprintf("delivery answered %d: %s: %v", e.Status, e.Public, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Deliver handles one webhook request: it reads the body (413 over the
// limit), verifies it (401; the steps do not run), builds the `request`
// object (400 when a JSON or form body does not parse), runs the event steps
// (500 when they fail or answer with a bad response; 503 when they failed in
// a way that may pass, see eventFailed), hands the events to
// Accept (503 when it fails) and answers with the flow's response, or 200
// {"ok":true}. Failure answers are {"error": "<Error.Public>"}.
//
// The request object is {method, path, headers, query, body, raw}: header
// names lower case, several values joined with ", "; a query key with one
// value maps to it, with several to the list; body is the parsed JSON when
// the Content-Type says JSON, an object of the first values when it is
// application/x-www-form-urlencoded, else the text; null when empty.
func Deliver(ctx context.Context, d Delivery) Result {
	limit := d.MaxBody
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	var raw []byte
	if d.Request.Body != nil {
		var err error
		raw, err = io.ReadAll(io.LimitReader(d.Request.Body, limit+1))
		if err != nil {
			return fail(http.StatusBadRequest, "unreadable_body", "cannot read body", err)
		}
	}
	if int64(len(raw)) > limit {
		return fail(http.StatusRequestEntityTooLarge, "body_too_large", "body too large", fmt.Errorf("the body is over %d bytes", limit))
	}
	replayKey := ""
	if v := d.Verifier; v != nil {
		secrets, err := d.Flow.Secrets()
		if err != nil {
			return fail(http.StatusInternalServerError, "verify_config", "cannot evaluate verify.secret", fmt.Errorf("verify.secret: %w", err))
		}
		if err := v.Verify(d.Request.Header, raw, secrets, d.Now); err != nil {
			if errors.Is(err, ErrVerifyConfig) || errors.Is(err, ErrEmptySecret) {
				return fail(http.StatusInternalServerError, "verify_config", "verify is misconfigured", err)
			}
			return fail(http.StatusUnauthorized, reason(err), "signature verification failed", err)
		}
		replayKey = v.ReplayKey(raw)
	}
	if replayKey != "" && d.Seen != nil {
		seen, err := d.Seen(ctx, replayKey)
		if err != nil {
			return fail(http.StatusServiceUnavailable, "unavailable", "retry later", err)
		}
		if seen {
			r := answer(http.StatusOK, nil, []byte(`{"ok":true}`))
			r.Replayed = true
			return r
		}
	}
	request, err := RequestObject(d.Request, raw, d.DecodeJSON)
	if err != nil {
		return fail(http.StatusBadRequest, "bad_body", "malformed body", err)
	}
	events, resp, err := d.Flow.Event(ctx, request)
	if err != nil {
		r := eventFailed(err)
		r.Request = request
		return r
	}
	status, hdr, body := http.StatusOK, http.Header{}, []byte(`{"ok":true}`)
	if resp != nil {
		if status, hdr, body, err = responseParts(resp); err != nil {
			r := fail(http.StatusInternalServerError, "bad_response", "bad response", err)
			r.Request, r.Events = request, events
			return r
		}
	}
	if d.Accept != nil {
		if err := d.Accept(ctx, Accepted{Events: events, Request: request, ReplayKey: replayKey}); err != nil {
			var e *Error
			if !errors.As(err, &e) {
				e = &Error{Status: http.StatusServiceUnavailable, Reason: "unavailable", Public: "retry later", Err: err}
			}
			r := fail(e.Status, e.Reason, e.Public, e.Err)
			r.Request, r.Events = request, events
			return r
		}
	}
	r := answer(status, hdr, body)
	r.Request, r.Events = request, events
	return r
}

// CodedError is implemented by the errors of event steps that say what
// kind of failure they are (the interpreter's run errors): the code of
// SPEC §8.3, and how long the service they called asked to wait.
type CodedError interface {
	error
	ErrorCode() string
	RetryWait() time.Duration
}

// eventFailed answers a delivery whose event steps failed: 503, so the
// sender retries later, when the failure is not the delivery's fault and
// may pass (transient, throttled: with Retry-After when the service said
// how long; cancelled: the host is stopping; auth_expired and config: the
// trigger host pauses the trigger until the connection is fixed); else 500.
func eventFailed(err error) Result {
	var ce CodedError
	if errors.As(err, &ce) {
		switch ce.ErrorCode() {
		case "transient", "throttled", "cancelled", "auth_expired", "config":
			r := fail(http.StatusServiceUnavailable, "event_"+ce.ErrorCode(), "retry later", err)
			if w := ce.RetryWait(); w > 0 {
				r.Header.Set("Retry-After", strconv.FormatInt(int64((w+time.Second-1)/time.Second), 10))
			}
			return r
		}
	}
	return fail(http.StatusInternalServerError, "event_failed", "event flow failed", err)
}

// Misconfigured is the answer to a delivery for a flow whose verify block
// does not compile (err from Compile): 500, so the sender retries once the
// project is fixed. `flowrun validate` reports the same problem.
func Misconfigured(err error) Result {
	return fail(http.StatusInternalServerError, "verify_config", "verify is misconfigured", err)
}

// reason names a verification error for counting.
func reason(err error) string {
	for _, r := range []struct {
		err  error
		name string
	}{
		{ErrMissingHeader, "missing_header"}, {ErrMalformedSignature, "malformed_signature"},
		{ErrMalformedTimestamp, "malformed_timestamp"}, {ErrTimestampTolerance, "stale_timestamp"},
		{ErrSignatureMismatch, "bad_signature"},
	} {
		if errors.Is(err, r.err) {
			return r.name
		}
	}
	return "verify_failed"
}

func fail(status int, reason, public string, err error) Result {
	b, _ := json.Marshal(map[string]string{"error": public})
	r := answer(status, nil, b)
	r.Err = &Error{Status: status, Reason: reason, Public: public, Err: err}
	return r
}

func answer(status int, hdr http.Header, body []byte) Result {
	if hdr == nil {
		hdr = http.Header{}
	}
	if hdr.Get("Content-Type") == "" && len(body) > 0 {
		hdr.Set("Content-Type", "application/json")
	}
	return Result{Status: status, Header: hdr, Body: body}
}

// ReplayKey is the key under which the trigger host remembers a verified
// delivery whose signature carries no timestamp (GitHub's
// X-Hub-Signature-256): "body-sha256:<hex>" of the signed body. Such a
// signature never expires, so a captured delivery could be replayed for
// ever; remembering the digests of accepted bodies turns a replay into a
// no-op. It is "" when a signed timestamp bounds replays (the tolerance
// does), when nothing is signed (shared_secret), or for an empty body.
func (v *Verifier) ReplayKey(body []byte) string {
	if v.signsTS || v.spec.Scheme == "shared_secret" || len(body) == 0 {
		return ""
	}
	sum := sha256.Sum256(body)
	return "body-sha256:" + hex.EncodeToString(sum[:])
}

// RequestObject is the `request` the event steps see (see Deliver), built
// from a request and its raw body. A body that its Content-Type says is JSON
// (or form data) but does not parse is an error, as is an empty JSON body
// of a POST, PUT or PATCH.
func RequestObject(r *http.Request, raw []byte, decode func([]byte) (any, error)) (map[string]any, error) {
	headers := make(map[string]any, len(r.Header))
	for k, vs := range r.Header {
		lk := strings.ToLower(k)
		if prev, ok := headers[lk].(string); ok {
			headers[lk] = prev + ", " + strings.Join(vs, ", ")
		} else {
			headers[lk] = strings.Join(vs, ", ")
		}
	}
	query := value.FromQuery(r.URL.Query())
	var body any
	ct := strings.ToLower(r.Header.Get("Content-Type"))
	switch {
	case len(raw) == 0:
		if strings.Contains(ct, "json") && (r.Method == "POST" || r.Method == "PUT" || r.Method == "PATCH") {
			return nil, fmt.Errorf("the body is empty, but Content-Type %s says JSON", ct)
		}
	case strings.Contains(ct, "json"):
		if decode == nil {
			decode = decodeStd
		}
		v, err := decode(raw)
		if err != nil {
			return nil, fmt.Errorf("the body is not valid JSON: %v", err)
		}
		body = v
	case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
		vals, err := url.ParseQuery(string(raw))
		if err != nil {
			return nil, fmt.Errorf("the body is not valid form data: %v", err)
		}
		m := make(map[string]any, len(vals))
		for k, vs := range vals {
			m[k] = vs[0]
		}
		body = m
	default:
		body = string(raw)
	}
	path := r.URL.Path
	return map[string]any{"method": r.Method, "path": path, "headers": headers, "query": query, "body": body, "raw": string(raw)}, nil
}

func decodeStd(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("data after the top-level value")
	}
	return v, nil
}

// responseParts turns a flow's response object into status, headers and body.
func responseParts(resp map[string]any) (int, http.Header, []byte, error) {
	status := 200
	switch s := resp["status"].(type) {
	case nil:
	case int:
		status = s
	case int64:
		status = int(s)
	case float64:
		status = int(s)
		if float64(status) != s {
			return 0, nil, nil, fmt.Errorf("response.status %v is not an HTTP status", s)
		}
	default:
		return 0, nil, nil, fmt.Errorf("response.status must be a number")
	}
	if status < 100 || status > 599 {
		return 0, nil, nil, fmt.Errorf("response.status %d is not an HTTP status", status)
	}
	hdr := http.Header{}
	if hm, ok := resp["headers"].(map[string]any); ok {
		for k, v := range hm {
			hdr.Set(k, fmt.Sprint(v))
		}
	}
	var body []byte
	switch b := resp["body"].(type) {
	case nil:
	case string:
		body = []byte(b)
		if hdr.Get("Content-Type") == "" {
			hdr.Set("Content-Type", "text/plain; charset=utf-8")
		}
	default:
		var err error
		if body, err = json.Marshal(b); err != nil {
			return 0, nil, nil, fmt.Errorf("response.body cannot be sent as JSON: %v", err)
		}
	}
	return status, hdr, body, nil
}
