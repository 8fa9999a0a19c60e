package run

import (
	"fmt"
	"math"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"weak"

	"github.com/flowrun/flowrun/connection"
	"github.com/flowrun/flowrun/lang"
)

// budget is a connection's rate-limit state (connector.yaml
// http.rate_limit): until when the service said no request may go (its
// remaining count reached 0), and when the next request may go under
// requests_per_second. It belongs to the connection object, so the
// iterations of a parallel loop, the runs of one Runner and every Runner
// sharing the connection (the triggers of one `flowrun serve`) share it.
type budget struct {
	mu           sync.Mutex
	blockedUntil time.Time
	next         time.Time
}

// budgets maps a connection to its budget. Entries go when the connection
// is garbage: a process that makes many connections (flowrun test) does not
// keep their budgets.
var budgets sync.Map // weak.Pointer[connection.Connection] -> *budget

func budgetOf(c *connection.Connection) *budget {
	key := weak.Make(c)
	if b, ok := budgets.Load(key); ok {
		return b.(*budget)
	}
	b, loaded := budgets.LoadOrStore(key, &budget{})
	if !loaded {
		runtime.AddCleanup(c, func(k weak.Pointer[connection.Connection]) { budgets.Delete(k) }, key)
	}
	return b.(*budget)
}

// budget returns the run's budget, or nil when the connector does not pace
// itself.
func (ru *run) budget() *budget {
	if ru.r.Project.Connector.HTTP.RateLimit == nil {
		return nil
	}
	ru.budgetOnce.Do(func() { ru.budgetV = budgetOf(ru.conn) })
	return ru.budgetV
}

// reserve takes the budget's next slot for a request and returns how long
// to wait for it. A wait over max_wait takes nothing and is an error with
// code throttled, so the step fails at once.
func (b *budget) reserve(rl *lang.RateLimit, now time.Time) (time.Duration, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	start := now
	why := "the requests_per_second budget"
	if b.blockedUntil.After(start) {
		start = b.blockedUntil
		why = "the rate limit to reset (" + rl.RemainingHeader + " reached 0)"
	}
	if rl.RequestsPerSecond > 0 && b.next.After(start) {
		start = b.next
	}
	wait := start.Sub(now)
	if wait > rl.MaxWait {
		return 0, &codedError{code: lang.CodeThrottled, retryAfter: wait,
			msg: fmt.Sprintf("waiting %s for %s would take longer than rate_limit.max_wait %s", lang.FormatWait(wait), why, rl.MaxWait)}
	}
	if rl.RequestsPerSecond > 0 {
		b.next = start.Add(time.Duration(float64(time.Second) / rl.RequestsPerSecond))
	}
	return wait, nil
}

// observe reads a response's rate-limit headers: a remaining count of 0
// holds every later request until the reset.
func (b *budget) observe(rl *lang.RateLimit, h http.Header, now time.Time) {
	if rl.RemainingHeader == "" {
		return
	}
	v := strings.TrimSpace(h.Get(rl.RemainingHeader))
	if v == "" {
		return
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(n) || n > 0 {
		return
	}
	d := resetIn(h.Get(rl.ResetHeader), now)
	if d <= 0 {
		return
	}
	until := now.Add(d)
	b.mu.Lock()
	if until.After(b.blockedUntil) {
		b.blockedUntil = until
	}
	b.mu.Unlock()
}
