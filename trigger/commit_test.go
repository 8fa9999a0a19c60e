package trigger

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
)

// TestGroupCommit: concurrent commits through a GroupCommitter share
// transactions, and every one of them is durable when Commit returns: its
// run row and dedupe keys are there. A failing item is reported on its own
// and does not undo the others in its batch.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const triggers, perTrigger = 8, 50
	for i := range triggers {
		if err := st.CreateTrigger(ctx, &Trigger{ID: fmt.Sprint("t-", i), Project: "p", Flow: fmt.Sprint("f", i), Kind: "poll"}); err != nil {
			t.Fatal(err)
		}
	}
	g := NewGroupCommitter(st)
	var wg sync.WaitGroup
	errc := make(chan error, triggers*perTrigger)
	for i := range triggers {
		for j := range perTrigger {
			wg.Go(func() {
				id := fmt.Sprint("t-", i)
				if _, err := g.Commit(ctx, id, RunCommit{Keys: []string{fmt.Sprint("k", j)}, Events: 1, Source: "webhook"}); err != nil {
					errc <- err
					return
				}
				seen, err := st.SeenKeys(ctx, id, []string{fmt.Sprint("k", j)})
				if err != nil || !seen[fmt.Sprint("k", j)] {
					errc <- fmt.Errorf("%s k%d not durable when Commit returned: %v", id, j, err)
				}
			})
		}
	}
	if _, err := g.Commit(ctx, "nope", RunCommit{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown trigger: %v", err)
	}
	wg.Wait()
	g.Close()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if g.Commits != triggers*perTrigger+1 || g.Batches >= g.Commits {
		t.Errorf("%d commits in %d batches", g.Commits, g.Batches)
	}
	t.Logf("%d commits in %d transactions", g.Commits, g.Batches)
	for i := range triggers {
		tr, err := st.GetTrigger(ctx, fmt.Sprint("t-", i))
		if err != nil || tr.Delivered != perTrigger {
			t.Errorf("trigger %d: delivered %d, %v", i, tr.Delivered, err)
		}
	}
	runs, err := st.ListRuns(ctx, RunFilter{Limit: 10_000})
	if err != nil || len(runs) != triggers*perTrigger {
		t.Fatalf("%d runs, %v", len(runs), err)
	}
	// one bad item in a batch
	ids, errs, err := st.CommitBatch(ctx, []BatchItem{{TriggerID: "t-0", Commit: RunCommit{Events: 1}}, {TriggerID: "gone"}, {TriggerID: "t-1", Commit: RunCommit{Events: 1}}})
	if err != nil || errs[0] != nil || !errors.Is(errs[1], ErrNotFound) || errs[2] != nil || ids[0] == 0 || ids[2] == 0 {
		t.Fatalf("%v %v %v", ids, errs, err)
	}
	// a Commit after Close goes straight to the store
	if _, err := g.Commit(ctx, "t-2", RunCommit{}); err != nil {
		t.Fatal(err)
	}
}

// TestCommitBatchPrunes: a batch prunes each trigger's dedupe keys and runs
// once, after its items, to exactly the bounds: the newest keys and runs
// are kept (as pruning after each item would), per trigger, and an item
// that fails does not make the batch prune with a zero bound.
func TestCommitBatchPrunes(t *testing.T) {
	ctx := context.Background()
	st := openTest(t, t.TempDir())
	st.MaxDedupeKeys, st.MaxRuns = 5, 3
	a, b := newPoll(t, st, "a"), newPoll(t, st, "b")
	var items []BatchItem
	for i := range 12 {
		items = append(items, BatchItem{TriggerID: a.ID, Commit: RunCommit{Keys: []string{fmt.Sprint("a", i)}, Events: 1}})
		if i < 2 {
			items = append(items, BatchItem{TriggerID: b.ID, Commit: RunCommit{Keys: []string{fmt.Sprint("b", i)}, Events: 1}})
		}
	}
	items = append(items, BatchItem{TriggerID: a.ID, Commit: RunCommit{Status: "bad"}}) // fails in prepareCommit
	ids, errs, err := st.CommitBatch(ctx, items)
	if err != nil || errs[len(errs)-1] == nil {
		t.Fatalf("%v %v", errs, err)
	}
	var all []string
	for i := range 12 {
		all = append(all, fmt.Sprint("a", i))
	}
	seen, err := st.SeenKeys(ctx, a.ID, all)
	if err != nil || len(seen) != 5 || !seen["a7"] || !seen["a11"] || seen["a6"] {
		t.Errorf("a's keys after the batch: %v, %v; want a7..a11", seen, err)
	}
	if seen, err := st.SeenKeys(ctx, b.ID, []string{"b0", "b1"}); err != nil || len(seen) != 2 {
		t.Errorf("b's keys: %v, %v", seen, err)
	}
	runs, err := st.ListRuns(ctx, RunFilter{TriggerID: a.ID, Limit: 100})
	if err != nil || len(runs) != 3 || runs[0].ID != ids[len(ids)-2] {
		t.Errorf("a's runs: %d, %v; want the newest 3", len(runs), err)
	}
	if runs, err := st.ListRuns(ctx, RunFilter{TriggerID: b.ID, Limit: 100}); err != nil || len(runs) != 2 {
		t.Errorf("b's runs: %d, %v", len(runs), err)
	}
}

// TestCommitBatchPruneSlack: batches prune a trigger's dedupe keys once a
// 64th of the bound has been added since the last prune, so the newest
// bound keys are always kept and at most a slack's worth more for a while.
func TestCommitBatchPruneSlack(t *testing.T) {
	ctx := context.Background()
	st := openTest(t, t.TempDir())
	st.MaxDedupeKeys, st.MaxRuns = 640, 64 // slack 10 keys, 1 run
	a := newPoll(t, st, "a")
	var all []string
	for i := range 700 {
		k := fmt.Sprint("k", i)
		all = append(all, k)
		if _, errs, err := st.CommitBatch(ctx, []BatchItem{{TriggerID: a.ID, Commit: RunCommit{Keys: []string{k}, Events: 1}}}); err != nil || errs[0] != nil {
			t.Fatalf("batch %d: %v %v", i, errs, err)
		}
		if i%50 != 49 {
			continue
		}
		seen, err := st.SeenKeys(ctx, a.ID, all)
		if err != nil {
			t.Fatal(err)
		}
		want := min(i+1, 640)
		if len(seen) < want || len(seen) >= want+10 {
			t.Fatalf("after %d keys: %d kept, want %d to %d", i+1, len(seen), want, want+9)
		}
		for _, k := range all[len(all)-want:] {
			if !seen[k] {
				t.Fatalf("after %d keys: the recent key %s is gone", i+1, k)
			}
		}
	}
	if runs, err := st.ListRuns(ctx, RunFilter{TriggerID: a.ID, Limit: 1000}); err != nil || len(runs) != 64 {
		t.Fatalf("runs kept: %d, %v; want 64 (a slack of 1)", len(runs), err)
	}
}
