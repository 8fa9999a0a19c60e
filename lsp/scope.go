package lsp

import (
	"fmt"
	"sort"
	"strings"

	"github.com/expr-lang/expr/types"

	"github.com/flowrun/flowrun/lang"
)

// member is a name in scope, or a field of one, as completion, hover and
// definition show it.
type member struct {
	name   string
	typ    string // a flowrun type name: string, integer, number, boolean, object, list, any
	doc    string // markdown
	fields []member
	def    *lang.Pos // where it is declared
	file   string    // the file of def when it is not the current one
}

func (m *member) field(name string) *member {
	for i := range m.fields {
		if m.fields[i].name == name {
			return &m.fields[i]
		}
	}
	return nil
}

// typeName names an expr type the way the language reference does.
func typeName(t types.Type) string {
	if t == nil {
		return "any"
	}
	if _, ok := t.(types.Map); ok {
		return "object"
	}
	switch s := t.String(); {
	case s == "int" || s == "int64":
		return "integer"
	case s == "float64" || s == "float32":
		return "number"
	case s == "string":
		return "string"
	case s == "bool":
		return "boolean"
	case strings.HasPrefix(s, "Array{"):
		return "list"
	}
	return "any"
}

// objectMembers lists the fields of a lang.Object's type.
func objectMembers(m types.Map, what string) []member {
	var out []member
	for name, t := range m {
		if name == types.Extra {
			continue
		}
		mb := member{name: name, typ: typeName(t), doc: fmt.Sprintf("`%s.%s`: %s", what, name, typeName(t))}
		if sub, ok := t.(types.Map); ok {
			mb.fields = objectMembers(sub, what+"."+name)
		}
		out = append(out, mb)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// fieldMember describes a declared field (input, output, parameter).
func fieldMember(f *lang.Field, what, file string) member {
	m := member{name: f.Name, typ: f.Type, file: file}
	if m.typ == "" {
		m.typ = "any"
	}
	if f.Pos.Line > 0 {
		p := f.Pos
		m.def = &p
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s `%s`: %s", what, f.Name, typeText(f))
	if f.Required && !f.HasDefault {
		b.WriteString(", required")
	}
	if f.HasDefault {
		fmt.Fprintf(&b, ", default `%v`", marshal(f.Default))
	}
	if f.Secret {
		b.WriteString(", secret")
	}
	if len(f.Enum) > 0 {
		fmt.Fprintf(&b, ", one of `%s`", strings.Trim(marshal(f.Enum), "[]"))
	}
	if f.Title != "" {
		b.WriteString("\n\n" + f.Title)
	}
	if f.Description != "" {
		b.WriteString("\n\n" + f.Description)
	}
	m.doc = b.String()
	for _, p := range f.Properties {
		m.fields = append(m.fields, fieldMember(p, "property", file))
	}
	return m
}

func typeText(f *lang.Field) string {
	t := f.Type
	if t == "" {
		t = "any"
	}
	if t == "list" && f.Items != nil {
		return "list of " + typeText(f.Items)
	}
	return t
}

// fieldsOf decodes field declarations (inputs:, outputs:) from a node
// tree the way the loader does, for a document that may not load.
func fieldsOf(n *lang.Node) []*lang.Field {
	if n == nil || n.Kind != lang.MapNode {
		return nil
	}
	var out []*lang.Field
	for i, k := range n.Keys {
		f := fieldOf(k.Str, n.Vals[i])
		f.Pos = k.Pos
		out = append(out, f)
	}
	return out
}

func fieldOf(name string, n *lang.Node) *lang.Field {
	f := &lang.Field{Name: name, Type: "any"}
	switch n.Kind {
	case lang.StringNode:
		f.Type = n.Str
	case lang.MapNode:
		if t := n.Get("type"); t != nil && t.Kind == lang.StringNode {
			f.Type = t.Str
		}
		if r := n.Get("required"); r != nil && r.Kind == lang.BoolNode {
			f.Required = r.Bool
		}
		if s := n.Get("secret"); s != nil && s.Kind == lang.BoolNode {
			f.Secret = s.Bool
		}
		if d := n.Get("default"); d != nil {
			f.Default, f.HasDefault = d.Value(), true
		}
		if t := n.Get("title"); t != nil {
			f.Title = t.Str
		}
		if d := n.Get("description"); d != nil {
			f.Description = d.Str
		}
		if e := n.Get("enum"); e != nil && e.Kind == lang.ListNode {
			for _, it := range e.Items {
				f.Enum = append(f.Enum, it.Value())
			}
		}
		if it := n.Get("items"); it != nil {
			f.Items = fieldOf("items", it)
		}
		f.Properties = fieldsOf(n.Get("properties"))
	}
	return f
}

// stepLists calls fn for every step of a list and of the lists nested in
// its steps (then, else, steps, try, catch, switch cases and default, a
// paginate's each_page), in file order.
func stepLists(list *lang.Node, fn func(step *lang.Node)) {
	if list == nil || list.Kind != lang.ListNode {
		return
	}
	for _, st := range list.Items {
		if st.Kind != lang.MapNode {
			continue
		}
		fn(st)
		for _, k := range []string{"then", "else", "steps", "try", "catch"} {
			stepLists(st.Get(k), fn)
		}
		stepLists(st.Get("http").Get("paginate").Get("each_page"), fn)
		if sw := st.Get("switch"); sw != nil && sw.Kind == lang.ListNode {
			for _, c := range sw.Items {
				stepLists(c.Get("steps"), fn)
				stepLists(c.Get("default"), fn)
			}
		}
	}
}

// stepResult describes steps.<id> for a step mapping.
func (c *scopeBuilder) stepResult(st *lang.Node, id string) member {
	m := member{name: id, typ: "any"}
	if idn := st.Get("id"); idn != nil {
		p := idn.Pos
		m.def = &p
	}
	kind := lang.StepKindOf(st)
	label := fmt.Sprintf("step `%s` (%s)", id, kind)
	switch kind {
	case lang.KindHTTP:
		m.typ = "object"
		if st.Get("http").Get("paginate") != nil {
			m.fields = objectMembers(lang.PagesObject.Type(), "steps."+id)
			m.doc = label + " with paginate: `{items, pages}`"
		} else {
			m.fields = objectMembers(lang.ResponseObject.Type(), "steps."+id)
			m.doc = label + ": `{status, headers, body}`"
		}
	case lang.KindCall:
		target := st.Get("call")
		if target != nil && c.proj != nil {
			if f := c.proj.Flow(target.Str); f != nil && len(f.Outputs) > 0 {
				m.typ = "object"
				for _, o := range f.Outputs {
					m.fields = append(m.fields, fieldMember(o, "output", f.File))
				}
				m.doc = fmt.Sprintf("%s: the outputs of flow `%s`", label, f.Name)
				break
			}
		}
		m.doc = label
	case lang.KindForEach:
		m.typ = "list"
		m.doc = label + ": the list of `collect` values"
	default:
		m.doc = label
	}
	return m
}

// scopeBuilder finds the names an expression can read where it stands.
type scopeBuilder struct {
	proj *lang.Project // may be nil or partial
	kind string        // connector, flow or test
	root *lang.Node    // the document's tree
	file string
}

// namesAt lists the names in scope for an expression at path in the
// document: the rules of check (which names exist where), with the types
// the declarations give. It mirrors check.flow and check.step; a test
// compiles every shipped expression to keep them in step.
func (c *scopeBuilder) namesAt(path []seg) []member {
	var out []member
	add := func(name, typ string, fields []member) {
		out = append(out, member{name: name, typ: typ, doc: fmt.Sprintf("`%s` (%s): in %s", name, typ, lang.WhereIs(name)), fields: fields})
	}
	if c.kind == "connector" {
		add("connection", "object", c.connection())
		add("connector", "object", objectMembers(lang.ConnectorObject.Type(), "connector"))
		return out
	}
	if c.kind != "flow" || c.root == nil || len(path) == 0 {
		return nil
	}
	typ := lang.FlowType(strVal(c.root.Get("type")))
	inputs := c.inputs()
	conn := c.connection()
	first := path[0].key
	switch {
	case first == "verify" && typ == lang.Webhook:
		add("inputs", "object", inputs)
		add("connection", "object", conn)
		add("registration", "object", nil)
		add("webhook", "object", objectMembers(lang.WebhookObject.Type(), "webhook"))
		return out
	case first == "dedupe":
		add("event", "object", c.outputs())
		add("inputs", "object", inputs)
		if typ == lang.Webhook {
			add("request", "object", objectMembers(lang.RequestObject.Type(), "request"))
		}
		return out
	}
	var section *lang.Node
	rest := path
	switch {
	case first == "steps" && typ != lang.Webhook:
		section, rest = c.root.Get("steps"), path[1:]
	case (first == "register" || first == "deregister" || first == "event") && typ == lang.Webhook && len(path) > 1 && path[1].key == "steps":
		section, rest = c.root.Get(first).Get("steps"), path[2:]
	default:
		return nil
	}
	add("inputs", "object", inputs)
	add("connection", "object", conn)
	add("connector", "object", objectMembers(lang.ConnectorObject.Type(), "connector"))
	add("flow", "object", objectMembers(lang.FlowObject.Type(), "flow"))
	switch first {
	case "steps":
		if typ == lang.Poll {
			add("cursor", "any", nil)
		}
	case "register":
		add("webhook", "object", objectMembers(lang.WebhookObject.Type(), "webhook"))
	case "deregister":
		add("registration", "object", nil)
		add("webhook", "object", objectMembers(lang.WebhookObject.Type(), "webhook"))
	case "event":
		add("request", "object", objectMembers(lang.RequestObject.Type(), "request"))
		add("registration", "object", nil)
		add("webhook", "object", objectMembers(lang.WebhookObject.Type(), "webhook"))
	}
	// vars and steps: what the section's steps set and name
	var vars, steps []member
	seenVar := map[string]bool{}
	stepLists(section, func(st *lang.Node) {
		if set := st.Get("set"); set != nil && set.Kind == lang.MapNode {
			for _, k := range set.Keys {
				if !seenVar[k.Str] {
					seenVar[k.Str] = true
					p := k.Pos
					vars = append(vars, member{name: k.Str, typ: "any", def: &p, doc: fmt.Sprintf("variable `%s`, set at line %d", k.Str, k.Pos.Line)})
				}
			}
		}
		if id := strVal(st.Get("id")); id != "" {
			steps = append(steps, c.stepResult(st, id))
		}
	})
	add("vars", "object", vars)
	add("steps", "object", steps)
	// the names of the blocks the path goes through
	n := section
	for i := 0; i < len(rest); i++ {
		n = lookup(n, rest[i:i+1])
		if n == nil || n.Kind != lang.MapNode || i+1 >= len(rest) {
			continue
		}
		next := rest[i+1].key
		switch lang.StepKindOf(n) {
		case lang.KindForEach:
			if next == "steps" || next == "collect" {
				as, index := "item", "index"
				if a := strVal(n.Get("as")); a != "" {
					as = a
				}
				if x := strVal(n.Get("index")); x != "" {
					index = x
				}
				out = append(out, member{name: as, typ: "any", doc: fmt.Sprintf("`%s`: the item of the for_each", as)},
					member{name: index, typ: "integer", doc: fmt.Sprintf("`%s` (integer): the item's index in the for_each", index)})
			}
		case lang.KindTry:
			if next == "catch" {
				add("error", "object", objectMembers(lang.ErrorObject.Type(), "error"))
			}
		case lang.KindHTTP:
			if next == "http" && i+3 < len(rest) && rest[i+2].key == "paginate" {
				switch rest[i+3].key {
				case "items", "next", "next_query":
					add("response", "object", objectMembers(lang.ResponseObject.Type(), "response"))
				case "each_page", "collect":
					add("response", "object", objectMembers(lang.ResponseObject.Type(), "response"))
					add("page", "object", objectMembers(lang.PageObject.Type(), "page"))
				}
			}
			if next == "http" && i+2 < len(rest) && rest[i+2].key == "on_response" {
				// a response rule's when, fail and retry see the response
				add("response", "object", objectMembers(lang.ResponseObject.Type(), "response"))
			}
		}
	}
	return out
}

func strVal(n *lang.Node) string {
	if n == nil || n.Kind != lang.StringNode {
		return ""
	}
	return n.Str
}

func (c *scopeBuilder) inputs() []member {
	var out []member
	for _, f := range fieldsOf(c.root.Get("inputs")) {
		out = append(out, fieldMember(f, "input", c.file))
	}
	return out
}

func (c *scopeBuilder) outputs() []member {
	var out []member
	for _, f := range fieldsOf(c.root.Get("outputs")) {
		out = append(out, fieldMember(f, "output", c.file))
	}
	return out
}

// connection is `connection`: the connector's parameters and the token.
func (c *scopeBuilder) connection() []member {
	var out []member
	var params []*lang.Field
	file := ""
	switch {
	case c.kind == "connector" && c.root != nil:
		params = fieldsOf(c.root.Get("connection").Get("params"))
	case c.proj != nil && c.proj.Connector != nil:
		params, file = c.proj.Connector.Params, c.proj.Connector.File
	}
	for _, p := range params {
		out = append(out, fieldMember(p, "connection parameter", file))
	}
	out = append(out, member{name: "token", typ: "object", doc: "`connection.token`: the OAuth 2.0 token",
		fields: objectMembers(lang.TokenObject.Type(), "connection.token")})
	return out
}
