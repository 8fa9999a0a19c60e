package run

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// numberPages serves pages 1..n of /api/v2/nums?page=N, each holding size
// numbers (page N holds (N-1)*size .. N*size-1), with the next page's
// number in "next" (null on the last page). A POST to /api/v2/sink is
// answered 204: each_page steps report there, so the recorder shows how
// fetches and steps interleave.
func numberPages(t *testing.T, n, size int) *recorder {
	return newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		p, _ := strconv.Atoi(r.URL.Query().Get("page"))
		if p < 1 || p > n {
			jsonReply(w, 404, `{"error": "no such page"}`)
			return
		}
		var b strings.Builder
		b.WriteString(`{"data": [`)
		for i := range size {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"n": %d, "pad": "%s"}`, (p-1)*size+i, strings.Repeat("x", 40))
		}
		next := "null"
		if p < n {
			next = strconv.Itoa(p + 1)
		}
		fmt.Fprintf(&b, `], "next": %s}`, next)
		jsonReply(w, 200, b.String())
	})
}

// pagesFlow is an action flow over numberPages; each is the paginate's
// extra keys (each_page, collect), indented for it.
func pagesFlow(each string) string {
	return `outputs: {r: any, sum: integer, seen: list}
steps:
  - set: {sum: 0, seen: []}
  - id: nums
    http:
      path: /nums
      query: {page: 1}
      paginate:
        items: ${ response.body.data }
        next_query:
          page: ${ response.body.next }
        max_pages: 10000
` + indent(each, "        ") + `
  - return:
      r: ${ steps.nums }
      sum: ${ vars.sum }
      seen: ${ vars.seen }
`
}

func TestEachPageRunsPerPageAsItArrives(t *testing.T) {
	srv := numberPages(t, 3, 2)
	out, err, _ := httpRun(t, httpConnector("", ""), pagesFlow(`each_page:
  - set:
      sum: ${ vars.sum + sum(map(page.items, .n)) }
      seen: ${ concat(vars.seen, [page.number]) }
  - http:
      method: POST
      path: /sink
      json: {page: "${ page.number }", first: "${ page.items[0].n }", status: "${ response.status }"}
collect: ${ map(filter(page.items, .n % 2 == 0), .n) }`), srv.URL, nil)
	checkRun(t, out, err, `{"r":{"items":[0,2,4],"pages":3},"seen":[1,2,3],"sum":15}`, nil)
	// each page's steps run before the next page is fetched
	var got []string
	for _, r := range srv.requests() {
		if r.Method == "GET" {
			got = append(got, "GET "+r.Query)
		} else {
			got = append(got, "POST "+r.Body)
		}
	}
	want := []string{`GET page=1`, `POST {"first":0,"page":1,"status":200}`, `GET page=2`, `POST {"first":2,"page":2,"status":200}`, `GET page=3`, `POST {"first":4,"page":3,"status":200}`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestEachPage(t *testing.T) {
	cases := []struct {
		name, each string
		want       string
		wantErr    []string
		pages      int // GET requests made
	}{
		{"without collect no item is kept", `each_page:
  - set: {sum: "${ vars.sum + len(page.items) }"}`, `{"r":{"items":[],"pages":4},"seen":[],"sum":12}`, nil, 4},
		{"an empty each_page still keeps nothing", `each_page: []`, `{"r":{"items":[],"pages":4},"seen":[],"sum":0}`, nil, 4},
		{"continue_if skips the rest of a page, its collect included", `each_page:
  - continue_if: ${ page.number != 2 }
  - set: {seen: "${ concat(vars.seen, [page.number]) }"}
collect: ${ [page.number] }`, `{"r":{"items":[1,3,4],"pages":4},"seen":[1,3,4],"sum":0}`, nil, 4},
		{"return in each_page ends the flow before the next page", `each_page:
  - if: ${ page.number == 2 }
    then:
      - return: {sum: "${ page.items[0].n }"}`, `{"sum":3}`, nil, 2},
		{"next sees what each_page set: a flow can stop early", `each_page:
  - set: {sum: "${ vars.sum + len(page.items) }"}`, "", nil, 0},
		{"a failing step fails the http step", `each_page:
  - fail: page ${ page.number } refused`, "", []string{`page 1 refused`}, 1},
		{"collect must give a list", `each_page: []
collect: ${ page.items[0] }`, "", []string{"paginate: collect must give a list (the items of this page to keep), got object"}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := numberPages(t, 4, 3)
			flow := pagesFlow(c.each)
			if strings.HasPrefix(c.name, "next sees") {
				flow = strings.Replace(flow, "page: ${ response.body.next }", `page: "${ vars.sum >= 6 ? nil : response.body.next }"`, 1)
				c.want, c.pages = `{"r":{"items":[],"pages":2},"seen":[],"sum":6}`, 2
			}
			out, err, _ := httpRun(t, httpConnector("", ""), flow, srv.URL, nil)
			checkRun(t, out, err, c.want, c.wantErr)
			gets := 0
			for _, r := range srv.requests() {
				if r.Method == "GET" {
					gets++
				}
			}
			if gets != c.pages {
				t.Errorf("%d pages fetched, want %d", gets, c.pages)
			}
		})
	}
}

// TestEachPageHoldsOnePage runs 200 pages of 500 items (about 100,000 items,
// some 20 MB decoded) under a 4 MiB memory budget: collecting every item
// exceeds it, each_page does not, since a run charges what it keeps (memory.go).
func TestEachPageHoldsOnePage(t *testing.T) {
	srv := numberPages(t, 200, 500)
	run := func(each string) (map[string]any, error) {
		p := loadProject(t, map[string]string{"connector.yaml": httpConnector("", ""), "flows/main.yaml": "name: main\ntype: action\n" + pagesFlow(each)})
		r, _ := newTestRunner(p, map[string]any{"base_url": srv.URL})
		r.Limits.MaxMemory = 4 << 20
		return r.Run(context.Background(), "main", nil)
	}
	out, err := run(`each_page:
  - set: {sum: "${ vars.sum + len(page.items) }"}`)
	checkRun(t, out, err, `{"r":{"items":[],"pages":200},"seen":[],"sum":100000}`, nil)
	_, err = run(``)
	var me *MemoryError
	if !errors.As(err, &me) {
		t.Errorf("collecting every page: err = %v, want the memory budget exceeded", err)
	}
}
