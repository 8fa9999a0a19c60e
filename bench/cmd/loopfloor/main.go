// Command loopfloor is the process floor of the loop workload: hand-written
// Go that reads a JSON file of {"items": [...]}, decodes it with
// encoding/json and runs the loop flow's two expressions (compiled once with
// expr, one VM, one env map) over the items, printing the total as
// `flowrun run` does. flowbench runs it against `flowrun run
// workloads/loop loop --input @FILE` (see process.go).
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "loopfloor:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: loopfloor FILE.json")
	}
	data, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	var in struct {
		Items []any `json:"items"`
	}
	if err := json.Unmarshal(data, &in); err != nil {
		return err
	}
	cond, err := expr.Compile(`item.active`)
	if err != nil {
		return err
	}
	add, err := expr.Compile(`vars.total + item.amount`)
	if err != nil {
		return err
	}
	var m vm.VM
	vars := map[string]any{"total": 0}
	env := map[string]any{"vars": vars}
	for _, it := range in.Items {
		env["item"] = it
		ok, err := m.Run(cond, env)
		if err != nil {
			return err
		}
		if ok == true {
			t, err := m.Run(add, env)
			if err != nil {
				return err
			}
			vars["total"] = t
		}
	}
	out, err := json.MarshalIndent(map[string]any{"total": vars["total"]}, "", "  ")
	if err != nil {
		return err
	}
	fmt.Println(string(out))
	return nil
}
