package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/flowrun/flowrun/run"
	"github.com/spf13/cobra"
)

// parseSize reads a byte count: a number with an optional unit, B, KB, MB,
// GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024); K, M, G
// and T alone are binary. "64MiB", "1.5GiB", "512M", "100000".
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	f, err := strconv.ParseFloat(num, 64)
	if num == "" || err != nil || f < 0 {
		return 0, fmt.Errorf("%q is not a size (write e.g. 64MiB, 1GiB, 512M)", s)
	}
	mult := map[string]float64{"": 1, "b": 1,
		"k": 1 << 10, "kib": 1 << 10, "kb": 1e3,
		"m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
		"g": 1 << 30, "gib": 1 << 30, "gb": 1e9,
		"t": 1 << 40, "tib": 1 << 40, "tb": 1e12}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("%q: unknown unit %q (use B, KiB, MiB, GiB, TiB, or KB, MB, GB, TB)", s, t[i:])
	}
	n := f * mult
	if n >= math.MaxInt64 {
		return 0, fmt.Errorf("%q is too big", s)
	}
	if n < 1 {
		return 0, fmt.Errorf("%q: the size must be at least 1 byte", s)
	}
	return int64(n), nil
}

// sizeFlag is a --max-memory style flag value.
type sizeFlag int64

func (f *sizeFlag) String() string {
	if *f == 0 {
		return run.FormatSize(run.DefaultMaxMemory)
	}
	return run.FormatSize(int64(*f))
}

func (f *sizeFlag) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	*f = sizeFlag(n)
	return nil
}

func (f *sizeFlag) Type() string { return "size" }

// maxMemoryFlag adds --max-memory to cmd; the value is the run's byte
// budget (run.Limits.MaxMemory), 0 for the default.
func maxMemoryFlag(cmd *cobra.Command) *int64 {
	n := new(int64)
	maxMemoryVar(cmd, n)
	return n
}

// maxMemoryVar adds --max-memory to cmd, stored in n.
func maxMemoryVar(cmd *cobra.Command, n *int64) {
	cmd.Flags().Var((*sizeFlag)(n), "max-memory", "memory budget of each run, e.g. 64MiB or 1GiB; a run that would hold more fails")
}
