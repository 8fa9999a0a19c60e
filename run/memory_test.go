package run

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// The hostile flows of issue 14, item 4: each builds far more than its budget
// and must fail with a limit error naming the step, the budget and the flag,
// before the process holds it.
func TestMemoryBudget(t *testing.T) {
	const flag = "raise it with --max-memory"
	mib := int64(1 << 20)
	runCases(t, []runCase{
		{name: "join of one string many times", files: mainFlow(`
inputs: {s: string}
steps:
  - set:
      big: ${ join(map(1..30000, inputs.s), "") }
`), inputs: map[string]any{"s": strings.Repeat("x", 100_000)}, limits: Limits{MaxMemory: 64 * mib},
			err: []string{`flows/main.yaml:7:15: flow "main", step "set": expression ` + "`join(map(1..30000, inputs.s), \"\")`", "join: the run's memory budget of 64 MiB is exceeded", flag}},
		{name: "string doubling in a loop", files: mainFlow(`
steps:
  - set: {s: "0123456789abcdef"}
  - for_each: ${ 1..31 }
    steps:
      - set:
          s: ${ vars.s + vars.s }
`), limits: Limits{MaxMemory: 16 * mib}, err: []string{`flows/main.yaml:8:9: flow "main", step "set"`, "memory budget of 16 MiB is exceeded", flag}},
		{name: "string doubling in one expression", files: mainFlow(`
inputs: {s: string}
steps:
  - set:
      s: ${ inputs.s + inputs.s + inputs.s + inputs.s + inputs.s + inputs.s + inputs.s + inputs.s }
`), inputs: map[string]any{"s": strings.Repeat("x", 3<<20)}, limits: Limits{MaxMemory: 16 * mib}, err: []string{`step "set"`, "memory budget of 16 MiB", flag}},
		{name: "repeat", files: mainFlow(`
inputs: {n: integer}
steps:
  - set:
      s: ${ repeat("abcdefgh", inputs.n) }
`), inputs: map[string]any{"n": 900_000}, limits: Limits{MaxMemory: 4 * mib}, err: []string{"repeat: the run's memory budget of 4 MiB is exceeded", flag}},
		{name: "collecting big strings", files: mainFlow(`
inputs: {s: string}
steps:
  - for_each: ${ 1..100000 }
    id: all
    collect: ${ inputs.s + string(item) }
    steps: []
`), inputs: map[string]any{"s": strings.Repeat("x", 100_000)}, limits: Limits{MaxMemory: 32 * mib},
			err: []string{`flow "main", step "all"`, "memory budget of 32 MiB", flag}},
		{name: "collecting in parallel", files: mainFlow(`
inputs: {s: string}
steps:
  - for_each: ${ 1..100000 }
    concurrency: 8
    collect: ${ inputs.s + string(item) }
    steps: []
`), inputs: map[string]any{"s": strings.Repeat("x", 100_000)}, limits: Limits{MaxMemory: 32 * mib},
			err: []string{"memory budget of 32 MiB", flag}},
		{name: "returning one string a million times", files: mainFlow(`
inputs: {s: string}
outputs: {all: {type: list}}
steps:
  - return:
      all: ${ map(1..200000, inputs.s) }
`), inputs: map[string]any{"s": strings.Repeat("x", 1000)}, limits: Limits{MaxMemory: 64 * mib},
			err: []string{`step "return"`, "memory budget of 64 MiB", flag}},
		{name: "a called flow's big result", files: map[string]string{
			"flows/main.yaml": `name: main
type: action
inputs: {s: string}
steps:
  - call: grow
    id: g
    with: {s: "${ inputs.s }"}
`,
			"flows/grow.yaml": `name: grow
type: helper
inputs: {s: string}
outputs: {all: {type: list}}
steps:
  - return:
      all: ${ map(1..5000, inputs.s) }
`}, inputs: map[string]any{"s": strings.Repeat("x", 10_000)}, limits: Limits{MaxMemory: 32 * mib},
			err: []string{`flow "main", step "g"`, "memory budget of 32 MiB", flag}},
		{name: "called flows' results are charged", files: map[string]string{
			"flows/main.yaml": bigCalls,
			"flows/big.yaml":  bigHelper,
		}, inputs: map[string]any{"n": 400_000}, limits: Limits{MaxMemory: mib},
			err: []string{`flow "main", step "set"`, "memory budget of 1 MiB", flag}},
		{name: "called flows' results within budget", files: map[string]string{
			"flows/main.yaml": bigCalls,
			"flows/big.yaml":  bigHelper,
		}, inputs: map[string]any{"n": 250_000}, limits: Limits{MaxMemory: mib}, want: `{"la":250000}`},
		{name: "within budget", files: mainFlow(`
outputs: {n: {type: integer}}
steps:
  - set: {s: "0123456789abcdef"}
  - for_each: ${ 1..20 }
    steps:
      - set:
          s: ${ vars.s + vars.s }
  - return: {n: "${ len(vars.s) }"}
`), want: `{"n":16777216}`},
		{name: "replacing a variable does not add up", files: mainFlow(`
inputs: {s: string}
outputs: {n: {type: integer}}
steps:
  - for_each: ${ 1..200 }
    steps:
      - set:
          s: ${ inputs.s + string(item) }
  - return: {n: "${ len(vars.s) }"}
`), inputs: map[string]any{"s": strings.Repeat("x", 1<<20)}, limits: Limits{MaxMemory: 8 * mib}, want: `{"n":1048579}`},
	})
}

func TestMemoryErrorIsALimit(t *testing.T) {
	files := mainFlow(`
steps:
  - try:
      - set:
          s: ${ repeat("x", 5000000) }
    catch:
      - return: {}
`)
	_, err, _ := runCase{files: files, limits: Limits{MaxMemory: 1 << 20}}.run(t)
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("got %v, want a limit error try/catch does not swallow", err)
	}
	var me *MemoryError
	if !errors.As(err, &me) || me.Limit != 1<<20 {
		t.Fatalf("got %#v, want a *MemoryError with the limit", err)
	}
	var re *RunError
	if !errors.As(err, &re) || re.Pos.Line != 7 {
		t.Fatalf("got %v, want a RunError at the set", err)
	}
}

// TestTenMillionItems: the documented loop limit (10,000,000 items) is
// reachable within the default budget, and a loop that would hold more
// than the budget fails cleanly instead of growing.
func TestTenMillionItems(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("runs 10,000,000 iterations")
	}
	files := mainFlow(`
inputs: {n: integer, keep: boolean}
outputs: {n: {type: integer}}
steps:
  - if: ${ inputs.keep }
    then:
      - for_each: ${ 1..inputs.n }
        id: all
        collect: ${ item }
        steps: []
      - return: {n: "${ len(steps.all) }"}
  - for_each: ${ 1..inputs.n }
    steps: []
  - return: {n: "${ inputs.n }"}
`)
	p := loadProject(t, files)
	r, _ := newTestRunner(p, nil)
	out, err := r.Run(context.Background(), "main", map[string]any{"n": 10_000_000, "keep": false})
	if err != nil {
		t.Fatalf("10,000,000 items: %v", err)
	}
	if out["n"] != 10_000_000 {
		t.Fatalf("got %v", out)
	}
	_, err = r.Run(context.Background(), "main", map[string]any{"n": 10_000_001, "keep": false})
	if err == nil || !strings.Contains(err.Error(), "10000001 items exceed the limit of 10000000") {
		t.Fatalf("10,000,001 items: %v", err)
	}
	// collecting 10,000,000 numbers holds 320 MB: over the default budget
	_, err = r.Run(context.Background(), "main", map[string]any{"n": 10_000_000, "keep": true})
	if err == nil || !strings.Contains(err.Error(), "memory budget of 256 MiB is exceeded") || !strings.Contains(err.Error(), `step "all"`) {
		t.Fatalf("collecting 10,000,000 items: %v", err)
	}
	// a range far past the limit stops in the expression, not in the OOM killer
	_, err = r.Run(context.Background(), "main", map[string]any{"n": 1_000_000_000, "keep": false})
	if err == nil || !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "--max-memory") {
		t.Fatalf("1,000,000,000 items: %v", err)
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{12: "12 B", 1024: "1 KiB", 1536: "1.5 KiB", 256 << 20: "256 MiB", 3 << 30: "3 GiB"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

// BenchmarkMemoryOverhead measures what the memory budget costs, in one
// process: the loop of BenchmarkLoop (for_each + if + set, `+` rewritten to
// ask the budget) with the budget's accounting on and off, interleaved.
// The rewritten `+` calls stay in both (they are compiled in); compare
// BenchmarkLoop with a build before the budget for those.
func BenchmarkMemoryOverhead(b *testing.B) {
	lb := newLoopBench(b)
	lb.runFlowrun(b)
	var on, off time.Duration
	n := 0
	for b.Loop() {
		for i := range 2 {
			memoryOff = (n+i)%2 == 1
			t0 := time.Now()
			lb.runFlowrun(b)
			if memoryOff {
				off += time.Since(t0)
			} else {
				on += time.Since(t0)
			}
		}
		n++
	}
	memoryOff = false
	b.ReportMetric(float64(on)/float64(off), "on-x-off")
	b.ReportMetric(float64(on)/float64(n)/1e6, "on-ms/run")
	b.ReportMetric(float64(off)/float64(n)/1e6, "off-ms/run")
}

// TestWithMaxMemory: a context's budget replaces the Runner's for the runs
// started with it (a host sharing one Runner gives each trigger its own),
// both ways, and names how to raise it; other runs keep the Runner's.
func TestWithMaxMemory(t *testing.T) {
	p := loadProject(t, mainFlow(`
inputs: {s: string}
outputs: {n: integer}
steps:
  - set:
      s: ${ inputs.s + inputs.s + inputs.s + inputs.s + inputs.s }
  - return: {n: "${ len(vars.s) }"}
`))
	r, _ := newTestRunner(p, nil)
	r.Limits.MaxMemory = 4 << 20
	in := map[string]any{"s": strings.Repeat("x", 1<<20)} // 5 MiB built
	ctx := context.Background()
	if _, err := r.Run(ctx, "main", in); err == nil || !strings.Contains(err.Error(), "budget of 4 MiB is exceeded") || !strings.Contains(err.Error(), "raise it with --max-memory") {
		t.Fatalf("Runner's budget: %v", err)
	}
	big := WithMaxMemory(ctx, 64<<20, "")
	if out, err := r.Run(big, "main", in); err != nil || out["n"] != 5<<20 {
		t.Fatalf("a larger context budget: %v %v", out, err)
	}
	small := WithMaxMemory(ctx, 1<<20, "the trigger's budget")
	_, err := r.Run(small, "main", map[string]any{"s": strings.Repeat("x", 256<<10)}) // 1.25 MiB: fits the Runner's, not the context's
	var me *MemoryError
	if !errors.As(err, &me) || me.Limit != 1<<20 || !strings.Contains(err.Error(), `step "set"`) || !strings.Contains(err.Error(), "raise it with the trigger's budget") {
		t.Fatalf("a smaller context budget: %v", err)
	}
	if _, err := r.Run(WithMaxMemory(ctx, 0, "x"), "main", map[string]any{"s": strings.Repeat("x", 256<<10)}); err != nil {
		t.Fatalf("0 keeps the Runner's budget: %v", err)
	}
}

// Two calls whose outputs (a string of n bytes each, returned as a mapping
// of scalars, so sized as they are built) stay held, then a third string.
const (
	bigCalls = `name: main
type: action
inputs: {n: integer}
outputs: {la: integer}
steps:
  - id: a
    call: big
    with: {n: "${ inputs.n }"}
  - id: b
    call: big
    with: {n: "${ inputs.n }"}
  - set: {s: "${ repeat('y', inputs.n) }"}
  - return: {la: "${ len(steps.a.s) + len(steps.b.s) - len(vars.s) }"}
`
	bigHelper = `name: big
type: helper
inputs: {n: integer}
outputs: {s: string}
steps:
  - return:
      s: ${ repeat("x", inputs.n) }
`
)
