// Package webhook owns everything about one webhook delivery that must be the
// same in `flowrun validate`, `flowrun test` and `flowrun serve`:
//
//   - the signature schemes of a flow's `verify:` block (hmac_sha256 with
//     format, signed_payload, timestamp_header and tolerance;
//     standard_webhooks; shared_secret), parsed once by [Compile] into a
//     [Verifier] that verifies ([Verifier.Verify]) and signs
//     ([Verifier.Sign]) requests;
//   - the grammar of `format` and `signed_payload` and its diagnostics:
//     [Check] returns every problem with the field and byte offset of the
//     offending placeholder, for the checker behind `flowrun validate`;
//   - [Deliver], the one delivery path: read the body (1 MiB limit), verify,
//     build the `request` object the event steps see, run them, and answer
//     the sender (200, or the flow's response; 400, 401, 413, 500, 503 with
//     a [*Error] saying why).
//
// The trigger host (package trigger) and the offline test runner (package
// flowtest) both deliver through [Deliver]; the host adds its state (dedupe,
// sink, run history) through [Delivery.Seen] and [Delivery.Accept].
//
// The package imports only value of flowrun: the event steps run behind the
// small [Flow] interface, and JSON bodies are decoded with the decoder the
// caller passes ([Delivery.DecodeJSON]), so lang and the checker import this
// package without an import cycle.
package webhook
