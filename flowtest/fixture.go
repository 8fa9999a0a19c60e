package flowtest

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/load"
	"github.com/flowrun/flowrun/value"
)

// maxFixtureBytes bounds one fixture file (json_file:, body_file:), as the
// interpreter bounds one response body.
const maxFixtureBytes = 10 << 20

// fixture is a file a case reads its data from: a mock response's
// json_file: or body_file:, a webhook request's json_file: or body_file:.
type fixture struct {
	path string // the file, as test files are named (relative to where the project was loaded)
	data []byte
	json any // json_file: the parsed value
}

// readFixture reads the file that a json_file: or body_file: value n names,
// relative to the directory of the test file; it must stay inside the
// project. key says which (json_file: must hold JSON). Every problem is a
// failure at n's position. This is the one place fixtures are read, for
// mocks and webhook requests alike.
func readFixture(projDir, testFile string, n *lang.Node, key string) (*fixture, *Failure) {
	fail := func(format string, args ...any) (*fixture, *Failure) {
		return nil, &Failure{Pos: n.Pos, Summary: key + ": " + fmt.Sprintf(format, args...)}
	}
	if n.Kind != lang.StringNode || n.Str == "" {
		return fail("must name a file, relative to the test file's directory")
	}
	name := filepath.FromSlash(n.Str)
	if filepath.IsAbs(name) || strings.HasPrefix(n.Str, "/") {
		return fail("%q is an absolute path: name the file relative to the test file's directory", n.Str)
	}
	path := filepath.Join(filepath.Dir(testFile), name)
	absDir, err1 := filepath.Abs(projDir)
	absPath, err2 := filepath.Abs(path)
	if err1 == nil && err2 == nil {
		if rel, err := filepath.Rel(absDir, absPath); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return fail("%q is outside the project: keep fixtures beside the suite", n.Str)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return fail("no file %s (named relative to %s)", filepath.ToSlash(path), filepath.ToSlash(filepath.Dir(testFile)))
		}
		return fail("%v", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return fail("%s is a directory, not a file", filepath.ToSlash(path))
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFixtureBytes+1))
	if err != nil {
		return fail("reading %s: %v", filepath.ToSlash(path), err)
	}
	if len(data) > maxFixtureBytes {
		return fail("%s is over the %d MiB fixture limit", filepath.ToSlash(path), maxFixtureBytes>>20)
	}
	fx := &fixture{path: path, data: data}
	if key == "json_file" {
		v, err := value.DecodeJSON(data)
		if err != nil {
			return fail("%s is not valid JSON: %v", filepath.ToSlash(path), err)
		}
		fx.json = plain(v)
	}
	return fx, nil
}

// nodes parses a JSON fixture again, keeping positions, so that reports
// can name a key's file:line:col; nil when it cannot.
func (fx *fixture) nodes() *lang.Node {
	n, err := load.ParseYAML(fx.path, fx.data)
	if err != nil {
		return nil
	}
	return n
}

// withFixture returns a webhook case's request: node with its json_file: or
// body_file: read into raw: (json_file: also sets Content-Type:
// application/json unless the request's headers give one), so that the
// webhook code sees the request as if written inline. The node is a copy;
// nil means n had neither key.
func withFixture(projDir, testFile string, n *lang.Node) (*lang.Node, *Failure) {
	if n == nil || n.Kind != lang.MapNode {
		return nil, nil
	}
	for _, key := range []string{"json_file", "body_file"} {
		fn := n.Get(key)
		if fn == nil {
			continue
		}
		fx, f := readFixture(projDir, testFile, fn, key)
		if f != nil {
			return nil, f
		}
		out := &lang.Node{Kind: lang.MapNode, Pos: n.Pos}
		hasCT := false
		for i, k := range n.Keys {
			switch k.Str {
			case "json_file", "body_file":
				continue
			case "headers":
				if h := n.Vals[i]; h.Kind == lang.MapNode {
					for _, hk := range h.Keys {
						if strings.EqualFold(hk.Str, "Content-Type") {
							hasCT = true
						}
					}
					if key == "json_file" && !hasCT {
						h2 := *h
						h2.Keys = append(append([]*lang.Node{}, h.Keys...), &lang.Node{Kind: lang.StringNode, Str: "content-type", Pos: fn.Pos})
						h2.Vals = append(append([]*lang.Node{}, h.Vals...), &lang.Node{Kind: lang.StringNode, Str: "application/json", Pos: fn.Pos})
						out.Keys, out.Vals = append(out.Keys, k), append(out.Vals, &h2)
						hasCT = true
						continue
					}
				}
			}
			out.Keys, out.Vals = append(out.Keys, k), append(out.Vals, n.Vals[i])
		}
		if key == "json_file" && !hasCT {
			out.Keys = append(out.Keys, &lang.Node{Kind: lang.StringNode, Str: "headers", Pos: fn.Pos})
			out.Vals = append(out.Vals, &lang.Node{Kind: lang.MapNode, Pos: fn.Pos,
				Keys: []*lang.Node{{Kind: lang.StringNode, Str: "content-type", Pos: fn.Pos}},
				Vals: []*lang.Node{{Kind: lang.StringNode, Str: "application/json", Pos: fn.Pos}}})
		}
		out.Keys = append(out.Keys, &lang.Node{Kind: lang.StringNode, Str: "raw", Pos: fn.Pos})
		out.Vals = append(out.Vals, &lang.Node{Kind: lang.StringNode, Str: string(fx.data), Pos: fn.Pos})
		return out, nil
	}
	return nil, nil
}
