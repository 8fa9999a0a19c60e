// Package gen builds the JSON Schema documents of the flowrun connector
// language (connector.schema.json, flow.schema.json, test.schema.json).
//
// The documents are checked in under schema/ and embedded there; the schema
// package's tests compare them with Documents, and
// `go test ./schema -run TestSchemaFilesUpToDate -update` rewrites them.
// Edit the schema here, not in the JSON files.
package gen

import (
	"fmt"
	"slices"
)

// BaseURL is where the documents are published; each document's $id is
// BaseURL + its file name.
const BaseURL = "https://raw.githubusercontent.com/flowrun/flowrun/main/schema/"

// Files maps a schema kind to its file name.
var Files = map[string]string{
	"connector": "connector.schema.json",
	"flow":      "flow.schema.json",
	"test":      "test.schema.json",
}

// Documents returns each schema document by file name, indented JSON.
func Documents() (map[string][]byte, error) {
	d := defs()
	roots := map[string]*Node{
		"connector": connectorRoot(),
		"flow":      flowRoot(),
		"test":      testRoot(),
	}
	out := map[string][]byte{}
	for kind, root := range roots {
		file := Files[kind]
		doc := o("$schema", "https://json-schema.org/draft/2020-12/schema", "$id", BaseURL+file)
		doc.kvs = append(doc.kvs, root.kvs...)
		used, err := reachable(root, d)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		ds := &Node{}
		for _, name := range used {
			ds.kvs = append(ds.kvs, kv{name, d[name]})
		}
		doc = doc.with("$defs", ds)
		b, err := indent(doc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		out[file] = b
	}
	return out, nil
}

// reachable lists, sorted, the defs that root refers to, directly or not.
func reachable(root *Node, d map[string]*Node) ([]string, error) {
	seen := map[string]bool{}
	var missing error
	var visit func(v any)
	visit = func(v any) {
		refs(v, func(name string) {
			if seen[name] {
				return
			}
			def, ok := d[name]
			if !ok {
				missing = fmt.Errorf("undefined $defs entry %q", name)
				return
			}
			seen[name] = true
			visit(def)
		})
	}
	visit(root)
	if missing != nil {
		return nil, missing
	}
	var names []string
	for n := range seen {
		names = append(names, n)
	}
	slices.Sort(names)
	return names, nil
}

func connectorRoot() *Node {
	return closed("connector",
		"connector.yaml: a connector's identity, its connection (how requests are authorised) and its HTTP defaults.",
		[]prop{
			p("flowrun", "The language version. Every flowrun file starts with `flowrun: 1`.", ref("version")),
			p("name", "The connector's unique key, e.g. `acme`: a lower-case letter, then a-z, 0-9 and _.", ref("name")),
			p("title", "A human name, e.g. `Acme CRM`.", str()),
			p("version", "The connector's own version, e.g. `0.3.0`.", str()),
			p("description", "What the connector does.", str()),
			p("base_url", "The URL that `http` steps' `path` joins; may hold expressions, e.g. `https://${ connection.subdomain }.acme.example/api/v2`.", ref("template")),
			p("connection", "What a user supplies when creating a connection (`params`) and how requests are authorised (`auth`).", ref("connection")),
			p("http", "Defaults for every `http` step: `timeout`, `headers`, `retry`, `on_response`, `rate_limit`.", ref("http_defaults")),
		}, "flowrun", "name")
}

func flowRoot() *Node {
	webhookOnly := func() *Node {
		m := forbid("is only allowed in webhook flows")
		return o("verify", m, "register", m, "deregister", m, "event", m)
	}
	pollOnly := forbid("is only allowed in poll flows")
	others := []string{"action", "helper", "authping", "revoke"}

	notWebhook := webhookOnly()
	notWebhook = notWebhook.with("schedule", pollOnly).with("dedupe", forbid("is only allowed in poll and webhook flows"))

	return closed("flow",
		"A flow: one file under flows/. `type` says when it runs and what it sees.",
		[]prop{
			p("flowrun", "The language version. Every flowrun file starts with `flowrun: 1`.", ref("version")),
			p("name", "The flow's name, unique in the project, used by `call` and `flowrun run`.", ref("name")),
			p("type", "`action`: a user runs it. `helper`: other flows call it. `authping`: checks a connection. `revoke`: revokes a connection. `webhook`: turns webhook requests into events. `poll`: produces events on a schedule.",
				enum(flowTypes...)),
			p("title", "A human name, e.g. `Create User`.", str()),
			p("description", "What the flow does.", str()),
			p("timeout", "Optional: the longest the whole flow may run, e.g. `5m`.", ref("duration")),
			p("inputs", "The flow's inputs by name, read as `inputs.<name>`; checked and defaults filled before the first step.", ref("fields")),
			p("outputs", "The flow's outputs by name, checked at `return`. For webhook and poll flows: the shape of one event.", ref("fields")),
			p("steps", "The flow's steps, run in order (all types but webhook).", ref("steps")),
			p("verify", "Webhook flows: how a request's signature is checked before `event` runs.", ref("verify")),
			p("register", "Webhook flows: registers the webhook; sees `webhook.url` and `webhook.secret` and returns the registration data.", ref("register")),
			p("deregister", "Webhook flows: removes the webhook; sees `registration`. Optional: without it, `flowrun trigger off` forgets the registration and nothing is undone at the service.", ref("deregister")),
			p("event", "Webhook flows: handles one request; sees `request` and `registration` and returns `{events: [...], response?}`.", ref("event")),
			p("schedule", "Poll flows: the interval between runs, at least `1m`.", ref("duration")),
			p("dedupe", "Poll and webhook flows: a key for each event, e.g. `${ event.id }` (webhooks also see `request`, e.g. a delivery id header); an event whose key was seen before is dropped.", ref("expr")),
		}, "flowrun", "name", "type").with("allOf", allOf(
		when(keyIn("type", "webhook"), o(
			// Steps at the top level get their own error, which says where
			// they belong; a missing event would repeat it.
			"if", o("not", o("required", []string{"steps"})),
			"then", o("required", []string{"event"}),
			"properties", o(
				"steps", forbid("is not used by webhook flows: put the steps under register, deregister and event"),
				"schedule", pollOnly))),
		when(keyIn("type", "poll"), o(
			"required", []string{"schedule", "steps"},
			"properties", webhookOnly())),
		when(keyIn("type", others...), o(
			"required", []string{"steps"},
			"properties", notWebhook)),
	))
}

func testRoot() *Node {
	return closed("test file",
		"A test suite under tests/, run offline by `flowrun test`: HTTP is answered by the cases' mocks.",
		[]prop{
			p("flowrun", "The language version. Every flowrun file starts with `flowrun: 1`.", ref("version")),
			p("tests", "The test cases.", listOf(ref("test_case")).with("minItems", 1)),
		}, "flowrun", "tests")
}
