package load

import (
	"runtime"
	"sync"

	"github.com/flowrun/flowrun/lang"
)

// prefetchMin is the number of flow files from which a load reads and
// parses them in parallel: below it, starting goroutines costs more than it
// saves (a cold `flowrun run` of a small project stays on one goroutine).
var prefetchMin = 16 // a variable for the tests

// prefetched is a file read and parsed ahead of its turn: node is nil when
// the ParseCache has the file or it did not parse (parseFile then goes the
// usual way, and reports the problems in order).
type prefetched struct {
	data []byte
	node *lang.Node
}

// prefetch reads and parses paths, files of kind, on every CPU, so that
// parseFile, which then takes them in order, finds the YAML already parsed:
// parsing is most of a load's work and every file parses on its own.
// Diagnostics, the schema pass and the caches stay with parseFile.
func (l *loader) prefetch(paths []string, kind string) {
	workers := min(runtime.GOMAXPROCS(0), len(paths))
	if workers < 2 || len(paths) < prefetchMin {
		return
	}
	out := make([]prefetched, len(paths))
	var wg sync.WaitGroup
	jobs := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				out[i] = l.prefetchOne(paths[i], kind)
			}
		})
	}
	for i := range paths {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	l.pre = make(map[string]prefetched, len(paths))
	for i, p := range paths {
		if out[i].data != nil {
			l.pre[p] = out[i]
		}
	}
}

func (l *loader) prefetchOne(path, kind string) prefetched {
	st, err := l.stat(path)
	if err != nil || st.IsDir() || st.Size() > MaxFileBytes {
		return prefetched{}
	}
	data, err := l.readFile(path)
	if err != nil || len(data) > MaxFileBytes {
		return prefetched{}
	}
	if l.parsed.get(path, kind, data) != nil {
		return prefetched{data: data}
	}
	n, err := ParseYAML(path, data)
	if err != nil {
		return prefetched{data: data}
	}
	return prefetched{data: data, node: n}
}
