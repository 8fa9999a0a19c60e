// Package interpreter owns the flowrun connector language from YAML to
// execution: the loader (yaml.go: goccy/go-yaml into a Node tree that keeps
// positions; load.go and check.go: schema validation mapped back to nodes,
// names, references, flow-type contracts, and every `${ }` compiled once with
// expr against a typed environment) produces an immutable *Project, and the
// executor (run.go, eval.go, http.go, auth.go, connection.go, system.go) runs
// its flows: every step kind, typed inputs and outputs, HTTP with retries and
// pagination, connection auth, limits and traces.
//
// The CLI (cmd/flowrun), the test runner (flowtest) and the trigger host
// (trigger) import it; it imports schema and builtins, and nothing above it.
package interpreter
