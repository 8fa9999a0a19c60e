// Command flowbench runs every workload on every engine in one process and
// prints a Markdown table: engine, workload, ns/op, allocs/op and the ratio to
// flowrun, plus cold-start and peak-memory figures of the flowrun binary.
//
//	cd bench && go run ./cmd/flowbench [-sdk-items 1000] [-skip-process] [-nodered]
//	cd bench && go run ./cmd/flowbench -process-only [-rounds 20] [-flowrun PATH]
//
// -nodered adds Node-RED rows: it installs node-red into bench/nodered with
// npm (nodered/install.sh) if it is not there yet, then runs nodered/run.js.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/bench"
)

type cell struct {
	engine, workload string
	ns, allocs       float64
	note             string
	noAllocs         bool // allocs/op not measured (another runtime): printed blank
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
	sdkItems := flag.Int("sdk-items", 1000, "items the Serverless Workflow SDK loop and per-item transform run over (they are slow); their ns/op is scaled to 10,000")
	skipProcess := flag.Bool("skip-process", false, "skip the cold-start and peak-RSS measurements (they build the flowrun binary)")
	processOnly := flag.Bool("process-only", false, "measure only the flowrun process (cold start in paired rounds, peak RSS) and skip the in-process benchmarks")
	rounds := flag.Int("rounds", 20, "paired rounds of the cold-start measurement")
	flowrunBin := flag.String("flowrun", "", "the flowrun binary to measure as a process (default: build ./cmd/flowrun), e.g. an older build to compare")
	nodered := flag.Bool("nodered", false, "also run the workloads on Node-RED "+bench.NodeREDVersion+" (needs node and npm; installs it into bench/nodered on first use)")
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
		{"sdk-go v3.2.0", "transform", func() (bench.Engine, error) { return bench.TransformSDKFor(items[:*sdkItems]) }, scale, fmt.Sprintf("per-item for task, ran %d items, scaled x%.0f", *sdkItems, scale)},
		{"flowrun", "helper calls", bench.CallsFlowrun, 1, ""},
		{"go+expr", "helper calls", bench.CallsExpr, 1, ""},
		{"go", "helper calls", bench.CallsGo, 1, ""},
		{"goja", "helper calls", bench.CallsGoja, 1, ""},
		{"flowrun", "http", func() (bench.Engine, error) { return bench.HTTPFlowrun(srv.URL) }, 1, ""},
		{"go", "http", func() (bench.Engine, error) { return bench.HTTPGo(srv.URL) }, 1, "net/http + encoding/json"},
		{"flowrun", "load", func() (bench.Engine, error) { return bench.LoadFlowrun(filepath.Join(dir, "big")) }, 1, "200 flows x 20 steps"},
	}
	var procOut bytes.Buffer
	if !*skipProcess {
		fmt.Fprintln(os.Stderr, "cold start and peak RSS ...")
		processFigures(&procOut, dir, *flowrunBin, *rounds)
	}
	if *processOnly {
		fmt.Printf("Machine: %s\n", bench.Machine())
		os.Stdout.Write(procOut.Bytes())
		return
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
	noderedMsg := "Node-RED was skipped; add -nodered to include it (needs node and npm; installs node-red " + bench.NodeREDVersion + " into bench/nodered)."
	if *nodered {
		cells, noderedMsg = addNodeRED(cells, items, srv.URL)
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
		allocs := fmt.Sprintf("%.0f", c.allocs)
		if c.noAllocs {
			allocs = ""
		}
		fmt.Printf("| %s | %s | %.0f | %s | %s | %s |\n", c.workload, c.engine, c.ns, allocs, ratio, c.note)
	}
	if noderedMsg != "" {
		fmt.Printf("\n%s\n", noderedMsg)
	}
	if b := base["helper calls"]; b > 0 {
		fmt.Printf("\nflowrun helper call: %.2f us per call (loop step + call + return).\n", b/float64(bench.Calls)/1000)
	}
	fmt.Print(procOut.String())
}

// addNodeRED installs Node-RED if needed, runs nodered/run.js and inserts its
// rows after each workload's other rows. It returns a message to print when
// Node-RED could not run.
func addNodeRED(cells []cell, items []any, url string) ([]cell, string) {
	if m := bench.NodeREDMissing(); m != "" {
		return cells, "Node-RED skipped: " + m + "."
	}
	if !bench.NodeREDInstalled() {
		fmt.Fprintln(os.Stderr, "installing node-red "+bench.NodeREDVersion+" into bench/nodered ...")
		if err := bench.InstallNodeRED(); err != nil {
			return cells, fmt.Sprintf("Node-RED skipped: install failed: %v.", err)
		}
	}
	fmt.Fprintln(os.Stderr, "node-red ...")
	res, err := bench.NodeRED(items, url, 1)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return cells, fmt.Sprintf("Node-RED failed: %v", firstLine(err.Error()))
	}
	engine := "node-red " + bench.NodeREDVersion
	for _, r := range res {
		c := cell{engine: engine, workload: r.Workload, ns: r.NsPerOp, noAllocs: true,
			note: fmt.Sprintf("separate process, in-process trigger; %s; %d ops", r.Note, r.Ops)}
		at := len(cells)
		for i := len(cells) - 1; i >= 0; i-- {
			if cells[i].workload == r.Workload {
				at = i + 1
				break
			}
		}
		cells = append(cells[:at], append([]cell{c}, cells[at:]...)...)
	}
	return cells, ""
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "flowbench:", err)
	os.Exit(1)
}
