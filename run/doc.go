// Package run owns the executor: a Runner runs the flows of one loaded
// (immutable) lang.Project for one connection. It evaluates compiled
// expressions, executes every step kind (one case per kind in execKind),
// sends HTTP requests with auth, retries and pagination, refreshes OAuth
// 2.0 tokens, enforces limits, and reports traces and positioned run errors
// with their call chains. It also runs the system flows for the hosts:
// authping, revoke, poll, and a webhook's register, deregister and event.
//
// The CLI (cmd/flowrun), the test runner (flowtest) and the trigger host
// (trigger) import it; it imports lang, value, connection and builtins, and
// never the loader or the checker.
package run
