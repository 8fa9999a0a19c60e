package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/flowrun/flowrun/bench"
)

// processFigures measures the flowrun binary as a process: cold runs against
// a hello-world Go binary in paired rounds, and the peak RSS of a
// 1,000,000-item for_each. bin is the binary to measure; "" builds
// ./cmd/flowrun with CGO_ENABLED=0, as the install docs say, and also as
// plain `go build` does (a row of its own). It runs before the in-process
// benchmarks, while this process is small and idle.
//
// A round runs every command once, one after another, so that a machine
// whose load changes moves flowrun and its baseline together; the figure for
// each command is the median over rounds of its CPU time (user + system,
// from wait4) divided by the hello-world binary's in the same round.
func processFigures(w io.Writer, dir, bin string, rounds int) {
	var cgoBin string // the build as plain `go build` makes it here, when flowbench builds
	if bin == "" {
		// The static build the install docs give (CGO_ENABLED=0), and the
		// default one (cgo, dynamically linked, when a C compiler is here).
		bin, cgoBin = filepath.Join(dir, "flowrun"), filepath.Join(dir, "flowrun-cgo")
		for _, b := range []struct{ out, cgo string }{{bin, "0"}, {cgoBin, ""}} {
			build := exec.Command("go", "build", "-o", b.out, "./cmd/flowrun")
			build.Dir = ".." // the flowrun module, so its own go.sum applies
			build.Stderr = os.Stderr
			build.Env = os.Environ()
			if b.cgo != "" {
				build.Env = append(build.Env, "CGO_ENABLED="+b.cgo)
			}
			if err := build.Run(); err != nil {
				fmt.Fprintf(w, "\n(could not build flowrun: %v)\n", err)
				return
			}
		}
	}
	// The process floor of this machine: a Go program that prints one line.
	hello := filepath.Join(dir, "hello")
	if err := os.MkdirAll(hello+".src", 0o755); err == nil {
		_ = os.WriteFile(filepath.Join(hello+".src", "main.go"), []byte("package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hi\") }\n"), 0o644)
		_ = os.WriteFile(filepath.Join(hello+".src", "go.mod"), []byte("module hello\n\ngo 1.26\n"), 0o644)
		hb := exec.Command("go", "build", "-o", hello, ".")
		hb.Dir = hello + ".src"
		if out, err := hb.CombinedOutput(); err != nil {
			fmt.Fprintf(w, "\n(could not build the hello-world baseline: %v\n%s)\n", err, out)
			return
		}
	}
	// The process floor of the loop workload: Go that decodes the same
	// file with encoding/json and runs the same two expr programs.
	floor := filepath.Join(dir, "loopfloor")
	fb := exec.Command("go", "build", "-o", floor, "./cmd/loopfloor")
	fb.Stderr = os.Stderr
	if err := fb.Run(); err != nil {
		fmt.Fprintf(w, "\n(could not build cmd/loopfloor: %v)\n", err)
		return
	}
	in20k := filepath.Join(dir, "items20k.json")
	if _, err := writeItems(in20k, 20_000); err != nil {
		fmt.Fprintf(w, "(could not write the 20k-item input: %v)\n", err)
		return
	}
	cache := filepath.Join(dir, "shape-cache")
	loop := []string{bin, "run", bench.Dir("loop"), "loop", "--input", "@" + in20k}
	type coldCmd struct {
		name  string
		cache string
		argv  []string
		base  int // the command whose CPU in the same round is the ratio's denominator
	}
	cmds := []coldCmd{
		{"Go hello world", "", []string{hello}, 0},
		{"`flowrun run`, shape cache warm", cache, []string{bin, "run", bench.Dir("calls"), "square", "--input", `{"x": 3}`}, 0},
		{"`flowrun run`, FLOWRUN_CACHE=off", "off", []string{bin, "run", bench.Dir("calls"), "square", "--input", `{"x": 3}`}, 0},
		{"`flowrun version`", "off", []string{bin, "version"}, 0},
		{"Go+expr floor, 20k-item loop (cmd/loopfloor)", "", []string{floor, in20k}, 0},
		{"`flowrun run` 20k-item loop, shape cache warm (ratio to the floor)", cache, loop, 4},
		{"`flowrun run` 20k-item loop, FLOWRUN_CACHE=off (ratio to the floor)", "off", loop, 4},
	}
	if cgoBin != "" {
		cmds = append(cmds, coldCmd{"`flowrun run`, shape cache warm, default `go build` (cgo, dynamically linked)", cache, []string{cgoBin, "run", bench.Dir("calls"), "square", "--input", `{"x": 3}`}, 0})
	}
	cpu := make([][]time.Duration, len(cmds))
	wall := make([][]time.Duration, len(cmds))
	ratios := make([][]float64, len(cmds))
	for r := -1; r < rounds; r++ { // round -1 warms the shape cache and the page cache
		for i, c := range cmds {
			cmd := exec.Command(c.argv[0], c.argv[1:]...)
			cmd.Env = append(os.Environ(), "FLOWRUN_CACHE="+c.cache)
			start := time.Now()
			out, err := cmd.CombinedOutput()
			if err != nil {
				fmt.Fprintf(w, "\ncold run (%s) failed: %v\n%s", c.name, err, out)
				return
			}
			if r < 0 {
				continue
			}
			wall[i] = append(wall[i], time.Since(start))
			cpu[i] = append(cpu[i], childCPU(cmd.ProcessState))
		}
		if r >= 0 {
			for i, c := range cmds {
				ratios[i] = append(ratios[i], float64(cpu[i][r])/max(float64(cpu[c.base][r]), 1))
			}
		}
	}
	fmt.Fprintf(w, "\nCold start, %d paired rounds (each round runs every command once, in this order); CPU is user + system time of the child (wait4); the ratio is to the hello-world binary's CPU in the same round (the loop rows: to the loop floor's), median (min-max over rounds):\n\n", rounds)
	fmt.Fprintln(w, "| command | CPU, median | wall, median | CPU ratio, median (min-max) |")
	fmt.Fprintln(w, "|---|---:|---:|---:|")
	for i, c := range cmds {
		lo, med, hi := spread(ratios[i])
		fmt.Fprintf(w, "| %s | %s | %s | %.1fx (%.1f-%.1f) |\n", c.name, medianDur(cpu[i]).Round(100*time.Microsecond),
			medianDur(wall[i]).Round(100*time.Microsecond), med, lo, hi)
	}

	in := filepath.Join(dir, "million.json")
	size, err := writeMillion(in)
	if err != nil {
		fmt.Fprintf(w, "(could not write the 1M-item input: %v)\n", err)
		return
	}
	cmd := exec.Command(bin, "run", bench.Dir("loop"), "loop", "--input", "@"+in)
	cmd.Env = append(os.Environ(), "FLOWRUN_CACHE=off")
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(w, "1M-item run failed: %v\n%s", err, out)
		return
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		fmt.Fprintf(w, "\nPeak RSS of `flowrun run` over a 1,000,000-item for_each (input %d MB of JSON, written streaming, so this process stays small and the child's figure is its own): %.0f MiB, %s wall.\n",
			size>>20, float64(ru.Maxrss)/1024, time.Since(start).Round(time.Millisecond))
	}
}

func childCPU(ps *os.ProcessState) time.Duration {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return ps.UserTime() + ps.SystemTime()
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// writeMillion writes {"items": [...]} with 1,000,000 items one by one, the
// same items bench.Items builds, without holding them.
func writeMillion(path string) (int64, error) { return writeItems(path, 1_000_000) }

// writeItems writes {"items": [...]} with n items, streaming.
func writeItems(path string, n int) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	bw.WriteString(`{"items":[`)
	var b []byte
	for i := range n {
		b = b[:0]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"active":`...)
		b = strconv.AppendBool(b, i%3 != 0)
		b = append(b, `,"amount":`...)
		b = strconv.AppendFloat(b, float64(i%100)+0.5, 'g', -1, 64)
		b = append(b, `,"id":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, '}')
		bw.Write(b)
	}
	bw.WriteString("]}")
	if err := bw.Flush(); err != nil {
		f.Close()
		return 0, err
	}
	st, err := f.Stat()
	f.Close()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

func medianDur(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func spread(x []float64) (lo, med, hi float64) {
	if len(x) == 0 {
		return 0, 0, 0
	}
	s := append([]float64(nil), x...)
	sort.Float64s(s)
	return s[0], s[len(s)/2], s[len(s)-1]
}
