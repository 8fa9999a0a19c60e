package trigger_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/flowrun/flowrun/connection"
	"github.com/flowrun/flowrun/load"
	"github.com/flowrun/flowrun/load/loadtest"
	"github.com/flowrun/flowrun/run"
	"github.com/flowrun/flowrun/trigger"
)

// fuzzStatePoll echoes its cursor: what the host decoded from the store
// goes back in as the next cursor and out as an event.
const fuzzStatePoll = `flowrun: 1
name: ticks
type: poll
schedule: 1m
inputs:
  step: {type: integer, default: 1}
  tag: {type: string}
dedupe: ${ jsonEncode(event) }
steps:
  - return:
      events:
        - c: ${ cursor }
          tag: ${ inputs.tag }
          step: ${ inputs.step }
      cursor: ${ cursor }
`

type fuzzSink struct {
	mu sync.Mutex
	n  int
}

func (s *fuzzSink) Deliver(ctx context.Context, ds []trigger.Delivery) error {
	s.mu.Lock()
	s.n += len(ds)
	s.mu.Unlock()
	return nil
}

func (s *fuzzSink) Close() error { return nil }

// FuzzStoredState writes the fuzz input into the state database as a poll
// trigger's stored input and cursor (text or blob, or no cursor row), as a
// damaged or hand-edited state file would hold them, and polls: no panic,
// the trigger is still there, a failed poll leaves its state as it was (and
// says when the stored input is not JSON), and a successful one stores a
// cursor that polls again to itself.
func FuzzStoredState(f *testing.F) {
	for _, s := range []struct {
		input, cursor string
		mode          uint8
	}{
		{`{}`, `3`, 0}, {`{"step": 2, "tag": "x"}`, `{"after": "2026-01-01T00:00:00Z", "ids": [1, 2.5, -0, 1e400]}`, 0},
		{`{"step": "2"}`, `null`, 0}, {`{"nope": 1}`, `"s"`, 0}, {`[1]`, `[]`, 2}, {`{}`, ``, 1},
		{`{"tag": "\ud800"}`, `"\udfff\u0000"`, 0}, {`{}`, `{"a":`, 0}, {`{}`, `1 2`, 2},
		{`{}`, "\xfe\x00", 2}, {`{"step": 9223372036854775808}`, `18446744073709551615`, 0},
		{`{}`, `[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`, 0},
		{`{}`, `"` + string(bytes.Repeat([]byte("a"), 11<<10)) + `"`, 0},
	} {
		f.Add([]byte(s.input), []byte(s.cursor), s.mode)
	}
	dir := f.TempDir()
	loadtest.Write(f, dir, map[string]string{
		"connector.yaml":   "flowrun: 1\nname: fz\n",
		"flows/ticks.yaml": fuzzStatePoll,
	})
	p, err := load.Project(dir)
	if err != nil {
		f.Fatal(err)
	}
	st, err := trigger.Open(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	ctx := context.Background()
	sink := &fuzzSink{}
	h := &trigger.Host{Runner: &run.Runner{Project: p, Connection: &connection.Connection{Params: map[string]any{}}}, Store: st, Sink: sink}
	tr, err := h.On(ctx, "ticks", nil)
	if err != nil {
		f.Fatal(err)
	}
	db, err := sql.Open("sqlite", st.Path()+"?_pragma=busy_timeout(10000)")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	f.Fuzz(func(t *testing.T, input, cursor []byte, mode uint8) {
		// bit 0: no cursor row; bit 1: blobs rather than text
		val := func(b []byte) any {
			if mode&2 != 0 {
				return append([]byte{}, b...)
			}
			return string(b)
		}
		if _, err := db.Exec(`UPDATE triggers SET input = ? WHERE id = ?`, val(input), tr.ID); err != nil {
			t.Skipf("the database refuses the input: %v", err)
		}
		if _, err := db.Exec(`DELETE FROM cursors WHERE trigger_id = ?`, tr.ID); err != nil {
			t.Fatal(err)
		}
		if mode&1 == 0 {
			if _, err := db.Exec(`INSERT INTO cursors (trigger_id, cursor, updated_at) VALUES (?, ?, 0)`, tr.ID, val(cursor)); err != nil {
				t.Skipf("the database refuses the cursor: %v", err)
			}
		}
		before := fuzzStateGet(t, st, tr.ID)
		_, perr := h.PollOnce(ctx, before)
		after := fuzzStateGet(t, st, tr.ID)
		if !bytes.Equal(after.Input, before.Input) {
			t.Fatalf("the poll changed the stored input: %q -> %q", before.Input, after.Input)
		}
		runs, err := st.History(ctx, tr.ID, 1)
		if err != nil || len(runs) != 1 {
			t.Fatalf("no run recorded: %v %v", runs, err)
		}
		if perr != nil {
			if runs[0].Status != "error" || runs[0].Error == "" {
				t.Fatalf("poll failed (%v) but the run says %+v", perr, runs[0])
			}
			// an empty stored input is {} (as CanonicalInput stores nil), not an error
			if len(before.Input) > 0 && !json.Valid(before.Input) && !strings.Contains(perr.Error(), "stored input") {
				t.Fatalf("a stored input that is not JSON (%q) fails the poll with an error that does not say so: %v", before.Input, perr)
			}
			if !bytes.Equal(after.Cursor, before.Cursor) {
				t.Fatalf("a failed poll (%v) changed the cursor: %q -> %q", perr, before.Cursor, after.Cursor)
			}
			return
		}
		if runs[0].Status != "ok" {
			t.Fatalf("poll succeeded but the run says %+v", runs[0])
		}
		if after.Cursor != nil && (!json.Valid(after.Cursor) || len(after.Cursor) > trigger.MaxCursorBytes) {
			t.Fatalf("stored cursor %q is not JSON within the limit", after.Cursor)
		}
		// what the host wrote, it reads back as the same cursor
		if _, err := h.PollOnce(ctx, after); err != nil {
			t.Fatalf("polling the cursor the host stored (%q) fails: %v", after.Cursor, err)
		}
		again := fuzzStateGet(t, st, tr.ID)
		if !bytes.Equal(again.Cursor, after.Cursor) {
			t.Fatalf("the echoed cursor changed: %q -> %q", after.Cursor, again.Cursor)
		}
	})
}

// fuzzStateGet reads the trigger, which must be there, listed too.
func fuzzStateGet(t *testing.T, st *trigger.Store, id string) *trigger.Trigger {
	t.Helper()
	ctx := context.Background()
	tr, err := st.GetTrigger(ctx, id)
	if err != nil {
		if errors.Is(err, trigger.ErrNotFound) {
			t.Fatalf("the trigger is lost")
		}
		t.Fatalf("reading the trigger: %v", err)
	}
	all, err := st.ListTriggers(ctx)
	if err != nil || len(all) != 1 || all[0].ID != id {
		t.Fatalf("trigger list: %v %v", all, err)
	}
	return tr
}
