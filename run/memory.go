package run

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync/atomic"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/value"
)

// memoryOff turns the budget's accounting off, for the benchmark that
// measures what it costs (memory_test.go); never set otherwise.
var memoryOff = false

// DefaultMaxMemory is a run's memory budget unless Limits.MaxMemory says
// otherwise: 256 MiB.
const DefaultMaxMemory int64 = 256 << 20

// memory is a run's byte budget. It counts, approximately (value.Size),
// what the run holds: variables, step results, values collected by loops
// and pages, request bodies while they are sent, and the result an
// expression is about to build with `+`, join and the like (see
// lang.MemoryBudget). Values are charged where they are stored and released
// when they are replaced or their flow returns, so a loop that replaces a
// variable does not add up.
type memory struct {
	limit int64
	hint  string // how to raise the budget, for MemoryError; "" means --max-memory
	used  atomic.Int64
}

var _ lang.MemoryBudget = (*memory)(nil)

func (m *memory) Limit() int64 { return m.limit }

// Check reports an error when n more bytes would exceed the budget.
func (m *memory) Check(n int64) error {
	if n > m.limit-m.used.Load() {
		return m.exceeded(n)
	}
	return nil
}

// grow charges n bytes (n may be negative), or returns an error and
// charges nothing when the budget would be exceeded.
func (m *memory) grow(n int64) error {
	if n <= 0 {
		m.used.Add(n)
		return nil
	}
	if u := m.used.Add(n); u > m.limit {
		m.used.Add(-n)
		return m.exceeded(n)
	}
	return nil
}

func (m *memory) release(n int64) { m.used.Add(-n) }

// size measures v, stopping once it could not fit in the budget any more.
func (m *memory) size(v any) int64 {
	n, _ := value.SizeAtMost(v, m.limit+1)
	return n
}

// MemoryError is a run that would have exceeded its memory budget. It
// wraps ErrLimit.
type MemoryError struct {
	Limit int64  // the budget, bytes
	Need  int64  // the bytes asked for (at least)
	Used  int64  // the bytes held when they were asked for
	Hint  string // how to raise the budget (see WithMaxMemory); "" means --max-memory
}

func (e *MemoryError) Error() string {
	hint := e.Hint
	if hint == "" {
		hint = "--max-memory"
	}
	return fmt.Sprintf("the run's memory budget of %s is exceeded: %s more on top of %s held (limit; raise it with %s)",
		FormatSize(e.Limit), FormatSize(e.Need), FormatSize(e.Used), hint)
}

func (e *MemoryError) Is(target error) bool { return target == ErrLimit }

func (m *memory) exceeded(n int64) error {
	return &MemoryError{Limit: m.limit, Need: n, Used: max(m.used.Load(), 0), Hint: m.hint}
}

type maxMemoryKey struct{}

type maxMemory struct {
	n    int64
	hint string
}

// WithMaxMemory returns a context under which every run started (Run,
// Section, Poll, Event, ...) has a memory budget of n bytes instead of
// Limits.MaxMemory; n <= 0 leaves the Runner's budget. hint says, in the
// error of a run over it, how to raise this budget ("" means
// --max-memory). It lets a host that shares one Runner give each trigger
// its own budget.
func WithMaxMemory(ctx context.Context, n int64, hint string) context.Context {
	if n <= 0 {
		return ctx
	}
	return context.WithValue(ctx, maxMemoryKey{}, maxMemory{n, hint})
}

// limitsFor is the Runner's limits for a run started with ctx, with the
// context's memory budget (see WithMaxMemory) and defaults applied.
func (r *Runner) limitsFor(ctx context.Context) (Limits, string) {
	l := r.Limits
	mm, ok := ctx.Value(maxMemoryKey{}).(maxMemory)
	if ok {
		l.MaxMemory = mm.n // an ExprMemory left 0 follows it (withDefaults)
	}
	return l.withDefaults(), mm.hint
}

// FormatSize writes a byte count the way --max-memory reads it: 256 MiB,
// 1.5 GiB, 900 KiB, 12 B.
func FormatSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	f, i := float64(n)/unit, 0
	for f >= unit && i < len(units)-1 {
		f /= unit
		i++
	}
	if f == float64(int64(f)) {
		return fmt.Sprintf("%d %s", int64(f), units[i])
	}
	return fmt.Sprintf("%.1f %s", f, units[i])
}

// held is what one frame has charged to the run's budget for its variables
// and step results, by name, so that a replaced value is released. Values
// under smallValue bytes are not tracked (their names are few: the flow's
// source bounds them).
type held struct {
	vars  map[string]int64
	steps map[string]int64
	total int64
}

const smallValue = 1024

// holdVar charges v, to be stored in variable name, replacing what it
// held; it returns the value to store (see detach).
func (fr *frame) holdVar(name string, v any) (any, error) {
	return fr.hold(&fr.held.vars, name, v)
}

// holdStep charges v, to be stored as step id's result.
func (fr *frame) holdStep(id string, v any) (any, error) {
	return fr.hold(&fr.held.steps, id, v)
}

// holdStepSized is holdStep for a value whose value.Size is known (n) and
// that holds neither of the frame's maps: a call's outputs built by the
// callee's return mapping (see returnMap), which then are not walked again.
func (fr *frame) holdStepSized(id string, v any, n int64) (any, error) {
	if memoryOff {
		return v, nil
	}
	return fr.charge(&fr.held.steps, id, v, n)
}

func (fr *frame) hold(names *map[string]int64, key string, v any) (any, error) {
	if memoryOff {
		return v, nil
	}
	m := fr.run.mem
	var r value.Measured
	switch t := v.(type) {
	case nil, bool, int, float64:
		r.Size = value.SizeScalar
	case string:
		r.Size = value.SizeScalar + int64(len(t))
	default:
		r = value.Measure(v, m.limit+1, fr.vars, fr.steps)
	}
	if r.Holds {
		// `${ [vars] }`: stored as it is, vars would hold itself
		v = detach(v, fr.vars, fr.steps)
		r = value.Measure(v, m.limit+1)
	}
	if r.Deep {
		return nil, limitf("a value nested deeper than %d levels (limit)", value.MaxSizeDepth)
	}
	return fr.charge(names, key, v, r.Size)
}

// charge charges n bytes for v, stored under key, replacing what it held.
func (fr *frame) charge(names *map[string]int64, key string, v any, n int64) (any, error) {
	m := fr.run.mem
	old := (*names)[key]
	if n < smallValue && old == 0 {
		return v, nil
	}
	if err := m.grow(n - old); err != nil {
		return nil, err
	}
	if *names == nil {
		*names = make(map[string]int64, 4)
	}
	(*names)[key] = n
	fr.held.total += n - old
	return v, nil
}

// detach returns v with every occurrence of the frame's live vars or steps
// map replaced by a copy of it as it is now: a variable holds values, never
// the scope itself, so no value can contain itself. (What the live maps
// hold was detached when it was stored.)
func detach(v any, vars, steps map[string]any) any {
	switch t := v.(type) {
	case map[string]any:
		if sameMap(t, vars) || sameMap(t, steps) {
			return maps.Clone(t)
		}
		var out map[string]any
		for k, x := range t {
			if y := detach(x, vars, steps); !sameValue(x, y) {
				if out == nil {
					out = maps.Clone(t)
				}
				out[k] = y
			}
		}
		if out != nil {
			return out
		}
	case []any:
		var out []any
		for i, x := range t {
			if y := detach(x, vars, steps); !sameValue(x, y) {
				if out == nil {
					out = slices.Clone(t)
				}
				out[i] = y
			}
		}
		if out != nil {
			return out
		}
	}
	return v
}

// sameValue reports whether detach returned x itself.
func sameValue(x, y any) bool {
	switch a := x.(type) {
	case map[string]any:
		b, ok := y.(map[string]any)
		return ok && sameMap(a, b)
	case []any:
		b, ok := y.([]any)
		return ok && len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
	}
	return true
}

// releaseHeld gives back everything the frame holds (its flow returned, or
// a loop worker ended).
func (fr *frame) releaseHeld() {
	if fr.held.total != 0 {
		fr.run.mem.release(fr.held.total)
	}
	fr.held = held{}
}

// charge charges v for a while (a loop's collected results, pages, a
// request body) and returns its size, to release when done.
func (ru *run) charge(v any) (int64, error) {
	n := ru.mem.size(v)
	return n, ru.mem.grow(n)
}

// maxExprMemory is expr's own budget (in its units, about one per element
// it allocates) for a run with the given byte budget: enough for a loop over
// the 10,000,000 items MaxLoopItems allows at the default budget, never
// below expr's default.
func maxExprMemory(maxMemory int64) uint {
	return uint(max(maxMemory/24, 1_000_000))
}

// fits reports an error when v alone is bigger than the whole budget: what
// a flow returns is not charged (its parts are, where they were stored), but
// a result that could never be held, such as a list holding one big string
// a million times, is refused before anyone encodes it.
func (m *memory) fits(v any) error {
	if n, over := value.SizeAtMost(v, m.limit); over {
		return &MemoryError{Limit: m.limit, Need: n, Used: max(m.used.Load(), 0), Hint: m.hint}
	}
	return nil
}

// collectSlot is what a collect charges per item before the loop runs:
// its slot in the list and the smallest value (each value then charges what
// it holds beyond that).
const collectSlot = 16 + value.SizeScalar

// collected is what a loop's collect (and a paginate's pages) charged;
// safe for the workers of a parallel loop.
type collected struct{ n atomic.Int64 }

func (c *collected) add(ru *run, n int64) error {
	if err := ru.mem.grow(n); err != nil {
		return err
	}
	c.n.Add(n)
	return nil
}

func (c *collected) release(ru *run) { ru.mem.release(c.n.Swap(0)) }

// forItems are the items of a for_each: a list, the []int a range
// (`1..n`) makes, which is iterated as it is rather than copied into a list
// of boxed numbers (a 10,000,000-item range is 80 MB, not 240), or an input
// list kept undecoded (lazyInputs), whose items are decoded one at a time.
type forItems struct {
	list []any
	ints []int
	lazy *value.LazyList
}

func (l forItems) len() int {
	if l.ints != nil {
		return len(l.ints)
	}
	if l.lazy != nil {
		return l.lazy.Len()
	}
	return len(l.list)
}

func (l forItems) at(i int) any {
	if l.ints != nil {
		return l.ints[i]
	}
	if l.lazy != nil {
		return l.lazy.At(i)
	}
	return l.list[i]
}

func toItems(x any) (forItems, bool) {
	switch t := x.(type) {
	case []int:
		return forItems{ints: t}, true
	case *value.LazyList:
		return forItems{lazy: t}, true
	}
	l, ok := toList(x)
	return forItems{list: l}, ok
}
