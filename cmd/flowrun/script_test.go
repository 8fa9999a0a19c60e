package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// exitFileEnv names the file where the flowrun command of the test scripts
// writes its exit code, so that `exitcode N` can check it exactly.
const exitFileEnv = "FLOWRUN_TEST_EXIT_FILE"

func TestMain(m *testing.M) {
	// Keep tests out of the user's shape cache: commands run in-process
	// use none; the scripts get one each (Setup).
	if os.Getenv("FLOWRUN_CACHE") == "" {
		os.Setenv("FLOWRUN_CACHE", "off")
	}
	testscript.Main(m, map[string]func(){
		"flowrun": func() {
			code := Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
			if f := os.Getenv(exitFileEnv); f != "" {
				_ = os.WriteFile(f, []byte(strconv.Itoa(code)), 0o644)
			}
			os.Exit(code)
		},
	})
}

// TestScripts runs the golden CLI tests in testdata/script: each holds a small
// project, the flowrun command and its exact output. FLOWRUN_UPDATE=1
// rewrites the expected outputs.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "../../testdata/script",
		UpdateScripts:       os.Getenv("FLOWRUN_UPDATE") != "",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(e *testscript.Env) error {
			e.Setenv(exitFileEnv, e.WorkDir+".exit")
			e.Setenv("FLOWRUN_CACHE", e.WorkDir+".cache")
			e.Setenv("VALID", mustAbs(t, "../../testdata/valid"))
			e.Setenv("REPO", mustAbs(t, "../.."))
			return nil
		},
		// [temporal]: this build has the Temporal engine (-tags temporal).
		Condition: func(cond string) (bool, error) {
			if cond == "temporal" {
				return temporalBuilt, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode": cmdExitcode,
			"cmptimes": cmdCmptimes,
			"junk":     cmdJunk,
			"bigfile":  cmdBigfile,
			"nest":     cmdNest,
		},
	})
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// exitcode N: the last `exec flowrun` exited with status N.
func cmdExitcode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: exitcode N")
	}
	b, err := os.ReadFile(ts.Getenv(exitFileEnv))
	ts.Check(err)
	if got := strings.TrimSpace(string(b)); got != args[0] {
		ts.Fatalf("flowrun exited with %s, want %s", got, args[0])
	}
}

// junk FILE: write binary data (NUL bytes, invalid UTF-8) to FILE.
func cmdJunk(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: junk FILE")
	}
	data := []byte("flowrun: 1\nname: x\x00\xff\xfe\x89PNG\r\n\x1a\n")
	writeFile(ts, args[0], data)
}

// bigfile FILE MB: write a syntactically valid flow file of about MB MiB.
func cmdBigfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: bigfile FILE MB")
	}
	mb, err := strconv.Atoi(args[1])
	ts.Check(err)
	writeFile(ts, args[0], bigFlow(mb<<20))
}

// bigFlow is a valid flow file of at least size bytes: many log steps.
func bigFlow(size int) []byte {
	var b bytes.Buffer
	b.WriteString("flowrun: 1\nname: big\ntype: action\nsteps:\n")
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "  - log: line %d of a very large flow file, padded to make it longer than it needs to be\n", i)
	}
	return b.Bytes()
}

// nest FILE DEPTH: write a flow whose one value nests DEPTH flow lists deep.
func cmdNest(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: nest FILE DEPTH")
	}
	depth, err := strconv.Atoi(args[1])
	ts.Check(err)
	data := "flowrun: 1\nname: deep\ntype: action\nsteps:\n  - set:\n      x: " +
		strings.Repeat("[", depth) + strings.Repeat("]", depth) + "\n"
	writeFile(ts, args[0], []byte(data))
}

func writeFile(ts *testscript.TestScript, name string, data []byte) {
	p := ts.MkAbs(name)
	ts.Check(os.MkdirAll(filepath.Dir(p), 0o755))
	ts.Check(os.WriteFile(p, data, 0o644))
}

// TestValidProject: the project that uses every construct of SPEC.md
// validates without a word.
func TestValidProject(t *testing.T) {
	var out, errb bytes.Buffer
	code := Main([]string{"validate", "../../testdata/valid"}, strings.NewReader(""), &out, &errb)
	if code != 0 || out.Len() > 0 || errb.Len() > 0 {
		t.Fatalf("flowrun validate testdata/valid: exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
}
