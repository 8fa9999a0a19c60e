// Package check owns the checks of a decoded project that need more than
// its shape: every `${ }` expression compiled once (expr) against the names
// in scope where it stands, with their types; step references that are
// unknown, later, or not defined on every path; calls against the called
// flow's inputs; returns against the flow's contract; literal and typed
// values against declared fields; and the analyses runs read (lang.Flow's
// UsesFlow, Reads, Writes, InputsEscape, LoopInputs). Problems are lang.Diagnostics with positions
// inside the YAML scalar.
//
// The loader (load) calls Project once per load; nothing else mutates the
// tree, so a loaded project is immutable and any number of runs share it.
package check
