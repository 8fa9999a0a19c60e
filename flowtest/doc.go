// Package flowtest runs connector test suites offline: the cases of a
// project's tests/**/*.yaml files (SPEC §7) run against the interpreter with
// every HTTP request answered by the case's mocks through an in-process
// http.RoundTripper, never the network.
//
// A case names a flow, its connection, inputs and mocks, and what the run
// must produce: outputs (exact, or a subset with partial: true), an error
// (a substring, or /regex/), the events and new cursor of a poll flow, or the
// events and response of a webhook delivery. A request that no mock matches
// fails the case, naming the request and showing a diff against the nearest
// mock; a mock that was not used (as many times as its times: says) fails it
// too. Every failure carries the path:line:col of what it is about and, where
// values differ, a line-based unified diff of expected and actual JSON.
//
// Webhook cases are signed by the runner: it computes the signature the
// flow's verify block expects from the case's secret (webhook.Verifier.Sign)
// and delivers the request through webhook.Deliver, the code the trigger
// host runs, so a case sees the same answers and messages as `flowrun
// serve`. A case whose request headers already carry a signature is
// delivered as written, so suites can prove that tampered deliveries are
// refused; signed: false sends it unsigned.
//
// What a case runs, by the flow's type: action and helper flows run with
// inputs and expect outputs; authping expects {working, label, message}; a
// poll flow runs with cursor: and expects events: and expect_cursor: (its
// outputs: are {events, cursor}); a webhook case with request: is a
// delivery (events:, response:; a delivery refused by verify answers 401, a
// failed event section 500, as the trigger host does), one with only
// registration: runs deregister, and one with neither runs register and
// compares outputs: with the registration it returns. webhook.url is
// https://flowrun.test/hooks/test and webhook.secret the case's secret:.
//
// Mocks: request keys left out match anything; query and headers are
// subsets (a null value requires the key to be absent; header names match
// in any case); json is a subset unless json_exact; body is exact. Without
// times: a mock answers any number of requests and must answer at least one;
// with times: N it answers N and must answer N. With ordered: true, requests
// consume the mocks in order. Every case's clock (Runner.Now) is pinned to
// DefaultNow, or to the signed timestamp its webhook request carries; waits
// and retry back-offs do not sleep.
//
// With Options.Record, the cases run against the live service instead and the
// exchanges are written back into the test files as mocks, with secrets,
// tokens and credential headers redacted.
//
// The CLI (`flowrun test`) is the main user; it imports this package, which
// imports the interpreter and webhook packages and nothing of the CLI (nor
// the trigger host and its SQLite store).
package flowtest
