package interpreter

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/types"

	"github.com/flowrun/flowrun/builtins"
)

// scope is where an expression is compiled: the names in scope and their
// types, and which step results are defined on every path to this point.
type scope struct {
	l        *loader
	flow     *Flow
	env      types.Map
	opts     []expr.Option // built from env on first use
	cfg      *conf.Config  // the compile configuration, built from opts on first use
	allIDs   map[string]bool
	stepType map[string]types.Type
	definite map[string]bool
	ran      map[string]bool // step ids met so far, on any path (shared by a section's scopes)
	vars     map[string]int  // how often each variable is set in this section
	inLoop   int
	// for_each bodies with concurrency > 1: variables set inside them
	parallel []map[string]int
	returns  *[]*returnSite
}

type returnSite struct {
	step *ReturnStep
	node *Node
}

func (s *scope) with(names map[string]types.Type) *scope {
	c := *s
	c.env = maps.Clone(s.env)
	maps.Copy(c.env, names)
	c.opts, c.cfg = nil, nil
	c.definite = maps.Clone(s.definite)
	return &c
}

func (s *scope) options() []expr.Option {
	if s.opts == nil {
		// the environment's nature is computed once per scope, not per compile
		env := withClock(s.env) // see clock.go
		nt := conf.Env(env)
		s.opts = append([]expr.Option{func(c *conf.Config) {
			c.EnvObject = env
			c.Env = nt
			c.Strict = nt.Strict
		}}, exprOptions()...)
	}
	return s.opts
}

// connectorScope is the scope of expressions in connector.yaml.
func (l *loader) connectorScope(c *Connector) *scope {
	return &scope{l: l, env: types.Map{
		"connection": connectionType(c),
		"connector":  types.Map{"name": types.String, "title": types.String, "version": types.String, "base_url": types.String},
	}, definite: map[string]bool{}}
}

func connectionType(c *Connector) types.Type {
	m := types.Map{}
	if c != nil {
		for _, p := range c.Params {
			m[p.Name] = fieldType(p)
		}
	}
	m["token"] = types.Map{"access_token": types.String, "refresh_token": types.String, "token_type": types.String, "expiry": types.String, types.Extra: types.Any}
	return m
}

// fieldType is the expr type of a declared field's values.
func fieldType(f *Field) types.Type {
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

func fieldsType(fs []*Field) types.Map {
	m := types.Map{}
	for _, f := range fs {
		m[f.Name] = fieldType(f)
	}
	return m
}

// value compiles a YAML value whose strings may hold expressions.
func (s *scope) value(n *Node) *Value {
	if n == nil {
		return nil
	}
	switch n.Kind {
	case StringNode:
		if !hasTemplate(n.Str) {
			return &Value{kind: valConst, c: n.Str, Node: n}
		}
		return s.template(n)
	case MapNode:
		v := &Value{kind: valMap, Node: n}
		allConst := true
		for i, k := range n.Keys {
			cv := s.value(n.Vals[i])
			v.keys = append(v.keys, k.Str)
			v.vals = append(v.vals, cv)
			allConst = allConst && cv.IsConst()
		}
		if allConst {
			return &Value{kind: valConst, c: n.Value(), Node: n}
		}
		return v
	case ListNode:
		v := &Value{kind: valList, Node: n}
		allConst := true
		for _, it := range n.Items {
			cv := s.value(it)
			v.vals = append(v.vals, cv)
			allConst = allConst && cv.IsConst()
		}
		if allConst {
			return &Value{kind: valConst, c: n.Value(), Node: n}
		}
		return v
	}
	return &Value{kind: valConst, c: n.Value(), Node: n}
}

// template compiles a string scalar holding `${ }`.
func (s *scope) template(n *Node) *Value {
	lits, spans, errOff, err := scanTemplate(n.Str)
	if err != nil {
		s.l.d.list = append(s.l.d.list, Diagnostic{Pos: n.At(errOff), Message: err.Error(),
			Hint: "close the expression with `}`, or write `$${` for a literal `${`"})
		return &Value{kind: valConst, c: n.Str, Node: n}
	}
	if len(spans) == 0 {
		return &Value{kind: valConst, c: lits[0], Node: n}
	}
	exprs := make([]*Expr, len(spans))
	for i, sp := range spans {
		exprs[i] = s.compile(n, sp)
	}
	if len(spans) == 1 && strings.TrimSpace(lits[0]) == "" && strings.TrimSpace(lits[1]) == "" {
		return &Value{kind: valExpr, expr: exprs[0], Node: n}
	}
	v := &Value{kind: valTemplate, Node: n}
	for i, lit := range lits {
		if lit != "" {
			v.parts = append(v.parts, templatePart{text: lit})
		}
		if i < len(exprs) {
			v.parts = append(v.parts, templatePart{expr: exprs[i]})
		}
	}
	return v
}

// compile compiles one expression span of scalar n.
func (s *scope) compile(n *Node, sp rawSpan) *Expr {
	src := n.Str[sp.start:sp.end]
	e := &Expr{Src: src, Pos: n.At(sp.start + leadingSpace(src))}
	if strings.TrimSpace(src) == "" {
		s.l.d.list = append(s.l.d.list, Diagnostic{Pos: n.At(sp.start - 2), Message: "empty expression `${ }`"})
		return e
	}
	coll := &nameCollector{}
	if s.cfg == nil {
		s.cfg = newCompileConfig(s.options())
	}
	prog, err := compileWith(s.cfg, src, coll)
	before := len(s.l.d.list)
	for _, ref := range coll.stepRefs {
		pos := n.At(sp.start + runeToByte(src, ref.from))
		switch {
		case !s.allIDs[ref.id]:
			ids := slices.Sorted(maps.Keys(s.allIDs))
			s.l.d.list = append(s.l.d.list, Diagnostic{Pos: pos, Message: fmt.Sprintf("no step with id %q in flow %q", ref.id, s.flowName()), Hint: suggest(ref.id, ids)})
		case !s.definite[ref.id] && !s.ran[ref.id]:
			s.l.d.list = append(s.l.d.list, Diagnostic{Pos: pos, Message: fmt.Sprintf("step %q runs after this point", ref.id),
				Hint: "steps.<id> exists only after that step ran: move this after it"})
		case !s.definite[ref.id]:
			s.l.d.list = append(s.l.d.list, Diagnostic{Pos: pos, Message: fmt.Sprintf("step %q is not defined on every path before this point", ref.id),
				Hint: "it runs only in some branches, or inside a loop: read it there, or set a variable on every path"})
		}
	}
	if err != nil {
		if len(s.l.d.list) == before {
			s.l.d.list = append(s.l.d.list, s.nameHint(exprError(n, src, sp.start, err), src, err))
		}
		return e
	}
	e.Program = prog
	return e
}

func (s *scope) flowName() string {
	if s.flow != nil {
		return s.flow.Name
	}
	return ""
}

func leadingSpace(s string) int {
	return len(s) - len(strings.TrimLeft(s, " \t\r\n"))
}

// exprType is the static type of a compiled expression, or nil when unknown.
func exprType(v *Value) reflect.Type {
	if v == nil || v.kind != valExpr || v.expr.Program == nil {
		return nil
	}
	t := v.expr.Program.Node().Type()
	if t == nil || t.Kind() == reflect.Interface {
		return nil
	}
	return t
}

// checkValue checks a compiled value against a declared field where it can be
// known before running: constants fully, expressions by their static type.
func (s *scope) checkValue(f *Field, v *Value, what string) {
	if v == nil || f == nil {
		return
	}
	if v.IsConst() {
		if msg := checkField(f, v.c); msg != "" {
			s.l.d.add(v.Node.Pos, "", "%s: %s", what, msg)
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
		s.l.d.add(v.expr.Pos, "", "%s: expected %s, but the expression gives %s", what, f.Type, goTypeName(t))
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

// namedValues compiles a mapping of values, keeping file order.
func (s *scope) namedValues(n *Node) []NamedValue {
	if n == nil || n.Kind != MapNode {
		return nil
	}
	out := make([]NamedValue, len(n.Keys))
	for i, k := range n.Keys {
		out[i] = NamedValue{Name: k.Str, Value: s.value(n.Vals[i])}
	}
	return out
}

func (s *scope) auth(n *Node) *Auth {
	a := &Auth{Type: s.l.str(n, "type"), Pos: n.Pos}
	switch a.Type {
	case "basic":
		b := n.Get("basic")
		a.Username, a.Password = s.value(b.Get("username")), s.value(b.Get("password"))
	case "bearer":
		a.Token = s.value(n.Get("bearer").Get("token"))
	case "header":
		h := n.Get("header")
		a.Header, a.HeaderV = s.l.str(h, "name"), s.value(h.Get("value"))
	case "oauth2":
		o := n.Get("oauth2")
		a.OAuth2 = &OAuth2{Grant: s.l.str(o, "grant"), ClientAuth: s.l.str(o, "client_auth"),
			AuthorizeURL: s.value(o.Get("authorize_url")), TokenURL: s.value(o.Get("token_url")),
			RefreshURL: s.value(o.Get("refresh_url")), ClientID: s.value(o.Get("client_id")),
			ClientSecret: s.value(o.Get("client_secret"))}
		if sc := o.Get("scopes"); sc != nil {
			for _, it := range sc.Items {
				a.OAuth2.Scopes = append(a.OAuth2.Scopes, it.Str)
			}
		}
	}
	for _, k := range []string{"basic", "bearer", "header", "oauth2"} {
		if kn := n.KeyNode(k); kn != nil && k != a.Type {
			s.l.d.add(kn.Pos, fmt.Sprintf("set type: %s, or remove %s", k, k), "auth type is %q, but %s settings are given", a.Type, k)
		}
	}
	if a.Type != "none" && a.Type != "" && n.Get(a.Type) == nil {
		s.l.d.add(n.Get("type").Pos, "", "auth type %q needs its settings under %q", a.Type, a.Type)
	}
	return a
}

// flowBody builds and checks a flow's steps.
func (l *loader) flowBody(fs *flowSrc) {
	f, n := fs.flow, fs.node
	conn := l.proj.Connector
	base := types.Map{
		"inputs":     fieldsType(f.Inputs),
		"connection": connectionType(conn),
		"connector":  types.Map{"name": types.String, "title": types.String, "version": types.String, "base_url": types.String},
		"flow":       types.Map{"name": types.String, "run_id": types.String, "type": types.String},
	}
	if t := n.Get("timeout"); t != nil {
		f.Timeout = l.duration(t, "timeout")
	}
	typeNode := n.Get("type")
	switch f.Type {
	case "authping", "revoke":
		if in := n.KeyNode("inputs"); in != nil && len(f.Inputs) > 0 {
			l.d.add(in.Pos, aFlow(f.Type)+" runs with the connection alone", "%s takes no inputs", aFlow(f.Type))
		}
	}
	section := func(key string, list *Node, extra types.Map) []Step {
		env := maps.Clone(base)
		maps.Copy(env, extra)
		s := &scope{l: l, flow: f, env: env, definite: map[string]bool{}, ran: map[string]bool{}, vars: map[string]int{}}
		var rets []*returnSite
		s.returns = &rets
		s.collect(list)
		steps := s.steps(list)
		l.checkReturns(f, key, list, rets)
		return steps
	}
	switch f.Type {
	case "webhook":
		for _, k := range []string{"register", "deregister", "event"} {
			if n.Get(k) == nil {
				l.d.add(typeNode.Pos, "a webhook flow has register, deregister and event sections", "webhook flow %q has no %s section", f.Name, k)
			}
		}
		if k := n.KeyNode("steps"); k != nil {
			l.d.add(k.Pos, "put the steps that handle a delivery under event.steps", "a webhook flow has no top-level steps")
		}
		hook := types.Map{"url": types.String, "secret": types.String}
		reg := types.Map{types.Extra: types.Any}
		if v := n.Get("verify"); v != nil {
			vs := &scope{l: l, flow: f, env: types.Map{"registration": reg, "webhook": hook, "inputs": fieldsType(f.Inputs), "connection": connectionType(conn)}, definite: map[string]bool{}}
			f.Verify = &Verify{Scheme: l.str(v, "scheme"), Header: l.str(v, "header"), Secret: vs.value(v.Get("secret")),
				Format: l.str(v, "format"), SignedPayload: l.str(v, "signed_payload"), TimestampHeader: l.str(v, "timestamp_header"), Pos: v.Pos}
			if t := v.Get("tolerance"); t != nil {
				f.Verify.Tolerance = l.duration(t, "verify.tolerance")
			}
			if f.Verify.Scheme == "hmac_sha256" && f.Verify.Header == "" {
				l.d.add(v.Pos, "name the header that carries the signature, e.g. header: X-Hub-Signature-256", "verify with hmac_sha256 needs a header")
			}
		}
		f.Register = section("register", n.Get("register").Get("steps"), types.Map{"webhook": hook})
		f.Deregister = section("deregister", n.Get("deregister").Get("steps"), types.Map{"registration": reg, "webhook": hook})
		request := types.Map{"method": types.String, "path": types.String, "headers": types.Map{types.Extra: types.String},
			"query": types.Map{types.Extra: types.Any}, "body": types.Any, "raw": types.String}
		f.Event = section("event", n.Get("event").Get("steps"), types.Map{"request": request, "registration": reg, "webhook": hook})
	case "poll":
		if sc := n.Get("schedule"); sc == nil {
			l.d.add(typeNode.Pos, "add schedule: 5m (at least 1m)", "poll flow %q has no schedule", f.Name)
		} else {
			f.Schedule = l.duration(sc, "schedule")
			if f.Schedule > 0 && f.Schedule < time.Minute {
				l.d.add(sc.Pos, "poll at most once a minute", "schedule %s is shorter than 1m", sc.Str)
			}
		}
		if d := n.Get("dedupe"); d != nil {
			ds := &scope{l: l, flow: f, env: types.Map{"event": fieldsType(f.Outputs), "inputs": fieldsType(f.Inputs)}, definite: map[string]bool{}}
			if len(f.Outputs) == 0 {
				ds.env["event"] = types.Any
			}
			f.Dedupe = ds.value(d)
		}
		if n.Get("steps") == nil {
			l.d.add(typeNode.Pos, "", "poll flow %q has no steps", f.Name)
		}
		f.Steps = section("steps", n.Get("steps"), types.Map{"cursor": types.Any})
	default:
		if n.Get("steps") == nil {
			l.d.add(f.Pos, "add steps: [...]", "flow %q has no steps", f.Name)
		}
		f.Steps = section("steps", n.Get("steps"), nil)
	}
	if f.Type != "webhook" {
		for _, k := range []string{"verify", "register", "deregister", "event"} {
			if kn := n.KeyNode(k); kn != nil {
				l.d.add(kn.Pos, "only webhook flows have "+k, "%s is not allowed in %s", k, aFlow(f.Type))
			}
		}
	}
	if f.Type == "webhook" {
		if d := n.Get("dedupe"); d != nil {
			request := types.Map{"method": types.String, "path": types.String, "headers": types.Map{types.Extra: types.String},
				"query": types.Map{types.Extra: types.Any}, "body": types.Any, "raw": types.String}
			ds := &scope{l: l, flow: f, env: types.Map{"event": fieldsType(f.Outputs), "inputs": fieldsType(f.Inputs), "request": request}, definite: map[string]bool{}}
			if len(f.Outputs) == 0 {
				ds.env["event"] = types.Any
			}
			f.Dedupe = ds.value(d)
		}
	}
	if f.Type != "poll" {
		for _, k := range []string{"schedule", "dedupe"} {
			if k == "dedupe" && f.Type == "webhook" {
				continue
			}
			if kn := n.KeyNode(k); kn != nil {
				l.d.add(kn.Pos, "only poll flows have "+k, "%s is not allowed in %s", k, aFlow(f.Type))
			}
		}
	}
}

// checkReturns checks the return steps of one section against the flow's contract.
func (l *loader) checkReturns(f *Flow, section string, list *Node, rets []*returnSite) {
	var allowed, required []string
	open := false
	switch {
	case f.Type == "poll":
		allowed, required = []string{"events", "cursor"}, []string{"events", "cursor"}
	case f.Type == "webhook" && section == "event":
		allowed, required = []string{"events", "response"}, nil
	case f.Type == "webhook":
		open = true
	case f.Type == "authping":
		allowed = []string{"working", "message", "label"}
	case f.Type == "revoke":
		open = true
	default:
		allowed = fieldNames(f.Outputs)
		for _, o := range f.Outputs {
			if o.Required && !o.HasDefault {
				required = append(required, o.Name)
			}
		}
		if len(rets) == 0 && len(required) > 0 && list != nil {
			l.d.add(f.Pos, "end the flow with return: {...}", "flow %q declares required outputs (%s) but never returns", f.Name, strings.Join(required, ", "))
		}
	}
	if f.Type == "poll" && len(rets) == 0 && list != nil {
		l.d.add(f.Pos, "end the poll with return: {events: [...], cursor: ...}", "poll flow %q never returns events and cursor", f.Name)
	}
	if open {
		return
	}
	for _, r := range rets {
		v := r.node
		if v.Kind != MapNode {
			continue // an expression: checked at run time
		}
		for i, k := range v.Keys {
			if !slices.Contains(allowed, k.Str) {
				what := "output"
				if f.Type == "poll" || f.Type == "webhook" || f.Type == "authping" {
					what = f.Type + " result key"
				}
				hint := suggest(k.Str, allowed)
				if hint == "" && len(allowed) > 0 {
					hint = "declared: " + strings.Join(allowed, ", ")
				}
				if len(allowed) == 0 {
					hint = "declare it under outputs:"
				}
				l.d.add(k.Pos, hint, "return: %q is not a declared %s of flow %q", k.Str, what, f.Name)
				continue
			}
			if o := f.Output(k.Str); o != nil && f.Type != "poll" && f.Type != "webhook" {
				sub := r.step.Value
				if sub != nil && sub.kind == valMap {
					(&scope{l: l}).checkValue(o, sub.vals[i], fmt.Sprintf("output %q", k.Str))
				} else if sub != nil && sub.IsConst() {
					if m, ok := sub.c.(map[string]any); ok {
						if msg := checkField(o, m[k.Str]); msg != "" {
							l.d.add(v.Vals[i].Pos, "", "output %q: %s", k.Str, msg)
						}
					}
				}
			}
		}
		for _, req := range required {
			if v.Get(req) == nil {
				l.d.add(r.step.Pos, "", "return is missing %s %q", map[bool]string{true: "key", false: "required output"}[f.Type == "poll"], req)
			}
		}
	}
}

// collect records, before any step is compiled, every step id (with the type
// of its result) and every variable set in a section.
func (s *scope) collect(list *Node) {
	if s.allIDs == nil {
		s.allIDs = map[string]bool{}
		s.stepType = map[string]types.Type{}
	}
	s.collectRec(list)
	vars := types.Map{}
	for v := range s.vars {
		vars[v] = types.Any
	}
	s.env["vars"] = vars
	steps := types.Map{}
	maps.Copy(steps, s.stepType)
	s.env["steps"] = steps
	s.opts, s.cfg = nil, nil
}

func (s *scope) collectRec(list *Node) {
	if list == nil || list.Kind != ListNode {
		return
	}
	for _, st := range list.Items {
		if st.Kind != MapNode {
			continue
		}
		kind := stepKind(st)
		if id := st.Get("id"); id != nil && id.Kind == StringNode {
			if s.allIDs[id.Str] {
				s.l.d.add(id.Pos, "step ids are unique within a flow", "step id %q is used twice in flow %q", id.Str, s.flow.Name)
			} else if !identRe.MatchString(id.Str) {
				s.l.d.add(id.Pos, "use letters, digits and _ and start with a letter", "step id %q is not an identifier", id.Str)
			}
			s.allIDs[id.Str] = true
			s.stepType[id.Str] = s.resultType(kind, st)
		}
		if kind == "set" {
			if m := st.Get("set"); m != nil && m.Kind == MapNode {
				for _, k := range m.Keys {
					s.vars[k.Str]++
				}
			}
		}
		for _, sub := range []string{"then", "else", "steps", "try", "catch", "default"} {
			s.collectRec(st.Get(sub))
		}
		if kind == "switch" {
			if cs := st.Get("switch"); cs != nil {
				for _, c := range cs.Items {
					s.collectRec(c.Get("steps"))
					s.collectRec(c.Get("default"))
				}
			}
		}
	}
}

func (s *scope) resultType(kind string, st *Node) types.Type {
	switch kind {
	case "http":
		if h := st.Get("http"); h != nil && h.Get("paginate") != nil {
			return types.Map{"items": types.Array(types.Any), "pages": types.Int}
		}
		return types.Map{"status": types.Int, "headers": types.Map{types.Extra: types.String}, "body": types.Any}
	case "call":
		if c := st.Get("call"); c != nil && c.Kind == StringNode {
			if f := s.l.proj.Flows[c.Str]; f != nil && len(f.Outputs) > 0 {
				m := fieldsType(f.Outputs)
				return m
			}
		}
	case "for_each":
		return types.Array(types.Any)
	}
	return types.Any
}

// stepKind returns the kind key of a step mapping, or "".
func stepKind(n *Node) string {
	for _, k := range n.Keys {
		if _, ok := stepCompanions[k.Str]; ok {
			return k.Str
		}
	}
	return ""
}

// steps builds and checks a list of steps in order.
func (s *scope) steps(list *Node) []Step {
	if list == nil || list.Kind != ListNode {
		return nil
	}
	out := make([]Step, 0, len(list.Items))
	for _, n := range list.Items {
		st := s.step(n)
		if st == nil {
			continue
		}
		if id := st.Base().ID; id != "" {
			s.definite[id] = true
			if s.ran != nil {
				s.ran[id] = true
			}
		}
		out = append(out, st)
	}
	return out
}

// branch checks a nested step list in a copy of the scope and returns its
// steps and the ids it defines on every path.
func (s *scope) branch(list *Node, names types.Map) ([]Step, map[string]bool) {
	c := s
	if len(names) > 0 {
		c = s.with(names)
	} else {
		cp := *s
		cp.definite = maps.Clone(s.definite)
		c = &cp
	}
	st := c.steps(list)
	return st, c.definite
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

func (s *scope) step(n *Node) Step {
	if n.Kind != MapNode {
		return nil // the schema reported it
	}
	kind := stepKind(n)
	if kind == "" {
		return nil
	}
	b := StepBase{Kind: kind, Pos: n.Pos, ID: s.l.str(n, "id"), Name: s.l.str(n, "name")}
	kv := n.Get(kind)
	switch kind {
	case "set":
		st := &SetStep{StepBase: b, Vars: s.namedValues(kv)}
		if kv.Kind == MapNode {
			for _, k := range kv.Keys {
				if !identRe.MatchString(k.Str) {
					s.l.d.add(k.Pos, "variable names are identifiers: letters, digits and _", "variable name %q is not an identifier", k.Str)
				}
				for _, par := range s.parallel {
					if s.vars[k.Str] > par[k.Str] {
						s.l.d.add(k.Pos, "collect results with `collect:` instead, or use concurrency: 1",
							"variable %q is set inside a for_each with concurrency > 1 and also outside it", k.Str)
					}
				}
			}
		}
		return st
	case "http":
		return s.httpStep(b, kv)
	case "if":
		st := &IfStep{StepBase: b, Cond: s.value(kv)}
		var d1, d2 map[string]bool
		st.Then, d1 = s.branch(n.Get("then"), nil)
		st.Else, d2 = s.branch(n.Get("else"), nil)
		s.definite = intersect(d1, d2)
		return st
	case "switch":
		st := &SwitchStep{StepBase: b}
		var sets []map[string]bool
		for _, c := range kv.Items {
			if c.Kind != MapNode {
				continue
			}
			if d := c.Get("default"); d != nil {
				var def map[string]bool
				st.Default, def = s.branch(d, nil)
				st.HasDefault = true
				sets = append(sets, def)
				continue
			}
			sc := SwitchCase{When: s.value(c.Get("when"))}
			var def map[string]bool
			sc.Steps, def = s.branch(c.Get("steps"), nil)
			sets = append(sets, def)
			st.Cases = append(st.Cases, sc)
		}
		if st.HasDefault {
			s.definite = intersect(sets...)
		}
		return st
	case "for_each":
		st := &ForEachStep{StepBase: b, Items: s.value(kv), As: "item", Index: "index", Concurrency: 1}
		if a := s.l.str(n, "as"); a != "" {
			st.As = a
		}
		if ix := s.l.str(n, "index"); ix != "" {
			st.Index = ix
		}
		for _, key := range []string{"as", "index"} {
			nm := map[string]string{"as": st.As, "index": st.Index}[key]
			if _, clash := s.env[nm]; clash && nm != "item" && nm != "index" {
				s.l.d.add(n.Get(key).Pos, "pick another name with as:/index:", "loop variable %q hides the name %q already in scope", nm, nm)
			}
		}
		if c := n.Get("concurrency"); c != nil && c.Kind == IntNode {
			st.Concurrency = int(c.Int)
		}
		if c := n.Get("continue_on_error"); c != nil && c.Kind == BoolNode {
			st.ContinueOnError = c.Bool
		}
		itemT := types.Type(types.Any)
		loopScope := s.with(types.Map{st.As: itemT, st.Index: types.Int})
		loopScope.inLoop++
		if st.Concurrency > 1 {
			inside := map[string]int{}
			countSets(n.Get("steps"), inside)
			loopScope.parallel = append(slices.Clone(s.parallel), inside)
		}
		st.Steps = loopScope.steps(n.Get("steps"))
		if c := n.Get("collect"); c != nil {
			st.Collect = loopScope.value(c)
		}
		return st
	case "call":
		return s.callStep(b, n, kv)
	case "return":
		st := &ReturnStep{StepBase: b, Value: s.value(kv)}
		*s.returns = append(*s.returns, &returnSite{step: st, node: kv})
		return st
	case "fail":
		st := &FailStep{StepBase: b}
		if kv.Kind == MapNode {
			st.Message, st.Code, st.Details = s.value(kv.Get("message")), s.value(kv.Get("code")), s.value(kv.Get("details"))
		} else {
			st.Message = s.value(kv)
		}
		return st
	case "try":
		st := &TryStep{StepBase: b}
		var d1, d2 map[string]bool
		st.Try, d1 = s.branch(kv, nil)
		errT := types.Map{"message": types.String, "code": types.Any, "status": types.Int, "body": types.Any, "step": types.String, "flow": types.String, "details": types.Any}
		st.Catch, d2 = s.branch(n.Get("catch"), types.Map{"error": errT})
		if n.Get("catch") == nil {
			d2 = s.definite
		}
		s.definite = intersect(d1, d2)
		return st
	case "continue_if":
		return &ContinueIfStep{StepBase: b, Cond: s.value(kv), Message: s.value(n.Get("message"))}
	case "log":
		return &LogStep{StepBase: b, Message: s.value(kv)}
	case "wait":
		st := &WaitStep{StepBase: b, Duration: s.value(kv)}
		if st.Duration.IsConst() {
			st.Fixed = s.l.duration(kv, "wait")
		}
		return st
	}
	return nil
}

func countSets(list *Node, into map[string]int) {
	if list == nil || list.Kind != ListNode {
		return
	}
	for _, st := range list.Items {
		if st.Kind != MapNode {
			continue
		}
		if m := st.Get("set"); m != nil && m.Kind == MapNode {
			for _, k := range m.Keys {
				into[k.Str]++
			}
		}
		for _, sub := range []string{"then", "else", "steps", "try", "catch", "default"} {
			countSets(st.Get(sub), into)
		}
		if cs := st.Get("switch"); cs != nil && cs.Kind == ListNode {
			for _, c := range cs.Items {
				countSets(c.Get("steps"), into)
				countSets(c.Get("default"), into)
			}
		}
	}
}

func (s *scope) callStep(b StepBase, n, kv *Node) Step {
	st := &CallStep{StepBase: b, Flow: kv.Str, With: s.namedValues(n.Get("with"))}
	target := s.l.proj.Flows[st.Flow]
	if target == nil && s.l.broken[st.Flow] {
		return st // its file's own error is reported
	}
	if target == nil {
		s.l.d.add(kv.Pos, suggest(st.Flow, s.l.proj.Order0()), "call: no flow named %q", st.Flow)
		return st
	}
	if target.Type == "authping" || target.Type == "revoke" {
		s.l.d.add(kv.Pos, "move the shared steps into a helper flow and call that", "call: flow %q is %s, which cannot be called", st.Flow, aFlow(target.Type))
		return st
	}
	given := map[string]bool{}
	if w := n.Get("with"); w != nil && w.Kind == MapNode {
		for i, k := range w.Keys {
			given[k.Str] = true
			in := target.Input(k.Str)
			if in == nil {
				hint := suggest(k.Str, fieldNames(target.Inputs))
				if hint == "" {
					hint = "declared inputs: " + strings.Join(fieldNames(target.Inputs), ", ")
					if len(target.Inputs) == 0 {
						hint = "flow " + strconvQuote(st.Flow) + " declares no inputs"
					}
				}
				s.l.d.add(k.Pos, hint, "call %s: %q is not an input of flow %q", st.Flow, k.Str, st.Flow)
				continue
			}
			s.checkValue(in, st.With[i].Value, fmt.Sprintf("call %s: input %q", st.Flow, k.Str))
		}
	}
	for _, in := range target.Inputs {
		if in.Required && !in.HasDefault && !given[in.Name] {
			s.l.d.add(kv.Pos, "add it under with:", "call %s: required input %q is not given", st.Flow, in.Name)
		}
	}
	return st
}

func strconvQuote(s string) string { return fmt.Sprintf("%q", s) }

// aFlow names a flow type with its article: "an action flow", "a poll flow".
func aFlow(typ string) string {
	if typ != "" && strings.ContainsRune("aeiou", rune(typ[0])) {
		return "an " + typ + " flow"
	}
	return "a " + typ + " flow"
}

func (s *scope) httpStep(b StepBase, n *Node) Step {
	st := &HTTPStep{StepBase: b, Method: strings.ToUpper(s.l.str(n, "method"))}
	if mn := n.Get("method"); mn != nil && mn.Kind == StringNode && hasTemplate(mn.Str) {
		st.MethodValue, st.Method = s.value(mn), ""
	}
	if st.Method == "" && st.MethodValue == nil {
		st.Method = "GET"
	}
	if p := n.Get("path"); p != nil {
		st.Path = s.value(p)
	}
	if u := n.Get("url"); u != nil {
		st.URL = s.value(u)
	}
	if st.Path == nil && st.URL == nil {
		s.l.d.add(n.Pos, "add path: /relative (joined to base_url) or url: https://...", "http step has neither path nor url")
	}
	if st.Path != nil && st.URL != nil {
		s.l.d.add(n.KeyNode("url").Pos, "keep one of them", "http step has both path and url")
	}
	st.Query = s.namedValues(n.Get("query"))
	st.Headers = s.namedValues(n.Get("headers"))
	// query and headers may also be one expression giving the whole mapping
	if q := n.Get("query"); q != nil && q.Kind == StringNode {
		st.QueryExpr = s.value(q)
	}
	if h := n.Get("headers"); h != nil && h.Kind == StringNode {
		st.HeadersExpr = s.value(h)
	}
	bodies := 0
	if j := n.KeyNode("json"); j != nil {
		st.JSON, st.HasJSON = s.value(n.Get("json")), true
		bodies++
	}
	if f := n.Get("form"); f != nil {
		st.Form = s.value(f)
		bodies++
	}
	if bd := n.Get("body"); bd != nil {
		st.Body = s.value(bd)
		bodies++
	}
	if bodies > 1 {
		s.l.d.add(n.Pos, "keep one of json, form and body", "http step has more than one body")
	}
	if a := n.Get("auth"); a != nil {
		if a.Kind == BoolNode && !a.Bool {
			st.NoAuth = true
		} else if a.Kind == MapNode {
			st.Auth = s.auth(a)
		}
	}
	if t := n.Get("timeout"); t != nil {
		st.Timeout = s.l.duration(t, "http timeout")
	}
	if r := n.Get("retry"); r != nil {
		def := Retry{Attempts: 1, Backoff: time.Second, MaxBackoff: 30 * time.Second}
		if s.l.proj.Connector != nil {
			def = s.l.proj.Connector.HTTP.Retry
		}
		rt := s.l.retry(r, def)
		st.Retry = &rt
	}
	if e := n.Get("expect"); e != nil {
		switch e.Kind {
		case StringNode:
			st.ExpectAll = e.Str == "any"
		case IntNode:
			st.Expect = []int{int(e.Int)}
		case ListNode:
			for _, it := range e.Items {
				if it.Kind == IntNode {
					st.Expect = append(st.Expect, int(it.Int))
				}
			}
		}
	}
	if pg := n.Get("paginate"); pg != nil {
		ps := s.with(types.Map{"response": types.Map{"status": types.Int, "headers": types.Map{types.Extra: types.String}, "body": types.Any}})
		st.Paginate = &Paginate{Items: ps.value(pg.Get("items")), MaxPages: 100}
		if nx := pg.Get("next"); nx != nil {
			st.Paginate.Next = ps.value(nx)
		}
		st.Paginate.NextQuery = ps.namedValues(pg.Get("next_query"))
		if mp := pg.Get("max_pages"); mp != nil && mp.Kind == IntNode {
			st.Paginate.MaxPages = int(mp.Int)
		}
		if st.Paginate.Next == nil && st.Paginate.NextQuery == nil {
			s.l.d.add(pg.Pos, "say how to find the next page with next: or next_query:", "paginate needs next or next_query")
		}
		if st.Paginate.Items == nil {
			s.l.d.add(pg.Pos, "e.g. items: ${ response.body.data }", "paginate needs items")
		}
	}
	return st
}

var identChainRe = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*(?:\??\.[A-Za-z_][A-Za-z0-9_]*)*$`)

// nameHint improves expr's "unknown name" and "unknown field" errors: a name
// that is called is an unknown function, and either gets a "did you mean"
// among the names that would fit there.
func (s *scope) nameHint(d Diagnostic, src string, err error) Diagnostic {
	var fe *file.Error
	if d.Hint != "" || !errors.As(err, &fe) {
		return d
	}
	at := runeToByte(src, fe.From)
	switch {
	case strings.HasPrefix(fe.Message, "unknown name "):
		name := strings.TrimPrefix(fe.Message, "unknown name ")
		if after := src[min(at+len(name), len(src)):]; strings.HasPrefix(strings.TrimLeft(after, " \t\r\n"), "(") {
			d.Message = "expression: unknown function " + name
			d.Hint = suggest(name, functionNames())
			if d.Hint == "" {
				d.Hint = "`flowrun builtins` lists the functions"
			}
			return d
		}
		d.Hint = suggest(name, slices.Sorted(maps.Keys(s.env)))
		for _, scope := range []string{"inputs", "vars", "steps"} {
			if m, ok := s.env[scope].(types.Map); ok && d.Hint == "" {
				if _, ok := m[name]; ok {
					d.Hint = fmt.Sprintf("did you mean %q?", scope+"."+name)
				}
			}
		}
	case strings.HasPrefix(fe.Message, "unknown field "):
		name := strings.TrimPrefix(fe.Message, "unknown field ")
		before := strings.TrimSuffix(strings.TrimSuffix(strings.TrimRight(src[:at], " \t\r\n"), "."), "?")
		chain := identChainRe.FindString(before)
		if chain == "" {
			return d
		}
		var t types.Type = s.env
		for _, part := range strings.Split(chain, ".") {
			m, ok := t.(types.Map)
			if !ok {
				return d
			}
			if t, ok = m[strings.TrimSuffix(part, "?")]; !ok {
				return d
			}
		}
		if m, ok := t.(types.Map); ok {
			keys := make([]string, 0, len(m))
			for k := range m {
				if k != types.Extra {
					keys = append(keys, k)
				}
			}
			slices.Sort(keys)
			d.Hint = suggest(name, keys)
			if d.Hint == "" && len(keys) > 0 && len(keys) <= 12 {
				d.Hint = "known fields: " + strings.Join(keys, ", ")
			}
		}
	}
	return d
}

// functionNames lists expr's own functions and the builtins library.
var functionNames = sync.OnceValue(func() []string {
	names := slices.Clone(builtin.Names)
	for _, sp := range builtins.All() {
		names = append(names, sp.Name)
	}
	slices.Sort(names)
	return slices.Compact(names)
})
