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
// Concurrent deliveries to a file share write + fsync calls (groupWrite):
// each Deliver still returns only once its own lines are synced.
type writerSink struct {
	mu sync.Mutex // serialises writes to w
	w  io.Writer
	f  *os.File

	qmu     sync.Mutex // guards queue and leading
	queue   []*sinkWrite
	leading bool         // a Deliver is writing a batch: the others queue
	sync    func() error // f.Sync; tests replace it
}

// sinkWrite is one Deliver's lines waiting in a writerSink's queue.
type sinkWrite struct {
	b    []byte
	err  error
	lead bool // woken to write the next batch (its own lines included)
	done chan struct{}
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
	if s.f == nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, err := s.w.Write(buf.Bytes()); err != nil {
			return fmt.Errorf("sink: %w", err)
		}
		return nil
	}
	return s.groupWrite(buf.Bytes())
}

// groupWrite appends b to the file and syncs it, sharing the write and the
// fsync with the deliveries that arrive meanwhile: while one batch is
// being written, the others queue, and the first of them then writes the
// whole queue in one write and one fsync (group commit, as for the state
// store). An error fails every delivery of the batch (the senders retry:
// at-least-once).
func (s *writerSink) groupWrite(b []byte) error {
	me := &sinkWrite{b: b, done: make(chan struct{})}
	s.qmu.Lock()
	s.queue = append(s.queue, me)
	if s.leading {
		s.qmu.Unlock()
		<-me.done
		if !me.lead {
			return me.err
		}
		s.qmu.Lock() // this delivery writes the next batch, its own lines in it
	}
	s.leading = true
	batch := s.queue
	s.queue = nil
	s.qmu.Unlock()

	err := s.writeSync(batch)
	for _, w := range batch {
		if w != me {
			w.err = err
			close(w.done)
		}
	}
	s.qmu.Lock()
	if len(s.queue) > 0 {
		next := s.queue[0] // stays leading: it takes the queue
		next.lead = true
		close(next.done)
	} else {
		s.leading = false
	}
	s.qmu.Unlock()
	return err
}

// writeSync writes a batch's lines in one write and syncs the file.
func (s *writerSink) writeSync(batch []*sinkWrite) error {
	data := batch[0].b
	if len(batch) > 1 {
		n := 0
		for _, w := range batch {
			n += len(w.b)
		}
		data = make([]byte, 0, n)
		for _, w := range batch {
			data = append(data, w.b...)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.w.Write(data); err != nil {
		return fmt.Errorf("sink: %w", err)
	}
	sync := s.f.Sync
	if s.sync != nil {
		sync = s.sync
	}
	if err := sync(); err != nil {
		return fmt.Errorf("sink: fsync: %w", err)
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
