// Package load owns reading a connector project: YAML files parsed with
// goccy/go-yaml into lang.Node trees that keep positions (with limits on
// size, depth and alias expansion), validated against the JSON Schemas
// (errors mapped back to their nodes, with "did you mean"), decoded into
// the lang syntax tree (one case per step kind in decode.go), and handed to
// check; test files are loaded for the test runner. The shape cache skips
// the schema pass for files it saw accepted.
//
// Project is the entry point: a project that loads is checked and immutable.
package load
