package scaffold

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

func TestSnake(t *testing.T) {
	for in, want := range map[string]string{
		"listUsers":          "list_users",
		"get-stations":       "get_stations",
		"X-Request-Id":       "x_request_id",
		"showPetById":        "show_pet_by_id",
		"getHTTPResponse":    "get_http_response",
		"apiToken":           "api_token",
		"Okta Admin API":     "okta_admin_api",
		"2fa":                "n2fa",
		"users.list":         "users_list",
		"__x__":              "x",
		"Ärger":              "rger",
		"":                   "",
		"get /pets/ by id  ": "get_pets_by_id",
	} {
		if got := snake(in); got != want {
			t.Errorf("snake(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestQuotingRoundTrips: what str and flow write, YAML reads back unchanged.
func TestQuotingRoundTrips(t *testing.T) {
	values := []any{"plain", "a: b", "# no", "yes", "null", "1", "2024-01-01", "x, y", "[a]", "{a}", "tab\there", "new\nline",
		"'q'", `"dq"`, "ünï", "trailing ", " leading", "-", "@at", "a #b", "", "%p", "!t", "*a", "&a", "|", ">"}
	for _, v := range values {
		s := v.(string)
		var got any
		if err := yaml.Unmarshal([]byte("k: "+str(s)), &got); err != nil {
			t.Errorf("str(%q) = %s: %v", s, str(s), err)
			continue
		}
		if w := got.(map[string]any)["k"]; w != s && !(s == "" && w == "") {
			t.Errorf("str(%q) = %s reads back as %#v", s, str(s), w)
		}
	}
	v := map[string]any{"list": values, "n": uint64(1), "f": 1.5, "b": true, "nil": nil, "a: b": map[string]any{"x y": []any{}}}
	var got any
	if err := yaml.Unmarshal([]byte("k: "+flow(v)), &got); err != nil {
		t.Fatalf("flow: %v\n%s", err, flow(v))
	}
	if !reflect.DeepEqual(got.(map[string]any)["k"], v) {
		t.Errorf("flow round trip:\n got %#v\nwant %#v", got, v)
	}
}

// TestFromOpenAPIRefuses: descriptions that cannot be used are refused with
// a message naming the file and what to do.
func TestFromOpenAPIRefuses(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct{ spec, want string }{
		"swagger2": {"swagger: '2.0'\ninfo: {title: x, version: '1'}\npaths: {}\n", "Swagger 2.0"},
		"empty":    {"", "not an OpenAPI description"},
		"list":     {"[1, 2]\n", "not an OpenAPI"},
		"asyncapi": {"asyncapi: 2.6.0\n", "not an OpenAPI"},
		"nopaths":  {"openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths: {}\n", "no operations"},
		"binary":   {"\x00\xff\xfe", "not an OpenAPI"},
	} {
		p := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(p, []byte(tc.spec), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := FromOpenAPI(p, filepath.Join(dir, "out-"+name), OpenAPIOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: err = %v, want it to name %s and say %q", name, err, p, tc.want)
		}
		if _, statErr := os.Stat(filepath.Join(dir, "out-"+name)); statErr == nil {
			t.Errorf("%s: a refused description left a directory behind", name)
		}
	}
}

func TestInitRefusesNonEmptyDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Init(dir, Options{Name: "acme"})
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("Init into a non-empty dir: %v", err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "keep.txt"))
	if string(b) != "mine" {
		t.Fatal("Init touched an existing file")
	}
}

// FuzzFromOpenAPI: no description, however malformed, panics the generator;
// each either is refused or renders. $refs to files are not followed.
func FuzzFromOpenAPI(f *testing.F) {
	seeds, _ := filepath.Glob("../testdata/openapi/*")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil && len(b) < 64<<10 {
			f.Add(b)
		}
	}
	f.Add([]byte("openapi: 3.1.0\npaths:\n  /a/{b}:\n    get:\n      parameters: [{$ref: '#/nope'}]\n      responses: {'200': {$ref: '#/x'}}\n"))
	f.Add([]byte("openapi: 3.0.0\ncomponents:\n  schemas:\n    A: {properties: {a: {$ref: '#/components/schemas/A'}}}\npaths:\n  /a:\n    post:\n      requestBody: {content: {application/json: {schema: {$ref: '#/components/schemas/A'}}}}\n      responses: {default: {description: x}}\n"))
	f.Add([]byte("openapi: 3.1.0\npaths: {/x: null, /y: {get: null}}\nwebhooks: 5\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// no file is read: a fuzzed $ref could name any path on the machine
		a, err := readSpec("fuzz.yaml", data, OpenAPIOptions{noFiles: true})
		if err != nil {
			return
		}
		files := a.render()
		for name, content := range files {
			if strings.HasSuffix(name, ".yaml") {
				var v any
				if err := yaml.Unmarshal([]byte(content), &v); err != nil {
					t.Fatalf("%s is not YAML: %v\n%s", name, err, content)
				}
			}
		}
	})
}

// expandingSpec is a description of n-level schemas, each listing the next
// k times under allOf and k times as properties: no cycle, but k^n paths.
func expandingSpec(n, k int) []byte {
	var s strings.Builder
	s.WriteString("openapi: 3.0.0\ninfo: {title: x, version: '1'}\ncomponents:\n  schemas:\n    L0: {type: string}\n")
	for l := 1; l <= n; l++ {
		fmt.Fprintf(&s, "    L%d:\n      type: object\n      allOf:\n", l)
		for p := 0; p < k; p++ {
			fmt.Fprintf(&s, "        - {$ref: '#/components/schemas/L%d'}\n", l-1)
		}
		s.WriteString("      properties:\n")
		for p := 0; p < k; p++ {
			fmt.Fprintf(&s, "        p%d: {$ref: '#/components/schemas/L%d'}\n", p, l-1)
		}
	}
	top := fmt.Sprintf("{$ref: '#/components/schemas/L%d'}", n)
	fmt.Fprintf(&s, "paths:\n  /a:\n    post:\n      operationId: make_a\n      requestBody: {content: {application/json: {schema: %s}}}\n      responses: {'200': {description: ok, content: {application/json: {schema: %s}}}}\n", top, top)
	return []byte(s.String())
}

// TestExpandingSchemasAreBounded: schemas that reuse the next level many
// times expand exponentially (12 levels of 8: 8^12 paths, about 10 KB of
// description); each field and example visits at most maxSchemaNodes of
// them, so the description renders (before the bound, one of 5 KB took
// seconds and this one would take years).
func TestExpandingSchemasAreBounded(t *testing.T) {
	a, err := readSpec("expanding.yaml", expandingSpec(12, 8), OpenAPIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	files := a.render()
	var flow string
	for name, content := range files {
		if strings.HasPrefix(name, "flows/") && strings.Contains(content, "make_a") {
			flow = content
		}
	}
	if flow == "" {
		t.Fatalf("no flow for make_a among %d files", len(files))
	}
	var v any
	if err := yaml.Unmarshal([]byte(flow), &v); err != nil {
		t.Fatalf("the flow is not YAML: %v\n%s", err, flow)
	}
}
