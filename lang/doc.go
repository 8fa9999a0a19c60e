// Package lang owns the connector language's data: the YAML node tree with
// positions (Node), positions and diagnostics (Pos, Diagnostic), the syntax
// tree of a project (Project, Connector, Flow, the step kinds), values that
// hold `${ }` expressions (Value, Expr), declared fields and how values are
// checked against them (Field), the one walk over a flow's steps (Walk,
// Blocks, Values), and the names in scope in expressions, declared once with
// their check-time type and run-time value (Object, Names).
//
// The stages import it: load (YAML -> tree), check (names, types,
// expressions), run (the executor). It imports only value and expr's types.
package lang
