package trigger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func openTest(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newPoll(t *testing.T, s *Store, flow string) *Trigger {
	t.Helper()
	tr := &Trigger{Project: "acme", Flow: flow, Kind: "poll", Input: json.RawMessage(`{"list":"a"}`)}
	if err := s.CreateTrigger(context.Background(), tr); err != nil {
		t.Fatalf("CreateTrigger: %v", err)
	}
	return tr
}

func mustGet(t *testing.T, s *Store, id string) *Trigger {
	t.Helper()
	tr, err := s.GetTrigger(context.Background(), id)
	if err != nil {
		t.Fatalf("GetTrigger: %v", err)
	}
	return tr
}

func TestOpenLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "state")
	s := openTest(t, dir)
	ctx := context.Background()

	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("dir mode = %v, %v; want 0700", fi.Mode().Perm(), err)
	}
	if fi, err := os.Stat(filepath.Join(dir, StateFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("db mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	for pragma, want := range map[string]string{
		"journal_mode": "wal", "foreign_keys": "1", "user_version": fmt.Sprint(schemaVersion), "busy_timeout": "10000",
	} {
		var got string
		if err := s.w.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil || got != want {
			t.Errorf("writer PRAGMA %s = %q, %v; want %q", pragma, got, err, want)
		}
	}
	var fk string
	if err := s.r.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != "1" {
		t.Errorf("reader foreign_keys = %q, %v", fk, err)
	}
	if _, err := s.r.ExecContext(ctx, "DELETE FROM triggers"); err == nil {
		t.Error("the read pool accepted a write")
	}
}

func TestTriggerCRUD(t *testing.T) {
	s := openTest(t, t.TempDir())
	ctx := context.Background()

	wh := &Trigger{
		Project: "acme", Flow: "user_created", Kind: "webhook",
		Input:        json.RawMessage(`{ "b": 2, "a": [1, 2.50], "q": "<x&y>" }`),
		Registration: json.RawMessage(`{"hook_id":42}`),
		Secret:       "s3cr3t-value",
	}
	if err := s.CreateTrigger(ctx, wh); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(wh.ID, "user_created-") || len(wh.ID) != len("user_created-")+8 || !validID(wh.ID) {
		t.Errorf("generated id %q", wh.ID)
	}
	if string(wh.Input) != `{"a":[1,2.50],"b":2,"q":"<x&y>"}` {
		t.Errorf("canonical input = %s", wh.Input)
	}
	if wh.CreatedAt.IsZero() {
		t.Error("CreatedAt not set")
	}

	got := mustGet(t, s, wh.ID)
	if got.Project != "acme" || got.Flow != "user_created" || got.Kind != "webhook" || got.Secret != "s3cr3t-value" ||
		string(got.Registration) != `{"hook_id":42}` || got.Cursor != nil || !got.LastRunAt.IsZero() ||
		got.Delivered != 0 || got.LastError != "" || !got.CreatedAt.Equal(wh.CreatedAt) || string(got.Input) != string(wh.Input) {
		t.Errorf("GetTrigger = %+v", *got)
	}
	if s := fmt.Sprintf("%v %+v %s", got, *got, got); strings.Contains(s, "s3cr3t") {
		t.Errorf("printing a trigger shows its secret: %s", s)
	}

	// Same project, flow and input (keys in another order): refused.
	dup := &Trigger{Project: "acme", Flow: "user_created", Kind: "webhook", Input: json.RawMessage(`{"q":"<x&y>","a":[1,2.50],"b":2}`)}
	if err := s.CreateTrigger(ctx, dup); !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), wh.ID) {
		t.Errorf("duplicate input: err = %v, want ErrExists naming %s", err, wh.ID)
	}
	// Same id: refused.
	if err := s.CreateTrigger(ctx, &Trigger{ID: wh.ID, Project: "x", Flow: "y", Kind: "poll"}); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate id: err = %v", err)
	}
	// Other input: fine. Nil input is {}.
	other := &Trigger{Project: "acme", Flow: "user_created", Kind: "webhook", Input: json.RawMessage(`{"a":[1]}`)}
	if err := s.CreateTrigger(ctx, other); err != nil {
		t.Fatal(err)
	}
	poll := &Trigger{ID: "my.poll_1", Project: "acme", Flow: "new_issues", Kind: "poll"}
	if err := s.CreateTrigger(ctx, poll); err != nil {
		t.Fatal(err)
	}
	if string(poll.Input) != "{}" || poll.ID != "my.poll_1" {
		t.Errorf("poll = %+v", poll)
	}

	for _, bad := range []*Trigger{
		{Project: "acme", Flow: "f", Kind: "cron"},
		{Project: "", Flow: "f", Kind: "poll"},
		{Project: "acme", Flow: "f", Kind: "poll", Input: json.RawMessage(`[1]`)},
		{Project: "acme", Flow: "f", Kind: "poll", Input: json.RawMessage(`{"a":`)},
		{Project: "acme", Flow: "f", Kind: "poll", ID: "../etc"},
		{Project: "acme", Flow: "f", Kind: "webhook", Registration: json.RawMessage(`nope`)},
	} {
		if err := s.CreateTrigger(ctx, bad); err == nil {
			t.Errorf("CreateTrigger(%+v) succeeded", bad)
		}
	}

	found, err := s.FindTrigger(ctx, "acme", "user_created")
	if err != nil || len(found) != 2 || found[0].ID != wh.ID || found[1].ID != other.ID {
		t.Errorf("FindTrigger = %v, %v", found, err)
	}
	if found, err := s.FindTrigger(ctx, "acme", "nope"); err != nil || found == nil || len(found) != 0 {
		t.Errorf("FindTrigger(none) = %#v, %v; want empty", found, err)
	}
	all, err := s.ListTriggers(ctx)
	if err != nil || len(all) != 3 {
		t.Fatalf("ListTriggers = %v, %v", all, err)
	}

	if err := s.SetRegistration(ctx, wh.ID, json.RawMessage(`{"hook_id":43}`)); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, wh.ID); string(got.Registration) != `{"hook_id":43}` {
		t.Errorf("registration = %s", got.Registration)
	}
	if err := s.SetRegistration(ctx, wh.ID, nil); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, wh.ID); got.Registration != nil {
		t.Errorf("registration after clearing = %s", got.Registration)
	}
	if err := s.SetRegistration(ctx, poll.ID, json.RawMessage(`{`)); err == nil {
		t.Error("SetRegistration accepted invalid JSON")
	}

	// Delete takes the cursor and dedupe keys along and keeps history.
	if err := s.SetRegistration(ctx, wh.ID, json.RawMessage(`{"hook_id":44}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, wh.ID, RunCommit{Cursor: json.RawMessage(`1`), Keys: []string{"k"}, Events: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTrigger(ctx, wh.ID); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"registrations", "cursors", "dedupe_keys"} {
		var n int
		if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM "+table+" WHERE trigger_id = ?", wh.ID).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s rows left after delete: %d, %v", table, n, err)
		}
	}
	if h, err := s.History(ctx, wh.ID, 0); err != nil || len(h) != 1 {
		t.Errorf("history after delete = %v, %v; want 1 run", h, err)
	}
	// The same input may be turned on again once deleted.
	again := &Trigger{Project: "acme", Flow: "user_created", Kind: "webhook", Input: wh.Input}
	if err := s.CreateTrigger(ctx, again); err != nil {
		t.Errorf("re-create after delete: %v", err)
	}
}

func TestNotFound(t *testing.T) {
	s := openTest(t, t.TempDir())
	ctx := context.Background()
	checks := map[string]error{}
	_, checks["GetTrigger"] = s.GetTrigger(ctx, "nope-00000000")
	checks["DeleteTrigger"] = s.DeleteTrigger(ctx, "nope-00000000")
	checks["SetRegistration"] = s.SetRegistration(ctx, "nope-00000000", json.RawMessage(`{}`))
	checks["Commit"] = s.Commit(ctx, "nope-00000000", RunCommit{Events: 1})
	for name, err := range checks {
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "nope-00000000") {
			t.Errorf("%s: err = %v, want ErrNotFound naming the id", name, err)
		}
	}
	if h, err := s.History(ctx, "nope-00000000", 10); err != nil || len(h) != 0 {
		t.Errorf("History(unknown) = %v, %v", h, err)
	}
}

func TestCommitAndHistory(t *testing.T) {
	s := openTest(t, t.TempDir())
	ctx := context.Background()
	tr := newPoll(t, s, "new_issues")
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)

	if err := s.Commit(ctx, tr.ID, RunCommit{Cursor: json.RawMessage(`{"since":"a"}`), Keys: []string{"1", "2", ""},
		Events: 2, Started: t0, Duration: 1500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, tr.ID, RunCommit{Started: t0.Add(time.Minute), Duration: time.Second, Error: "GET /issues: 503"}); err != nil {
		t.Fatal(err)
	}
	got := mustGet(t, s, tr.ID)
	if string(got.Cursor) != `{"since":"a"}` || got.Delivered != 2 || got.LastError != "GET /issues: 503" || !got.LastRunAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("after two runs: %+v cursor=%s", *got, got.Cursor)
	}
	if err := s.Commit(ctx, tr.ID, RunCommit{Cursor: json.RawMessage(`{"since":"b"}`), Keys: []string{"3"}, Events: 1, Started: t0.Add(2 * time.Minute), Status: "ok"}); err != nil {
		t.Fatal(err)
	}
	got = mustGet(t, s, tr.ID)
	if string(got.Cursor) != `{"since":"b"}` || got.Delivered != 3 || got.LastError != "" {
		t.Errorf("after three runs: %+v cursor=%s", *got, got.Cursor)
	}
	seen, err := s.SeenKeys(ctx, tr.ID, []string{"1", "2", "3", "4", ""})
	if err != nil || len(seen) != 3 || !seen["1"] || !seen["2"] || !seen["3"] {
		t.Errorf("SeenKeys = %v, %v", seen, err)
	}

	h, err := s.History(ctx, tr.ID, 2)
	if err != nil || len(h) != 2 {
		t.Fatalf("History = %v, %v", h, err)
	}
	if h[0].Status != "ok" || h[0].Events != 1 || h[1].Status != "error" || h[1].Error != "GET /issues: 503" ||
		h[1].Duration != time.Second || !h[1].Started.Equal(t0.Add(time.Minute)) || h[0].ID <= h[1].ID ||
		h[0].Project != "acme" || h[0].Flow != "new_issues" || h[0].TriggerID != tr.ID {
		t.Errorf("History = %+v", h)
	}
	if h, _ := s.History(ctx, tr.ID, 0); len(h) != 3 || !h[2].Started.Equal(t0) || h[2].Duration != 1500*time.Millisecond {
		t.Errorf("full History = %+v", h)
	}

	// The literal null clears the cursor; nil leaves it.
	if err := s.Commit(ctx, tr.ID, RunCommit{Cursor: json.RawMessage(`null`)}); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, tr.ID); got.Cursor != nil {
		t.Errorf("cursor after null = %s", got.Cursor)
	}

	for _, bad := range []RunCommit{{Status: "maybe"}, {Cursor: json.RawMessage(`{`)}, {Events: -1}} {
		if err := s.Commit(ctx, tr.ID, bad); err == nil {
			t.Errorf("Commit(%+v) succeeded", bad)
		}
	}
}

func TestHistoryPruned(t *testing.T) {
	s := openTest(t, t.TempDir())
	s.MaxRuns = 3
	ctx := context.Background()
	tr := newPoll(t, s, "p")
	for i := range 5 {
		if err := s.Commit(ctx, tr.ID, RunCommit{Events: i}); err != nil {
			t.Fatal(err)
		}
	}
	h, err := s.History(ctx, tr.ID, 0)
	if err != nil || len(h) != 3 || h[0].Events != 4 || h[2].Events != 2 {
		t.Errorf("History = %+v, %v; want the runs with 4, 3, 2 events", h, err)
	}
}

func TestDedupePruning(t *testing.T) {
	s := openTest(t, t.TempDir())
	s.MaxDedupeKeys = 5
	ctx := context.Background()
	tr := newPoll(t, s, "p")
	other := newPoll(t, s, "q")
	commit := func(keys ...string) {
		t.Helper()
		if err := s.Commit(ctx, tr.ID, RunCommit{Keys: keys, Events: len(keys)}); err != nil {
			t.Fatal(err)
		}
	}
	seen := func() []string {
		t.Helper()
		all := []string{"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9", "k10", "k11", "k12"}
		m, err := s.SeenKeys(ctx, tr.ID, all)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, k := range all {
			if m[k] {
				out = append(out, k)
			}
		}
		return out
	}
	if err := s.Commit(ctx, other.ID, RunCommit{Keys: []string{"k0", "k1"}}); err != nil {
		t.Fatal(err)
	}
	commit("k0", "k1", "k2")
	commit("k3", "k4", "k5", "k6", "k7")
	if got := fmt.Sprint(seen()); got != "[k3 k4 k5 k6 k7]" {
		t.Errorf("after 8 keys with room for 5: %s", got)
	}
	// A key seen again becomes recent, so k4 goes before k3.
	commit("k3")
	commit("k8")
	if got := fmt.Sprint(seen()); got != "[k3 k5 k6 k7 k8]" {
		t.Errorf("after refreshing k3: %s", got)
	}
	// One commit with more keys than fit keeps its last ones.
	commit("k9", "k9", "k10", "k11", "k12", "k0", "k1")
	if got := fmt.Sprint(seen()); got != "[k0 k1 k10 k11 k12]" {
		t.Errorf("after an oversized commit: %s", got)
	}
	// Pruning is per trigger.
	if m, err := s.SeenKeys(ctx, other.ID, []string{"k0", "k1"}); err != nil || len(m) != 2 {
		t.Errorf("other trigger's keys = %v, %v", m, err)
	}
}

func TestDedupeDefaultBound(t *testing.T) {
	s := openTest(t, t.TempDir())
	ctx := context.Background()
	tr := newPoll(t, s, "p")
	keys := make([]string, DefaultMaxDedupeKeys+700)
	for i := range keys {
		keys[i] = fmt.Sprintf("evt-%06d", i)
	}
	if err := s.Commit(ctx, tr.ID, RunCommit{Keys: keys, Events: len(keys)}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.r.QueryRow("SELECT count(*) FROM dedupe_keys WHERE trigger_id = ?", tr.ID).Scan(&n); err != nil || n != DefaultMaxDedupeKeys {
		t.Errorf("kept %d keys, %v; want %d", n, err, DefaultMaxDedupeKeys)
	}
	// SeenKeys asks in batches: more keys than SQLite parameters.
	m, err := s.SeenKeys(ctx, tr.ID, keys)
	if err != nil || len(m) != DefaultMaxDedupeKeys || m[keys[699]] || !m[keys[700]] || !m[keys[len(keys)-1]] {
		t.Errorf("SeenKeys: %d seen, %v", len(m), err)
	}
}

func TestCursorLimit(t *testing.T) {
	s := openTest(t, t.TempDir())
	ctx := context.Background()
	tr := newPoll(t, s, "p")
	if err := s.Commit(ctx, tr.ID, RunCommit{Cursor: json.RawMessage(`"before"`), Keys: []string{"a"}, Events: 1}); err != nil {
		t.Fatal(err)
	}
	jsonString := func(n int) json.RawMessage { // a JSON string of exactly n bytes
		return json.RawMessage(`"` + strings.Repeat("x", n-2) + `"`)
	}

	big := jsonString(MaxCursorBytes + 1)
	err := s.Commit(ctx, tr.ID, RunCommit{Cursor: big, Keys: []string{"b"}, Events: 1})
	if err == nil || err.Error() != fmt.Sprintf("cursor is %d bytes, over the 10 KiB limit", MaxCursorBytes+1) {
		t.Fatalf("oversized cursor: err = %v", err)
	}
	var cte *CursorTooLargeError
	if !errors.Is(err, ErrCursorTooLarge) || !errors.As(err, &cte) || cte.Size != MaxCursorBytes+1 {
		t.Errorf("err %v is not a CursorTooLargeError", err)
	}
	got := mustGet(t, s, tr.ID)
	if string(got.Cursor) != `"before"` || got.Delivered != 1 {
		t.Errorf("after a rejected commit: cursor %s, delivered %d", got.Cursor, got.Delivered)
	}
	if m, _ := s.SeenKeys(ctx, tr.ID, []string{"a", "b"}); !m["a"] || m["b"] {
		t.Errorf("after a rejected commit: seen %v, want only a", m)
	}
	if h, _ := s.History(ctx, tr.ID, 0); len(h) != 1 {
		t.Errorf("after a rejected commit: %d runs, want 1", len(h))
	}

	if err := s.Commit(ctx, tr.ID, RunCommit{Cursor: jsonString(MaxCursorBytes)}); err != nil {
		t.Errorf("a cursor of exactly 10 KiB: %v", err)
	}
	if got := mustGet(t, s, tr.ID); len(got.Cursor) != MaxCursorBytes {
		t.Errorf("cursor is %d bytes", len(got.Cursor))
	}
}

func TestReopenKeepsData(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	tr := newPoll(t, s, "p")
	if err := s.Commit(ctx, tr.ID, RunCommit{Cursor: json.RawMessage(`{"page":2}`), Keys: []string{"x"}, Events: 4}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTest(t, dir)
	got := mustGet(t, s, tr.ID)
	if string(got.Cursor) != `{"page":2}` || got.Delivered != 4 {
		t.Errorf("after reopen: %+v cursor %s", *got, got.Cursor)
	}
	if m, _ := s.SeenKeys(ctx, tr.ID, []string{"x"}); !m["x"] {
		t.Error("after reopen: dedupe key lost")
	}
}

// TestDurableAcrossProcesses commits in a child process that exits without
// closing the store, then reads the state back here.
func TestDurableAcrossProcesses(t *testing.T) {
	if dir := os.Getenv("FLOWRUN_TEST_STORE_CHILD"); dir != "" {
		s, err := Open(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		ctx := context.Background()
		tr := &Trigger{ID: "child-0000beef", Project: "acme", Flow: "child", Kind: "poll"}
		if err := s.CreateTrigger(ctx, tr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if err := s.Commit(ctx, tr.ID, RunCommit{Cursor: json.RawMessage(`"c1"`), Keys: []string{"e1", "e2"}, Events: 2}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(0) // no Close: committed means durable
	}
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDurableAcrossProcesses$")
	cmd.Env = append(os.Environ(), "FLOWRUN_TEST_STORE_CHILD="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	s := openTest(t, dir)
	got := mustGet(t, s, "child-0000beef")
	if string(got.Cursor) != `"c1"` || got.Delivered != 2 {
		t.Errorf("written by the child: %+v cursor %s", *got, got.Cursor)
	}
	if m, _ := s.SeenKeys(context.Background(), got.ID, []string{"e1", "e2"}); len(m) != 2 {
		t.Errorf("keys written by the child: %v", m)
	}
}

func TestConcurrentCommits(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	s2 := openTest(t, dir) // a second handle stands in for a second process
	ctx := context.Background()
	trs := []*Trigger{newPoll(t, s, "a"), newPoll(t, s, "b")}

	const goroutines, perG = 20, 10
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*perG*2)
	for g := range goroutines {
		wg.Go(func() {
			st := s
			if g%4 == 3 {
				st = s2
			}
			tr := trs[g%len(trs)]
			for i := range perG {
				key := fmt.Sprintf("g%d-%d", g, i)
				if _, err := st.SeenKeys(ctx, tr.ID, []string{key}); err != nil {
					errs <- err
				}
				cur := json.RawMessage(fmt.Sprintf(`{"g":%d,"i":%d}`, g, i))
				if err := st.Commit(ctx, tr.ID, RunCommit{Cursor: cur, Keys: []string{key}, Events: 1, Started: time.Now()}); err != nil {
					errs <- err
				}
				if _, err := st.GetTrigger(ctx, tr.ID); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	total := int64(0)
	for _, tr := range trs {
		got := mustGet(t, s, tr.ID)
		total += got.Delivered
		h, err := s.History(ctx, tr.ID, 0)
		if err != nil || int64(len(h)) != got.Delivered {
			t.Errorf("%s: %d runs, %d delivered, %v", tr.ID, len(h), got.Delivered, err)
		}
	}
	if total != goroutines*perG {
		t.Errorf("delivered %d events, want %d", total, goroutines*perG)
	}
	var n int
	if err := s.r.QueryRow("SELECT count(*) FROM dedupe_keys").Scan(&n); err != nil || n != goroutines*perG {
		t.Errorf("%d dedupe keys, %v", n, err)
	}
}

func TestOpenBadFiles(t *testing.T) {
	t.Run("garbage", func(t *testing.T) {
		dir := t.TempDir()
		junk := []byte(strings.Repeat("this is not an sqlite database\n", 200))
		if err := os.WriteFile(filepath.Join(dir, StateFile), junk, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(dir)
		if err == nil {
			s.Close()
			t.Fatal("Open accepted a corrupt file")
		}
		if !strings.Contains(err.Error(), "is corrupt or not an SQLite database") || !strings.Contains(err.Error(), StateFile) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("damaged pages", func(t *testing.T) {
		dir := t.TempDir()
		s := openTest(t, dir)
		newPoll(t, s, "p")
		s.Close()
		path := filepath.Join(dir, StateFile)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for i := 100; i < len(b); i++ { // keep the header, smash the rest
			b[i] = 0xA5
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		s2, err := Open(dir)
		if err == nil {
			_, err = s2.ListTriggers(context.Background())
			s2.Close()
		}
		if err == nil {
			t.Fatal("no error from a damaged database")
		}
		t.Logf("damaged: %v", err)
	})
	t.Run("foreign database", func(t *testing.T) {
		dir := t.TempDir()
		s := openTest(t, dir)
		if _, err := s.w.Exec("PRAGMA user_version = 0; CREATE TABLE notes (x)"); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "not a flowrun state database") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("newer schema", func(t *testing.T) {
		dir := t.TempDir()
		s := openTest(t, dir)
		if _, err := s.w.Exec(fmt.Sprintf("PRAGMA user_version = %d", schemaVersion+1)); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "newer than this flowrun supports") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("dir is a file", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(f); err == nil {
			t.Error("Open of a file as dir succeeded")
		}
	})
}
