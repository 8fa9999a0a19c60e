// Command peakrss runs a command and prints the peak resident set size and
// the CPU time (user + system) of that child process alone, from wait4's
// rusage:
//
//	cd bench && go run ./cmd/peakrss -- flowrun run workloads/loop loop --input @million.json
//
// peakrss is itself small and builds nothing before it starts the child,
// so the figure is the child's own: Linux starts a forked child's peak RSS at
// its parent's RSS, which made a figure measured from a big parent (a
// benchmark that built the input in memory) the parent's.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: peakrss [--] command [args...]")
		os.Exit(2)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if cmd.ProcessState == nil {
		fmt.Fprintln(os.Stderr, "peakrss:", err)
		os.Exit(1)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		fmt.Fprintln(os.Stderr, "peakrss: no rusage on this system")
		os.Exit(1)
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	fmt.Fprintf(os.Stderr, "peak RSS %.1f MiB, CPU %s, wall %s, exit %d\n",
		float64(ru.Maxrss)/1024, cpu.Round(time.Millisecond), wall.Round(time.Millisecond), cmd.ProcessState.ExitCode())
	os.Exit(cmd.ProcessState.ExitCode())
}
