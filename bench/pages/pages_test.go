// Package pages measures the peak RSS of `flowrun run` over a paginated
// service, streaming (paginate.each_page) and collecting every item, for 10
// and 1,000 pages of the same size:
//
//	cd bench && go test -run '^$' -bench PagesPeakRSS -benchtime 3x ./pages
//
// Each op is one round: the 10-page run, then the 1,000-page run, each a
// child process whose peak RSS is read from its own rusage (wait4); the
// round's ratio is the 1,000-page peak over the 10-page peak. The metrics
// are medians over rounds. The paginated service is an httptest server in
// this process, which renders each page as it is asked for and keeps
// nothing, so this process stays small (its own peak is reported too:
// Linux starts a child's peak at its parent's RSS, so a child figure below
// the parent's would be the parent's).
//
// FLOWRUN_BIN=/path/to/flowrun measures another build instead of building
// ../cmd/flowrun.
package pages

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// PageSize is the items of one page; an item is about 110 bytes of JSON.
const PageSize = 500

const connector = `flowrun: 1
name: pages
title: Paginated service
base_url: ${ connection.base_url }
connection:
  params:
    base_url: {type: string, required: true}
`

// The same export two ways: each_page keeps running totals and drops each
// page; collect keeps every item and totals them afterwards.
const streamFlow = `flowrun: 1
name: stream
type: action
inputs:
  pages: {type: integer, required: true}
outputs: {items: integer, amount: integer, pages: integer}
steps:
  - set: {items: 0, amount: 0}
  - id: all
    http:
      path: /items
      query: {page: 1, last: "${ inputs.pages }"}
      paginate:
        items: ${ response.body.data }
        next_query:
          page: ${ response.body.next }
        max_pages: 100000
        each_page:
          - set:
              items: ${ vars.items + len(page.items) }
              amount: ${ vars.amount + sum(map(page.items, .amount)) }
  - return:
      items: ${ vars.items }
      amount: ${ vars.amount }
      pages: ${ steps.all.pages }
`

const collectFlow = `flowrun: 1
name: collect
type: action
inputs:
  pages: {type: integer, required: true}
outputs: {items: integer, amount: integer, pages: integer}
steps:
  - id: all
    http:
      path: /items
      query: {page: 1, last: "${ inputs.pages }"}
      paginate:
        items: ${ response.body.data }
        next_query:
          page: ${ response.body.next }
        max_pages: 100000
  - return:
      items: ${ len(steps.all.items) }
      amount: ${ sum(map(steps.all.items, .amount)) }
      pages: ${ steps.all.pages }
`

// servePages answers GET /items?page=N&last=M with PageSize items and the
// next page's number (null after page M), rendered on each request.
func servePages(w http.ResponseWriter, r *http.Request) {
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	last, _ := strconv.Atoi(r.URL.Query().Get("last"))
	var b bytes.Buffer
	b.Grow(PageSize * 120)
	b.WriteString(`{"data":[`)
	for i := range PageSize {
		if i > 0 {
			b.WriteByte(',')
		}
		n := (page-1)*PageSize + i
		fmt.Fprintf(&b, `{"id":"item-%08d","amount":%d,"name":"Item number %d","tags":["a","b"],"active":%t}`, n, n%100, n, n%3 == 0)
	}
	next := "null"
	if page < last {
		next = strconv.Itoa(page + 1)
	}
	fmt.Fprintf(&b, `],"next":%s}`, next)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b.Bytes())
}

// wantAmount is the sum of the amounts of pages 1..pages.
func wantAmount(pages int) int {
	s := 0
	for n := range pages * PageSize {
		s += n % 100
	}
	return s
}

type child struct {
	peakMiB float64
	out     string
}

func runChild(tb testing.TB, bin, dir, flow string, pages int) child {
	tb.Helper()
	cmd := exec.Command(bin, "run", dir, flow, "--connection", filepath.Join(dir, "conn.yaml"),
		"--input", fmt.Sprintf(`{"pages": %d}`, pages), "--max-memory", "4GiB")
	cmd.Env = append(os.Environ(), "FLOWRUN_CACHE=off")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		tb.Fatalf("flowrun run %s (%d pages): %v\n%s", flow, pages, err, errb.String())
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	want := fmt.Sprintf(`"amount": %d`, wantAmount(pages))
	if o := out.String(); !strings.Contains(o, want) || !strings.Contains(o, fmt.Sprintf(`"items": %d`, pages*PageSize)) {
		tb.Fatalf("flowrun run %s (%d pages): outputs %s, want %s", flow, pages, o, want)
	}
	return child{peakMiB: float64(ru.Maxrss) / 1024, out: out.String()}
}

func setup(tb testing.TB) (bin, dir string) {
	tb.Helper()
	dir = tb.TempDir()
	bin = os.Getenv("FLOWRUN_BIN")
	if bin == "" {
		bin = filepath.Join(dir, "flowrun")
		build := exec.Command("go", "build", "-o", bin, "./cmd/flowrun")
		build.Dir = "../.." // the flowrun module, with its own go.sum
		if out, err := build.CombinedOutput(); err != nil {
			tb.Fatalf("building flowrun: %v\n%s", err, out)
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(servePages))
	tb.Cleanup(srv.Close)
	proj := filepath.Join(dir, "project")
	files := map[string]string{
		"connector.yaml":     connector,
		"flows/stream.yaml":  streamFlow,
		"flows/collect.yaml": collectFlow,
		"conn.yaml":          "params:\n  base_url: " + srv.URL + "\n",
	}
	for name, body := range files {
		p := filepath.Join(proj, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return bin, proj
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

func selfPeakMiB() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Maxrss) / 1024
}

func BenchmarkPagesPeakRSS(b *testing.B) {
	bin, dir := setup(b)
	for _, flow := range []string{"stream", "collect"} {
		b.Run(flow, func(b *testing.B) {
			var small, large, ratio []float64
			for b.Loop() {
				s := runChild(b, bin, dir, flow, 10)
				l := runChild(b, bin, dir, flow, 1000)
				small, large, ratio = append(small, s.peakMiB), append(large, l.peakMiB), append(ratio, l.peakMiB/s.peakMiB)
			}
			b.ReportMetric(median(small), "MiB-10pages")
			b.ReportMetric(median(large), "MiB-1000pages")
			b.ReportMetric(median(ratio), "ratio")
			b.ReportMetric(selfPeakMiB(), "MiB-parent")
		})
	}
}

// TestPages runs both flows over 3 pages: they give the same totals.
func TestPages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds flowrun")
	}
	bin, dir := setup(t)
	a, c := runChild(t, bin, dir, "stream", 3), runChild(t, bin, dir, "collect", 3)
	if a.out != c.out {
		t.Errorf("stream %s, collect %s", a.out, c.out)
	}
}
