package trigger

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// Delivery is one event on its way to a sink.
type Delivery struct {
	Trigger string    `json:"trigger"`
	Project string    `json:"project"`
	Flow    string    `json:"flow"`
	Key     string    `json:"key,omitempty"` // the dedupe key, when the flow names one
	Time    time.Time `json:"time"`
	Event   any       `json:"event"`
}

// Sink receives the events of triggers. Deliver returns only when every
// delivery is durable at the sink (written and synced, or acknowledged), so
// that the host can then commit the cursor.
type Sink interface {
	Deliver(ctx context.Context, ds []Delivery) error
	Close() error
}

// OpenSink opens a sink from its command-line form: "stdout",
// "file:PATH" or an http(s):// URL.
func OpenSink(spec string, stdout io.Writer) (Sink, error) {
	switch {
	case spec == "" || spec == "stdout" || spec == "-":
		return &writerSink{w: stdout}, nil
	case strings.HasPrefix(spec, "file:"):
		path := strings.TrimPrefix(spec, "file:")
		if path == "" {
			return nil, fmt.Errorf("sink %q: give a file path, e.g. file:events.jsonl", spec)
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, fmt.Errorf("sink: %w", err)
		}
		return &writerSink{w: f, f: f}, nil
	case strings.HasPrefix(spec, "http://") || strings.HasPrefix(spec, "https://"):
		return &httpSink{url: spec, client: &http.Client{Timeout: 30 * time.Second}, attempts: 5, backoff: 500 * time.Millisecond}, nil
	}
	return nil, fmt.Errorf("unknown sink %q: use stdout, file:PATH or an http(s):// URL", spec)
}

// writerSink writes JSON lines; a file sink fsyncs after every batch.
type writerSink struct {
	mu sync.Mutex
	w  io.Writer
	f  *os.File
}

func (s *writerSink) Deliver(ctx context.Context, ds []Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, d := range ds {
		if err := enc.Encode(d); err != nil {
			return fmt.Errorf("sink: encoding event: %w", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("sink: %w", err)
	}
	if s.f != nil {
		if err := s.f.Sync(); err != nil {
			return fmt.Errorf("sink: fsync: %w", err)
		}
	}
	return nil
}

func (s *writerSink) Close() error {
	if s.f != nil {
		return s.f.Close()
	}
	return nil
}

// httpSink POSTs each batch as a JSON array, retrying on errors and 5xx/429.
type httpSink struct {
	url      string
	client   *http.Client
	attempts int
	backoff  time.Duration
}

func (s *httpSink) Deliver(ctx context.Context, ds []Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	body, err := json.Marshal(ds)
	if err != nil {
		return fmt.Errorf("sink: encoding events: %w", err)
	}
	var last error
	wait := s.backoff
	for attempt := 1; attempt <= s.attempts; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("sink: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := s.client.Do(req)
		if err == nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			if resp.StatusCode < 300 {
				return nil
			}
			last = fmt.Errorf("sink %s answered %d", s.url, resp.StatusCode)
			if resp.StatusCode < 500 && resp.StatusCode != 429 {
				return last
			}
		} else {
			last = fmt.Errorf("sink: %w", err)
		}
		if attempt == s.attempts {
			break
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return fmt.Errorf("sink: %w", ctx.Err())
		}
		wait *= 2
	}
	return last
}

func (s *httpSink) Close() error { return nil }
