package flowtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/flowrun/flowrun/connection"
	"github.com/flowrun/flowrun/lang"
)

// Options configure a Run.
type Options struct {
	// Run selects cases: a case runs when Run matches its name or
	// "<suite>/<name>", where suite is the test file's path under tests/
	// without its extension ("users" for tests/users.yaml). nil runs all.
	Run *regexp.Regexp
	// Verbose prints, under every case, the steps it ran and the HTTP
	// exchanges with the mocks.
	Verbose bool
	// Record runs the cases against the live service with RecordConn and
	// writes the exchanges into the test files as the cases' mocks.
	Record bool
	// RecordConn is the live connection Record uses (required with Record).
	RecordConn *connection.Connection
	// RecordTransport carries Record's requests; default http.DefaultTransport.
	RecordTransport http.RoundTripper
	// VerifyLive replays the cases with LiveConn: the flows run against
	// their mocks as offline, and each safe request (GET, HEAD) whose mock
	// answers with a JSON fixture is also sent to the live service, whose
	// response's shape is compared with the fixture's (see verify.go).
	// Writes are never sent; webhook cases are skipped.
	VerifyLive bool
	// LiveConn is the live connection of VerifyLive.
	LiveConn *connection.Connection
	// LiveTransport carries VerifyLive's live requests; default http.DefaultTransport.
	LiveTransport http.RoundTripper
	// Out receives a line per case and the details of failures; nil discards.
	Out io.Writer
	// Parallel is how many cases run at once; 0 means GOMAXPROCS. Output
	// keeps the file order either way. Record runs one case at a time.
	Parallel int
	// Timeout bounds one case; 0 means one minute.
	Timeout time.Duration
	// MaxMemory is each case's run memory budget (run.Limits.MaxMemory);
	// 0 means run.DefaultMaxMemory.
	MaxMemory int64
}

// Status is a case's outcome.
type Status int

const (
	Passed Status = iota
	Failed
	Skipped
)

func (s Status) String() string {
	switch s {
	case Passed:
		return "ok"
	case Failed:
		return "FAIL"
	}
	return "skip"
}

// Report is what a Run found.
type Report struct {
	Project   string // the project directory, as given to load.Project
	Connector string // the connector's name
	Cases     []*CaseResult
	Passed    int
	Failed    int
	Skipped   int
	Started   time.Time
	Duration  time.Duration
	// VerifyLive: live responses compared, breaking and info differences.
	Compared, Breaking, Info int
}

// CaseResult is one case's outcome.
type CaseResult struct {
	File       string   // the test file, as the project was loaded
	Suite      string   // the file's path under tests/, without extension
	Name       string   // the case's name
	Flow       string   // the flow it runs
	Pos        lang.Pos // where the case starts
	Status     Status
	SkipReason string
	Duration   time.Duration
	Failures   []Failure
	Log        []string  // Verbose: the steps and exchanges
	Notes      []Failure // VerifyLive: differences that are not breaking (info)
	Recorded   int       // Record: the exchanges written as mocks
	Compared   int       // VerifyLive: live responses compared
}

// Failure is one reason a case failed.
type Failure struct {
	Pos     lang.Pos // what the failure is about: a key of the case, a mock
	Summary string   // one line
	Detail  string   // more lines (a diff), or ""
}

func (f Failure) String() string {
	s := f.Pos.String() + ": " + f.Summary
	if f.Detail != "" {
		s += "\n" + strings.TrimRight(f.Detail, "\n")
	}
	return s
}

// ID names a case in output: "tests/users.yaml: creates a user".
func (r *CaseResult) ID() string { return r.File + ": " + r.Name }

// Run runs the test cases of a loaded project and reports each on
// opts.Out as it finishes (in file order). The error is for what stops the
// run itself (Record could not write a file); failed cases are in the Report.
func Run(ctx context.Context, proj *lang.Project, opts Options) (*Report, error) {
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	if opts.Record && opts.RecordConn == nil {
		return nil, fmt.Errorf("recording needs the live connection (Options.RecordConn)")
	}
	if opts.VerifyLive && opts.LiveConn == nil {
		return nil, fmt.Errorf("verifying against the live service needs its connection (Options.LiveConn)")
	}
	rep := &Report{Project: proj.Dir, Started: time.Now()}
	if proj.Connector != nil {
		rep.Connector = proj.Connector.Name
	}
	s := &suiteRun{proj: proj, opts: opts}
	var cases []*testCase
	var decodeErrs []*Failure
	for _, tf := range proj.Tests {
		list := tf.Node.Get("tests")
		if list == nil || list.Kind != lang.ListNode {
			continue
		}
		suite := suiteName(proj.Dir, tf.File)
		for i, n := range list.Items {
			c, f := decodeCase(proj.Dir, tf, n, i)
			if opts.Run != nil && !opts.Run.MatchString(c.name) && !opts.Run.MatchString(suite+"/"+c.name) {
				continue
			}
			cases = append(cases, c)
			decodeErrs = append(decodeErrs, f)
		}
	}
	workers := opts.Parallel
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if opts.Record || opts.VerifyLive {
		workers = 1
	}
	workers = max(1, min(workers, len(cases)))
	results := make([]*CaseResult, len(cases))
	done := make([]chan struct{}, len(cases))
	for i := range done {
		done[i] = make(chan struct{})
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				results[i] = s.runCase(ctx, cases[i], decodeErrs[i])
				close(done[i])
			}
		}()
	}
	go func() {
		for i := range cases {
			jobs <- i
		}
		close(jobs)
	}()
	for i := range cases {
		<-done[i]
		r := results[i]
		writeCase(out, r, opts.Verbose)
		rep.Cases = append(rep.Cases, r)
		rep.Compared += r.Compared
		rep.Info += len(r.Notes)
		for _, f := range r.Failures {
			if strings.HasPrefix(f.Summary, "breaking: ") {
				rep.Breaking++
			}
		}
		switch r.Status {
		case Passed:
			rep.Passed++
		case Failed:
			rep.Failed++
		default:
			rep.Skipped++
		}
	}
	wg.Wait()
	rep.Duration = time.Since(rep.Started)
	if opts.Record {
		if err := s.writeRecordings(); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// suiteName is a test file's path under tests/ without extension, with slashes.
func suiteName(dir, file string) string {
	rel, err := filepath.Rel(filepath.Join(dir, "tests"), file)
	if err != nil || strings.HasPrefix(rel, "..") {
		rel = filepath.Base(file)
	}
	return filepath.ToSlash(strings.TrimSuffix(rel, filepath.Ext(rel)))
}

// LiveSummary is the summary line of a --verify-live run.
func LiveSummary(reports ...*Report) string {
	var c, b, i int
	for _, r := range reports {
		c, b, i = c+r.Compared, b+r.Breaking, i+r.Info
	}
	return fmt.Sprintf("verify-live: %d live response%s compared, %d breaking, %d info", c, plural(c), b, i)
}

// Summary is the summary line of one or more reports:
// "N passed, N failed", with ", N skipped" when any were.
func Summary(reports ...*Report) string {
	var p, f, s int
	for _, r := range reports {
		p, f, s = p+r.Passed, f+r.Failed, s+r.Skipped
	}
	line := fmt.Sprintf("%d passed, %d failed", p, f)
	if s > 0 {
		line += fmt.Sprintf(", %d skipped", s)
	}
	return line
}

// writeCase prints a case's line and, for a failure, its details.
func writeCase(w io.Writer, r *CaseResult, verbose bool) {
	var b strings.Builder
	switch r.Status {
	case Skipped:
		fmt.Fprintf(&b, "skip %s", r.ID())
		if r.SkipReason != "" {
			fmt.Fprintf(&b, " (%s)", r.SkipReason)
		}
		b.WriteByte('\n')
	default:
		fmt.Fprintf(&b, "%-4s %s (%s)\n", r.Status, r.ID(), formatDuration(r.Duration))
	}
	if verbose {
		for _, l := range r.Log {
			b.WriteString("    " + l + "\n")
		}
	}
	for _, f := range r.Notes {
		fmt.Fprintf(&b, "    %s: %s\n", f.Pos, f.Summary)
	}
	for _, f := range r.Failures {
		fmt.Fprintf(&b, "    %s: %s\n", f.Pos, f.Summary)
		if f.Detail != "" {
			for _, l := range strings.Split(strings.TrimRight(f.Detail, "\n"), "\n") {
				if l == "" {
					b.WriteString("\n")
					continue
				}
				b.WriteString("        " + l + "\n")
			}
		}
	}
	if r.Recorded > 0 {
		fmt.Fprintf(&b, "    recorded %d exchange%s\n", r.Recorded, plural(r.Recorded))
	}
	io.WriteString(w, b.String())
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// formatDuration is a short duration: 57µs, 1.2ms, 3.4s.
func formatDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(100 * time.Microsecond).String()
	}
	return d.Round(10 * time.Millisecond).String()
}
