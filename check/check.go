package check

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"unsafe"

	"github.com/expr-lang/expr/checker/nature"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/types"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/value"
	"github.com/flowrun/flowrun/webhook"
)

// projChecker holds what one project's check needs across flows.
type projChecker struct {
	proj   *lang.Project
	broken map[string]bool // flows whose files did not parse: calls to them are not reported
	d      *lang.Diags

	// cfg is the one expr configuration of the project's check, built on
	// first use; compile sets its environment to the scope's before each
	// expression (the check is sequential). natures caches the nature of
	// each types.Map in scope by identity: the maps are not changed once
	// they are in a scope.
	cfg     *conf.Config
	natures map[unsafe.Pointer]nature.Nature
	compile bool // compile programs, not only check (Project)
	// the types of `connection` and `flow`, the same in every flow
	connType, flowType types.Type
}

// Project checks a decoded project: the expressions of connector.yaml and
// of the given flows are compiled against the names in scope where they
// stand, step references, calls, returns and types are checked, and each
// flow's analyses are stored on it. Problems are added to d. broken names
// flows whose files did not load (calls to them are not reported again).
// Without compile, the expressions are checked but not compiled to programs
// (their Program stays nil): what validate and the editor need, about a
// fifth less work; a run of such a project fails on its first expression.
func Project(p *lang.Project, flows []*lang.Flow, broken map[string]bool, d *lang.Diags, compile bool) {
	c := &projChecker{proj: p, broken: broken, d: d, compile: compile}
	c.connector(p.Connector)
	for _, f := range flows {
		c.flow(f)
		analyze(f)
	}
}

// scope is where an expression is compiled: the names in scope and their
// types, and which step results are defined on every path to this point.
type scope struct {
	c        *projChecker
	flow     *lang.Flow
	env      types.Map
	envObj   types.Map      // env with the clock, built on first compile
	nt       *nature.Nature // env's nature, built on first compile
	allIDs   map[string]bool
	stepType map[string]types.Type
	definite map[string]bool
	ran      map[string]bool // step ids met so far, on any path (shared by a section's scopes)
	vars     map[string]int  // how often each variable is set in this section
	// for_each bodies with concurrency > 1: variables set inside them
	parallel []map[string]int
	returns  *[]*lang.ReturnStep
}

func (s *scope) with(names types.Map) *scope {
	c := *s
	c.env = maps.Clone(s.env)
	maps.Copy(c.env, names)
	c.envObj, c.nt = nil, nil
	c.definite = maps.Clone(s.definite)
	return &c
}

// config returns the project's compile configuration set to this scope's
// environment. The configuration (builtins, functions, the nature cache) is
// built once per project; a scope computes its environment's nature once, and
// the natures of the names it shares with other scopes (inputs, connection,
// ...) are computed once per project (see projChecker.typeNature).
func (s *scope) config() *conf.Config {
	if s.nt == nil {
		s.envObj = withClock(s.env) // see clock.go
		nt := s.c.envNature(s.envObj)
		s.nt = &nt
	}
	c := s.c.baseConfig()
	c.EnvObject = s.envObj
	c.Env = *s.nt
	c.Strict = s.nt.Strict
	return c
}

// connectorType is the type of `connector`.
var connectorType = lang.ConnectorObject.Type()

func connectionType(c *lang.Connector) types.Type {
	m := types.Map{}
	if c != nil {
		for _, p := range c.Params {
			m[p.Name] = fieldType(p)
		}
	}
	tok := lang.TokenObject.Type()
	tok[types.Extra] = types.Any
	m["token"] = tok
	return m
}

// fieldType is the expr type of a declared field's values.
func fieldType(f *lang.Field) types.Type {
	switch f.Type {
	case "string", "datetime":
		return types.String
	case "integer":
		return types.Int
	case "number":
		return types.Float64
	case "boolean":
		return types.Bool
	case "list":
		if f.Items != nil {
			return types.Array(fieldType(f.Items))
		}
		return types.Array(types.Any)
	case "object":
		if len(f.Properties) > 0 {
			m := types.Map{types.Extra: types.Any}
			for _, p := range f.Properties {
				m[p.Name] = fieldType(p)
			}
			return m
		}
	}
	return types.Any
}

func fieldsType(fs []*lang.Field) types.Map {
	m := types.Map{}
	for _, f := range fs {
		m[f.Name] = fieldType(f)
	}
	return m
}

func (c *projChecker) newScope(f *lang.Flow, env types.Map) *scope {
	return &scope{c: c, flow: f, env: env, definite: map[string]bool{}}
}

// connector checks the expressions of connector.yaml.
func (c *projChecker) connector(cn *lang.Connector) {
	s := c.newScope(nil, types.Map{"connection": connectionType(cn), "connector": connectorType})
	s.value(cn.BaseURL)
	s.auth(cn.Auth)
	s.named(cn.HTTP.Headers)
	// the connector's rules run for every step, so they see only what every
	// step sees of the connector (and the response)
	s.with(types.Map{"response": lang.ResponseObject.Type()}).rules(cn.HTTP.OnResponse)
}

// rules compiles on_response rules in a scope that holds `response`, and
// checks that each `when` is a boolean where its type is known.
func (s *scope) rules(rs []*lang.ResponseRule) {
	for _, r := range rs {
		s.value(r.When)
		s.boolean(r.When, "on_response when")
		s.value(r.Message)
		s.value(r.Code)
		s.value(r.Details)
		s.value(r.After)
	}
}

// boolean reports a condition whose type is known and is not boolean: a
// constant that is not true/false, text with expressions in it, or an
// expression whose static type is not bool.
func (s *scope) boolean(v *lang.Value, what string) {
	if v == nil {
		return
	}
	switch v.Kind {
	case lang.ValConst:
		if _, ok := v.Lit.(bool); !ok && v.Lit != nil {
			s.c.d.Add(v.Node.Pos, "write true, false or ${ expression }", "%s must be true or false, got %s", what, value.TypeName(v.Lit))
		}
	case lang.ValTemplate:
		s.c.d.Add(v.Node.Pos, "write the whole condition as one ${ ... }: text around it makes a string", "%s must be true or false, but text with expressions in it is a string", what)
	case lang.ValExpr:
		if t := exprType(v); t != nil && t.Kind() != reflect.Bool {
			s.c.d.Add(v.Expr.Pos, "compare it, e.g. ${ response.body.ok == false }", "%s must be true or false, but the expression gives %s", what, goTypeName(t))
		}
	}
}

// flow checks one flow: each section in a scope of its own.
func (c *projChecker) flow(f *lang.Flow) {
	if c.connType == nil { // one per project, so that its nature is built once (typeNature)
		c.connType, c.flowType = connectionType(c.proj.Connector), lang.FlowObject.Type()
	}
	base := types.Map{
		"inputs":     fieldsType(f.Inputs),
		"connection": c.connType,
		"connector":  connectorType,
		"flow":       c.flowType,
	}
	section := func(sec lang.Section, extra types.Map) {
		env := maps.Clone(base)
		maps.Copy(env, extra)
		s := &scope{c: c, flow: f, env: env, definite: map[string]bool{}, ran: map[string]bool{}, vars: map[string]int{}}
		var rets []*lang.ReturnStep
		s.returns = &rets
		list := f.Section(sec)
		s.collect(list)
		s.steps(list)
		c.checkReturns(f, sec, rets)
	}
	event := fieldsType(f.Outputs)
	var eventT types.Type = event
	if len(f.Outputs) == 0 {
		eventT = types.Any
	}
	switch f.Type {
	case lang.Webhook:
		hook := lang.WebhookObject.Type()
		reg := types.Map{types.Extra: types.Any}
		if v := f.Verify; v != nil {
			vs := c.newScope(f, types.Map{"registration": reg, "webhook": hook, "inputs": fieldsType(f.Inputs), "connection": c.connType})
			vs.value(v.Secret)
			if !v.Broken { // else the schema said what is wrong
				c.verify(v)
			}
		}
		section(lang.SectionRegister, types.Map{"webhook": hook})
		section(lang.SectionDeregister, types.Map{"registration": reg, "webhook": hook})
		section(lang.SectionEvent, types.Map{"request": lang.RequestObject.Type(), "registration": reg, "webhook": hook})
		if f.Dedupe != nil {
			c.newScope(f, types.Map{"event": eventT, "inputs": fieldsType(f.Inputs), "request": lang.RequestObject.Type()}).value(f.Dedupe)
		}
	case lang.Poll:
		if f.Dedupe != nil {
			c.newScope(f, types.Map{"event": eventT, "inputs": fieldsType(f.Inputs)}).value(f.Dedupe)
		}
		section(lang.SectionSteps, types.Map{"cursor": types.Any})
	default:
		section(lang.SectionSteps, nil)
	}
}

// checkReturns checks the return steps of one section against the flow's contract.
func (c *projChecker) checkReturns(f *lang.Flow, sec lang.Section, rets []*lang.ReturnStep) {
	var allowed, required []string
	open := false
	list := f.Section(sec)
	switch {
	case f.Type == lang.Poll:
		allowed, required = []string{"events", "cursor"}, []string{"events", "cursor"}
	case f.Type == lang.Webhook && sec == lang.SectionEvent:
		allowed, required = []string{"events", "response"}, nil
	case f.Type == lang.Webhook:
		open = true
	case f.Type == lang.AuthPing:
		allowed = []string{"working", "message", "label"}
	case f.Type == lang.Revoke:
		open = true
	default:
		allowed = lang.FieldNames(f.Outputs)
		for _, o := range f.Outputs {
			if o.Required && !o.HasDefault {
				required = append(required, o.Name)
			}
		}
		if len(rets) == 0 && len(required) > 0 && list != nil {
			c.d.Add(f.Pos, "end the flow with return: {...}", "flow %q declares required outputs (%s) but never returns", f.Name, strings.Join(required, ", "))
		}
	}
	if f.Type == lang.Poll && len(rets) == 0 && list != nil {
		c.d.Add(f.Pos, "end the poll with return: {events: [...], cursor: ...}", "poll flow %q never returns events and cursor", f.Name)
	}
	if open {
		return
	}
	for _, r := range rets {
		if r.Broken || r.Value == nil || r.Value.Node == nil || r.Value.Node.Kind != lang.MapNode {
			continue // an expression: checked at run time
		}
		v := r.Value.Node
		for i, k := range v.Keys {
			if !slices.Contains(allowed, k.Str) {
				what := "output"
				if f.Type == lang.Poll || f.Type == lang.Webhook || f.Type == lang.AuthPing {
					what = string(f.Type) + " result key"
				}
				hint := value.Suggest(k.Str, allowed)
				if hint == "" && len(allowed) > 0 {
					hint = "declared: " + strings.Join(allowed, ", ")
				}
				if len(allowed) == 0 {
					hint = "declare it under outputs:"
				}
				c.d.Add(k.Pos, hint, "return: %q is not a declared %s of flow %q", k.Str, what, f.Name)
				continue
			}
			if o := f.Output(k.Str); o != nil && f.Type != lang.Poll && f.Type != lang.Webhook {
				sub := r.Value
				if sub != nil && sub.Kind == lang.ValMap {
					(&scope{c: c}).checkValue(o, sub.Vals[i], fmt.Sprintf("output %q", k.Str))
				} else if sub != nil && sub.IsConst() {
					if m, ok := sub.Lit.(map[string]any); ok {
						if msg := lang.CheckField(o, m[k.Str]); msg != "" {
							c.d.Add(v.Vals[i].Pos, "", "output %q: %s", k.Str, msg)
						}
					}
				}
			}
		}
		for _, req := range required {
			if v.Get(req) == nil {
				c.d.Add(r.Pos, "", "return is missing %s %q", map[bool]string{true: "key", false: "required output"}[f.Type == lang.Poll], req)
			}
		}
	}
}

// collect records, before any step is checked, every step id (with the
// type of its result) and every variable set in a section.
func (s *scope) collect(list []lang.Step) {
	s.allIDs = map[string]bool{}
	s.stepType = map[string]types.Type{}
	lang.Walk(list, func(st lang.Step) bool {
		b := st.Base()
		if b.ID != "" {
			idNode := b.Node.Get("id")
			if s.allIDs[b.ID] {
				s.c.d.Add(idNode.Pos, "step ids are unique within a flow", "step id %q is used twice in flow %q", b.ID, s.flow.Name)
			} else if !lang.IsIdent(b.ID) && !b.Broken { // else the schema said so
				s.c.d.Add(idNode.Pos, "use letters, digits and _ and start with a letter", "step id %q is not an identifier", b.ID)
			}
			s.allIDs[b.ID] = true
			s.stepType[b.ID] = s.resultType(st)
		}
		if set, ok := st.(*lang.SetStep); ok {
			for _, nv := range set.Vars {
				s.vars[nv.Name]++
			}
		}
		return true
	})
	vars := types.Map{}
	for v := range s.vars {
		vars[v] = types.Any
	}
	s.env["vars"] = vars
	steps := types.Map{}
	maps.Copy(steps, s.stepType)
	s.env["steps"] = steps
	s.envObj, s.nt = nil, nil
}

// resultType is the type of steps.<id> for a step.
func (s *scope) resultType(st lang.Step) types.Type {
	switch t := st.(type) {
	case *lang.HTTPStep:
		if t.Paginate != nil {
			return lang.PagesObject.Type()
		}
		return lang.ResponseObject.Type()
	case *lang.CallStep:
		if f := s.c.proj.Flows[t.Flow]; f != nil && len(f.Outputs) > 0 {
			return fieldsType(f.Outputs)
		}
	case *lang.ForEachStep:
		return types.Array(types.Any)
	}
	return types.Any
}

// steps checks a list of steps in order.
func (s *scope) steps(list []lang.Step) {
	for _, st := range list {
		switch {
		case !st.Base().Broken:
			s.step(st)
		case s.returns != nil:
			if r, ok := st.(*lang.ReturnStep); ok {
				*s.returns = append(*s.returns, r) // a return, checked no further
			}
		}
		if id := st.Base().ID; id != "" {
			s.definite[id] = true
			if s.ran != nil {
				s.ran[id] = true
			}
		}
	}
}

// branch checks a nested step list in a copy of the scope and returns the
// ids it defines on every path, and whether the list always ends (fail or
// return) so that no path leaves it.
func (s *scope) branch(list []lang.Step, names types.Map) (map[string]bool, bool) {
	var c *scope
	if len(names) > 0 {
		c = s.with(names)
	} else {
		cp := *s
		cp.definite = maps.Clone(s.definite)
		c = &cp
	}
	c.steps(list)
	return c.definite, ends(list)
}

// ends reports a step list that never completes: one of its steps (the
// last, in a well-written flow) is a fail or a return, or a branching step
// all of whose branches end.
func ends(list []lang.Step) bool {
	return slices.ContainsFunc(list, stepEnds)
}

func stepEnds(st lang.Step) bool {
	switch t := st.(type) {
	case *lang.FailStep, *lang.ReturnStep:
		return true
	case *lang.IfStep:
		return ends(t.Then) && ends(t.Else)
	case *lang.SwitchStep:
		if !t.HasDefault || !ends(t.Default) {
			return false
		}
		for _, c := range t.Cases {
			if !ends(c.Steps) {
				return false
			}
		}
		return true
	case *lang.TryStep:
		return t.HasCatch && ends(t.Try) && ends(t.Catch)
	}
	return false
}

// join is what is defined after a branching step: the ids defined on every
// branch that can complete. A branch that always ends (fail or return) does
// not reach the next step, so it counts as defining everything; when no
// branch completes, nothing after the step runs, and the ids of every
// branch are kept (the checker reports no false "not defined" there).
func join(sets []map[string]bool, end []bool) map[string]bool {
	var live []map[string]bool
	for i, d := range sets {
		if !end[i] {
			live = append(live, d)
		}
	}
	if len(live) == 0 {
		out := map[string]bool{}
		for _, d := range sets {
			maps.Copy(out, d)
		}
		return out
	}
	return intersect(live...)
}

func intersect(sets ...map[string]bool) map[string]bool {
	if len(sets) == 0 {
		return map[string]bool{}
	}
	out := maps.Clone(sets[0])
	for _, o := range sets[1:] {
		for k := range out {
			if !o[k] {
				delete(out, k)
			}
		}
	}
	return out
}

// step checks one step: one case per kind.
func (s *scope) step(st lang.Step) {
	n := st.Base().Node
	switch t := st.(type) {
	case *lang.SetStep:
		s.named(t.Vars)
		for _, k := range n.Get("set").Keys {
			if !lang.IsIdent(k.Str) {
				s.c.d.Add(k.Pos, "variable names are identifiers: letters, digits and _", "variable name %q is not an identifier", k.Str)
			}
			for _, par := range s.parallel {
				if s.vars[k.Str] > par[k.Str] {
					s.c.d.Add(k.Pos, "collect results with `collect:` instead, or use concurrency: 1",
						"variable %q is set inside a for_each with concurrency > 1 and also outside it", k.Str)
				}
			}
		}
	case *lang.HTTPStep:
		s.httpStep(t)
	case *lang.IfStep:
		s.value(t.Cond)
		d1, e1 := s.branch(t.Then, nil)
		d2, e2 := s.branch(t.Else, nil)
		s.definite = join([]map[string]bool{d1, d2}, []bool{e1, e2})
	case *lang.SwitchStep:
		var sets []map[string]bool
		var end []bool
		for _, c := range t.Cases {
			s.value(c.When)
			d, e := s.branch(c.Steps, nil)
			sets, end = append(sets, d), append(end, e)
		}
		if t.HasDefault {
			d, e := s.branch(t.Default, nil)
			sets, end = append(sets, d), append(end, e)
		} else {
			// no case matching: the ids defined before the switch
			sets, end = append(sets, s.definite), append(end, false)
		}
		s.definite = join(sets, end)
	case *lang.ForEachStep:
		s.value(t.Items)
		for _, key := range []string{"as", "index"} {
			nm := map[string]string{"as": t.As, "index": t.Index}[key]
			if _, clash := s.env[nm]; clash && nm != "item" && nm != "index" {
				s.c.d.Add(n.Get(key).Pos, "pick another name with as:/index:", "loop variable %q hides the name %q already in scope", nm, nm)
			}
		}
		loop := s.with(types.Map{t.As: types.Any, t.Index: types.Int})
		if t.Concurrency > 1 {
			inside := map[string]int{}
			lang.Walk(t.Steps, func(st lang.Step) bool {
				if set, ok := st.(*lang.SetStep); ok {
					for _, nv := range set.Vars {
						inside[nv.Name]++
					}
				}
				return true
			})
			loop.parallel = append(slices.Clone(s.parallel), inside)
		}
		loop.steps(t.Steps)
		loop.value(t.Collect)
	case *lang.CallStep:
		s.callStep(t)
	case *lang.ReturnStep:
		s.value(t.Value)
		*s.returns = append(*s.returns, t)
	case *lang.FailStep:
		s.value(t.Message)
		s.value(t.Code)
		s.value(t.Details)
	case *lang.TryStep:
		d1, e1 := s.branch(t.Try, nil)
		d2, e2 := s.branch(t.Catch, types.Map{"error": lang.ErrorObject.Type()})
		if !t.HasCatch {
			// an error in try goes on after it (no catch), having run only
			// part of it
			d2, e2 = s.definite, false
		}
		s.definite = join([]map[string]bool{d1, d2}, []bool{e1, e2})
	case *lang.ContinueIfStep:
		s.value(t.Cond)
		s.value(t.Message)
	case *lang.LogStep:
		s.value(t.Message)
	case *lang.WaitStep:
		s.value(t.Duration)
	default:
		panic(fmt.Sprintf("check: step type %T has no case", st))
	}
}

func (s *scope) callStep(st *lang.CallStep) {
	s.named(st.With)
	n := st.Node
	kv := n.Get("call")
	target := s.c.proj.Flows[st.Flow]
	if target == nil && s.c.broken[st.Flow] {
		return // its file's own error is reported
	}
	if target == nil {
		s.c.d.Add(kv.Pos, value.Suggest(st.Flow, s.c.proj.Order), "call: no flow named %q", st.Flow)
		return
	}
	if target.Type == lang.AuthPing || target.Type == lang.Revoke {
		s.c.d.Add(kv.Pos, "move the shared steps into a helper flow and call that", "call: flow %q is %s, which cannot be called", st.Flow, target.Type.Article())
		return
	}
	given := map[string]bool{}
	if w := n.Get("with"); w != nil && w.Kind == lang.MapNode {
		for i, k := range w.Keys {
			given[k.Str] = true
			in := target.Input(k.Str)
			if in == nil {
				hint := value.Suggest(k.Str, lang.FieldNames(target.Inputs))
				if hint == "" {
					hint = "declared inputs: " + strings.Join(lang.FieldNames(target.Inputs), ", ")
					if len(target.Inputs) == 0 {
						hint = fmt.Sprintf("flow %q declares no inputs", st.Flow)
					}
				}
				s.c.d.Add(k.Pos, hint, "call %s: %q is not an input of flow %q", st.Flow, k.Str, st.Flow)
				continue
			}
			s.checkValue(in, st.With[i].Value, fmt.Sprintf("call %s: input %q", st.Flow, k.Str))
		}
	}
	for _, in := range target.Inputs {
		if in.Required && !in.HasDefault && !given[in.Name] {
			s.c.d.Add(kv.Pos, "add it under with:", "call %s: required input %q is not given", st.Flow, in.Name)
		}
	}
}

func (s *scope) httpStep(st *lang.HTTPStep) {
	s.value(st.MethodValue)
	s.value(st.Path)
	s.value(st.URL)
	s.named(st.Query)
	s.value(st.QueryExpr)
	s.named(st.Headers)
	s.value(st.HeadersExpr)
	s.value(st.JSON)
	s.value(st.Form)
	s.value(st.Body)
	s.auth(st.Auth)
	if pg := st.Paginate; pg != nil {
		ps := s.with(types.Map{"response": lang.ResponseObject.Type()})
		ps.value(pg.Items)
		if pg.Streams() {
			// each_page runs between a page's items and its next link, like
			// a loop body: what it defines is not defined after the step
			body := ps.with(types.Map{"page": lang.PageObject.Type()})
			body.steps(pg.EachPage)
			body.value(pg.Collect)
			if t := exprType(pg.Collect); t != nil && t.Kind() != reflect.Slice && t.Kind() != reflect.Interface {
				s.c.d.Add(pg.Collect.Expr.Pos, "e.g. collect: ${ map(page.items, .id) }", "paginate.collect gives the items of a page to keep, a list, but the expression gives %s", goTypeName(t))
			}
		}
		ps.value(pg.Next)
		ps.named(pg.NextQuery)
		s.value(pg.MaxPagesV)
		if t := exprType(pg.MaxPagesV); t != nil && (t.Kind() < reflect.Int || t.Kind() > reflect.Float64) {
			s.c.d.Add(pg.MaxPagesV.Expr.Pos, "", "paginate.max_pages must be a number of pages, but the expression gives %s", goTypeName(t))
		}
	}
	if len(st.OnResponse) > 0 {
		s.with(types.Map{"response": lang.ResponseObject.Type()}).rules(st.OnResponse)
	}
}

func (s *scope) auth(a *lang.Auth) { lang.AuthValues(a, s.value) }

func (s *scope) named(nvs []lang.NamedValue) {
	for _, nv := range nvs {
		s.value(nv.Value)
	}
}

// value compiles every expression of a value in this scope.
func (s *scope) value(v *lang.Value) {
	if v == nil {
		return
	}
	v.Exprs(func(e *lang.Expr, n *lang.Node) { s.compile(n, e) })
}

// compile compiles one expression of scalar n.
func (s *scope) compile(n *lang.Node, e *lang.Expr) {
	src := e.Src
	if strings.TrimSpace(src) == "" {
		return // the decoder reported it
	}
	coll := &nameCollector{}
	tree, prog, err := compileWith(s.config(), src, coll, s.c.compile)
	before := len(s.c.d.List)
	for _, ref := range coll.stepRefs {
		pos := n.At(e.Off + runeToByte(src, ref.from))
		switch {
		case !s.allIDs[ref.id]:
			ids := slices.Sorted(maps.Keys(s.allIDs))
			s.c.d.List = append(s.c.d.List, lang.Diagnostic{Pos: pos, Message: fmt.Sprintf("no step with id %q in flow %q", ref.id, s.flowName()), Hint: value.Suggest(ref.id, ids)})
		case !s.definite[ref.id] && !s.ran[ref.id]:
			s.c.d.List = append(s.c.d.List, lang.Diagnostic{Pos: pos, Message: fmt.Sprintf("step %q runs after this point", ref.id),
				Hint: "steps.<id> exists only after that step ran: move this after it"})
		case !s.definite[ref.id]:
			s.c.d.List = append(s.c.d.List, lang.Diagnostic{Pos: pos, Message: fmt.Sprintf("step %q is not defined on every path before this point", ref.id),
				Hint: "it runs only in some branches, or inside a loop: read it there, or set a variable on every path"})
		}
	}
	if err != nil {
		if len(s.c.d.List) == before {
			s.c.d.List = append(s.c.d.List, s.nameHint(exprError(n, src, e.Off, err), src, err))
		}
		return
	}
	e.Tree, e.Program = tree, prog
}

func (s *scope) flowName() string {
	if s.flow != nil {
		return s.flow.Name
	}
	return ""
}

// exprType is the static type of a compiled expression, or nil when unknown.
func exprType(v *lang.Value) reflect.Type {
	if v == nil || v.Kind != lang.ValExpr || v.Expr.Tree == nil {
		return nil
	}
	t := v.Expr.Tree.Type()
	if t == nil || t.Kind() == reflect.Interface {
		return nil
	}
	return t
}

// checkValue checks a compiled value against a declared field where it can be
// known before running: constants fully, expressions by their static type.
func (s *scope) checkValue(f *lang.Field, v *lang.Value, what string) {
	if v == nil || f == nil {
		return
	}
	if v.IsConst() {
		if msg := lang.CheckField(f, v.Lit); msg != "" {
			s.c.d.Add(v.Node.Pos, "", "%s: %s", what, msg)
		}
		return
	}
	t := exprType(v)
	if t == nil {
		return
	}
	ok := true
	switch f.Type {
	case "string", "datetime":
		ok = t.Kind() == reflect.String
	case "integer":
		ok = t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64
	case "number":
		ok = t.Kind() >= reflect.Int && t.Kind() <= reflect.Float64
	case "boolean":
		ok = t.Kind() == reflect.Bool
	case "list":
		ok = t.Kind() == reflect.Slice || t.Kind() == reflect.Array
	case "object":
		ok = t.Kind() == reflect.Map || t.Kind() == reflect.Struct
	}
	if !ok {
		s.c.d.Add(v.Expr.Pos, "", "%s: expected %s, but the expression gives %s", what, f.Type, goTypeName(t))
	}
}

func goTypeName(t reflect.Type) string {
	switch k := t.Kind(); {
	case k == reflect.String:
		return "string"
	case k == reflect.Bool:
		return "boolean"
	case k >= reflect.Int && k <= reflect.Uint64:
		return "integer"
	case k == reflect.Float32 || k == reflect.Float64:
		return "number"
	case k == reflect.Slice || k == reflect.Array:
		return "list"
	case k == reflect.Map || k == reflect.Struct:
		return "object"
	}
	return t.String()
}

// verify checks a webhook flow's verify settings with the webhook package,
// the code that verifies deliveries in serve and test: a problem inside
// format or signed_payload is reported at its character.
func (c *projChecker) verify(v *lang.Verify) {
	for _, p := range webhook.Check(v.Spec) {
		pos := v.Pos
		if k := v.Node.KeyNode(p.Field); k != nil {
			pos = k.Pos
			if val := v.Node.Get(p.Field); val != nil {
				pos = val.Pos
				if p.Offset >= 0 && val.Kind == lang.StringNode {
					pos = val.At(p.Offset)
				}
			}
		}
		c.d.Add(pos, p.Hint, "verify.%s: %s", p.Field, p.Message)
	}
}
