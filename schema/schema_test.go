package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

func decodeYAML(t *testing.T, src string) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal([]byte(src), &v); err != nil {
		t.Fatalf("bad test YAML: %v\n%s", err, src)
	}
	return v
}

// kindOfFile picks the schema of a testdata file by its name.
func kindOfFile(name string) string {
	switch {
	case strings.HasPrefix(name, "connector"):
		return "connector"
	case strings.HasPrefix(name, "tests"):
		return "test"
	}
	return "flow"
}

func TestValidDocuments(t *testing.T) {
	paths, err := filepath.Glob("testdata/valid/*.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			doc := decodeYAML(t, string(src))
			for _, e := range Validate(kindOfFile(filepath.Base(path)), doc) {
				t.Errorf("%s", e)
			}
		})
	}
}

// TestValidFlowsCoverEveryTypeAndStepKind keeps the valid testdata honest.
func TestValidFlowsCoverEveryTypeAndStepKind(t *testing.T) {
	types := map[string]bool{}
	kinds := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if isStepKind(k) {
					kinds[k] = true
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	paths, _ := filepath.Glob("testdata/valid/*.yaml")
	for _, path := range paths {
		if kindOfFile(filepath.Base(path)) != "flow" {
			continue
		}
		src, _ := os.ReadFile(path)
		doc := decodeYAML(t, string(src)).(map[string]any)
		types[doc["type"].(string)] = true
		walk(doc)
	}
	for _, ft := range []string{"action", "helper", "authping", "revoke", "webhook", "poll"} {
		if !types[ft] {
			t.Errorf("no valid flow of type %s", ft)
		}
	}
	for _, k := range stepKinds() {
		if !kinds[k] {
			t.Errorf("no valid flow uses step kind %s", k)
		}
	}
}

func TestInvalidDocuments(t *testing.T) {
	tests := []struct {
		name string
		kind string
		doc  string
		want []Error
	}{
		{
			name: "flowrun version",
			kind: "connector",
			doc:  "flowrun: 2\nname: acme\n",
			want: []Error{{Path: p("flowrun"), Message: `"flowrun" must be 1 (the language version)`}},
		},
		{
			name: "flowrun as a string",
			kind: "test",
			doc:  "flowrun: \"1\"\ntests: [{name: a, flow: b}]\n",
			want: []Error{{Path: p("flowrun"), Message: `"flowrun" must be 1 (the language version)`}},
		},
		{
			name: "missing required keys",
			kind: "flow",
			doc:  "steps: []\n",
			want: []Error{
				{Message: `missing required key "flowrun"`},
				{Message: `missing required key "name"`},
				{Message: `missing required key "type"`},
			},
		},
		{
			name: "unknown top-level key",
			kind: "connector",
			doc:  "flowrun: 1\nname: acme\nbase_ur: https://x\n",
			want: []Error{{Key: "base_ur", Message: `unknown key "base_ur" in connector`,
				Allowed: []string{"base_url", "connection", "description", "flowrun", "http", "name", "title", "version"}}},
		},
		{
			name: "connector name pattern",
			kind: "connector",
			doc:  "flowrun: 1\nname: Acme-CRM\n",
			want: []Error{{Path: p("name"), Message: `"name" must start with a lower-case letter and hold only a-z, 0-9 and _`}},
		},
		{
			name: "flow type enum",
			kind: "flow",
			doc:  "flowrun: 1\nname: x\ntype: actoin\nsteps: []\n",
			want: []Error{{Path: p("type"), Message: `"type" must be one of action, helper, authping, revoke, webhook, poll`,
				Allowed: []string{"action", "authping", "helper", "poll", "revoke", "webhook"}}},
		},
		{
			name: "unknown key in http step",
			kind: "flow",
			doc:  action("- http: {methd: GET, path: /x}"),
			want: []Error{{Path: p("steps", "0", "http"), Key: "methd", Message: `unknown key "methd" in http step`,
				Allowed: []string{"auth", "body", "expect", "form", "headers", "json", "method", "omit_nulls", "on_response", "paginate", "path", "query", "retry", "timeout", "url"}}},
		},
		{
			name: "http method enum",
			kind: "flow",
			doc:  action("- http: {method: get, path: /x}"),
			want: []Error{{Path: p("steps", "0", "http", "method"), Message: `"method" must be one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS`,
				Allowed: []string{"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"}}},
		},
		{
			name: "http needs path or url",
			kind: "flow",
			doc:  action("- http: {method: GET}"),
			want: []Error{{Path: p("steps", "0", "http"), Message: `"http" needs "path" or "url"`}},
		},
		{
			name: "http path and url, json and body",
			kind: "flow",
			doc:  action("- http: {path: /x, url: 'https://x', json: {}, body: x}"),
			want: []Error{
				{Path: p("steps", "0", "http", "body"), Message: `"body" cannot be used together with "json"`},
				{Path: p("steps", "0", "http", "url"), Message: `"url" cannot be used together with "path"`},
			},
		},
		{
			name: "http details",
			kind: "flow",
			doc: action(`- http:
    path: /x
    timeout: 30
    expect: anything
    auth: true
    retry: {attempts: "3", on: [429, 99]}
    paginate: {items: response.body.data}`),
			want: []Error{
				{Path: p("steps", "0", "http", "auth"), Message: `"auth" must be false or an auth mapping`},
				{Path: p("steps", "0", "http", "expect"), Message: `"expect" must be a status, a list of statuses, or any`},
				{Path: p("steps", "0", "http", "paginate"), Message: `"paginate" needs "next" or "next_query"`},
				{Path: p("steps", "0", "http", "paginate", "items"), Message: `"items" must hold an expression written ${ ... }`},
				{Path: p("steps", "0", "http", "retry", "attempts"), Message: `expected integer, got string`},
				{Path: p("steps", "0", "http", "retry", "on", "1"), Message: `item 1 of "on" must be at least 100`},
				{Path: p("steps", "0", "http", "timeout"), Message: `"timeout" must be a duration such as 500ms, 30s, 5m or 1h30m`},
			},
		},
		{
			name: "step without kind: misspelt kind",
			kind: "flow",
			doc:  action("- sett: {a: 1}\n  name: first"),
			want: []Error{{Path: p("steps", "0"), Key: "sett", Message: `unknown key "sett" in step`, Allowed: allStepKeys}},
		},
		{
			name: "step without kind",
			kind: "flow",
			doc:  action("- name: nothing\n  then: []"),
			want: []Error{{Path: p("steps", "0"), Message: `step has no kind key: use one of call, continue_if, fail, for_each, http, if, log, return, set, switch, try, wait`,
				Allowed: []string{"call", "continue_if", "fail", "for_each", "http", "if", "log", "return", "set", "switch", "try", "wait"}}},
		},
		{
			name: "step with two kinds",
			kind: "flow",
			doc:  action("- set: {a: 1}\n  log: hi"),
			want: []Error{{Path: p("steps", "0"), Key: "log", Message: `"log" cannot be combined with "set": a step has exactly one kind key`,
				Allowed: []string{"id", "name", "set"}}},
		},
		{
			name: "companion key of another kind",
			kind: "flow",
			doc:  action("- call: helper_x\n  then: []"),
			want: []Error{{Path: p("steps", "0"), Key: "then", Message: `unknown key "then" in call step`,
				Allowed: []string{"call", "id", "name", "with"}}},
		},
		{
			name: "if needs an expression and then",
			kind: "flow",
			doc:  action("- if: inputs.x > 1"),
			want: []Error{
				{Path: p("steps", "0"), Message: `missing required key "then"`},
				{Path: p("steps", "0", "if"), Message: `"if" must hold an expression written ${ ... }, such as ${ vars.count > 0 }`},
			},
		},
		{
			name: "step is not a mapping",
			kind: "flow",
			doc:  action("- log: a\n- just text"),
			want: []Error{{Path: p("steps", "1"), Message: `expected object, got string`}},
		},
		{
			name: "for_each details in nested steps",
			kind: "flow",
			doc: action(`- try:
    - for_each: ${ inputs.items }
      as: 1x
      concurrency: 0
      steps: 5
  catch: []`),
			want: []Error{
				{Path: p("steps", "0", "try", "0", "as"), Message: `"as" must hold only letters, digits and _, and not start with a digit`},
				{Path: p("steps", "0", "try", "0", "concurrency"), Message: `"concurrency" must be at least 1`},
				{Path: p("steps", "0", "try", "0", "steps"), Message: `expected list, got integer`},
			},
		},
		{
			name: "misspelt required key is one problem",
			kind: "flow",
			doc:  action("- fail: {mesage: boom}"),
			want: []Error{{Path: p("steps", "0", "fail"), Key: "mesage", Message: `unknown key "mesage" in fail`,
				Allowed: []string{"code", "details", "message"}}},
		},
		{
			name: "switch items",
			kind: "flow",
			doc: action(`- switch:
    - when: ${ inputs.a }
    - default: []
      when: ${ inputs.b }`),
			want: []Error{
				{Path: p("steps", "0", "switch", "0"), Message: `missing required key "steps"`},
				{Path: p("steps", "0", "switch", "1"), Key: "when", Message: `unknown key "when" in switch default`, Allowed: []string{"default"}},
			},
		},
		{
			name: "wait duration",
			kind: "flow",
			doc:  action("- wait: 5 minutes"),
			want: []Error{{Path: p("steps", "0", "wait"), Message: `"wait" must be a duration such as 500ms, 30s or 5m, or a ${ expression }`}},
		},
		{
			name: "webhook keys on an action, poll keys too",
			kind: "flow",
			doc:  action("- log: x") + "verify: {scheme: hmac_sha256}\nschedule: 5m\n",
			want: []Error{
				{Path: p("schedule"), Message: `"schedule" is only allowed in poll flows`},
				{Path: p("verify"), Message: `"verify" is only allowed in webhook flows`},
			},
		},
		{
			name: "misspelt key of a needs-one-of pair is one problem",
			kind: "flow",
			doc:  action("- http: {pth: /users}"),
			want: []Error{{Path: p("steps", "0", "http"), Key: "pth", Message: `unknown key "pth" in http step`,
				Allowed: []string{"auth", "body", "expect", "form", "headers", "json", "method", "omit_nulls", "on_response", "paginate", "path", "query", "retry", "timeout", "url"}}},
		},
		{
			name: "misspelt companion key is one problem",
			kind: "flow",
			doc:  action("- for_each: ${ inputs.items }\n  step: []"),
			want: []Error{{Path: p("steps", "0"), Key: "step", Message: `unknown key "step" in for_each step`,
				Allowed: []string{"as", "collect", "concurrency", "continue_on_error", "for_each", "id", "index", "name", "steps"}}},
		},
		{
			name: "webhook flow without event",
			kind: "flow",
			doc:  "flowrun: 1\nname: hook\ntype: webhook\n",
			want: []Error{{Message: `missing required key "event"`}},
		},
		{
			name: "webhook flow shape",
			kind: "flow",
			doc:  "flowrun: 1\nname: hook\ntype: webhook\nsteps: []\ndedupe: ${ event.id }\n",
			want: []Error{
				{Path: p("steps"), Message: `"steps" is not used by webhook flows: put the steps under register, deregister and event`},
			},
		},
		{
			name: "poll flow needs schedule and steps",
			kind: "flow",
			doc:  "flowrun: 1\nname: p\ntype: poll\ndedupe: event.id\n",
			want: []Error{
				{Message: `missing required key "schedule"`},
				{Message: `missing required key "steps"`},
				{Path: p("dedupe"), Message: `"dedupe" must hold an expression written ${ ... }`},
			},
		},
		{
			name: "verify needs header for hmac_sha256",
			kind: "flow",
			doc:  "flowrun: 1\nname: hook\ntype: webhook\nverify: {scheme: hmac, secret: x}\nevent: {steps: []}\n",
			want: []Error{{Path: p("verify", "scheme"), Message: `"scheme" must be one of hmac_sha256, standard_webhooks, shared_secret`,
				Allowed: []string{"hmac_sha256", "shared_secret", "standard_webhooks"}}},
		},
		{
			name: "fields",
			kind: "flow",
			doc: `flowrun: 1
name: f
type: helper
inputs:
  bad-name: string
  a: strin
  b: {type: string, items: string}
  c: 5
  d: {type: list, items: {type: object, properties: {x: {typ: string}}}}
steps: []
`,
			want: []Error{
				{Path: p("inputs"), Key: "bad-name", Message: `invalid name "bad-name": names hold only letters, digits and _, and do not start with a digit`},
				{Path: p("inputs", "a"), Message: `"a" must be one of string, number, integer, boolean, datetime, object, list, any`,
					Allowed: []string{"any", "boolean", "datetime", "integer", "list", "number", "object", "string"}},
				{Path: p("inputs", "b", "items"), Message: `"items" is only used with type: list`},
				{Path: p("inputs", "c"), Message: `expected string or object, got integer`},
				{Path: p("inputs", "d", "items", "properties", "x"), Key: "typ", Message: `unknown key "typ" in field`,
					Allowed: []string{"default", "description", "enum", "items", "properties", "required", "secret", "title", "type"}},
			},
		},
		{
			name: "connector auth",
			kind: "connector",
			doc: `flowrun: 1
name: acme
connection:
  params: {api_key: {type: string, secret: yes}}
  auth:
    type: basic
    bearer: {token: x}
http: {retry: {attempts: 0}}
`,
			want: []Error{
				{Path: p("connection", "auth", "bearer"), Message: `"bearer" is only used with type: bearer`},
				{Path: p("connection", "params", "api_key", "secret"), Message: `expected boolean, got string`},
				{Path: p("http", "retry", "attempts"), Message: `"attempts" must be at least 1`},
			},
		},
		{
			name: "oauth2",
			kind: "connector",
			doc: `flowrun: 1
name: acme
connection:
  auth:
    type: oauth2
    oauth2: {grant: authorization_code, token_url: x, client_auth: form}
`,
			want: []Error{
				{Path: p("connection", "auth", "oauth2"), Message: `missing required key "authorize_url"`},
				{Path: p("connection", "auth", "oauth2", "client_auth"), Message: `"client_auth" must be one of basic, post`, Allowed: []string{"basic", "post"}},
			},
		},
		{
			name: "test file",
			kind: "test",
			doc: `flowrun: 1
tests:
  - name: x
    flow: create_user
    outputs: {}
    error: boom
    http:
      - request: {methd: GET}
        response: {status: 700, json: {}, body: x}
        times: 0
  - flow: y
    request: {body: {}, raw: x}
    cursor: null
`,
			want: []Error{
				{Path: p("tests", "0", "error"), Message: `"error" cannot be used together with "outputs"`},
				{Path: p("tests", "0", "http", "0", "request"), Key: "methd", Message: `unknown key "methd" in mock request`,
					Allowed: []string{"body", "headers", "json", "json_exact", "method", "path", "query"}},
				{Path: p("tests", "0", "http", "0", "response", "body"), Message: `"body" cannot be used together with "json"`},
				{Path: p("tests", "0", "http", "0", "response", "status"), Message: `"status" must be at most 599`},
				{Path: p("tests", "0", "http", "0", "times"), Message: `"times" must be at least 1`},
				{Path: p("tests", "1"), Message: `missing required key "name"`},
				{Path: p("tests", "1", "request", "raw"), Message: `"raw" cannot be used together with "body"`},
			},
		},
		{
			name: "empty test list",
			kind: "test",
			doc:  "flowrun: 1\ntests: []\n",
			want: []Error{{Path: p("tests"), Message: `"tests" must not be empty`}},
		},
		{
			name: "document is not a mapping",
			kind: "flow",
			doc:  "- a\n- b\n",
			want: []Error{{Message: `expected object, got list`}},
		},
		{
			name: "errors sort by path with numeric indexes",
			kind: "flow",
			doc:  action(strings.Repeat("- log: x\n", 10) + "- wait: 1\n- 2"),
			want: []Error{
				{Path: p("steps", "10", "wait"), Message: `"wait" must be a duration such as 500ms, 30s or 5m, or a ${ expression }`},
				{Path: p("steps", "11"), Message: `expected object, got integer`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Validate(tt.kind, decodeYAML(t, tt.doc))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate(%s):\n got: %s\nwant: %s", tt.kind, show(got), show(tt.want))
			}
		})
	}
}

var allStepKeys = []string{"as", "call", "catch", "collect", "concurrency", "continue_if", "continue_on_error",
	"else", "fail", "for_each", "http", "id", "if", "index", "log", "message", "name", "return", "set",
	"steps", "switch", "then", "try", "wait", "with"}

// action wraps steps (YAML list items, indented by the caller from column 0)
// in a valid action flow.
func action(steps string) string {
	var b strings.Builder
	b.WriteString("flowrun: 1\nname: a\ntype: action\nsteps:\n")
	for _, line := range strings.Split(strings.TrimRight(steps, "\n"), "\n") {
		b.WriteString("  " + line + "\n")
	}
	return b.String()
}

func p(keys ...string) []string { return keys }

func show(errs []Error) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "\n  {Path: %q, Key: %q, Message: %q, Allowed: %q}", e.Path, e.Key, e.Message, e.Allowed)
	}
	return b.String()
}

func TestValidateNormalizesGoValues(t *testing.T) {
	doc := map[any]any{
		"flowrun": 1, // int, not int64
		"name":    "acme",
		"http": map[string]any{
			"retry": map[string]any{"attempts": uint8(2), "on": []int{429, 503}},
		},
	}
	if errs := Validate("connector", doc); len(errs) != 0 {
		t.Errorf("Validate: %s", show(errs))
	}
	doc["flowrun"] = 1.5
	want := []Error{{Path: p("flowrun"), Message: `"flowrun" must be 1 (the language version)`}}
	if got := Validate("connector", doc); !reflect.DeepEqual(got, want) {
		t.Errorf("got %s, want %s", show(got), show(want))
	}
}

// TestAlternatives checks that of a oneOf's failing branches only the one
// that got furthest is reported (the language's schemas avoid oneOf, but the
// reporter must not dump every branch should one appear).
func TestAlternatives(t *testing.T) {
	s, raw, err := compile([]byte(`{
		"$schema": "https://json-schema.org/draft/2020-12/schema",
		"$id": "https://example.com/alt.json",
		"oneOf": [
			{"type": "string"},
			{"type": "object", "title": "thing", "properties": {"a": {"type": "integer"}}, "additionalProperties": false}
		]
	}`))
	if err != nil {
		t.Fatal(err)
	}
	c := &compiled{schema: s, raw: raw}
	got := c.check(map[string]any{"a": "x"})
	want := []Error{{Path: p("a"), Message: "expected integer, got string"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %s, want %s", show(got), show(want))
	}
	got = c.check(true)
	want = []Error{{Message: "expected string, got boolean"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %s, want %s", show(got), show(want))
	}
}

func TestValidateConcurrently(t *testing.T) {
	doc := decodeYAML(t, action("- wait: soon"))
	want := Validate("flow", doc)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if got := Validate("flow", doc); !reflect.DeepEqual(got, want) {
					t.Errorf("got %s, want %s", show(got), show(want))
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestValidateUnknownKind(t *testing.T) {
	got := Validate("conector", map[string]any{})
	if len(got) != 1 || !strings.Contains(got[0].Message, `unknown schema kind "conector"`) {
		t.Errorf("got %s", show(got))
	}
}

func TestKindsAndJSON(t *testing.T) {
	if got := Kinds(); !reflect.DeepEqual(got, []string{"connector", "flow", "test"}) {
		t.Errorf("Kinds() = %q", got)
	}
	if _, ok := JSON("nope"); ok {
		t.Error(`JSON("nope") reported ok`)
	}
	for _, k := range Kinds() {
		b, ok := JSON(k)
		if !ok {
			t.Fatalf("JSON(%q) missing", k)
		}
		if !json.Valid(b) {
			t.Fatalf("JSON(%q) is not valid JSON", k)
		}
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		if doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
			t.Errorf("%s: $schema = %v", k, doc["$schema"])
		}
		if id, _ := doc["$id"].(string); !strings.HasSuffix(id, "/"+k+".schema.json") {
			t.Errorf("%s: $id = %v", k, doc["$id"])
		}
	}
}

// TestSchemasCompile compiles each document with a fresh compiler, and checks
// it against the draft 2020-12 metaschema.
func TestSchemasCompile(t *testing.T) {
	for _, k := range Kinds() {
		b, _ := JSON(k)
		if _, _, err := compile(b); err != nil {
			t.Errorf("%s: %v", k, err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		c := jsonschema.NewCompiler()
		meta, err := c.Compile("https://json-schema.org/draft/2020-12/schema")
		if err != nil {
			t.Fatal(err)
		}
		if err := meta.Validate(doc); err != nil {
			t.Errorf("%s does not validate against the 2020-12 metaschema: %v", k, err)
		}
	}
}

// TestSchemaDocumentation walks each document: every property has a
// description, every closed mapping a title (used in messages), and every
// pattern an errorMessage. Subschemas under `if` are conditions, not docs.
func TestSchemaDocumentation(t *testing.T) {
	for _, k := range Kinds() {
		b, _ := JSON(k)
		var doc any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		count := 0
		var walk func(v any, at string)
		walk = func(v any, at string) {
			m, ok := v.(map[string]any)
			if !ok {
				return // a boolean schema
			}
			if ps, ok := m["properties"].(map[string]any); ok {
				for name, ps := range ps {
					count++
					pm, _ := ps.(map[string]any)
					if d, _ := pm["description"].(string); strings.TrimSpace(d) == "" {
						t.Errorf("%s: %s/properties/%s has no description", k, at, name)
					}
				}
			}
			if m["additionalProperties"] == false {
				if title, _ := m["title"].(string); title == "" {
					t.Errorf("%s: %s is closed but has no title", k, at)
				}
			}
			if _, ok := m["pattern"]; ok {
				if msg, _ := m["errorMessage"].(string); msg == "" {
					t.Errorf("%s: %s has a pattern but no errorMessage", k, at)
				}
			}
			keys := make([]string, 0, len(m))
			for key := range m {
				keys = append(keys, key)
			}
			sort.Strings(keys)
			for _, key := range keys {
				switch key {
				case "properties", "patternProperties", "$defs", "dependentSchemas":
					sub, _ := m[key].(map[string]any)
					for name, s := range sub {
						walk(s, at+"/"+key+"/"+name)
					}
				case "allOf", "anyOf", "oneOf", "prefixItems":
					sub, _ := m[key].([]any)
					for i, s := range sub {
						walk(s, fmt.Sprintf("%s/%s/%d", at, key, i))
					}
				case "items", "additionalProperties", "not", "then", "else", "propertyNames", "contains":
					walk(m[key], at+"/"+key)
				}
				// "if" holds conditions, not documentation; other keywords are not schemas.
			}
		}
		walk(doc, "#")
		if count < 20 {
			t.Errorf("%s: only %d properties found", k, count)
		}
	}
}

// TestEmbeddedCompileSkipsMetaschema pins what compileEmbedded relies on
// (see trustedBase): documents registered under json-schema.org are not
// checked against the metaschema, while compile checks them. If jsonschema/v6
// changes this, the embedded schemas are only compiled more slowly; this test
// says so.
func TestEmbeddedCompileSkipsMetaschema(t *testing.T) {
	bad := []byte(`{"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "https://example.com/bad.json", "type": 5}`)
	if _, _, err := compile(bad); err == nil {
		t.Error("compile accepted a schema whose type is 5")
	}
	if _, _, err := compileEmbedded(bad); err != nil {
		t.Errorf("compileEmbedded checked the metaschema (the cold-start shortcut no longer works): %v", err)
	}
}

// TestLazyMetaschemas checks the patched jsonschema (third_party/jsonschema,
// PATCHED.md): the metaschemas, now compiled on first use, still reject a
// schema that breaks them, also when the first uses race.
func TestLazyMetaschemas(t *testing.T) {
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bad := fmt.Sprintf(`{"$id": "https://example.com/bad%d.json", "type": 12}`, i)
			if _, _, err := compile([]byte(bad)); err == nil {
				t.Errorf("a schema with \"type\": 12 compiled")
			}
			b, _ := JSON("flow")
			if _, _, err := compile(b); err != nil {
				t.Errorf("flow: %v", err)
			}
		}()
	}
	wg.Wait()
}
