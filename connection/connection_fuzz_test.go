package connection_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/connection"
	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/load"
	"github.com/flowrun/flowrun/load/loadtest"
)

// fuzzConnConnector declares params of every type, secret and not, so that
// a connection file's values meet every check Load makes.
const fuzzConnConnector = `flowrun: 1
name: fuzzconn
base_url: https://${ connection.host }/api
connection:
  params:
    host: {type: string, required: true}
    api_key: {type: string, required: true, secret: true}
    pin: {type: integer, secret: true}
    ratio: {type: number, secret: true}
    since: {type: datetime, secret: true}
    region: {type: string, enum: [eu, us], secret: true}
    scopes: {type: list, items: string, secret: true}
    extra: {type: object, secret: true}
    verbose: boolean
    zone: {type: string, enum: [a, b]}
  auth:
    type: bearer
    bearer: {token: "${ connection.api_key }"}
`

// fuzzSecretMark is what the seeds put into secret values. A message that
// names a value holding it, when no key or non-secret value of the file
// holds it, shows a secret.
const fuzzSecretMark = "s3kr1tZ"

// FuzzConnectionLoad feeds arbitrary bytes to connection.Load as a
// connection file for a connector with secret params of every type: no
// panic, every diagnostic is inside the file, and no message shows a secret
// value.
func FuzzConnectionLoad(f *testing.F) {
	m := fuzzSecretMark // testdata/fuzz/FuzzConnectionLoad has the seeds that once showed one
	for _, s := range []string{
		"params:\n  host: demo\n  api_key: " + m + "\n",
		"params:\n  host: demo\n  api_key: " + m + "\n  pin: " + m + "\n  ratio: " + m + "\n",
		"params:\n  host: demo\n  api_key: " + m + "\n  scopes: [a, " + m + "]\n  extra: " + m + "\n",
		"params:\n  host: demo\n  api_key: {env: FLOWRUN_FUZZ_UNSET}\n",
		"params:\n  host: demo\n  api_key: [" + m + "]\n  zone: c\n  verbose: " + m + "\n",
		"params:\n  host: demo\n  api_key: &k " + m + "\n  apikey: *k\n",
		"params: {host: demo, api_key: x}\ntoken:\n  access_token: " + m + "a\n  refresh_token: " + m + "r\n  expiry: " + m + "\n",
		"params: {host: demo, api_key: x}\ntoken: {access_token: {env: NOPE}, scope: " + m + "}\n",
		`{"params": {"host": "demo", "api_key": "` + m + `", "since": "2026-01-02T03:04:05Z"}, "revoked_at": "2026-01-01T00:00:00Z"}`,
		"params: " + m + "\n", "token: [1]\n", "- a\n", "", "params:\n\t- x\n", "params:\n  host: \"\\u00e9\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	loadtest.Write(f, dir, map[string]string{"connector.yaml": fuzzConnConnector,
		"flows/a.yaml": "flowrun: 1\nname: a\ntype: action\nsteps:\n  - return: {}\n"})
	p, err := load.Project(dir)
	if err != nil {
		f.Fatal(err)
	}
	c := p.Connector
	path := filepath.Join(f.TempDir(), "conn.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		conn, err := connection.Load(path, c)
		if err == nil {
			if conn == nil || conn.Params == nil {
				t.Fatalf("no error and no connection")
			}
			return
		}
		ds, ok := err.(lang.Diagnostics)
		if !ok {
			t.Fatalf("error is not a list of diagnostics: %T %v", err, err)
		}
		lines := len(regexp.MustCompile("\r\n|\r|\n").Split(string(data), -1))
		for _, d := range ds {
			if d.Pos.File != path || d.Message == "" {
				t.Fatalf("diagnostic in another file or without a message: %+v", d)
			}
			if d.Pos.Line < 1 || d.Pos.Line > lines || d.Pos.Col < 1 {
				t.Fatalf("diagnostic outside the file (%d lines): %s", lines, d)
			}
		}
		if !strings.Contains(err.Error(), fuzzSecretMark) {
			return
		}
		// the mark in a message: fine when the file shows it where it is
		// not secret (a key, a non-secret value, an env variable's name)
		n, perr := load.ParseYAML(path, data)
		if perr != nil || fuzzPublicMark(c, n) {
			return
		}
		t.Fatalf("a message shows a secret value:\n%v", err)
	})
}

// fuzzPublicMark reports whether the file shows fuzzSecretMark other than
// inside a secret value: in a key, a non-secret param's value, a token key
// other than the two tokens, or an {env: NAME} name.
func fuzzPublicMark(c *lang.Connector, n *lang.Node) bool {
	public := false
	var walk func(n *lang.Node, secret bool)
	walk = func(n *lang.Node, secret bool) {
		if n == nil || public {
			return
		}
		if n.Kind == lang.MapNode && len(n.Keys) == 1 && n.Keys[0].Str == "env" {
			secret = false // the variable's name is not the secret
		}
		if !secret && n.Kind != lang.MapNode && n.Kind != lang.ListNode && strings.Contains(n.Str, fuzzSecretMark) {
			public = true
		}
		for i, k := range n.Keys {
			if strings.Contains(k.Str, fuzzSecretMark) {
				public = true
			}
			walk(n.Vals[i], secret)
		}
		for _, it := range n.Items {
			walk(it, secret)
		}
	}
	if n == nil || n.Kind != lang.MapNode {
		walk(n, false)
		return public
	}
	for i, k := range n.Keys {
		if strings.Contains(k.Str, fuzzSecretMark) {
			return true
		}
		v := n.Vals[i]
		switch {
		case k.Str == "params" && v.Kind == lang.MapNode:
			for j, pk := range v.Keys {
				if strings.Contains(pk.Str, fuzzSecretMark) {
					return true
				}
				p := c.Param(pk.Str)
				walk(v.Vals[j], p != nil && p.Secret)
			}
		case k.Str == "token" && v.Kind == lang.MapNode:
			for j, tk := range v.Keys {
				if strings.Contains(tk.Str, fuzzSecretMark) {
					return true
				}
				walk(v.Vals[j], tk.Str == "access_token" || tk.Str == "refresh_token")
			}
		default:
			walk(v, false)
		}
	}
	return public
}
