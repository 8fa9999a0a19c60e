package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowrun/flowrun/trigger"
	"github.com/flowrun/flowrun/trigger/pgstore/pgtest"
)

// openTest opens a Store in a fresh schema of the database FLOWRUN_PG_DSN
// names; without it the test is skipped (scripts/e2e-temporal.sh sets it).
func openTest(t *testing.T) (*Store, string) {
	t.Helper()
	dsn := os.Getenv("FLOWRUN_PG_DSN")
	if dsn == "" {
		t.Skip("FLOWRUN_PG_DSN is not set: these tests need a Postgres (scripts/e2e-temporal.sh starts one and sets it)")
	}
	ctx := context.Background()
	sdsn, _ := pgtest.Schema(t, dsn, "t")
	s, err := Open(ctx, sdsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, sdsn
}

func TestTriggerRegistry(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	tr := &trigger.Trigger{Project: "shop", Flow: "orders", Kind: "poll", Input: json.RawMessage(`{"b":1, "a":2}`)}
	if err := s.CreateTrigger(ctx, tr); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tr.ID, "orders-") || string(tr.Input) != `{"a":2,"b":1}` {
		t.Fatalf("created %s with input %s", tr.ID, tr.Input)
	}
	dup := &trigger.Trigger{Project: "shop", Flow: "orders", Kind: "poll", Input: json.RawMessage(`{"a":2,"b":1}`)}
	if err := s.CreateTrigger(ctx, dup); !errors.Is(err, trigger.ErrExists) {
		t.Fatalf("same input again: %v, want ErrExists", err)
	}
	hook := &trigger.Trigger{ID: "hook-1", Project: "shop", Flow: "events", Kind: "webhook", Secret: "s3cret", MaxMemory: 64 << 20}
	if err := s.CreateTrigger(ctx, hook); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetTrigger(ctx, "hook-1"); err != nil || got.MaxMemory != 64<<20 {
		t.Fatalf("the trigger's memory budget: %+v %v", got, err)
	}
	if err := s.SetMaxMemory(ctx, tr.ID, 1<<30); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetTrigger(ctx, tr.ID); err != nil || got.MaxMemory != 1<<30 {
		t.Fatalf("after SetMaxMemory: %+v %v", got, err)
	}
	if err := s.SetMaxMemory(ctx, tr.ID, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMaxMemory(ctx, "nope-1", 1); !errors.Is(err, trigger.ErrNotFound) {
		t.Fatalf("SetMaxMemory of an unknown trigger: %v", err)
	}
	if err := s.SetRegistration(ctx, "hook-1", json.RawMessage(`{"id":7}`)); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetTrigger(ctx, "hook-1")
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Registration) != `{"id":7}` || got.Secret != "s3cret" || got.Kind != "webhook" || !got.CreatedAt.Equal(hook.CreatedAt) {
		t.Fatalf("got %+v", got)
	}
	all, err := s.ListTriggers(ctx)
	if err != nil || len(all) != 2 || all[0].ID != tr.ID {
		t.Fatalf("list: %v %v", all, err)
	}
	found, err := s.FindTrigger(ctx, "shop", "events")
	if err != nil || len(found) != 1 || found[0].ID != "hook-1" {
		t.Fatalf("find: %v %v", found, err)
	}
	if err := s.DeleteTrigger(ctx, "hook-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetTrigger(ctx, "hook-1"); !errors.Is(err, trigger.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if err := s.DeleteTrigger(ctx, "hook-1"); !errors.Is(err, trigger.ErrNotFound) {
		t.Fatalf("delete again: %v", err)
	}
}

func TestCommitCursorAndDedupe(t *testing.T) {
	s, _ := openTest(t)
	s.MaxDedupeKeys = 3
	ctx := context.Background()
	tr := &trigger.Trigger{Project: "shop", Flow: "orders", Kind: "poll"}
	if err := s.CreateTrigger(ctx, tr); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, tr.ID, trigger.RunCommit{Cursor: json.RawMessage(`{"since":1}`), Keys: []string{"a", "b", ""}, Events: 2}); err != nil {
		t.Fatal(err)
	}
	seen, err := s.SeenKeys(ctx, tr.ID, []string{"a", "b", "c"})
	if err != nil || !seen["a"] || !seen["b"] || seen["c"] {
		t.Fatalf("seen %v %v", seen, err)
	}
	if err := s.Commit(ctx, tr.ID, trigger.RunCommit{Keys: []string{"c", "d"}, Events: 2}); err != nil {
		t.Fatal(err)
	}
	seen, _ = s.SeenKeys(ctx, tr.ID, []string{"a", "b", "c", "d"})
	if seen["a"] || !seen["b"] || !seen["c"] || !seen["d"] {
		t.Fatalf("after pruning to 3 keys: %v", seen)
	}
	got, _ := s.GetTrigger(ctx, tr.ID)
	if string(got.Cursor) != `{"since":1}` || got.Delivered != 4 || got.LastRunAt.IsZero() {
		t.Fatalf("cursor %s delivered %d", got.Cursor, got.Delivered)
	}
	if err := s.Commit(ctx, tr.ID, trigger.RunCommit{Cursor: json.RawMessage(`null`), Error: "boom"}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetTrigger(ctx, tr.ID)
	if got.Cursor != nil || got.LastError != "boom" {
		t.Fatalf("after null cursor: %s %q", got.Cursor, got.LastError)
	}
	big := json.RawMessage(`"` + strings.Repeat("x", trigger.MaxCursorBytes) + `"`)
	if err := s.Commit(ctx, tr.ID, trigger.RunCommit{Cursor: big}); !errors.Is(err, trigger.ErrCursorTooLarge) {
		t.Fatalf("big cursor: %v", err)
	}
	h, err := s.History(ctx, tr.ID, 0)
	if err != nil || len(h) != 3 || h[0].Status != "error" || h[2].Events != 2 {
		t.Fatalf("history %+v %v", h, err)
	}
	if err := s.Commit(ctx, "nope", trigger.RunCommit{}); !errors.Is(err, trigger.ErrNotFound) {
		t.Fatalf("unknown trigger: %v", err)
	}
}

func TestHolds(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	tr := &trigger.Trigger{Project: "shop", Flow: "orders", Kind: "poll"}
	if err := s.CreateTrigger(ctx, tr); err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
	if err := s.SetHold(ctx, trigger.Hold{TriggerID: tr.ID, Code: "throttled", Reason: "429", Until: until, Failures: 2}); err != nil {
		t.Fatal(err)
	}
	h, ok, err := s.GetHold(ctx, tr.ID)
	if err != nil || !ok || h.Code != "throttled" || !h.Until.Equal(until) || h.Failures != 2 {
		t.Fatalf("hold %+v %v %v", h, ok, err)
	}
	all, _ := s.Holds(ctx)
	if len(all) != 1 {
		t.Fatalf("holds %v", all)
	}
	if had, err := s.ClearHold(ctx, tr.ID); !had || err != nil {
		t.Fatalf("clear %v %v", had, err)
	}
	if _, ok, _ := s.GetHold(ctx, tr.ID); ok {
		t.Fatal("hold still there")
	}
	if err := s.SetHold(ctx, trigger.Hold{TriggerID: "nope", Code: "config"}); !errors.Is(err, trigger.ErrNotFound) {
		t.Fatalf("hold of unknown trigger: %v", err)
	}
}

// Several processes open the same database at once: the migrations run once.
func TestConcurrentOpenAndCommit(t *testing.T) {
	s, dsn := openTest(t)
	ctx := context.Background()
	tr := &trigger.Trigger{Project: "shop", Flow: "orders", Kind: "poll"}
	if err := s.CreateTrigger(ctx, tr); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, err := Open(ctx, dsn)
			if err != nil {
				errs <- err
				return
			}
			defer o.Close()
			errs <- o.Commit(ctx, tr.ID, trigger.RunCommit{Keys: []string{fmt.Sprint(i)}, Events: 1})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, _ := s.GetTrigger(ctx, tr.ID)
	if got.Delivered != 8 {
		t.Fatalf("delivered %d, want 8", got.Delivered)
	}
}

// TestTriggerConnection: a trigger keeps its named connection; the same
// project, flow and input may be on once per connection.
func TestTriggerConnection(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a := &trigger.Trigger{Project: "shop", Connection: "alpha", Flow: "orders", Kind: "poll"}
	b := &trigger.Trigger{Project: "shop", Connection: "beta", Flow: "orders", Kind: "poll"}
	for _, tr := range []*trigger.Trigger{a, b} {
		if err := s.CreateTrigger(ctx, tr); err != nil {
			t.Fatal(err)
		}
	}
	again := &trigger.Trigger{Project: "shop", Connection: "beta", Flow: "orders", Kind: "poll"}
	if err := s.CreateTrigger(ctx, again); !errors.Is(err, trigger.ErrExists) {
		t.Fatalf("same connection and input again: %v, want ErrExists", err)
	}
	got, err := s.GetTrigger(ctx, b.ID)
	if err != nil || got.Connection != "beta" {
		t.Fatalf("got %+v, %v", got, err)
	}
	if err := s.Commit(ctx, b.ID, trigger.RunCommit{Events: 1}); err != nil {
		t.Fatal(err)
	}
	var conn string
	if err := s.pool.QueryRow(ctx, `SELECT connection FROM runs WHERE trigger_id = $1`, b.ID).Scan(&conn); err != nil || conn != "beta" {
		t.Fatalf("run's connection %q, %v", conn, err)
	}
}

func TestResetTrigger(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	tr := &trigger.Trigger{Project: "shop", Flow: "orders", Kind: "poll"}
	if err := s.CreateTrigger(ctx, tr); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, tr.ID, trigger.RunCommit{Cursor: json.RawMessage(`{"since":9}`), Keys: []string{"a"}, Events: 1}); err != nil {
		t.Fatal(err)
	}
	// to a chosen cursor, keeping the keys
	if err := s.ResetTrigger(ctx, tr.ID, json.RawMessage(`{"since":2}`), false); err != nil {
		t.Fatal(err)
	}
	got, _ := s.GetTrigger(ctx, tr.ID)
	seen, _ := s.SeenKeys(ctx, tr.ID, []string{"a"})
	if string(got.Cursor) != `{"since":2}` || !seen["a"] {
		t.Fatalf("after reset to a cursor: %s %v", got.Cursor, seen)
	}
	// to none, forgetting the keys
	if err := s.ResetTrigger(ctx, tr.ID, nil, true); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetTrigger(ctx, tr.ID)
	seen, _ = s.SeenKeys(ctx, tr.ID, []string{"a"})
	if got.Cursor != nil || seen["a"] {
		t.Fatalf("after reset to none: %s %v", got.Cursor, seen)
	}
	if err := s.ResetTrigger(ctx, tr.ID, json.RawMessage(`{"since":`), false); err == nil {
		t.Fatal("a cursor that is not JSON was taken")
	}
	big := json.RawMessage(`"` + strings.Repeat("x", trigger.MaxCursorBytes) + `"`)
	if err := s.ResetTrigger(ctx, tr.ID, big, false); !errors.Is(err, trigger.ErrCursorTooLarge) {
		t.Fatalf("big cursor: %v", err)
	}
	if err := s.ResetTrigger(ctx, "nope", nil, false); !errors.Is(err, trigger.ErrNotFound) {
		t.Fatalf("unknown trigger: %v", err)
	}
}

func TestListAndGetRuns(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	tr := &trigger.Trigger{Project: "shop", Flow: "orders", Kind: "poll", Connection: "acme"}
	if err := s.CreateTrigger(ctx, tr); err != nil {
		t.Fatal(err)
	}
	for i, c := range []trigger.RunCommit{{Events: 2, Duration: time.Second}, {Error: "boom"}, {Events: 1}} {
		if err := s.Commit(ctx, tr.ID, c); err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
	}
	all, err := s.ListRuns(ctx, trigger.RunFilter{})
	if err != nil || len(all) != 3 || all[0].Events != 1 || all[1].Status != "error" || all[2].Duration != time.Second {
		t.Fatalf("all runs: %+v %v", all, err)
	}
	if r := all[0]; r.Source != "poll" || r.Connection != "acme" || r.TriggerID != tr.ID || r.Flow != "orders" || r.Project != "shop" {
		t.Fatalf("newest run: %+v", r)
	}
	failed, err := s.ListRuns(ctx, trigger.RunFilter{TriggerID: tr.ID, Connection: "acme", Flow: "orders", Failed: true})
	if err != nil || len(failed) != 1 || failed[0].Error != "boom" {
		t.Fatalf("failed runs: %+v %v", failed, err)
	}
	page, err := s.ListRuns(ctx, trigger.RunFilter{Before: all[0].ID, Limit: 1})
	if err != nil || len(page) != 1 || page[0].ID != all[1].ID {
		t.Fatalf("paged: %+v %v", page, err)
	}
	if none, err := s.ListRuns(ctx, trigger.RunFilter{Connection: "other"}); err != nil || len(none) != 0 {
		t.Fatalf("other connection: %+v %v", none, err)
	}
	r, err := s.GetRun(ctx, all[1].ID)
	if err != nil || r.Error != "boom" || r.Source != "poll" {
		t.Fatalf("get run: %+v %v", r, err)
	}
	if _, err := s.GetRun(ctx, all[0].ID+100); !errors.Is(err, trigger.ErrRunNotFound) {
		t.Fatalf("missing run: %v", err)
	}
}

func TestBlobs(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	if _, found, err := s.GetBlob(ctx, "sha256:none"); found || err != nil {
		t.Fatalf("missing blob: found %v, %v", found, err)
	}
	big := []byte(strings.Repeat("x", 3<<20))
	for range 2 { // writing a key again is not an error
		if err := s.PutBlob(ctx, "sha256:a", big); err != nil {
			t.Fatal(err)
		}
	}
	if got, found, err := s.GetBlob(ctx, "sha256:a"); err != nil || !found || len(got) != len(big) {
		t.Fatalf("got %d bytes, %v %v", len(got), found, err)
	}
	if err := s.PutBlob(ctx, "sha256:old", []byte("o")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `UPDATE payload_blobs SET created_at = now() - interval '10 days' WHERE key = 'sha256:old'`); err != nil {
		t.Fatal(err)
	}
	n, err := s.DeleteBlobsBefore(ctx, time.Now().Add(-7*24*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("deleted %d, %v", n, err)
	}
	if _, found, _ := s.GetBlob(ctx, "sha256:old"); found {
		t.Fatal("the old blob survived")
	}
	if _, found, _ := s.GetBlob(ctx, "sha256:a"); !found {
		t.Fatal("the new blob was deleted")
	}
	// Writing an old blob again renews it.
	s.PutBlob(ctx, "sha256:old", []byte("o"))
	s.pool.Exec(ctx, `UPDATE payload_blobs SET created_at = now() - interval '10 days' WHERE key = 'sha256:old'`)
	s.PutBlob(ctx, "sha256:old", []byte("o2"))
	if n, _ := s.DeleteBlobsBefore(ctx, time.Now().Add(-7*24*time.Hour)); n != 0 {
		t.Fatalf("a blob written again was deleted")
	}
}
