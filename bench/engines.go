// Package bench compares flowrun with peer ways of running the same connector
// work: hand-written Go calling the same compiled expr programs (the floor for
// an expr-based interpreter), plain Go (the physical floor), goja running the
// logic as JavaScript, and the Serverless Workflow Go SDK runner.
//
// It is a module of its own so that the peers never become dependencies of
// flowrun. `go run ./cmd/flowbench` prints the table; `go test ./...` checks
// that every engine computes the same result.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/dop251/goja"
	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
	"github.com/flowrun/flowrun/connection"
	"github.com/flowrun/flowrun/load"
	"github.com/flowrun/flowrun/run"
	"github.com/serverlessworkflow/sdk-go/v3/impl"
	"github.com/serverlessworkflow/sdk-go/v3/parser"
)

// N is the size of the loop and transform workloads; Calls the helper calls.
const (
	N        = 10_000
	Calls    = 1_000
	Rounds   = 100 // paginated fetches per http op
	Pages    = 10  // pages per paginated fetch: Rounds*Pages requests per op
	PageSize = 20
)

// Items is the input of the loop and transform workloads.
func Items() []any {
	items := make([]any, N)
	for i := range items {
		items[i] = map[string]any{"id": i, "amount": float64(i%100) + 0.5, "active": i%3 != 0}
	}
	return items
}

// Engine runs one workload once; it returns a value to check.
type Engine func() (any, error)

// Dir finds bench/workloads from the working directory.
func Dir(name string) string {
	for _, base := range []string{"workloads", "../workloads", "../../workloads"} {
		p := filepath.Join(base, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return filepath.Join("workloads", name)
}

func flowrun(dir, flow string, params map[string]any, in map[string]any) (func() (map[string]any, error), error) {
	p, err := load.Project(Dir(dir))
	if err != nil {
		return nil, err
	}
	r := &run.Runner{Project: p, Connection: &connection.Connection{Params: params}}
	return func() (map[string]any, error) { return r.Run(context.Background(), flow, in) }, nil
}

// --- loop ---

func LoopFlowrun(items []any) (Engine, error) {
	run, err := flowrun("loop", "loop", nil, map[string]any{"items": items})
	if err != nil {
		return nil, err
	}
	return func() (any, error) {
		out, err := run()
		if err != nil {
			return nil, err
		}
		return out["total"], nil
	}, nil
}

// LoopExpr runs the same expressions the flow has, compiled once, per item.
func LoopExpr(items []any) (Engine, error) {
	cond, err := expr.Compile(`item.active`)
	if err != nil {
		return nil, err
	}
	add, err := expr.Compile(`vars.total + item.amount`)
	if err != nil {
		return nil, err
	}
	return func() (any, error) {
		var m vm.VM
		vars := map[string]any{"total": 0}
		env := map[string]any{"vars": vars}
		for _, it := range items {
			env["item"] = it
			ok, err := m.Run(cond, env)
			if err != nil {
				return nil, err
			}
			if ok == true {
				t, err := m.Run(add, env)
				if err != nil {
					return nil, err
				}
				vars["total"] = t
			}
		}
		return vars["total"], nil
	}, nil
}

func LoopGo(items []any) (Engine, error) {
	return func() (any, error) {
		total := 0.0
		for _, it := range items {
			m := it.(map[string]any)
			if m["active"].(bool) {
				total += m["amount"].(float64)
			}
		}
		return total, nil
	}, nil
}

func gojaEngine(src, fn string, arg any) (Engine, error) {
	prog, err := goja.Compile("bench.js", src, true)
	if err != nil {
		return nil, err
	}
	vm := goja.New()
	if _, err := vm.RunProgram(prog); err != nil {
		return nil, err
	}
	f, ok := goja.AssertFunction(vm.Get(fn))
	if !ok {
		return nil, fmt.Errorf("goja: %s is not a function", fn)
	}
	a := vm.ToValue(arg)
	return func() (any, error) {
		v, err := f(goja.Undefined(), a)
		if err != nil {
			return nil, err
		}
		return v.Export(), nil
	}, nil
}

func LoopGoja(items []any) (Engine, error) {
	return gojaEngine(`function loop(items) { let total = 0; for (const it of items) { if (it.active) { total = total + it.amount; } } return total; }`, "loop", items)
}

func sdkEngine(src string, in map[string]any, pick func(any) any) (Engine, error) {
	wf, err := parser.FromYAMLSource([]byte(src))
	if err != nil {
		return nil, err
	}
	return func() (any, error) {
		r, err := impl.NewDefaultRunner(wf)
		if err != nil {
			return nil, err
		}
		out, err := r.Run(in)
		if err != nil {
			return nil, err
		}
		return pick(out), nil
	}, nil
}

const sdkLoop = `
document: {dsl: '1.0.0', namespace: bench, name: loop, version: '1.0.0'}
do:
  - sumLoop:
      for:
        in: ${ .items }
      do:
        - add:
            set:
              total: '${ if $item.active then (.total // 0) + $item.amount else (.total // 0) end }'
  - finalize:
      set:
        result: ${ .total }
`

func field(k string) func(any) any {
	return func(v any) any {
		if m, ok := v.(map[string]any); ok {
			return m[k]
		}
		return v
	}
}

func LoopSDK(items []any) (Engine, error) {
	return sdkEngine(sdkLoop, map[string]any{"items": items}, field("result"))
}

// --- transform ---

func TransformFlowrun(items []any) (Engine, error) {
	run, err := flowrun("transform", "transform", nil, map[string]any{"items": items})
	if err != nil {
		return nil, err
	}
	return func() (any, error) {
		out, err := run()
		if err != nil {
			return nil, err
		}
		return len(out["rows"].([]any)), nil
	}, nil
}

func TransformExpr(items []any) (Engine, error) {
	filt, err := expr.Compile(`filter(inputs.items, .active)`)
	if err != nil {
		return nil, err
	}
	rows, err := expr.Compile(`map(vars.active, ({"id": .id, "cents": int(.amount * 100)}))`)
	if err != nil {
		return nil, err
	}
	ids, err := expr.Compile(`map(vars.active, .id)`)
	if err != nil {
		return nil, err
	}
	return func() (any, error) {
		var m vm.VM
		vars := map[string]any{}
		env := map[string]any{"inputs": map[string]any{"items": items}, "vars": vars}
		a, err := m.Run(filt, env)
		if err != nil {
			return nil, err
		}
		vars["active"] = a
		r, err := m.Run(rows, env)
		if err != nil {
			return nil, err
		}
		if _, err := m.Run(ids, env); err != nil {
			return nil, err
		}
		return len(r.([]any)), nil
	}, nil
}

func TransformGo(items []any) (Engine, error) {
	return func() (any, error) {
		var rows []any
		var ids []any
		for _, it := range items {
			m := it.(map[string]any)
			if m["active"].(bool) {
				rows = append(rows, map[string]any{"id": m["id"], "cents": int(m["amount"].(float64) * 100)})
				ids = append(ids, m["id"])
			}
		}
		return len(rows), nil
	}, nil
}

func TransformGoja(items []any) (Engine, error) {
	return gojaEngine(`function transform(items) { const a = items.filter(x => x.active); const rows = a.map(x => ({id: x.id, cents: Math.trunc(x.amount * 100)})); const ids = a.map(x => x.id); return rows.length; }`, "transform", items)
}

const sdkTransform = `
document: {dsl: '1.0.0', namespace: bench, name: transform, version: '1.0.0'}
do:
  - rows:
      set:
        rows: '${ [.items[] | select(.active) | {id: .id, cents: ((.amount * 100) | floor)}] }'
        ids: '${ [.items[] | select(.active) | .id] }'
`

func TransformSDK(items []any) (Engine, error) {
	return sdkEngine(sdkTransform, map[string]any{"items": items}, func(v any) any {
		if m, ok := v.(map[string]any); ok {
			if rows, ok := m["rows"].([]any); ok {
				return len(rows)
			}
		}
		return v
	})
}

const sdkTransformFor = `
document: {dsl: '1.0.0', namespace: bench, name: transform-for, version: '1.0.0'}
do:
  - build:
      for:
        in: ${ .items }
      do:
        - add:
            set:
              rows: '${ if $item.active then (.rows // []) + [{id: $item.id, cents: (($item.amount * 100) | floor)}] else (.rows // []) end }'
              ids: '${ if $item.active then (.ids // []) + [$item.id] else (.ids // []) end }'
  - finalize:
      set:
        rows: ${ .rows // [] }
        ids: ${ .ids // [] }
`

// TransformSDKFor is the transform written the way LoopSDK writes the loop: a
// per-item for task that builds rows and ids item by item, so that it measures
// the SDK runner rather than one gojq expression.
func TransformSDKFor(items []any) (Engine, error) {
	return sdkEngine(sdkTransformFor, map[string]any{"items": items}, func(v any) any {
		if m, ok := v.(map[string]any); ok {
			rows, ok1 := m["rows"].([]any)
			ids, ok2 := m["ids"].([]any)
			if ok1 && ok2 && len(rows) == len(ids) {
				return len(rows)
			}
		}
		return v
	})
}

// --- helper calls ---

func CallsFlowrun() (Engine, error) {
	run, err := flowrun("calls", "calls", nil, map[string]any{"n": Calls})
	if err != nil {
		return nil, err
	}
	return func() (any, error) {
		out, err := run()
		if err != nil {
			return nil, err
		}
		return out["total"], nil
	}, nil
}

func CallsExpr() (Engine, error) {
	sq, err := expr.Compile(`inputs.x * inputs.x`)
	if err != nil {
		return nil, err
	}
	return func() (any, error) {
		var m vm.VM
		total := 0
		for i := range Calls {
			env := map[string]any{"inputs": map[string]any{"x": i}}
			y, err := m.Run(sq, env)
			if err != nil {
				return nil, err
			}
			total += y.(int)
		}
		return total, nil
	}, nil
}

//go:noinline
func square(x int) int { return x * x }

func CallsGo() (Engine, error) {
	return func() (any, error) {
		total := 0
		for i := range Calls {
			total += square(i)
		}
		return total, nil
	}, nil
}

func CallsGoja() (Engine, error) {
	return gojaEngine(`function square(x) { return x * x; } function calls(n) { let t = 0; for (let i = 0; i < n; i++) { t += square(i); } return t; }`, "calls", Calls)
}

// --- http ---

// Service is a local JSON service of Pages pages of PageSize items.
func Service() *httptest.Server {
	bodies := make([][]byte, Pages+1)
	for p := 1; p <= Pages; p++ {
		data := make([]any, PageSize)
		for i := range data {
			data[i] = map[string]any{"id": strconv.Itoa(p*1000 + i), "name": "item", "active": i%2 == 0}
		}
		m := map[string]any{"data": data}
		if p < Pages {
			m["next"] = p + 1
		}
		bodies[p], _ = json.Marshal(m)
	}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := strconv.Atoi(r.URL.Query().Get("page"))
		if p < 1 || p > Pages {
			p = 1
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(bodies[p])
	}))
}

func HTTPFlowrun(url string) (Engine, error) {
	run, err := flowrun("http", "http", map[string]any{"base_url": url}, map[string]any{"rounds": Rounds})
	if err != nil {
		return nil, err
	}
	return func() (any, error) {
		out, err := run()
		if err != nil {
			return nil, err
		}
		return out["items"], nil
	}, nil
}

func HTTPGo(url string) (Engine, error) {
	client := &http.Client{Transport: http.DefaultTransport}
	return func() (any, error) {
		count := 0
		for range Rounds {
			page := 1
			for n := 0; n < Pages; n++ {
				resp, err := client.Get(url + "/items?page=" + strconv.Itoa(page))
				if err != nil {
					return nil, err
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					return nil, err
				}
				var body struct {
					Data []map[string]any `json:"data"`
					Next *int             `json:"next"`
				}
				if err := json.Unmarshal(b, &body); err != nil {
					return nil, err
				}
				count += len(body.Data)
				if body.Next == nil {
					break
				}
				page = *body.Next
			}
		}
		return count, nil
	}, nil
}

// --- load ---

// WriteLoadProject writes a project of flows x steps into dir.
func WriteLoadProject(dir string, flows, steps int) error {
	if err := os.MkdirAll(filepath.Join(dir, "flows"), 0o755); err != nil {
		return err
	}
	conn := "flowrun: 1\nname: big\nbase_url: https://${ connection.host }/api\nconnection:\n  params:\n    host: {type: string, required: true}\n"
	if err := os.WriteFile(filepath.Join(dir, "connector.yaml"), []byte(conn), 0o644); err != nil {
		return err
	}
	for f := range flows {
		var b []byte
		b = fmt.Appendf(b, "flowrun: 1\nname: flow_%d\ntype: helper\ninputs:\n  n: {type: integer, default: 3}\n  name: {type: string, default: x}\noutputs:\n  total: integer\nsteps:\n  - set: {total: 0}\n", f)
		for s := 0; s < steps-2; s++ {
			switch s % 4 {
			case 0:
				b = fmt.Appendf(b, "  - id: s%d\n    http:\n      path: /items/${ inputs.name }\n      query: {page: \"${ vars.total }\"}\n", s)
			case 1:
				b = fmt.Appendf(b, "  - if: ${ inputs.n > %d && steps.s%d.status == 200 }\n    then:\n      - set:\n          total: ${ vars.total + len(steps.s%d.body ?? []) }\n", s, s-1, s-1)
			case 2:
				b = fmt.Appendf(b, "  - for_each: ${ 1..inputs.n }\n    steps:\n      - set:\n          total: ${ vars.total + item * %d }\n", s)
			case 3:
				if f > 0 {
					b = fmt.Appendf(b, "  - id: c%d\n    call: flow_%d\n    with:\n      n: ${ inputs.n - 1 }\n", s, f-1)
				} else {
					b = fmt.Appendf(b, "  - log: step %d of ${ inputs.name }\n", s)
				}
			}
		}
		b = fmt.Appendf(b, "  - return:\n      total: ${ vars.total }\n")
		if err := os.WriteFile(filepath.Join(dir, "flows", fmt.Sprintf("flow_%d.yaml", f)), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func LoadFlowrun(dir string) (Engine, error) {
	return func() (any, error) {
		p, err := load.Project(dir)
		if err != nil {
			return nil, err
		}
		return len(p.Flows), nil
	}, nil
}

// Machine describes where the benchmark ran.
func Machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores, %s %s/%s", cpu, runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
