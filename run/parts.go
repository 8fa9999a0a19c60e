package run

import (
	"context"
	"fmt"
	"maps"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/value"
)

// LoopPart is a part of a for_each that a host runs elsewhere
// (Runner.RunPart): which loop, the names in scope where it stands, and
// the part's items. Its values are plain (JSON-like), so a host can send
// it as JSON.
type LoopPart struct {
	Flow string // the flow holding the loop
	// Loop is the for_each step's position in its flow's file, "line:col"
	// (the same on every machine that loaded the project).
	Loop string
	// Scope holds the names in scope at the loop (inputs, vars, steps, the
	// variables of enclosing loops, ...), not the connection and
	// connector, which the host's runner has.
	Scope  map[string]any
	Offset int   // the index of Items[0] in the loop's list
	Items  []any // the part's items
}

// LoopPartResult is what a part of a loop gave.
type LoopPartResult struct {
	Results  []any          // the collected values, in input order (collect only)
	Vars     map[string]any // vars after the part
	Steps    map[string]any // the results of the loop body's steps after the part
	Returned bool           // a return in the body ended the flow,
	Return   any            // with these outputs
}

// loopPos is a loop step's LoopPart.Loop.
func loopPos(s *lang.ForEachStep) string { return fmt.Sprintf("%d:%d", s.Pos.Line, s.Pos.Col) }

// hostNames are the names in scope a host's runner gives every frame
// itself: they do not travel with a LoopPart.
var hostNames = map[string]bool{"connection": true, "connector": true, lang.MemoryName: true, lang.ClockName: true, lang.UUIDName: true}

// forEachParts runs a loop in parts through Runner.RunPart.
func (fr *frame) forEachParts(s *lang.ForEachStep, items forItems) (control, any, error) {
	r := fr.run.r
	scope := make(map[string]any, len(fr.ev.env))
	for k, v := range fr.ev.env {
		if !hostNames[k] {
			scope[k] = v
		}
	}
	// the collected values are charged to the run's memory budget while
	// the loop runs, as when it runs here
	var col collected
	defer col.release(fr.run)
	var results []any
	if s.Collect != nil {
		results = make([]any, 0, items.len())
		if err := col.add(fr.run, int64(items.len())*collectSlot); err != nil {
			return ctlNext, nil, err
		}
	}
	for off := 0; off < items.len(); off += r.LoopPart {
		part := make([]any, 0, min(r.LoopPart, items.len()-off))
		for i := off; i < off+cap(part); i++ {
			part = append(part, items.at(i))
		}
		res, err := r.RunPart(fr.ctx, LoopPart{Flow: fr.flow.Name, Loop: loopPos(s), Scope: scope, Offset: off, Items: part})
		if err != nil {
			return ctlNext, nil, err
		}
		// the frame's maps are the scope's: the next part sees the writes
		if len(res.Vars) > 0 {
			maps.Copy(fr.vars, res.Vars)
		}
		if len(res.Steps) > 0 {
			maps.Copy(fr.steps, res.Steps)
		}
		if res.Returned {
			fr.ret = res.Return
			return ctlReturn, nil, nil
		}
		if s.Collect != nil {
			for _, v := range res.Results {
				if err := col.add(fr.run, fr.run.mem.size(v)-value.SizeScalar); err != nil {
					return ctlNext, nil, fr.wrap(s, err)
				}
			}
			results = append(results, res.Results...)
		}
	}
	if results == nil {
		results = []any{}
	}
	return ctlNext, results, nil
}

// RunLoopPart runs a part of a loop (Runner.RunPart's LoopPart) and says
// what it gave. A flow error is a *RunError, as from Run.
func (r *Runner) RunLoopPart(ctx context.Context, p LoopPart) (res LoopPartResult, err error) {
	defer recoverRun(&err)
	if err := r.checkConnection(); err != nil {
		return res, err
	}
	f := r.Project.Flow(p.Flow)
	if f == nil {
		return res, &RequestError{Msg: fmt.Sprintf("no flow named %q", p.Flow)}
	}
	var loop *lang.ForEachStep
	for sec := range lang.NumSections {
		lang.Walk(f.Section(sec), func(st lang.Step) bool {
			if l, ok := st.(*lang.ForEachStep); ok && loopPos(l) == p.Loop {
				loop = l
			}
			return loop == nil
		})
	}
	if loop == nil {
		return res, &RequestError{Msg: fmt.Sprintf("flow %q has no for_each at %s (was the project changed?)", p.Flow, p.Loop)}
	}
	ru := r.newRun(ctx, r.Connection)
	fr := &frame{run: ru, ctx: ctx, flow: f}
	env := make(map[string]any, len(p.Scope)+5)
	maps.Copy(env, p.Scope)
	fr.vars, _ = env["vars"].(map[string]any)
	if fr.vars == nil {
		fr.vars = map[string]any{}
	}
	fr.steps, _ = env["steps"].(map[string]any)
	if fr.steps == nil {
		fr.steps = map[string]any{}
	}
	env["vars"], env["steps"] = fr.vars, fr.steps
	env["connection"], env["connector"] = ru.connEnv, ru.conEnv
	if !memoryOff {
		env[lang.MemoryName] = ru.mem
	}
	if r.Now != nil {
		env[lang.ClockName] = r.Now
	}
	if r.UUID != nil {
		env[lang.UUIDName] = r.UUID
	}
	fr.ev.env = env
	fr.ev.acquire(ru.limits.ExprMemory)
	defer fr.ev.release()
	defer fr.releaseHeld()
	ctl, out, err := fr.forEachItems(loop, forItems{list: p.Items}, p.Offset)
	if err != nil {
		return res, fr.wrap(loop, err)
	}
	res.Vars = fr.vars
	res.Steps = map[string]any{}
	lang.Walk(loop.Steps, func(st lang.Step) bool {
		if id := st.Base().ID; id != "" {
			if v, ok := fr.steps[id]; ok {
				res.Steps[id] = v
			}
		}
		return true
	})
	if ctl == ctlReturn {
		res.Returned, res.Return = true, value.Normalize(fr.ret)
		return res, nil
	}
	res.Results, _ = out.([]any)
	return res, nil
}
