package trigger

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestFileSinkGroupsWrites: deliveries that arrive while the file sink is
// syncing share the next write and fsync, and each returns only after the
// fsync that holds its lines: n deliveries, the first held in its fsync
// until the other n-1 have queued, take exactly 2 fsyncs, and every line
// is in the file, whole.
func TestFileSinkGroupsWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.jsonl")
	sk, err := OpenSink("file:"+path, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer sk.Close()
	ws := sk.(*writerSink)
	const n = 20
	var mu sync.Mutex
	syncs := 0
	synced := map[int]bool{} // deliveries whose lines were synced, by the fsync count then
	ws.sync = func() error {
		mu.Lock()
		syncs++
		first := syncs == 1
		mu.Unlock()
		if first {
			for { // hold the first fsync until the others wait in the queue
				ws.qmu.Lock()
				q := len(ws.queue)
				ws.qmu.Unlock()
				if q == n-1 {
					break
				}
				time.Sleep(time.Millisecond)
			}
		}
		b, _ := os.ReadFile(path)
		mu.Lock()
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var d Delivery
			if json.Unmarshal([]byte(l), &d) == nil {
				synced[int(d.Event.(float64))] = true
			}
		}
		mu.Unlock()
		return ws.f.Sync()
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			err := sk.Deliver(context.Background(), []Delivery{{Trigger: "t", Event: float64(i)}})
			if err == nil {
				mu.Lock()
				if !synced[i] {
					err = fmt.Errorf("delivery %d returned before its line was synced", i)
				}
				mu.Unlock()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if syncs != 2 {
		t.Fatalf("%d fsyncs for %d deliveries, want 2", syncs, n)
	}
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	seen := map[float64]bool{}
	for _, l := range lines {
		var d Delivery
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		seen[d.Event.(float64)] = true
	}
	if len(lines) != n || len(seen) != n {
		t.Fatalf("%d lines, %d distinct, want %d", len(lines), len(seen), n)
	}
}
