// Package value owns the plain values flows exchange and every rule that
// turns them into something else: JSON decoding (DecodeJSON; and
// DecodeJSONLazy, which keeps a large input list as text, a LazyList whose
// items decode one at a time), normalisation
// of what expressions produce (Normalize), the language's type names
// (TypeName), the one number-to-text rule and value-to-text conversion used by
// templates, query strings, headers and builtins (Text, ScalarText,
// FormatNumber), query and form encoders, equality of JSON values, and
// "did you mean" suggestions.
//
// It imports nothing of flowrun: every other package may use it.
package value
