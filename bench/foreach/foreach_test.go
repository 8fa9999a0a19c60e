// Package foreach measures the peak RSS of `flowrun run` over a
// 1,000,000-item for_each whose list comes from a 42 MB --input file (the
// loop workload's flow and items), and its ratio to the input's size:
//
//	cd bench && go test -run '^$' -bench ForEachPeakRSS -benchtime 3x ./foreach
//
// Each op runs the child twice, once with --input @file and once with the
// same bytes on stdin (--input -); its peak RSS is read from its own rusage
// (wait4). This process writes the input streaming and holds nothing of it,
// so it stays small (its own peak is reported: Linux starts a child's peak
// at its parent's RSS). The metrics are medians over ops.
//
// FLOWRUN_BIN=/path/to/flowrun measures another build instead of building
// ../cmd/flowrun.
package foreach

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"

	"github.com/flowrun/flowrun/bench"
)

// writeItems writes {"items": [...]} with n items one by one, the items
// bench.Items builds, and returns the file's size and the loop's total.
func writeItems(path string, n int) (size int64, total float64, err error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, 0, err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	bw.WriteString(`{"items":[`)
	var b []byte
	for i := range n {
		b = b[:0]
		if i > 0 {
			b = append(b, ',')
		}
		amount := float64(i%100) + 0.5
		if i%3 != 0 {
			total += amount
		}
		b = append(b, `{"active":`...)
		b = strconv.AppendBool(b, i%3 != 0)
		b = append(b, `,"amount":`...)
		b = strconv.AppendFloat(b, amount, 'g', -1, 64)
		b = append(b, `,"id":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, '}')
		bw.Write(b)
	}
	bw.WriteString("]}")
	if err := bw.Flush(); err != nil {
		f.Close()
		return 0, 0, err
	}
	st, err := f.Stat()
	f.Close()
	if err != nil {
		return 0, 0, err
	}
	return st.Size(), total, nil
}

func build(tb testing.TB) string {
	tb.Helper()
	if bin := os.Getenv("FLOWRUN_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(tb.TempDir(), "flowrun")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/flowrun")
	cmd.Dir = "../.." // the flowrun module, with its own go.sum
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("building flowrun: %v\n%s", err, out)
	}
	return bin
}

// runLoop runs the loop workload over the items in file (from stdin when
// stdin is set) and returns the child's peak RSS in MiB.
func runLoop(tb testing.TB, bin, file string, stdin bool, total float64) float64 {
	tb.Helper()
	arg := "@" + file
	cmd := exec.Command(bin, "run", bench.Dir("loop"), "loop", "--input", arg)
	if stdin {
		f, err := os.Open(file)
		if err != nil {
			tb.Fatal(err)
		}
		defer f.Close()
		cmd = exec.Command(bin, "run", bench.Dir("loop"), "loop", "--input", "-")
		cmd.Stdin = f
	}
	cmd.Env = append(os.Environ(), "FLOWRUN_CACHE=off")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		tb.Fatalf("flowrun run loop --input %s: %v\n%s", arg, err, errb.String())
	}
	want := fmt.Sprintf("\"total\": %s\n", strconv.FormatFloat(total, 'f', -1, 64))
	if !bytes.Contains(out.Bytes(), []byte(want)) {
		tb.Fatalf("flowrun run loop: outputs %s, want %s", out.String(), want)
	}
	return float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) / 1024
}

func median(x []float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func BenchmarkForEachPeakRSS(b *testing.B) {
	bin := build(b)
	file := filepath.Join(b.TempDir(), "million.json")
	size, total, err := writeItems(file, 1_000_000)
	if err != nil {
		b.Fatal(err)
	}
	inMiB := float64(size) / (1 << 20)
	var fromFile, fromStdin []float64
	for b.Loop() {
		fromFile = append(fromFile, runLoop(b, bin, file, false, total))
		fromStdin = append(fromStdin, runLoop(b, bin, file, true, total))
	}
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	b.ReportMetric(inMiB, "MiB-input")
	b.ReportMetric(median(fromFile), "MiB-file")
	b.ReportMetric(median(fromFile)/inMiB, "ratio-file")
	b.ReportMetric(median(fromStdin), "MiB-stdin")
	b.ReportMetric(median(fromStdin)/inMiB, "ratio-stdin")
	b.ReportMetric(float64(ru.Maxrss)/1024, "MiB-parent")
}

// TestForEach runs the loop over 30,000 items (over the size at which
// flowrun keeps an input list as text) from a file and from stdin.
func TestForEach(t *testing.T) {
	if testing.Short() {
		t.Skip("builds flowrun")
	}
	bin := build(t)
	file := filepath.Join(t.TempDir(), "items.json")
	size, total, err := writeItems(file, 30_000)
	if err != nil {
		t.Fatal(err)
	}
	if size < 1<<20 {
		t.Fatalf("the input is %d bytes, under the lazy threshold", size)
	}
	runLoop(t, bin, file, false, total)
	runLoop(t, bin, file, true, total)
}
