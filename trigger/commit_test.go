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
