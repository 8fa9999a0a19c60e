package lang

// Blocks returns the nested step lists of a step (a branch, a loop body, a
// try or catch), in file order. It is the one place that knows which kinds
// hold steps: every pass over a flow's tree goes through Walk or Blocks.
func Blocks(st Step) [][]Step {
	switch s := st.(type) {
	case *IfStep:
		return [][]Step{s.Then, s.Else}
	case *SwitchStep:
		out := make([][]Step, 0, len(s.Cases)+1)
		for _, c := range s.Cases {
			out = append(out, c.Steps)
		}
		return append(out, s.Default)
	case *ForEachStep:
		return [][]Step{s.Steps}
	case *TryStep:
		return [][]Step{s.Try, s.Catch}
	case *HTTPStep:
		if s.Paginate.Streams() {
			return [][]Step{s.Paginate.EachPage}
		}
		return nil
	case *SetStep, *CallStep, *ReturnStep, *FailStep, *ContinueIfStep, *LogStep, *WaitStep:
		return nil
	}
	panic("lang.Blocks: unknown step type")
}

// Walk calls fn for every step of list and of the blocks nested in it, in
// file order (a step before its blocks). When fn returns false, Walk does not
// descend into that step's blocks.
func Walk(list []Step, fn func(Step) bool) {
	for _, st := range list {
		if fn(st) {
			for _, b := range Blocks(st) {
				Walk(b, fn)
			}
		}
	}
}

// Values calls fn for every Value a step holds itself (not those of nested
// steps), in file order, so that analyses of expressions need no switch of
// their own.
func Values(st Step, fn func(*Value)) {
	named := func(nvs []NamedValue) {
		for _, nv := range nvs {
			fn(nv.Value)
		}
	}
	switch s := st.(type) {
	case *SetStep:
		named(s.Vars)
	case *HTTPStep:
		fn(s.MethodValue)
		fn(s.Path)
		fn(s.URL)
		named(s.Query)
		fn(s.QueryExpr)
		named(s.Headers)
		fn(s.HeadersExpr)
		fn(s.JSON)
		fn(s.Form)
		fn(s.Body)
		AuthValues(s.Auth, fn)
		if p := s.Paginate; p != nil {
			fn(p.Items)
			fn(p.Next)
			named(p.NextQuery)
			fn(p.MaxPagesV)
			fn(p.Collect)
		}
		RuleValues(s.OnResponse, fn)
	case *IfStep:
		fn(s.Cond)
	case *SwitchStep:
		for _, c := range s.Cases {
			fn(c.When)
		}
	case *ForEachStep:
		fn(s.Items)
		fn(s.Collect)
	case *CallStep:
		named(s.With)
	case *ReturnStep:
		fn(s.Value)
	case *FailStep:
		fn(s.Message)
		fn(s.Code)
		fn(s.Details)
	case *TryStep:
	case *ContinueIfStep:
		fn(s.Cond)
		fn(s.Message)
	case *LogStep:
		fn(s.Message)
	case *WaitStep:
		fn(s.Duration)
	default:
		panic("lang.Values: unknown step type")
	}
}

// AuthValues calls fn for every Value of an auth block.
func AuthValues(a *Auth, fn func(*Value)) {
	if a == nil {
		return
	}
	fn(a.Username)
	fn(a.Password)
	fn(a.Token)
	fn(a.HeaderV)
	if o := a.OAuth2; o != nil {
		fn(o.AuthorizeURL)
		fn(o.TokenURL)
		fn(o.RefreshURL)
		fn(o.ClientID)
		fn(o.ClientSecret)
	}
}

// RuleValues calls fn for every Value of a list of response rules.
func RuleValues(rules []*ResponseRule, fn func(*Value)) {
	for _, r := range rules {
		fn(r.When)
		fn(r.Message)
		fn(r.Code)
		fn(r.Details)
		fn(r.After)
	}
}
