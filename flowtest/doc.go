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
// Mocks (SPEC §7, §8.7): request keys left out match anything; query and
// headers are subsets (header names match in any case); json is a subset
// unless json_exact; body is exact. Values may be matchers ({$any: true},
// {$regex: "..."}, {$absent: true}; a null query or header value also means
// absent), anywhere in query, headers and json, and in expectations too. A
// mock answers once, times: N answers N requests, times: any any number (at
// least one); among the mocks that match a request, the first one not used
// up answers, and a times: any mock only when no other does. With ordered:
// true, requests consume the mocks in order. A mock may answer with a
// network fault (connection_refused, timeout, reset: the errors the Go
// network stack gives, so retries apply as live), or with a body read from
// a file beside the suite (json_file:, body_file:). Every case's clock
// (Runner.Now, now() in expressions included) is pinned to its now:, else to
// the signed timestamp its webhook request carries, else DefaultNow; waits
// and retry back-offs do not sleep. Poll and webhook events are dropped by
// their dedupe key as the trigger host drops them: keys listed in seen:, and
// repeats within the case. Failures are redacted as traces are.
//
// With Options.Record, the cases run against the live service instead and the
// exchanges are written back into the test files as mocks, with secrets,
// tokens and credential headers redacted, in the 1.1 style (once; a UUID the
// flow generated becomes a $regex matcher). With Options.VerifyLive, the
// cases run against their mocks with the live connection, and each safe
// request is also sent live to compare the response's shape with the
// fixture's (verify.go).
//
// The CLI (`flowrun test`) is the main user; it imports this package, which
// imports the interpreter and webhook packages and nothing of the CLI (nor
// the trigger host and its SQLite store).
package flowtest
