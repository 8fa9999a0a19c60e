// Package groupcommit measures serve's state commits: one SQLite
// transaction per delivery (Store.CommitRun) against group commit
// (trigger.GroupCommitter), at concurrency 32 and 128, each commit saving
// a dedupe key and a run-history row durably (WAL, synchronous=FULL).
//
//	cd bench && go test -run '^$' -bench . -benchtime 4000x ./groupcommit
package groupcommit

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/flowrun/flowrun/trigger"
)

func open(b *testing.B, triggers int) *trigger.Store {
	st, err := trigger.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	for i := range triggers {
		if err := st.CreateTrigger(context.Background(), &trigger.Trigger{ID: fmt.Sprint("t-", i), Project: "p", Flow: fmt.Sprint("f", i), Kind: "webhook"}); err != nil {
			b.Fatal(err)
		}
	}
	return st
}

// run makes b.N commits from conc goroutines with commit, then checks that
// every dedupe key is there (0 lost).
func run(b *testing.B, st *trigger.Store, conc int, commit func(ctx context.Context, id string, c trigger.RunCommit) (int64, error)) {
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range conc {
		wg.Go(func() {
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				id := fmt.Sprint("t-", n%8)
				if _, err := commit(ctx, id, trigger.RunCommit{Keys: []string{fmt.Sprint("k", n)}, Events: 1, Source: "webhook"}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	var total int64
	for i := range 8 {
		t, err := st.GetTrigger(ctx, fmt.Sprint("t-", i))
		if err != nil {
			b.Fatal(err)
		}
		total += t.Delivered
	}
	if total != int64(b.N) {
		b.Fatalf("%d of %d commits durable", total, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
}

func BenchmarkCommit(b *testing.B) {
	for _, conc := range []int{32, 128} {
		b.Run(fmt.Sprintf("single/c%d", conc), func(b *testing.B) {
			st := open(b, 8)
			run(b, st, conc, st.CommitRun)
		})
		b.Run(fmt.Sprintf("group/c%d", conc), func(b *testing.B) {
			st := open(b, 8)
			g := trigger.NewGroupCommitter(st)
			defer g.Close()
			run(b, st, conc, g.Commit)
		})
	}
}
