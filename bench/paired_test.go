package bench

import (
	"sort"
	"syscall"
	"testing"
)

// The paired benchmarks run flowrun and its Go+expr floor alternately in
// one process, one op each per round, and report the median over rounds of
// the per-round ratio of their CPU times (user + system of the process,
// getrusage: it includes the garbage collector's work on other threads). A
// loaded machine slows both sides of a round alike, so the ratio holds
// where wall times do not. Per-op figures are medians too.
//
//	cd bench && go test -run '^$' -bench Paired -benchtime 200x .
//
// -benchtime Nx is the number of rounds; ns/op is a whole round.

// BenchmarkCallsPaired: Calls helper calls (a for_each step, a call step,
// the helper's return) against the same expression run with a fresh
// `inputs` map per call.
func BenchmarkCallsPaired(b *testing.B) {
	f, err := CallsFlowrun()
	if err != nil {
		b.Fatal(err)
	}
	floor, err := CallsExpr()
	if err != nil {
		b.Fatal(err)
	}
	paired(b, f, floor, 10, Calls, "call")
}

// BenchmarkLoopPaired: the loop workload (10,000 items) against Go running
// the same two expr programs with one VM and one env map.
func BenchmarkLoopPaired(b *testing.B) {
	items := Items()
	f, err := LoopFlowrun(items)
	if err != nil {
		b.Fatal(err)
	}
	floor, err := LoopExpr(items)
	if err != nil {
		b.Fatal(err)
	}
	paired(b, f, floor, 2, len(items), "item")
}

// paired runs each side reps ops per round (so that a side's CPU time per
// round is several ms, well above getrusage's granularity); n is the units
// (calls, items) per op.
func paired(b *testing.B, flowrun, floor Engine, reps, n int, unit string) {
	run := func(e Engine) {
		for range reps {
			if _, err := e(); err != nil {
				b.Fatal(err)
			}
		}
	}
	for range 3 { // warm both
		if _, err := flowrun(); err != nil {
			b.Fatal(err)
		}
		if _, err := floor(); err != nil {
			b.Fatal(err)
		}
	}
	var fr, fl, ratios []float64
	for b.Loop() {
		c0 := processCPU()
		run(flowrun)
		c1 := processCPU()
		run(floor)
		c2 := processCPU()
		fr = append(fr, float64(c1-c0))
		fl = append(fl, float64(c2-c1))
		ratios = append(ratios, float64(c1-c0)/max(float64(c2-c1), 1))
	}
	b.ReportMetric(median(fr)/float64(n*reps), "flowrun-cpu-ns/"+unit)
	b.ReportMetric(median(fl)/float64(n*reps), "floor-cpu-ns/"+unit)
	b.ReportMetric(median(ratios), "ratio")
}

func median(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	s := append([]float64(nil), x...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// processCPU is the user + system CPU time of this process so far, in ns
// (getrusage's resolution is that of the kernel's accounting: a round of
// under a few ms is coarse, so the median over many rounds is reported).
func processCPU() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
