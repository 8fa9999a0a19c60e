package lang

// MemoryName is the scope name under which a run puts its memory budget (a
// MemoryBudget) for the expressions that build strings and lists: check
// rewrites `a + b` (on what it knows is a string or a list), `join`, `repeat`, `replace`, `toJSON`, `string`,
// `jsonEncode` and `toString` to ask it before they build their result
// (check/memory.go). No expression can spell the name; without it in scope
// nothing is checked.
const MemoryName = "flowrun memory"

// MemoryBudget is what a run's memory budget offers expressions.
type MemoryBudget interface {
	// Check returns an error when n more bytes would exceed the budget.
	Check(n int64) error
	// Limit is the budget in bytes, to stop measuring early.
	Limit() int64
}
