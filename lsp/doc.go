// Package lsp is flowrun's language server (`flowrun lsp`): the Language
// Server Protocol over stdio, for editors. It gives the problems `flowrun
// validate` finds, at the same positions, for the whole project on every
// change (unsaved buffers overlay the disk, so a change to a helper's inputs
// re-checks its callers); completion of keys and values from the JSON
// Schemas, of flow names after `call:`, of a called flow's inputs under
// `with:`, and inside `${ }` of the names in scope, their fields and the
// builtins; hover (builtins, keys, inputs, flows); go to definition
// (`call:` targets, `steps.<id>`, `inputs.<name>`); and document symbols.
//
// Projects are loaded with load.Inspect (a project with problems loads as
// far as it goes); the rest reads the YAML trees and, while a buffer does
// not parse mid-edit, its indentation (outline.go). The LSP types and
// dispatch are github.com/tliron/glsp's protocol_3_16; the JSON-RPC
// transport is github.com/sourcegraph/jsonrpc2.
package lsp
