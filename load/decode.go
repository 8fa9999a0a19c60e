package load

import (
	"net/url"
	"strings"
	"time"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/webhook"
)

// The decoder turns checked-by-schema YAML into the syntax tree. It reports
// what the tree's shape alone tells (a webhook flow without an event
// section, a poll flow without a schedule, two bodies on one http step);
// names, references, types and expressions are the checker's.

func str(n *lang.Node, key string) string {
	if v := n.Get(key); v != nil && v.Kind == lang.StringNode {
		return v.Str
	}
	return ""
}

func (l *loader) value(n *lang.Node) *lang.Value {
	if l.valueD != nil {
		return lang.DecodeValue(n, l.valueD)
	}
	return lang.DecodeValue(n, &l.d)
}

func (l *loader) duration(n *lang.Node, what string) time.Duration {
	if n == nil {
		return 0
	}
	if n.Kind != lang.StringNode {
		l.d.Add(n.Pos, "write a duration such as 500ms, 30s, 5m or 1h", "%s must be a duration, got %s", what, n.Kind)
		return 0
	}
	d, err := time.ParseDuration(n.Str)
	if err != nil || d < 0 {
		l.d.Add(n.Pos, "write a duration such as 500ms, 30s, 5m or 1h", "%s: %q is not a duration", what, n.Str)
		return 0
	}
	return d
}

// namedValues decodes a mapping of values, keeping file order.
func (l *loader) namedValues(n *lang.Node) []lang.NamedValue {
	if n == nil || n.Kind != lang.MapNode {
		return nil
	}
	out := make([]lang.NamedValue, len(n.Keys))
	for i, k := range n.Keys {
		out[i] = lang.NamedValue{Name: k.Str, Value: l.value(n.Vals[i])}
	}
	return out
}

// fields decodes a mapping of field declarations.
func (l *loader) fields(n *lang.Node, what string) []*lang.Field {
	if n == nil || n.Kind != lang.MapNode {
		return nil
	}
	var out []*lang.Field
	for i, k := range n.Keys {
		if !lang.IsIdent(k.Str) && !l.fileInvalid { // else the schema said so
			l.d.Add(k.Pos, "use letters, digits and _ and start with a letter", "%s name %q is not an identifier", what, k.Str)
		}
		f := l.field(k.Str, n.Vals[i], what)
		f.Pos = k.Pos
		out = append(out, f)
	}
	return out
}

func (l *loader) field(name string, n *lang.Node, what string) *lang.Field {
	f := &lang.Field{Name: name, Type: "any", Pos: n.Pos}
	switch n.Kind {
	case lang.StringNode:
		f.Type = n.Str
		return f
	case lang.MapNode:
	default:
		return f
	}
	if t := str(n, "type"); t != "" {
		f.Type = t
	}
	if r := n.Get("required"); r != nil && r.Kind == lang.BoolNode {
		f.Required = r.Bool
	}
	if s := n.Get("secret"); s != nil && s.Kind == lang.BoolNode {
		f.Secret = s.Bool
	}
	f.Title, f.Description = str(n, "title"), str(n, "description")
	if it := n.Get("items"); it != nil {
		f.Items = l.field("items", it, what)
	}
	if ps := n.Get("properties"); ps != nil {
		f.Properties = l.fields(ps, what+" property")
	}
	if en := n.Get("enum"); en != nil && en.Kind == lang.ListNode {
		for _, it := range en.Items {
			v := it.Value()
			if msg := lang.CheckType(f.TypeOnly(), v); msg != "" {
				l.d.Add(it.Pos, "", "enum value of %s %q: %s", what, name, msg)
			}
			f.Enum = append(f.Enum, v)
		}
	}
	if d := n.Get("default"); d != nil {
		f.Default, f.HasDefault = d.Value(), true
		if msg := lang.CheckField(f, f.Default); msg != "" {
			l.d.Add(d.Pos, "", "default of %s %q: %s", what, name, msg)
		}
	}
	return f
}

// connector decodes connector.yaml.
func (l *loader) connector(file string, n *lang.Node) *lang.Connector {
	c := &lang.Connector{File: file, Node: n,
		Name: str(n, "name"), Title: str(n, "title"), Version: str(n, "version"), Description: str(n, "description")}
	c.HTTP.Retry = lang.Retry{Attempts: 1, Backoff: time.Second, MaxBackoff: 30 * time.Second}
	if l.fileInvalid {
		return c
	}
	cn := n.Get("connection")
	c.Params = l.fields(cn.Get("params"), "connection parameter")
	if b := n.Get("base_url"); b != nil {
		c.BaseURL = l.value(b)
	}
	if a := cn.Get("auth"); a != nil {
		c.Auth = l.auth(a)
	}
	if c.Auth == nil {
		c.Auth = &lang.Auth{Type: "none"}
	}
	if h := n.Get("http"); h != nil {
		c.HTTP.Timeout = l.duration(h.Get("timeout"), "http.timeout")
		c.HTTP.Headers = l.namedValues(h.Get("headers"))
		if r := h.Get("retry"); r != nil {
			c.HTTP.Retry = l.retry(r, c.HTTP.Retry)
		}
		c.HTTP.AllowedOrigins = l.origins(h.Get("allowed_origins"))
		c.HTTP.OnResponse = l.rules(h.Get("on_response"))
		if rl := h.Get("rate_limit"); rl != nil && rl.Kind == lang.MapNode {
			c.HTTP.RateLimit = l.rateLimit(rl)
		}
	}
	if c.HTTP.Timeout == 0 {
		c.HTTP.Timeout = 30 * time.Second
	}
	return c
}

// origins decodes http.allowed_origins: each entry must be an origin,
// scheme://host[:port], without path, query or user.
func (l *loader) origins(n *lang.Node) []string {
	if n == nil || n.Kind != lang.ListNode {
		return nil
	}
	var out []string
	for _, it := range n.Items {
		if it.Kind != lang.StringNode {
			l.d.Add(it.Pos, "write an origin such as https://uploads.example.com", "allowed_origins entry must be a string, got %s", it.Kind)
			continue
		}
		u, err := url.Parse(it.Str)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery || strings.HasSuffix(it.Str, "#") || strings.Contains(it.Str, "${") {
			l.d.Add(it.Pos, "write scheme://host[:port] with no path, e.g. https://uploads.example.com", "allowed_origins entry %q is not an origin", it.Str)
			continue
		}
		out = append(out, strings.ToLower(u.Scheme)+"://"+strings.ToLower(u.Host))
	}
	return out
}

func (l *loader) retry(n *lang.Node, def lang.Retry) lang.Retry {
	r := def
	r.Set = true
	if a := n.Get("attempts"); a != nil && a.Kind == lang.IntNode {
		r.Attempts = int(a.Int)
	}
	if on := n.Get("on"); on != nil && on.Kind == lang.ListNode {
		r.On = nil
		for _, it := range on.Items {
			if it.Kind == lang.IntNode {
				r.On = append(r.On, int(it.Int))
			}
		}
	}
	if b := n.Get("backoff"); b != nil {
		r.Backoff = l.duration(b, "retry.backoff")
	}
	if b := n.Get("max_backoff"); b != nil {
		r.MaxBackoff = l.duration(b, "retry.max_backoff")
	}
	return r
}

// rules decodes a list of on_response rules. The schema checks that each
// has a when and exactly one action.
func (l *loader) rules(list *lang.Node) []*lang.ResponseRule {
	if list == nil || list.Kind != lang.ListNode {
		return nil
	}
	out := make([]*lang.ResponseRule, 0, len(list.Items))
	for _, n := range list.Items {
		if n.Kind != lang.MapNode {
			continue
		}
		r := &lang.ResponseRule{When: l.value(n.Get("when")), Pos: n.Pos, Node: n}
		switch {
		case n.Get("fail") != nil:
			r.Action = lang.RuleFail
			if f := n.Get("fail"); f.Kind == lang.MapNode {
				r.Message, r.Code, r.Details = l.value(f.Get("message")), l.value(f.Get("code")), l.value(f.Get("details"))
			} else {
				r.Message = l.value(f)
			}
		case n.Get("retry") != nil:
			r.Action = lang.RuleRetry
			if a := n.Get("retry").Get("after"); a != nil && a.Kind != lang.NullNode && !(a.Kind == lang.StringNode && strings.TrimSpace(a.Str) == "") {
				r.After = l.value(a)
				if a.Kind == lang.StringNode && r.After.IsConst() {
					l.duration(a, "retry.after")
				}
			}
		case n.Get("succeed") != nil:
			r.Action = lang.RuleSucceed
		}
		out = append(out, r)
	}
	return out
}

func (l *loader) rateLimit(n *lang.Node) *lang.RateLimit {
	rl := &lang.RateLimit{RemainingHeader: strings.ToLower(str(n, "remaining_header")),
		ResetHeader: strings.ToLower(str(n, "reset_header")), MaxWait: time.Minute}
	if rps := n.Get("requests_per_second"); rps != nil {
		switch rps.Kind {
		case lang.IntNode:
			rl.RequestsPerSecond = float64(rps.Int)
		case lang.FloatNode:
			rl.RequestsPerSecond = rps.Float
		}
	}
	if mw := n.Get("max_wait"); mw != nil {
		rl.MaxWait = l.duration(mw, "rate_limit.max_wait")
	}
	if (rl.RemainingHeader == "") != (rl.ResetHeader == "") && !l.fileInvalid {
		k := n.KeyNode("remaining_header")
		if k == nil {
			k = n.KeyNode("reset_header")
		}
		l.d.Add(k.Pos, "give both: at 0 remaining, requests wait until the reset", "rate_limit needs remaining_header and reset_header together")
	}
	return rl
}

func (l *loader) auth(n *lang.Node) *lang.Auth {
	a := &lang.Auth{Type: str(n, "type"), Pos: n.Pos}
	switch a.Type {
	case "basic":
		b := n.Get("basic")
		a.Username, a.Password = l.value(b.Get("username")), l.value(b.Get("password"))
	case "bearer":
		a.Token = l.value(n.Get("bearer").Get("token"))
	case "header":
		h := n.Get("header")
		a.Header, a.HeaderV = str(h, "name"), l.value(h.Get("value"))
	case "oauth2":
		o := n.Get("oauth2")
		a.OAuth2 = &lang.OAuth2{Grant: str(o, "grant"), ClientAuth: str(o, "client_auth"),
			AuthorizeURL: l.value(o.Get("authorize_url")), TokenURL: l.value(o.Get("token_url")),
			RefreshURL: l.value(o.Get("refresh_url")), ClientID: l.value(o.Get("client_id")),
			ClientSecret: l.value(o.Get("client_secret"))}
		if sc := o.Get("scopes"); sc != nil {
			for _, it := range sc.Items {
				a.OAuth2.Scopes = append(a.OAuth2.Scopes, it.Str)
			}
		}
	}
	for _, k := range []string{"basic", "bearer", "header", "oauth2"} {
		if kn := n.KeyNode(k); kn != nil && k != a.Type {
			l.d.Add(kn.Pos, "set type: "+k+", or remove "+k, "auth type is %q, but %s settings are given", a.Type, k)
		}
	}
	if a.Type != "none" && a.Type != "" && n.Get(a.Type) == nil {
		l.d.Add(n.Get("type").Pos, "", "auth type %q needs its settings under %q", a.Type, a.Type)
	}
	return a
}

// flowSignature decodes what other flows and tests see of a flow: its name,
// type, inputs and outputs.
func (l *loader) flowSignature(fs *flowSrc) *lang.Flow {
	n := fs.node
	f := &lang.Flow{File: fs.file, Node: n, Pos: n.Pos, Name: str(n, "name"), Type: lang.FlowType(str(n, "type")),
		Title: str(n, "title"), Description: str(n, "description")}
	if f.Name == "" {
		if fs.invalid {
			return nil // the schema said why
		}
		l.d.Add(n.Pos, "", "flow has no name")
		return nil
	}
	if nn := n.Get("name"); nn != nil {
		f.Pos = nn.Pos
		if !lang.IsName(f.Name) && !fs.invalid {
			l.d.Add(nn.Pos, "use lower-case letters, digits and _, starting with a letter", "flow name %q is not well formed", f.Name)
		}
	}
	f.Inputs = l.fields(n.Get("inputs"), "input")
	f.Outputs = l.fields(n.Get("outputs"), "output")
	return f
}

// flowBody decodes a flow's sections and what belongs to its type.
func (l *loader) flowBody(fs *flowSrc) {
	f, n := fs.flow, fs.node
	if fs.invalid {
		// The schema reported this file's shape problems: what the decoder
		// would say about its shape is said already. Expressions (their
		// template syntax here, the rest in check) are still reported.
		real := l.d
		l.valueD = &real
		l.d = lang.Diags{}
		defer func() { l.d, l.valueD = *l.valueD, nil }()
	}
	if t := n.Get("timeout"); t != nil {
		f.Timeout = l.duration(t, "timeout")
	}
	typeNode := n.Get("type")
	switch f.Type {
	case lang.AuthPing, lang.Revoke:
		if in := n.KeyNode("inputs"); in != nil && len(f.Inputs) > 0 {
			l.d.Add(in.Pos, f.Type.Article()+" runs with the connection alone", "%s takes no inputs", f.Type.Article())
		}
	}
	switch f.Type {
	case lang.Webhook:
		// deregister is optional: `trigger off` then only forgets the registration
		for _, k := range []string{"register", "event"} {
			if n.Get(k) == nil {
				l.d.Add(typeNode.Pos, "a webhook flow has register and event sections (and optionally deregister)", "webhook flow %q has no %s section", f.Name, k)
			}
		}
		if k := n.KeyNode("steps"); k != nil {
			l.d.Add(k.Pos, "put the steps that handle a delivery under event.steps", "a webhook flow has no top-level steps")
		}
		if v := n.Get("verify"); v != nil {
			f.Verify = &lang.Verify{Spec: webhook.Spec{Scheme: str(v, "scheme"), Header: str(v, "header"),
				Format: str(v, "format"), SignedPayload: str(v, "signed_payload"), TimestampHeader: str(v, "timestamp_header")},
				Secret: l.value(v.Get("secret")), Pos: v.Pos, Node: v, Broken: l.schemaBroken(v)}
			if t := v.Get("tolerance"); t != nil {
				f.Verify.Tolerance = l.duration(t, "verify.tolerance")
			}
		}
		f.Register = l.steps(n.Get("register").Get("steps"))
		if d := n.Get("deregister"); d != nil {
			f.Deregister = l.steps(d.Get("steps"))
			f.HasDeregister = true
		}
		f.Event = l.steps(n.Get("event").Get("steps"))
		if d := n.Get("dedupe"); d != nil {
			f.Dedupe = l.value(d)
		}
	case lang.Poll:
		if sc := n.Get("schedule"); sc == nil {
			l.d.Add(typeNode.Pos, "add schedule: 5m (at least 1m)", "poll flow %q has no schedule", f.Name)
		} else {
			f.Schedule = l.duration(sc, "schedule")
			if f.Schedule > 0 && f.Schedule < time.Minute {
				l.d.Add(sc.Pos, "poll at most once a minute", "schedule %s is shorter than 1m", sc.Str)
			}
		}
		if d := n.Get("dedupe"); d != nil {
			f.Dedupe = l.value(d)
		}
		if n.Get("steps") == nil {
			l.d.Add(typeNode.Pos, "", "poll flow %q has no steps", f.Name)
		}
		f.Steps = l.steps(n.Get("steps"))
	default:
		if n.Get("steps") == nil {
			l.d.Add(f.Pos, "add steps: [...]", "flow %q has no steps", f.Name)
		}
		f.Steps = l.steps(n.Get("steps"))
	}
	if f.Type != lang.Webhook {
		for _, k := range []string{"verify", "register", "deregister", "event"} {
			if kn := n.KeyNode(k); kn != nil {
				l.d.Add(kn.Pos, "only webhook flows have "+k, "%s is not allowed in %s", k, f.Type.Article())
			}
		}
	}
	if f.Type != lang.Poll {
		for _, k := range []string{"schedule", "dedupe"} {
			if k == "dedupe" && f.Type == lang.Webhook {
				continue
			}
			if kn := n.KeyNode(k); kn != nil {
				l.d.Add(kn.Pos, "only poll flows have "+k, "%s is not allowed in %s", k, f.Type.Article())
			}
		}
	}
}

// steps decodes a list of steps.
func (l *loader) steps(list *lang.Node) []lang.Step {
	if list == nil || list.Kind != lang.ListNode {
		return nil
	}
	out := make([]lang.Step, 0, len(list.Items))
	for _, n := range list.Items {
		if st := l.step(n); st != nil {
			out = append(out, st)
		}
	}
	return out
}

// step decodes one step: one case per kind.
func (l *loader) step(n *lang.Node) lang.Step {
	if n.Kind != lang.MapNode {
		return nil // the schema reported it
	}
	kind := lang.StepKindOf(n)
	if kind == "" {
		return nil
	}
	b := lang.StepBase{Kind: kind, Pos: n.Pos, ID: str(n, "id"), Name: str(n, "name"), Node: n, Broken: l.schemaBroken(n)}
	kv := n.Get(string(kind))
	switch kind {
	case lang.KindSet:
		return &lang.SetStep{StepBase: b, Vars: l.namedValues(kv)}
	case lang.KindHTTP:
		return l.httpStep(b, kv)
	case lang.KindIf:
		return &lang.IfStep{StepBase: b, Cond: l.value(kv), Then: l.steps(n.Get("then")), Else: l.steps(n.Get("else"))}
	case lang.KindSwitch:
		st := &lang.SwitchStep{StepBase: b}
		for _, c := range kv.Items {
			if c.Kind != lang.MapNode {
				continue
			}
			if d := c.Get("default"); d != nil {
				st.Default, st.HasDefault = l.steps(d), true
				continue
			}
			st.Cases = append(st.Cases, lang.SwitchCase{When: l.value(c.Get("when")), Steps: l.steps(c.Get("steps"))})
		}
		return st
	case lang.KindForEach:
		st := &lang.ForEachStep{StepBase: b, Items: l.value(kv), As: "item", Index: "index", Concurrency: 1}
		if a := str(n, "as"); a != "" {
			st.As = a
		}
		if ix := str(n, "index"); ix != "" {
			st.Index = ix
		}
		if c := n.Get("concurrency"); c != nil && c.Kind == lang.IntNode {
			st.Concurrency = int(c.Int)
		}
		if c := n.Get("continue_on_error"); c != nil && c.Kind == lang.BoolNode {
			st.ContinueOnError = c.Bool
		}
		st.Steps = l.steps(n.Get("steps"))
		if c := n.Get("collect"); c != nil {
			st.Collect = l.value(c)
		}
		return st
	case lang.KindCall:
		return &lang.CallStep{StepBase: b, Flow: kv.Str, With: l.namedValues(n.Get("with"))}
	case lang.KindReturn:
		return &lang.ReturnStep{StepBase: b, Value: l.value(kv)}
	case lang.KindFail:
		st := &lang.FailStep{StepBase: b}
		if kv.Kind == lang.MapNode {
			st.Message, st.Code, st.Details = l.value(kv.Get("message")), l.value(kv.Get("code")), l.value(kv.Get("details"))
		} else {
			st.Message = l.value(kv)
		}
		return st
	case lang.KindTry:
		return &lang.TryStep{StepBase: b, Try: l.steps(kv), Catch: l.steps(n.Get("catch")), HasCatch: n.Get("catch") != nil}
	case lang.KindContinueIf:
		return &lang.ContinueIfStep{StepBase: b, Cond: l.value(kv), Message: l.value(n.Get("message"))}
	case lang.KindLog:
		return &lang.LogStep{StepBase: b, Message: l.value(kv)}
	case lang.KindWait:
		st := &lang.WaitStep{StepBase: b, Duration: l.value(kv)}
		if st.Duration.IsConst() {
			st.Fixed = l.duration(kv, "wait")
		}
		return st
	}
	panic("load: step kind without a decoder: " + string(kind))
}

func (l *loader) httpStep(b lang.StepBase, n *lang.Node) lang.Step {
	st := &lang.HTTPStep{StepBase: b, Method: strings.ToUpper(str(n, "method"))}
	if mn := n.Get("method"); mn != nil && mn.Kind == lang.StringNode && lang.HasTemplate(mn.Str) {
		st.MethodValue, st.Method = l.value(mn), ""
	}
	if st.Method == "" && st.MethodValue == nil {
		st.Method = "GET"
	}
	if p := n.Get("path"); p != nil {
		st.Path = l.value(p)
	}
	if u := n.Get("url"); u != nil {
		st.URL = l.value(u)
	}
	if st.Path == nil && st.URL == nil {
		l.d.Add(n.Pos, "add path: /relative (joined to base_url) or url: https://...", "http step has neither path nor url")
	}
	if st.Path != nil && st.URL != nil {
		l.d.Add(n.KeyNode("url").Pos, "keep one of them", "http step has both path and url")
	}
	// query and headers are a mapping of values, or one expression giving the whole mapping
	if q := n.Get("query"); q != nil && q.Kind == lang.StringNode {
		st.QueryExpr = l.value(q)
	} else {
		st.Query = l.namedValues(q)
	}
	if h := n.Get("headers"); h != nil && h.Kind == lang.StringNode {
		st.HeadersExpr = l.value(h)
	} else {
		st.Headers = l.namedValues(h)
	}
	bodies := 0
	if j := n.KeyNode("json"); j != nil {
		st.JSON, st.HasJSON = l.value(n.Get("json")), true
		bodies++
	}
	if f := n.Get("form"); f != nil {
		st.Form = l.value(f)
		bodies++
	}
	if bd := n.Get("body"); bd != nil {
		st.Body = l.value(bd)
		bodies++
	}
	if bodies > 1 {
		l.d.Add(n.Pos, "keep one of json, form and body", "http step has more than one body")
	}
	if a := n.Get("auth"); a != nil {
		if a.Kind == lang.BoolNode && !a.Bool {
			st.NoAuth = true
		} else if a.Kind == lang.MapNode {
			st.Auth = l.auth(a)
		}
	}
	if t := n.Get("timeout"); t != nil {
		st.Timeout = l.duration(t, "http timeout")
	}
	if r := n.Get("retry"); r != nil {
		def := lang.Retry{Attempts: 1, Backoff: time.Second, MaxBackoff: 30 * time.Second}
		if l.proj.Connector != nil {
			def = l.proj.Connector.HTTP.Retry
		}
		rt := l.retry(r, def)
		st.Retry = &rt
	}
	if e := n.Get("expect"); e != nil {
		switch e.Kind {
		case lang.StringNode:
			st.ExpectAll = e.Str == "any"
		case lang.IntNode:
			st.Expect = []int{int(e.Int)}
		case lang.ListNode:
			for _, it := range e.Items {
				if it.Kind == lang.IntNode {
					st.Expect = append(st.Expect, int(it.Int))
				}
			}
		}
	}
	st.OnResponse = l.rules(n.Get("on_response"))
	if o := n.Get("omit_nulls"); o != nil && o.Kind == lang.BoolNode {
		st.OmitNulls = o.Bool
		if o.Bool && !st.HasJSON && !l.fileInvalid {
			l.d.Add(n.KeyNode("omit_nulls").Pos, "omit_nulls applies to a json: body", "omit_nulls is set but the step sends no json body")
		}
	}
	if pg := n.Get("paginate"); pg != nil {
		st.Paginate = &lang.Paginate{Items: l.value(pg.Get("items")), MaxPages: 100, Node: pg}
		if nx := pg.Get("next"); nx != nil {
			st.Paginate.Next = l.value(nx)
		}
		st.Paginate.NextQuery = l.namedValues(pg.Get("next_query"))
		if mp := pg.Get("max_pages"); mp != nil {
			switch {
			case mp.Kind == lang.IntNode:
				st.Paginate.MaxPages = int(mp.Int)
			case mp.Kind == lang.StringNode && lang.HasTemplate(mp.Str):
				st.Paginate.MaxPagesV = l.value(mp)
			}
		}
		if ep := pg.Get("each_page"); ep != nil {
			st.Paginate.EachPage, st.Paginate.HasEachPage = l.steps(ep), true
		}
		if c := pg.Get("collect"); c != nil {
			st.Paginate.Collect = l.value(c)
			if !st.Paginate.HasEachPage && !l.fileInvalid {
				l.d.Add(pg.KeyNode("collect").Pos, "without each_page every item is kept; with it, collect says which items of a page to keep",
					"paginate.collect goes with each_page")
			}
		}
		if st.Paginate.Next == nil && st.Paginate.NextQuery == nil {
			l.d.Add(pg.Pos, "say how to find the next page with next: or next_query:", "paginate needs next or next_query")
		}
		if st.Paginate.Items == nil {
			l.d.Add(pg.Pos, "e.g. items: ${ response.body.data }", "paginate needs items")
		}
	}
	return st
}
