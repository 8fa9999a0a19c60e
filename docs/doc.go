// Package docs holds the flowrun language reference: the Markdown pages in
// this directory, which are what users read (start at README.md).
//
// The package has no code of its own. Its tests keep the pages true:
//
//   - every key of the three JSON Schemas (connector, flow, test) appears in
//     the pages as `key`;
//   - builtins.md is the output of builtins.Markdown() (rewrite it with
//     FLOWRUN_UPDATE=1 go test ./docs);
//   - every YAML example is extracted and checked: project files are loaded
//     with the loader (and their test suites run), connection files are
//     checked for their keys, and an example marked bad must fail with the
//     error printed after it;
//   - every link is relative, stays inside the repository and resolves to an
//     existing file (and heading), and every page is reachable from
//     README.md.
//
// The conventions for examples are described in README.md ("How the
// examples are checked").
package docs
