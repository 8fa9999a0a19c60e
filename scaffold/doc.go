// Package scaffold owns `flowrun init`: it writes new connector projects,
// either a small starting project from embedded templates (Init) or one action
// flow per operation of an OpenAPI 3.0/3.1 description (FromOpenAPI), each with
// offline tests that pass as generated.
//
// It only writes files. The CLI (cmd/flowrun/init.go) loads the result with the
// loader afterwards, so a generated project that would not validate is
// reported rather than handed over.
//
// The OpenAPI reader is github.com/pb33f/libopenapi, chosen by measurement over
// github.com/getkin/kin-openapi v0.153.0 (both served by the module proxy);
// numbers of 2026-12-01, median of 5 runs, load + walk of every operation's
// parameter, request and response schemas to depth 4, on 2 shared cores:
//
//	spec (size)                         kin-openapi          libopenapi v0.42.4
//	petstore 3.0 (2.5 KB)               0.5 ms               1.0 ms
//	Redocly museum 3.1 (19 KB)          3.0 ms               3.6 ms
//	Okta management subset (132 KB)     20 ms, 10.6 MB       12 ms, 4.8 MB
//	PagerDuty REST 3.0.2 (2.8 MB)       refused: a response  183 ms, 104 MB
//	                                    $ref into requestBodies
//	PagerDuty paths x3 (6.4 MB)         refused (same)       640 ms, 254 MB
//
// Both read 3.1 (type arrays, webhooks, examples arrays). libopenapi loads
// real descriptions with mistakes that kin-openapi refuses outright, and
// allocates about half as much; kin-openapi's one advantage, converting
// Swagger 2.0, is not needed: a 2.0 document is refused with a message.
package scaffold
