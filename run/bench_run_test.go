package run

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/expr-lang/expr/vm"
	"github.com/flowrun/flowrun/connection"
	"github.com/flowrun/flowrun/lang"
)

// The benchmarks compare flowrun with the floor for the same work:
//
//   - BenchmarkLoop: a flow summing the amount of the active ones of 10,000
//     items with for_each + if + set, against a Go loop that runs the same
//     compiled expr programs per item with one reused VM. Target: within 2x.
//   - BenchmarkHTTP: an action flow making one GET to an httptest server,
//     against the same request made with net/http (read and JSON-decoded).
//     Target: at least 90% of the direct throughput.
//
// BenchmarkRatios interleaves both pairs and reports the ratios as metrics,
// so one `go test -run '^$' -bench Ratios ./interpreter` prints them.

const loopFlow = `name: sum
type: action
inputs:
  items: {type: list, required: true}
outputs:
  total: number
  count: integer
steps:
  - set:
      total: 0
      count: 0
  - for_each: ${ inputs.items }
    steps:
      - if: ${ item.active }
        then:
          - set:
              total: ${ vars.total + item.amount }
              count: ${ vars.count + 1 }
  - return:
      total: ${ vars.total }
      count: ${ vars.count }
`

func loopItems(n int) []any {
	items := make([]any, n)
	for i := range items {
		items[i] = map[string]any{"id": i, "amount": float64(i%100) + 0.5, "active": i%3 != 0}
	}
	return items
}

type loopBench struct {
	r     *Runner
	items []any
	// the compiled programs of the if condition and the two set values
	cond, total, count *vm.Program
}

func newLoopBench(b testing.TB) *loopBench {
	p := loadProject(b, map[string]string{"flows/sum.yaml": loopFlow})
	f := p.Flow("sum")
	fe := f.Steps[1].(*lang.ForEachStep)
	ifs := fe.Steps[0].(*lang.IfStep)
	set := ifs.Then[0].(*lang.SetStep)
	return &loopBench{r: &Runner{Project: p}, items: loopItems(10_000),
		cond: ifs.Cond.Expr.Program, total: set.Vars[0].Value.Expr.Program, count: set.Vars[1].Value.Expr.Program}
}

func (lb *loopBench) runFlowrun(b testing.TB) {
	out, err := lb.r.Run(context.Background(), "sum", map[string]any{"items": lb.items})
	if err != nil {
		b.Fatal(err)
	}
	if out["count"] != 6666 {
		b.Fatalf("count = %v", out["count"])
	}
}

// runFloor is the hand-written loop: the same programs, one VM, one env map.
func (lb *loopBench) runFloor(b testing.TB) {
	vars := map[string]any{"total": 0, "count": 0}
	env := map[string]any{"inputs": map[string]any{"items": lb.items}, "vars": vars, "steps": map[string]any{},
		"connection": map[string]any{}, "connector": map[string]any{}, "flow": map[string]any{}}
	var v vm.VM
	for i, it := range lb.items {
		env["item"] = it
		env["index"] = i
		c, err := v.Run(lb.cond, env)
		if err != nil {
			b.Fatal(err)
		}
		if c.(bool) {
			t, err := v.Run(lb.total, env)
			if err != nil {
				b.Fatal(err)
			}
			n, err := v.Run(lb.count, env)
			if err != nil {
				b.Fatal(err)
			}
			vars["total"], vars["count"] = t, n
		}
	}
	if vars["count"] != 6666 {
		b.Fatalf("count = %v", vars["count"])
	}
}

func BenchmarkLoop(b *testing.B) {
	lb := newLoopBench(b)
	b.Run("flowrun", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			lb.runFlowrun(b)
		}
	})
	b.Run("floor", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			lb.runFloor(b)
		}
	})
}

const httpFlow = `name: get_user
type: action
inputs:
  id: {type: integer, required: true}
outputs:
  name: string
steps:
  - id: get
    http:
      path: /users/${ inputs.id }
  - return:
      name: ${ steps.get.body.name }
`

type httpBench struct {
	srv    *httptest.Server
	client *http.Client
	r      *Runner
}

func newHTTPBench(b testing.TB) *httpBench {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id": 1, "name": "Ada Lovelace", "email": "ada@example.com", "active": true}`)
	}))
	b.Cleanup(srv.Close)
	tr := &http.Transport{MaxIdleConnsPerHost: 4}
	b.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr}
	p := loadProject(b, map[string]string{"flows/get_user.yaml": httpFlow})
	r := &Runner{Project: p, Client: client, Connection: &connection.Connection{Params: map[string]any{"base_url": srv.URL}}}
	return &httpBench{srv: srv, client: client, r: r}
}

func (hb *httpBench) runFlowrun(b testing.TB) {
	out, err := hb.r.Run(context.Background(), "get_user", map[string]any{"id": 1})
	if err != nil {
		b.Fatal(err)
	}
	if out["name"] != "Ada Lovelace" {
		b.Fatalf("name = %v", out["name"])
	}
}

// runDirect makes the same request with net/http: GET, read, decode JSON.
func (hb *httpBench) runDirect(b testing.TB) {
	req, err := http.NewRequestWithContext(context.Background(), "GET", hb.srv.URL+"/users/1", nil)
	if err != nil {
		b.Fatal(err)
	}
	resp, err := hb.client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		b.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		b.Fatal(err)
	}
	if v["name"] != "Ada Lovelace" {
		b.Fatalf("name = %v", v["name"])
	}
}

func BenchmarkHTTP(b *testing.B) {
	hb := newHTTPBench(b)
	b.Run("flowrun", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			hb.runFlowrun(b)
		}
	})
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			hb.runDirect(b)
		}
	})
}

// BenchmarkRatios interleaves flowrun and its floor, one operation of each
// at a time (so drift in the machine's speed hits both alike), and reports
// loop-x-floor (target <= 2) and http-%-direct (target >= 90). One op is one
// 10,000-item loop of each kind and 20 HTTP runs of each kind.
func BenchmarkRatios(b *testing.B) {
	lb := newLoopBench(b)
	hb := newHTTPBench(b)
	for range 20 { // warm up connections, pools and caches
		hb.runFlowrun(b)
		hb.runDirect(b)
	}
	lb.runFlowrun(b)
	lb.runFloor(b)
	var loopF, loopG, httpF, httpD time.Duration
	timed := func(acc *time.Duration, f func(testing.TB)) {
		t0 := time.Now()
		f(b)
		*acc += time.Since(t0)
	}
	n := 0
	for b.Loop() {
		if n%2 == 0 {
			timed(&loopF, lb.runFlowrun)
			timed(&loopG, lb.runFloor)
		} else {
			timed(&loopG, lb.runFloor)
			timed(&loopF, lb.runFlowrun)
		}
		for j := range 20 {
			if (n+j)%2 == 0 {
				timed(&httpF, hb.runFlowrun)
				timed(&httpD, hb.runDirect)
			} else {
				timed(&httpD, hb.runDirect)
				timed(&httpF, hb.runFlowrun)
			}
		}
		n++
	}
	b.ReportMetric(float64(loopF)/float64(loopG), "loop-x-floor")
	b.ReportMetric(float64(loopF)/float64(n)/1e6, "loop-ms/run")
	b.ReportMetric(float64(loopG)/float64(n)/1e6, "floor-ms/run")
	b.ReportMetric(100*float64(httpD)/float64(httpF), "http-%-direct")
	b.ReportMetric(float64(httpF)/float64(n)/20/1e3, "http-us/run")
	b.ReportMetric(float64(httpD)/float64(n)/20/1e3, "direct-us/req")
}

// The helper-call benchmark: 20,000 iterations of a loop that squares the
// item, once through `call:` of a helper flow and once with the same
// expression inline. The difference per iteration is the cost of a call
// (arguments, input check, frame, the returned object, the step result).
const (
	callLoopFlow = `name: calls
type: action
inputs:
  n: {type: integer, required: true}
outputs:
  total: integer
steps:
  - set: {total: 0}
  - for_each: ${ 0..(inputs.n - 1) }
    steps:
      - id: sq
        call: square
        with:
          x: ${ item }
      - set:
          total: ${ vars.total + steps.sq.y }
  - return:
      total: ${ vars.total }
`
	squareFlow = `name: square
type: helper
inputs:
  x: {type: integer, required: true}
outputs:
  y: integer
steps:
  - return:
      y: ${ inputs.x * inputs.x }
`
	inlineLoopFlow = `name: inline
type: action
inputs:
  n: {type: integer, required: true}
outputs:
  total: integer
steps:
  - set: {total: 0}
  - for_each: ${ 0..(inputs.n - 1) }
    steps:
      - set:
          y: ${ item * item }
      - set:
          total: ${ vars.total + vars.y }
  - return:
      total: ${ vars.total }
`
	helperIterations = 20_000
)

func BenchmarkHelperCall(b *testing.B) {
	p := loadProject(b, map[string]string{"flows/calls.yaml": callLoopFlow, "flows/square.yaml": squareFlow, "flows/inline.yaml": inlineLoopFlow})
	r := &Runner{Project: p}
	want := 0
	for i := range helperIterations {
		want += i * i
	}
	run := func(b *testing.B, flow string) {
		b.ReportAllocs()
		cpu0 := processCPU()
		for b.Loop() {
			out, err := r.Run(context.Background(), flow, map[string]any{"n": helperIterations})
			if err != nil {
				b.Fatal(err)
			}
			if got, _ := out["total"].(int); got != want {
				b.Fatalf("total = %v (%T), want %d", out["total"], out["total"], want)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/helperIterations, "ns/iteration")
		// CPU time holds where wall time does not, on a machine shared with
		// other work (it includes the GC's work on other threads)
		b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N)/helperIterations, "cpu-ns/iteration")
	}
	b.Run("call", func(b *testing.B) { run(b, "calls") })
	b.Run("inline", func(b *testing.B) { run(b, "inline") })
}

// processCPU is the user + system CPU time of this process so far, in ns.
func processCPU() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
