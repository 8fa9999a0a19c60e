package scaffold

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/pb33f/libopenapi"
	"github.com/pb33f/libopenapi/datamodel"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
)

// OpenAPIOptions configure FromOpenAPI.
type OpenAPIOptions struct {
	// Name is the connector's name; default: the description's title in snake_case.
	Name string
	// Operations, if set, keeps only the operations whose operationId or
	// "METHOD /path" it matches.
	Operations *regexp.Regexp

	noFiles bool // tests: $refs to other files are not followed (no file is read)
}

// SpecError is a description that cannot be used: not OpenAPI 3, Swagger
// 2.0, unparseable, or without operations.
type SpecError struct {
	File string
	Msg  string
}

func (e *SpecError) Error() string { return e.File + ": " + e.Msg }

// maxSpecSize bounds the descriptions read (the largest public ones are ~10 MB).
const maxSpecSize = 64 << 20

// FromOpenAPI writes a connector project into dir generated from the OpenAPI
// 3.0 or 3.1 description in the file spec.
func FromOpenAPI(spec, dir string, o OpenAPIOptions) (*Result, error) {
	if o.Name != "" && !validName(o.Name) {
		return nil, fmt.Errorf("--name %q is not a connector name: use a lower-case letter, then a-z, 0-9 and _ (such as %q)", o.Name, snake(o.Name))
	}
	if err := checkEmpty(dir); err != nil {
		return nil, err
	}
	if strings.HasPrefix(spec, "http://") || strings.HasPrefix(spec, "https://") {
		return nil, fmt.Errorf("%s: give a local file: download the description first (init reads no network)", spec)
	}
	f, err := os.Open(spec)
	if err != nil {
		return nil, fmt.Errorf("cannot read the OpenAPI description: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxSpecSize+1))
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("cannot read the OpenAPI description: %w", err)
	}
	if len(data) > maxSpecSize {
		return nil, &SpecError{spec, fmt.Sprintf("larger than %d MiB: trim it to the operations you need", maxSpecSize>>20)}
	}
	a, err := readSpec(spec, data, o)
	if err != nil {
		return nil, err
	}
	files := a.render()
	addSchemas(files)
	written, err := writeFiles(dir, files)
	if err != nil {
		return nil, err
	}
	return &Result{Dir: dir, Files: written, Notes: a.notes}, nil
}

// api is what the generator keeps of a description.
type api struct {
	file        string // base name of the description, for notes
	name, title string
	description string
	apiVersion  string
	baseURL     string // first server, variables at their defaults
	basePath    string // baseURL's path, which mocks see
	servers     []string
	auth        authSpec
	unusedAuth  []string // security schemes not mapped
	webhooks    []string
	ops         []*op
	authping    *op
	notes       []Note
}

type authSpec struct {
	kind        string // none basic bearer header oauth2
	scheme      string // the security scheme's name
	headerName  string
	param       string // the secret param (header)
	description string
	grant       string
	authorize   string
	token       string
	refresh     string
	scopes      []string
}

type op struct {
	name        string
	method      string // upper case
	path        string
	opID        string
	line        int
	title       string
	description string
	deprecated  bool
	params      []*param
	body        *bodySpec
	status      int    // the success status of the mock
	mediaType   string // of the success response, "" for none
	example     any    // the success response body of the mock
	listField   string // the array property of the success body, for paginate
	isArray     bool   // the success body is an array
	hasLink     bool   // a Link response header
	noAuth      bool   // security: [] on the operation
	comments    []string
	pagination  string
}

type param struct {
	input    string // the flow's input name
	wire     string
	in       string // path query header
	f        *fld
	required bool
	join     string // "," " " "|" for arrays that are not exploded
	example  any
}

type bodySpec struct {
	f         *fld
	mediaType string
	form      bool
	example   any
}

// quiet is a logger for libopenapi, which logs what it also returns as errors.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func readSpec(spec string, data []byte, o OpenAPIOptions) (a *api, err error) {
	// libopenapi is a large parser fed untrusted text: a panic in it is a
	// description it cannot read, not a crash of flowrun.
	defer func() {
		if r := recover(); r != nil {
			a, err = nil, &SpecError{spec, fmt.Sprintf("cannot read this description (the OpenAPI reader failed: %v)", r)}
		}
	}()
	abs, _ := filepath.Abs(spec)
	cfg := &datamodel.DocumentConfiguration{
		BasePath:              filepath.Dir(abs),
		SpecFilePath:          filepath.Base(abs),
		AllowFileReferences:   !o.noFiles,
		AllowRemoteReferences: false,
		Logger:                quiet,
	}
	doc, err := libopenapi.NewDocumentWithConfiguration(data, cfg)
	if err != nil {
		return nil, &SpecError{spec, "not an OpenAPI description: " + firstErr(err)}
	}
	info := doc.GetSpecInfo()
	switch {
	case info == nil:
		return nil, &SpecError{spec, "not an OpenAPI description"}
	case info.SpecFormat == datamodel.OAS2:
		return nil, &SpecError{spec, "is Swagger 2.0, which init does not read: convert it to OpenAPI 3 first " +
			"(for example with swagger2openapi, or the Swagger Editor's Edit > Convert to OpenAPI 3), then run init on the result"}
	case info.SpecFormat != datamodel.OAS3 && info.SpecFormat != datamodel.OAS31 && info.SpecFormat != datamodel.OAS32:
		return nil, &SpecError{spec, "not an OpenAPI 3 description: it needs a top-level `openapi: 3.0.x` or `openapi: 3.1.x`"}
	}
	model, err := doc.BuildV3Model()
	if model == nil {
		return nil, &SpecError{spec, "cannot read this description: " + firstErr(err)}
	}
	a = &api{file: filepath.Base(spec)}
	if err != nil {
		a.note("", "the description has problems; parts that depend on them may be missing: "+firstErr(err), "")
	}
	if err := a.build(&model.Model, o); err != nil {
		return nil, &SpecError{spec, err.Error()}
	}
	return a, nil
}

func firstErr(err error) string {
	if err == nil {
		return "unknown error"
	}
	s := err.Error()
	lines := strings.Split(s, "\n")
	if len(lines) > 1 {
		return fmt.Sprintf("%s (and %d more)", strings.TrimSpace(lines[0]), len(lines)-1)
	}
	return s
}

func (a *api) note(where, what, file string) {
	a.notes = append(a.notes, Note{Where: where, What: what, File: file})
}

func (a *api) build(d *v3.Document, o OpenAPIOptions) error {
	if d.Info != nil {
		a.title = strings.TrimSpace(d.Info.Title)
		a.description = strings.TrimSpace(d.Info.Summary)
		if a.description == "" {
			a.description = strings.TrimSpace(d.Info.Description)
		}
		a.apiVersion = d.Info.Version
	}
	a.name = o.Name
	if a.name == "" {
		a.name = snake(parenRE().ReplaceAllString(a.title, ""))
		for len(a.name) > 32 && strings.Contains(a.name, "_") {
			a.name = a.name[:strings.LastIndex(a.name, "_")]
		}
		if !validName(a.name) {
			a.name = "api"
		}
	}
	if a.title == "" {
		a.title = titleOf(a.name)
	}
	a.servers = serverURLs(d.Servers)
	a.baseURL = "https://api.example.com"
	if len(a.servers) == 0 {
		a.note("servers", "the description names no server: set the base_url default in connector.yaml", "connector.yaml")
	} else if u, err := url.Parse(a.servers[0]); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		a.note("servers", fmt.Sprintf("the first server %q is not an absolute http(s) URL: set the base_url default in connector.yaml", a.servers[0]), "connector.yaml")
		if err == nil && strings.HasPrefix(u.Path, "/") {
			a.baseURL += strings.TrimSuffix(u.Path, "/")
		}
	} else {
		a.baseURL = strings.TrimSuffix(a.servers[0], "/")
	}
	if u, err := url.Parse(a.baseURL); err == nil {
		a.basePath = strings.TrimSuffix(u.EscapedPath(), "/")
	}
	a.chooseAuth(d)
	if d.Webhooks != nil {
		for name := range d.Webhooks.KeysFromOldest() {
			a.webhooks = append(a.webhooks, name)
		}
		if len(a.webhooks) > 0 {
			a.note("webhooks", "not mapped: webhooks "+strings.Join(a.webhooks, ", ")+" (write webhook flows for them: see docs/init.md)", "connector.yaml")
		}
	}
	used := names{"authping": true}
	if d.Paths != nil && d.Paths.PathItems != nil {
		for path, item := range d.Paths.PathItems.FromOldest() {
			if item == nil {
				continue
			}
			for method, operation := range item.GetOperations().FromOldest() {
				if operation == nil {
					continue
				}
				method = strings.ToUpper(method)
				if !cleanPathRE().MatchString(path) {
					a.note(method+" "+strconv.Quote(path), "not mapped: a path with spaces or control characters", "")
					continue
				}
				if !httpMethods[method] {
					a.note(path, fmt.Sprintf("not mapped: operation %q (not an HTTP method flowrun sends)", method), "")
					continue
				}
				if o.Operations != nil && !o.Operations.MatchString(operation.OperationId) && !o.Operations.MatchString(method+" "+path) {
					continue
				}
				a.ops = append(a.ops, a.operation(used, path, method, item, operation, d))
			}
		}
	}
	if len(a.ops) == 0 {
		if o.Operations != nil {
			return fmt.Errorf("no operation's operationId or \"METHOD /path\" matches --operations %q", o.Operations.String())
		}
		return errors.New("the description has no operations (paths)")
	}
	a.chooseAuthping()
	return nil
}

func serverURLs(servers []*v3.Server) []string {
	var out []string
	for _, s := range servers {
		if s == nil {
			continue
		}
		u := s.URL
		if s.Variables != nil {
			for name, v := range s.Variables.FromOldest() {
				if v != nil {
					u = strings.ReplaceAll(u, "{"+name+"}", v.Default)
				}
			}
		}
		out = append(out, u)
	}
	return out
}

// chooseAuth maps the first usable security scheme: the API-wide
// requirement's, else the first declared.
func (a *api) chooseAuth(d *v3.Document) {
	a.auth = authSpec{kind: "none"}
	schemes := map[string]*v3.SecurityScheme{}
	var order []string
	if d.Components != nil && d.Components.SecuritySchemes != nil {
		for name, s := range d.Components.SecuritySchemes.FromOldest() {
			if s != nil {
				schemes[name] = s
				order = append(order, name)
			}
		}
	}
	var preferred []string
	for _, req := range d.Security {
		if req != nil && req.Requirements != nil {
			for name := range req.Requirements.KeysFromOldest() {
				preferred = append(preferred, name)
			}
		}
	}
	preferred = append(preferred, order...)
	for _, name := range preferred {
		if s := schemes[name]; s != nil && a.mapScheme(name, s) {
			break
		}
	}
	for _, name := range order {
		if name != a.auth.scheme {
			a.unusedAuth = append(a.unusedAuth, name+" ("+schemeText(schemes[name])+")")
		}
	}
	if len(a.unusedAuth) > 0 {
		what := "not mapped: security schemes " + strings.Join(a.unusedAuth, ", ")
		if a.auth.scheme != "" {
			what += "; the connector authorises with " + a.auth.scheme
		} else {
			what += "; none could be mapped, so the connector has auth type none"
		}
		a.note("components.securitySchemes", what, "connector.yaml")
	}
}

func schemeText(s *v3.SecurityScheme) string {
	switch strings.ToLower(s.Type) {
	case "apikey":
		return "apiKey in " + s.In
	case "http":
		return "http " + s.Scheme
	}
	return s.Type
}

func (a *api) mapScheme(name string, s *v3.SecurityScheme) bool {
	desc := firstLine(s.Description)
	switch strings.ToLower(s.Type) {
	case "apikey":
		if strings.ToLower(s.In) != "header" || s.Name == "" {
			return false
		}
		param := snake(name)
		if !validName(param) || param == "base_url" {
			param = "api_key"
		}
		a.auth = authSpec{kind: "header", scheme: name, headerName: s.Name, param: param, description: desc}
		return true
	case "http":
		switch strings.ToLower(s.Scheme) {
		case "bearer":
			a.auth = authSpec{kind: "bearer", scheme: name, description: desc}
			return true
		case "basic":
			a.auth = authSpec{kind: "basic", scheme: name, description: desc}
			return true
		}
	case "oauth2":
		if s.Flows == nil {
			return false
		}
		fl, grant := s.Flows.AuthorizationCode, "authorization_code"
		if fl == nil {
			fl, grant = s.Flows.ClientCredentials, "client_credentials"
		}
		if fl == nil || fl.TokenUrl == "" || (grant == "authorization_code" && fl.AuthorizationUrl == "") {
			return false
		}
		sp := authSpec{kind: "oauth2", scheme: name, description: desc, grant: grant,
			authorize: a.absURL(fl.AuthorizationUrl), token: a.absURL(fl.TokenUrl), refresh: a.absURL(fl.RefreshUrl)}
		if fl.Scopes != nil {
			for scope := range fl.Scopes.KeysFromOldest() {
				sp.scopes = append(sp.scopes, scope)
			}
		}
		a.auth = sp
		return true
	}
	return false
}

// absURL makes a URL of the description relative to the server absolute, as
// an expression on the connection's base_url.
func (a *api) absURL(u string) string {
	if u == "" {
		return ""
	}
	if p, err := url.Parse(u); err == nil && p.IsAbs() {
		return strings.ReplaceAll(u, "${", "$${")
	}
	bu, err := url.Parse(a.baseURL)
	if err != nil {
		return u
	}
	if bu.Path == "" || bu.Path == "/" {
		return "${ connection.base_url }/" + strings.TrimPrefix(u, "/")
	}
	// relative to a server with a path: resolved against the default server
	ref, err := url.Parse(u)
	if err != nil {
		return u
	}
	return strings.ReplaceAll(bu.ResolveReference(ref).String(), "${", "$${")
}

var cleanPathRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^/?[\x21-\x7e]*$`) })

var httpMethods = map[string]bool{"GET": true, "PUT": true, "POST": true, "DELETE": true, "OPTIONS": true, "HEAD": true, "PATCH": true, "TRACE": true}

var paramStyleJoin = map[string]string{"form": ",", "spaceDelimited": " ", "pipeDelimited": "|"}

func (a *api) operation(used names, path, method string, item *v3.PathItem, o *v3.Operation, d *v3.Document) *op {
	if !strings.HasPrefix(path, "/") {
		path = "/" + path // paths start with a slash; a description that forgot is read as meant
	}
	p := &op{method: method, path: path, opID: o.OperationId, title: strings.TrimSpace(o.Summary), description: strings.TrimSpace(o.Description)}
	if o.Deprecated != nil {
		p.deprecated = *o.Deprecated
	}
	if low := o.GoLow(); low != nil {
		if low.KeyNode != nil {
			p.line = low.KeyNode.Line
		} else if low.RootNode != nil {
			p.line = low.RootNode.Line
		}
	}
	base := snake(o.OperationId)
	if base == "" {
		base = snake(strings.ToLower(method) + " " + strings.NewReplacer("{", " by ", "}", " ").Replace(path))
	}
	if base == "authping" {
		base = "authping_action"
	}
	p.name = used.unique(base)
	where := a.where(p)
	file := "flows/" + p.name + ".yaml"
	unmapped := func(what string) {
		p.comments = append(p.comments, "not mapped: "+what)
		a.note(where, "not mapped: "+what, file)
	}

	// parameters: the path item's, overridden by the operation's
	var all []*v3.Parameter
	seen := map[string]int{}
	for _, list := range [][]*v3.Parameter{item.Parameters, o.Parameters} {
		for _, prm := range list {
			if prm == nil {
				continue
			}
			key := prm.In + " " + prm.Name
			if i, ok := seen[key]; ok {
				all[i] = prm
				continue
			}
			seen[key] = len(all)
			all = append(all, prm)
		}
	}
	inputs := names{"body": true}
	for _, prm := range all {
		in := strings.ToLower(prm.In)
		switch in {
		case "path", "query", "header":
		case "cookie":
			unmapped(fmt.Sprintf("cookie parameter %s (flowrun sends no cookies; add a Cookie header if the service needs it)", prm.Name))
			continue
		default:
			unmapped(fmt.Sprintf("parameter %s in %q", prm.Name, prm.In))
			continue
		}
		if prm.Schema == nil {
			unmapped(fmt.Sprintf("%s parameter %s described by content, not a schema", in, prm.Name))
			continue
		}
		f := field(prm.Schema, maxFieldDepth, nil, nodeBudget()) // parameters: no nested properties
		if d := firstLine(prm.Description); d != "" {
			f.desc = d
		}
		pr := &param{wire: prm.Name, in: in, f: f, required: in == "path" || (prm.Required != nil && *prm.Required)}
		if in == "header" && (strings.EqualFold(prm.Name, "Authorization") || strings.EqualFold(prm.Name, a.auth.headerName)) {
			unmapped(fmt.Sprintf("header parameter %s: the connection's auth sets it", prm.Name))
			continue
		}
		style := prm.Style
		explode := prm.Explode == nil || *prm.Explode
		if in == "query" && style == "" {
			style = "form"
		}
		if in == "query" && prm.Explode == nil && style != "form" {
			explode = false
		}
		switch {
		case f.typ == "object" && in != "header":
			unmapped(fmt.Sprintf("%s parameter %s: an object (style %s) is not encoded by flowrun; build it in the step's %s by hand", in, prm.Name, orDefault(style, "simple"), map[string]string{"path": "path", "query": "query"}[in]))
			continue
		case f.typ == "list" && in == "query" && !explode:
			j, ok := paramStyleJoin[style]
			if !ok {
				unmapped(fmt.Sprintf("query parameter %s with style %s", prm.Name, style))
				continue
			}
			pr.join = j
		case f.typ == "list" && in == "query" && style != "form":
			unmapped(fmt.Sprintf("query parameter %s with style %s, explode true", prm.Name, style))
			continue
		case in == "path" && style != "" && style != "simple":
			unmapped(fmt.Sprintf("path parameter %s with style %s (sent as plain text)", prm.Name, style))
		case in == "path" && f.typ == "list":
			pr.join = ","
		}
		if f.typ == "object" {
			f.props = nil
		}
		f.required = pr.required
		pr.input = inputs.unique(snake(prm.Name))
		if !validName(pr.input) {
			pr.input = inputs.unique("param")
		}
		var cands []any
		if prm.Example != nil {
			cands = append(cands, nodeValue(prm.Example))
		}
		if prm.Examples != nil {
			for _, ex := range prm.Examples.FromOldest() {
				if ex != nil && ex.Value != nil {
					cands = append(cands, nodeValue(ex.Value))
				}
			}
		}
		cands = append(cands, example(prm.Schema, 0, nil, nodeBudget()))
		pr.example = valueFor(f, cands...)
		if in == "path" {
			if s, ok := pr.example.(string); !ok || !safePathValue().MatchString(s) {
				if f.typ == "string" && len(f.enum) == 0 {
					pr.example = "id1"
				}
			}
		}
		p.params = append(p.params, pr)
	}

	// request body
	if rb := o.RequestBody; rb != nil && rb.Content != nil && rb.Content.Len() > 0 {
		var chosen *v3.MediaType
		var mt string
		var others []string
		for name, m := range rb.Content.FromOldest() {
			l := strings.ToLower(name)
			if chosen == nil && m != nil && (isJSON(l) || l == "application/x-www-form-urlencoded") {
				chosen, mt = m, l
				continue
			}
			others = append(others, name)
		}
		if chosen == nil {
			unmapped("request body of type " + strings.Join(others, ", ") + " (flowrun sends JSON, form or text bodies: write the step's body by hand)")
		} else {
			if len(others) > 0 {
				p.comments = append(p.comments, "the request body is also accepted as "+strings.Join(others, ", ")+"; this flow sends "+mt)
			}
			f := field(chosen.Schema, 0, nil, nodeBudget())
			if chosen.Schema == nil {
				f = &fld{typ: "any"}
			}
			f.required = rb.Required != nil && *rb.Required
			f.desc = firstLine(rb.Description)
			if f.desc == "" {
				f.desc = "The request body (" + mt + "), sent as given."
			}
			if len(f.skipped) > 0 {
				p.comments = append(p.comments, "body properties not declared (their names are not flowrun field names; they are sent as given): "+strings.Join(f.skipped, ", "))
			}
			var cands []any
			if chosen.Example != nil {
				cands = append(cands, nodeValue(chosen.Example))
			}
			if chosen.Examples != nil {
				for _, ex := range chosen.Examples.FromOldest() {
					if ex != nil && ex.Value != nil {
						cands = append(cands, nodeValue(ex.Value))
					}
				}
			}
			if chosen.Schema != nil {
				cands = append(cands, example(chosen.Schema, 0, nil, nodeBudget()))
			}
			p.body = &bodySpec{f: f, mediaType: mt, form: mt == "application/x-www-form-urlencoded", example: valueFor(f, cands...)}
		}
	}
	if o.Callbacks != nil && o.Callbacks.Len() > 0 {
		var cbs []string
		for name := range o.Callbacks.KeysFromOldest() {
			cbs = append(cbs, name)
		}
		unmapped("callbacks " + strings.Join(cbs, ", ") + " (requests the service makes to you: write webhook flows for them)")
	}
	if len(o.Servers) > 0 {
		unmapped("operation servers " + strings.Join(serverURLs(o.Servers), ", ") + " (the flow uses the connector's base_url)")
	}
	a.security(p, o, unmapped)
	a.success(p, o)
	a.suggestPagination(p)
	return p
}

var parenRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\([^)]*\)`) })

var safePathValue = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9._~-]+$`) })

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func isJSON(mt string) bool {
	mt = strings.TrimSpace(strings.SplitN(mt, ";", 2)[0])
	return mt == "application/json" || strings.HasSuffix(mt, "+json") || mt == "*/*" || mt == "application/*"
}

func (a *api) where(p *op) string {
	w := p.method + " " + p.path
	if p.line > 0 {
		w = fmt.Sprintf("%s:%d %s", a.file, p.line, w)
	}
	return w
}

// security notes an operation whose requirement the connector's auth does
// not meet, and marks `security: []` operations to skip auth.
func (a *api) security(p *op, o *v3.Operation, unmapped func(string)) {
	if o.Security == nil {
		return
	}
	if len(o.Security) == 0 {
		p.noAuth = true
		return
	}
	var wanted []string
	for _, req := range o.Security {
		if req == nil || req.Requirements == nil || req.ContainsEmptyRequirement || req.Requirements.Len() == 0 {
			return // anonymous access allowed: the connector's auth is fine
		}
		for name := range req.Requirements.KeysFromOldest() {
			if name == a.auth.scheme {
				return
			}
			wanted = append(wanted, name)
		}
	}
	unmapped("this operation's security (" + strings.Join(wanted, ", ") + "): the connector authorises with " + orDefault(a.auth.scheme, "nothing"))
}

// success picks the success response of the mock: the lowest 2xx.
func (a *api) success(p *op, o *v3.Operation) {
	p.status = 200
	if o.Responses == nil {
		return
	}
	var codes []string
	if o.Responses.Codes != nil {
		for code := range o.Responses.Codes.KeysFromOldest() {
			if strings.HasPrefix(code, "2") {
				codes = append(codes, code)
			}
		}
	}
	sort.Strings(codes)
	var resp *v3.Response
	if len(codes) > 0 {
		resp = o.Responses.Codes.GetOrZero(codes[0])
		if n, err := strconv.Atoi(codes[0]); err == nil {
			p.status = n
		}
	} else {
		resp = o.Responses.Default
	}
	if resp == nil {
		return
	}
	if resp.Headers != nil {
		for h := range resp.Headers.KeysFromOldest() {
			if strings.EqualFold(h, "link") {
				p.hasLink = true
			}
		}
	}
	if resp.Content == nil || p.status == 204 {
		return
	}
	for name, m := range resp.Content.FromOldest() {
		if m == nil {
			continue
		}
		l := strings.ToLower(name)
		if !isJSON(l) && p.mediaType != "" {
			continue
		}
		p.mediaType = l
		var ex any
		switch {
		case m.Example != nil:
			ex = nodeValue(m.Example)
		case m.Examples != nil && m.Examples.Len() > 0:
			for _, e := range m.Examples.FromOldest() {
				if e != nil && e.Value != nil {
					ex = nodeValue(e.Value)
					break
				}
			}
		}
		if ex == nil && m.Schema != nil {
			ex = example(m.Schema, 0, nil, nodeBudget())
		}
		if !isJSON(l) {
			if s, ok := ex.(string); ok {
				ex = s
			} else {
				ex = "example"
			}
		}
		p.example = ex
		if s := schemaOf(m.Schema); s != nil {
			p.isArray, p.listField = listShape(m.Schema)
		}
		if isJSON(l) {
			break
		}
	}
}

// listShape says whether a schema is an array, or names its array property.
func listShape(sp *base.SchemaProxy) (bool, string) {
	f := field(sp, 0, nil, nodeBudget())
	if f.typ == "list" {
		return true, ""
	}
	best := ""
	for _, pr := range f.props {
		if pr.f.typ != "list" {
			continue
		}
		switch pr.name {
		case "data", "items", "results", "records", "entries", "values", "elements":
			return false, pr.name
		}
		if best == "" {
			best = pr.name
		}
	}
	return false, best
}

var (
	sizeParams   = map[string]bool{"limit": true, "per_page": true, "page_size": true, "pagesize": true, "max_results": true, "count": true, "size": true, "top": true}
	cursorParams = map[string]bool{"after": true, "cursor": true, "starting_after": true, "page_token": true, "pagetoken": true, "next_token": true, "continuation_token": true, "marker": true, "next": true, "since_id": true}
	pageParams   = map[string]bool{"page": true, "page_number": true, "offset": true, "skip": true, "start": true}
)

// suggestPagination writes a commented paginate block for list operations.
func (a *api) suggestPagination(p *op) {
	if p.method != "GET" {
		return
	}
	var size, cursor, page string
	for _, pr := range p.params {
		if pr.in != "query" {
			continue
		}
		n := snake(pr.wire)
		switch {
		case sizeParams[n] && size == "":
			size = pr.wire
		case cursorParams[n] && cursor == "":
			cursor = pr.wire
			if linkRE().MatchString(pr.f.desc) {
				p.hasLink = true // "obtained from the Link header" (Okta, GitHub)
			}
		case pageParams[n] && page == "":
			page = pr.wire
		}
	}
	if !p.hasLink && cursor == "" && page == "" {
		return
	}
	items := "${ response.body }"
	if !p.isArray {
		items = "${ response.body." + orDefault(p.listField, "data") + " }"
	}
	var why []string
	for _, w := range []string{size, cursor, page} {
		if w != "" {
			why = append(why, w)
		}
	}
	if p.hasLink {
		why = append(why, "a Link response header")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "paginate (suggested, this operation has %s): uncomment and check,\n", strings.Join(why, ", "))
	b.WriteString("then return ${ steps.response.items } (a paginated step gives {items, pages}).\n")
	b.WriteString("paginate:\n")
	b.WriteString("  items: " + items + "\n")
	switch {
	case p.hasLink:
		b.WriteString("  next: ${ linkNext(response.headers.link) }\n")
	case cursor != "":
		fmt.Fprintf(&b, "  next_query: {%s: \"${ response.body.next_cursor }\"}   # where the next cursor is: check the response\n", cursor)
	default:
		fmt.Fprintf(&b, "  next_query: {%s: ...}   # the next page's %s: see the service's docs\n", page, page)
	}
	b.WriteString("  max_pages: 10")
	p.pagination = b.String()
}

// chooseAuthping guesses a cheap GET that needs a working credential.
func (a *api) chooseAuthping() {
	var first *op
	for _, p := range a.ops {
		if p.method != "GET" || p.noAuth || p.body != nil {
			continue
		}
		needs := false
		for _, pr := range p.params {
			if pr.required {
				needs = true
			}
		}
		if needs {
			continue
		}
		if meRE().MatchString(p.path) || meRE().MatchString(snake(p.opID)) {
			a.authping = p
			return
		}
		if first == nil {
			first = p
		}
	}
	a.authping = first
	if first == nil {
		a.note("authping", "no GET without required parameters: flows/authping.yaml asks for GET / , point it at a cheap request that needs a working credential", "flows/authping.yaml")
	}
}

var linkRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?i)\blink\b[^.]*header|rel="?next`) })

var meRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)(^|[/_])(me|myself|self|whoami|current_?user|userinfo|viewer|my_?account)($|[/_])`)
})
