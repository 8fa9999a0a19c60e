package connection

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/load"
	"github.com/flowrun/flowrun/value"
)

// Connection is what `--connection` points at: the parameters a user gave
// for one account of the service and, for OAuth 2.0, its token.
type Connection struct {
	File    string
	Params  map[string]any
	Token   *Token
	Revoked bool

	mu      sync.Mutex
	secrets []string            // every form of every secret, longest first
	known   map[string]struct{} // the secrets given to AddSecret
	raw     map[string]any      // the file's decoded content, for writing back
	envMap  map[string]any      // env(), built once (again after SaveToken)
}

// Token is an OAuth 2.0 token.
type Token struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	TokenType    string    `json:"token_type,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
}

// Load reads a connection file (YAML or JSON) and resolves
// `{env: NAME}` values. Params are checked against the connector's declared
// connection parameters.
func Load(path string, c *lang.Connector) (*Connection, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &FileError{Path: path, Err: err}
	}
	n, err := load.ParseYAML(path, data)
	if err != nil {
		return nil, err
	}
	if n.Kind != lang.MapNode {
		return nil, lang.Diagnostics{{Pos: n.Pos, Message: "a connection file is a mapping with params (and token for OAuth 2.0)"}}
	}
	conn := &Connection{File: path, Params: map[string]any{}}
	var ds lang.Diagnostics
	for i, k := range n.Keys {
		v := n.Vals[i]
		switch k.Str {
		case "params":
			if v.Kind != lang.MapNode {
				ds = append(ds, lang.Diagnostic{Pos: v.Pos, Message: "params must be a mapping"})
				continue
			}
			for j, pk := range v.Keys {
				val, err := resolveEnv(v.Vals[j])
				if err != nil {
					ds = append(ds, lang.Diagnostic{Pos: v.Vals[j].Pos, Message: err.Error()})
					continue
				}
				conn.Params[pk.Str] = val
				if c != nil && c.Param(pk.Str) == nil {
					names := lang.FieldNames(c.Params)
					ds = append(ds, lang.Diagnostic{Pos: pk.Pos, Message: fmt.Sprintf("connector %q has no connection parameter %q", c.Name, pk.Str), Hint: value.Suggest(pk.Str, names)})
				}
			}
		case "token":
			t, tds := parseToken(v)
			ds = append(ds, tds...)
			if t != nil {
				conn.Token = t
			}
		case "revoked", "revoked_at":
			conn.Revoked = true
		case "flowrun":
		default:
			ds = append(ds, lang.Diagnostic{Pos: k.Pos, Message: fmt.Sprintf("unknown key %q in connection file", k.Str), Hint: value.Suggest(k.Str, []string{"params", "token"})})
		}
	}
	if raw, ok := n.Value().(map[string]any); ok {
		conn.raw = raw
	}
	if c != nil {
		for _, p := range c.Params {
			v, msg := lang.CoerceField(p, conn.Params[p.Name], true)
			if msg != "" {
				pos := n.Pos
				if pn := n.Get("params"); pn != nil {
					pos = pn.Pos
					if vn := pn.Get(p.Name); vn != nil {
						pos = vn.Pos
					}
				}
				if p.Secret {
					msg = redactParam(msg, conn.Params[p.Name])
				}
				ds = append(ds, lang.Diagnostic{Pos: pos, Message: fmt.Sprintf("connection parameter %q: %s", p.Name, msg)})
				continue
			}
			if v != nil {
				conn.Params[p.Name] = v
			}
		}
	}
	if len(ds) > 0 {
		return nil, ds.Sort()
	}
	conn.collectSecrets(c)
	return conn, nil
}

// parseToken reads a connection file's token mapping (access_token,
// refresh_token, token_type, expiry), resolving {env: NAME} values; nil
// with a diagnostic when it is not a mapping.
func parseToken(v *lang.Node) (*Token, lang.Diagnostics) {
	if v.Kind != lang.MapNode {
		return nil, lang.Diagnostics{{Pos: v.Pos, Message: "token must be a mapping of access_token, refresh_token, expiry"}}
	}
	var ds lang.Diagnostics
	t := &Token{}
	for j, tk := range v.Keys {
		val, err := resolveEnv(v.Vals[j])
		if err != nil {
			ds = append(ds, lang.Diagnostic{Pos: v.Vals[j].Pos, Message: err.Error()})
			continue
		}
		s := value.Text(val)
		switch tk.Str {
		case "access_token":
			t.AccessToken = s
		case "refresh_token":
			t.RefreshToken = s
		case "token_type":
			t.TokenType = s
		case "expiry":
			if s != "" {
				if t.Expiry, err = time.Parse(time.RFC3339, s); err != nil {
					ds = append(ds, lang.Diagnostic{Pos: v.Vals[j].Pos, Message: "expiry must be an RFC 3339 time"})
				}
			}
		default:
			ds = append(ds, lang.Diagnostic{Pos: tk.Pos, Message: fmt.Sprintf("unknown token key %q", tk.Str), Hint: value.Suggest(tk.Str, []string{"access_token", "refresh_token", "token_type", "expiry"})})
		}
	}
	return t, ds
}

// redactParam hides a secret param's value (each scalar in it) in a
// message about it ("... is not one of eu, us"), as Redact hides secrets once
// the connection is loaded.
func redactParam(msg string, v any) string {
	r := &Connection{}
	var add func(any)
	add = func(v any) {
		switch x := v.(type) {
		case nil:
		case map[string]any:
			for _, e := range x {
				add(e)
			}
		case []any:
			for _, e := range x {
				add(e)
			}
		default:
			s := value.Text(x)
			q := strconv.Quote(s)
			r.AddSecret(s, q[1:len(q)-1])
		}
	}
	add(value.Normalize(v))
	return r.Redact(msg)
}

func resolveEnv(n *lang.Node) (any, error) {
	if n.Kind == lang.MapNode && len(n.Keys) == 1 && n.Keys[0].Str == "env" {
		name := n.Vals[0].Str
		v, ok := os.LookupEnv(name)
		if !ok {
			return nil, fmt.Errorf("environment variable %s is not set", name)
		}
		return v, nil
	}
	return n.Value(), nil
}

func (c *Connection) collectSecrets(conn *lang.Connector) {
	var s []string
	if conn != nil {
		for _, p := range conn.Params {
			if p.Secret {
				if v, ok := c.Params[p.Name]; ok && v != nil {
					s = append(s, value.Text(v))
				}
			}
		}
	}
	if c.Token != nil {
		s = append(s, c.Token.AccessToken, c.Token.RefreshToken)
	}
	c.AddSecret(s...)
}

// AddSecret registers values that must never appear in output (for example
// a computed Authorization header or a token obtained at run time).
func (c *Connection) AddSecret(vals ...string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	added := false
	for _, v := range vals {
		if len(v) < 4 {
			continue // too short to redact without mangling ordinary text
		}
		if _, ok := c.known[v]; ok {
			continue
		}
		if c.known == nil {
			c.known = map[string]struct{}{}
		}
		c.known[v] = struct{}{}
		for _, f := range secretForms(v) {
			if !slices.Contains(c.secrets, f) {
				c.secrets = append(c.secrets, f)
				added = true
			}
		}
	}
	if added {
		sort.SliceStable(c.secrets, func(i, j int) bool { return len(c.secrets[i]) > len(c.secrets[j]) })
	}
}

// secretForms is a secret as it may appear in output: as is, and encoded
// for a URL or inside a JSON string.
func secretForms(v string) []string {
	forms := []string{v}
	add := func(f string) {
		if f != "" && !slices.Contains(forms, f) {
			forms = append(forms, f)
		}
	}
	add(url.QueryEscape(v))
	add(strings.ReplaceAll(url.QueryEscape(v), "+", "%20"))
	add(url.PathEscape(v))
	if b, err := json.Marshal(v); err == nil {
		add(string(b[1 : len(b)-1]))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) == nil {
		b := bytes.TrimSpace(buf.Bytes())
		add(string(b[1 : len(b)-1]))
	}
	return forms
}

// Redact replaces every known secret in s with "***".
func (c *Connection) Redact(s string) string {
	if c == nil {
		return s
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, sec := range c.secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, "***")
		}
	}
	return s
}

// RedactValue returns v with every known secret in its strings (and object
// keys) replaced by "***"; v itself is not changed.
func (c *Connection) RedactValue(v any) any {
	if c == nil {
		return v
	}
	r := redactor{c: c}
	return r.value(v)
}

// maxRedactDepth is how deep RedactValue copies a value; below, it shows
// tooDeep. Values a run stores are never deeper (value.MaxSizeDepth) nor
// hold themselves, but what is redacted may come from anywhere: a value
// nested deeper, or one that holds itself, must not exhaust the stack.
const maxRedactDepth = value.MaxSizeDepth

const (
	tooDeep   = "[nested too deep]"
	selfValue = "[holds itself]"
)

type redactor struct {
	c     *Connection
	depth int
	path  []unsafe.Pointer // the maps being copied, outermost first
}

func (r *redactor) value(v any) any {
	switch t := v.(type) {
	case string:
		return r.c.Redact(t)
	case map[string]any:
		p := reflect.ValueOf(t).UnsafePointer()
		if slices.Contains(r.path, p) {
			return selfValue
		}
		if r.depth >= maxRedactDepth {
			return tooDeep
		}
		r.depth++
		r.path = append(r.path, p)
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[r.c.Redact(k)] = r.value(x)
		}
		r.path = r.path[:len(r.path)-1]
		r.depth--
		return out
	case []any:
		if r.depth >= maxRedactDepth {
			return tooDeep
		}
		r.depth++
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = r.value(x)
		}
		r.depth--
		return out
	case nil, bool, int, int64, float64:
		return v
	}
	switch n := value.Normalize(v).(type) {
	case map[string]any, []any, string:
		return r.value(n)
	default:
		return n
	}
}

// Env is the `connection` object expressions see: the params, and the token.
// It is built once and shared by runs, which only read it; change Params
// before the first run.
func (c *Connection) Env() map[string]any {
	if c == nil {
		return map[string]any{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.envMap != nil {
		return c.envMap
	}
	m := make(map[string]any, len(c.Params)+1)
	for k, v := range c.Params {
		m[k] = v
	}
	if c.Token != nil {
		var expiry string
		if !c.Token.Expiry.IsZero() {
			expiry = c.Token.Expiry.UTC().Format(time.RFC3339)
		}
		m["token"] = lang.TokenObject.Value(lang.TokenInfo{AccessToken: c.Token.AccessToken, RefreshToken: c.Token.RefreshToken,
			TokenType: c.Token.TokenType, Expiry: expiry})
	}
	c.envMap = m
	return m
}

// SaveToken writes a new token into the connection file atomically with 0600
// permissions, keeping the rest of the file. A new token ends a revocation:
// the file's revoked mark is removed.
func (c *Connection) SaveToken(t *Token) error {
	c.mu.Lock()
	c.Token = t
	c.envMap = nil
	c.Revoked = false
	c.mu.Unlock()
	c.AddSecret(t.AccessToken, t.RefreshToken)
	if c.File == "" {
		return nil
	}
	raw := map[string]any{}
	for k, v := range c.raw {
		raw[k] = v
	}
	tok := map[string]any{"access_token": t.AccessToken}
	if t.RefreshToken != "" {
		tok["refresh_token"] = t.RefreshToken
	}
	if t.TokenType != "" {
		tok["token_type"] = t.TokenType
	}
	if !t.Expiry.IsZero() {
		tok["expiry"] = t.Expiry.UTC().Format(time.RFC3339)
	}
	raw["token"] = tok
	delete(raw, "revoked")
	delete(raw, "revoked_at")
	return c.writeRaw(raw)
}

// CurrentToken is the connection's token now (nil when it has none): a
// login (SaveToken) may replace it while runs use the connection.
func (c *Connection) CurrentToken() *Token {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Token
}

// MarkRevoked records in the connection file that the connection was revoked.
func (c *Connection) MarkRevoked(at time.Time) error {
	raw := map[string]any{}
	for k, v := range c.raw {
		raw[k] = v
	}
	delete(raw, "token")
	raw["revoked_at"] = at.UTC().Format(time.RFC3339)
	c.Revoked = true
	return c.writeRaw(raw)
}

func (c *Connection) writeRaw(raw map[string]any) error {
	data, err := json.MarshalIndent(raw, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(c.File)
	tmp, err := os.CreateTemp(dir, ".connection-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), c.File); err != nil {
		return errors.Join(errors.New("cannot write the connection file"), err)
	}
	c.raw = raw
	return nil
}

// FileError is a connection file that cannot be read.
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string {
	msg := e.Err.Error()
	var pe *fs.PathError
	if errors.As(e.Err, &pe) {
		msg = pe.Err.Error()
	}
	return "connection: " + msg + ": " + e.Path
}

func (e *FileError) Unwrap() error { return e.Err }
