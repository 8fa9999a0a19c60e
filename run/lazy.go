package run

import (
	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/value"
)

// lazyInputs splits the inputs of a run (Runner.Run) into those checked and
// coerced as usual and the lists kept undecoded (value.LazyList, made by the
// CLI for a large --input array): a list stays lazy when the flow reads it
// only as the whole list of a for_each (Flow.LoopInputs) and its field
// declares nothing to check of its items (a plain list or any, no enum, not
// secret). Every other LazyList is decoded here, so that no expression, no
// field check and no trace ever sees one; plain is in itself when it holds
// none. A lazy list stands in plain as an empty list, which its field
// accepts as it would have accepted the list.
func lazyInputs(f *lang.Flow, in map[string]any) (plain map[string]any, lazy map[string]*value.LazyList) {
	for k, v := range in {
		l, ok := v.(*value.LazyList)
		if !ok {
			continue
		}
		if plain == nil {
			plain = make(map[string]any, len(in))
			for k2, x := range in {
				plain[k2] = x
			}
		}
		fd := lang.FindField(f.Inputs, k)
		if f.LoopInputs[k] && fd != nil && (fd.Type == "list" || fd.Type == "any") && fd.Items == nil && len(fd.Enum) == 0 && !fd.Secret {
			if lazy == nil {
				lazy = map[string]*value.LazyList{}
			}
			lazy[k] = l
			plain[k] = []any{}
		} else {
			plain[k] = l.List()
		}
	}
	if plain == nil {
		return in, nil
	}
	return plain, lazy
}
