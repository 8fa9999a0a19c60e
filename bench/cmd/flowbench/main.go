// Command flowbench runs every workload on every engine in one process and
// prints a Markdown table: engine, workload, ns/op, allocs/op and the ratio to
// flowrun, plus cold-start and peak-memory figures of the flowrun binary.
//
//	cd bench && go run ./cmd/flowbench [-sdk-items 1000] [-skip-process]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/flowrun/flowrun/bench"
)

type cell struct {
	engine, workload string
	ns, allocs       float64
	note             string
}

func measure(mk func() (bench.Engine, error)) (float64, float64, error) {
	e, err := mk()
	if err != nil {
		return 0, 0, err
	}
	if _, err := e(); err != nil {
		return 0, 0, err
	}
	var runErr error
	r := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e(); err != nil {
				runErr = err
				b.FailNow()
			}
		}
	})
	if runErr != nil {
		return 0, 0, runErr
	}
	return float64(r.NsPerOp()), float64(r.AllocsPerOp()), nil
}

func main() {
	sdkItems := flag.Int("sdk-items", 1000, "items the Serverless Workflow SDK loop runs over (it is slow); its ns/op is scaled to 10,000")
	skipProcess := flag.Bool("skip-process", false, "skip the cold-start and peak-RSS measurements (they build the flowrun binary)")
	flag.Parse()
	items := bench.Items()
	srv := bench.Service()
	defer srv.Close()
	dir, err := os.MkdirTemp("", "flowbench")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	if err := bench.WriteLoadProject(filepath.Join(dir, "big"), 200, 20); err != nil {
		fail(err)
	}
	scale := float64(bench.N) / float64(*sdkItems)
	type run struct {
		engine, workload string
		mk               func() (bench.Engine, error)
		scale            float64
		note             string
	}
	runs := []run{
		{"flowrun", "loop", func() (bench.Engine, error) { return bench.LoopFlowrun(items) }, 1, ""},
		{"go+expr", "loop", func() (bench.Engine, error) { return bench.LoopExpr(items) }, 1, ""},
		{"go", "loop", func() (bench.Engine, error) { return bench.LoopGo(items) }, 1, ""},
		{"goja", "loop", func() (bench.Engine, error) { return bench.LoopGoja(items) }, 1, ""},
		{"sdk-go v3.2.0", "loop", func() (bench.Engine, error) { return bench.LoopSDK(items[:*sdkItems]) }, scale, fmt.Sprintf("ran %d items, scaled x%.0f", *sdkItems, scale)},
		{"flowrun", "transform", func() (bench.Engine, error) { return bench.TransformFlowrun(items) }, 1, ""},
		{"go+expr", "transform", func() (bench.Engine, error) { return bench.TransformExpr(items) }, 1, ""},
		{"go", "transform", func() (bench.Engine, error) { return bench.TransformGo(items) }, 1, ""},
		{"goja", "transform", func() (bench.Engine, error) { return bench.TransformGoja(items) }, 1, ""},
		{"sdk-go v3.2.0", "transform", func() (bench.Engine, error) { return bench.TransformSDK(items) }, 1, "one jq set task"},
		{"flowrun", "helper calls", bench.CallsFlowrun, 1, ""},
		{"go+expr", "helper calls", bench.CallsExpr, 1, ""},
		{"go", "helper calls", bench.CallsGo, 1, ""},
		{"goja", "helper calls", bench.CallsGoja, 1, ""},
		{"flowrun", "http", func() (bench.Engine, error) { return bench.HTTPFlowrun(srv.URL) }, 1, ""},
		{"go", "http", func() (bench.Engine, error) { return bench.HTTPGo(srv.URL) }, 1, "net/http + encoding/json"},
		{"flowrun", "load", func() (bench.Engine, error) { return bench.LoadFlowrun(filepath.Join(dir, "big")) }, 1, "200 flows x 20 steps"},
	}
	var cells []cell
	base := map[string]float64{}
	for _, r := range runs {
		fmt.Fprintf(os.Stderr, "%s / %s ...\n", r.workload, r.engine)
		ns, allocs, err := measure(r.mk)
		if err != nil {
			cells = append(cells, cell{engine: r.engine, workload: r.workload, note: "n/a: " + err.Error()})
			continue
		}
		c := cell{engine: r.engine, workload: r.workload, ns: ns * r.scale, allocs: allocs * r.scale, note: r.note}
		if r.engine == "flowrun" {
			base[r.workload] = c.ns
		}
		cells = append(cells, c)
	}
	fmt.Printf("Machine: %s\n\n", bench.Machine())
	fmt.Printf("Workloads: loop and transform over %d items; helper calls: %d calls; http: %d paginated fetches of %d pages (%d requests) per op.\n\n",
		bench.N, bench.Calls, bench.Rounds, bench.Pages, bench.Rounds*bench.Pages)
	fmt.Println("| workload | engine | ns/op | allocs/op | ratio to flowrun | note |")
	fmt.Println("|---|---|---:|---:|---:|---|")
	for _, c := range cells {
		if c.ns == 0 {
			fmt.Printf("| %s | %s | | | | %s |\n", c.workload, c.engine, c.note)
			continue
		}
		ratio := ""
		if b := base[c.workload]; b > 0 {
			ratio = fmt.Sprintf("%.2fx", c.ns/b)
		}
		fmt.Printf("| %s | %s | %.0f | %.0f | %s | %s |\n", c.workload, c.engine, c.ns, c.allocs, ratio, c.note)
	}
	if b := base["helper calls"]; b > 0 {
		fmt.Printf("\nflowrun helper call: %.2f us per call (loop step + call + return).\n", b/float64(bench.Calls)/1000)
	}
	if !*skipProcess {
		processFigures(dir)
	}
}

// processFigures builds the flowrun binary and measures a cold run and peak RSS.
func processFigures(dir string) {
	bin := filepath.Join(dir, "flowrun")
	build := exec.Command("go", "build", "-o", bin, "./cmd/flowrun")
	build.Dir = ".." // the flowrun module, so its own go.sum applies
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Printf("\n(could not build flowrun: %v)\n", err)
		return
	}
	var walls []time.Duration
	for range 20 {
		start := time.Now()
		cmd := exec.Command(bin, "run", bench.Dir("calls"), "square", "--input", `{"x": 3}`)
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Printf("\ncold run failed: %v\n%s", err, out)
			return
		}
		walls = append(walls, time.Since(start))
	}
	sort.Slice(walls, func(i, j int) bool { return walls[i] < walls[j] })
	fmt.Printf("\nCold `flowrun run` of a one-step flow (load + check + run, new process): median %s over 20 runs.\n", walls[10].Round(100*time.Microsecond))

	items := make([]map[string]any, 1_000_000)
	for i := range items {
		items[i] = map[string]any{"id": i, "amount": float64(i%100) + 0.5, "active": i%3 != 0}
	}
	b, _ := json.Marshal(map[string]any{"items": items})
	in := filepath.Join(dir, "million.json")
	if err := os.WriteFile(in, b, 0o644); err != nil {
		return
	}
	cmd := exec.Command(bin, "run", bench.Dir("loop"), "loop", "--input", "@"+in)
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Printf("1M-item run failed: %v\n%s", err, out)
		return
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		fmt.Printf("Peak RSS of `flowrun run` over a 1,000,000-item for_each (input %d MB of JSON): %.0f MiB, %s wall.\n",
			len(b)>>20, float64(ru.Maxrss)/1024, time.Since(start).Round(time.Millisecond))
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "flowbench:", err)
	os.Exit(1)
}
