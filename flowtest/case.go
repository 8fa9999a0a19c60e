package flowtest

import (
	"fmt"
	"os"
	"time"

	"github.com/flowrun/flowrun/connection"
	"github.com/flowrun/flowrun/lang"
)

// testCase is one decoded case of a test file. The loader has checked the
// file against schema/test.schema.json, so the shapes are known; decode
// still refuses what it cannot use rather than trusting that blindly.
type testCase struct {
	file  *lang.TestFile
	node  *lang.Node
	index int // 0-based, in the file

	name, flow string
	skip       *string

	params map[string]any
	token  *connection.Token

	inputs  map[string]any
	mocks   []*mock
	ordered bool
	partial bool

	outputs, events, expectCursor, response *lang.Node
	errWant                                 *lang.Node

	cursor       any
	now          *time.Time // now: the case's clock
	seen         []string   // seen: dedupe keys already seen (poll and webhook cases)
	request      *lang.Node
	registration *lang.Node
	secret       string
}

// pos is where the case starts (its first key).
func (c *testCase) pos() lang.Pos { return c.node.Pos }

// at returns the position of a case key's value, or of the case.
func (c *testCase) at(key string) lang.Pos {
	if n := c.node.Get(key); n != nil {
		return n.Pos
	}
	return c.node.Pos
}

func str(n *lang.Node) string {
	if n != nil && n.Kind == lang.StringNode {
		return n.Str
	}
	return ""
}

func boolean(n *lang.Node) bool {
	return n != nil && n.Kind == lang.BoolNode && n.Bool
}

// decodeCase reads a case node. A problem is returned as a failure at its position.
func decodeCase(projDir string, tf *lang.TestFile, n *lang.Node, index int) (*testCase, *Failure) {
	c := &testCase{file: tf, node: n, index: index}
	if n.Kind != lang.MapNode {
		return c, &Failure{Pos: n.Pos, Summary: "a test case must be a mapping"}
	}
	c.name = str(n.Get("name"))
	if c.name == "" {
		c.name = fmt.Sprintf("#%d", index+1)
	}
	c.flow = str(n.Get("flow"))
	if s := n.Get("skip"); s != nil {
		r := str(s)
		c.skip = &r
	}
	c.ordered = boolean(n.Get("ordered"))
	c.partial = boolean(n.Get("partial"))
	c.outputs, c.events = n.Get("outputs"), n.Get("events")
	c.expectCursor, c.response = n.Get("expect_cursor"), n.Get("response")
	c.errWant = n.Get("error")
	c.request, c.registration = n.Get("request"), n.Get("registration")
	c.secret = str(n.Get("secret"))
	if cur := n.Get("cursor"); cur != nil {
		c.cursor = plain(cur.Value())
	}
	if nw := n.Get("now"); nw != nil {
		t, err := time.Parse(time.RFC3339, str(nw))
		if err != nil {
			return c, &Failure{Pos: nw.Pos, Summary: fmt.Sprintf("now: %v is not an RFC 3339 time such as 2026-11-02T08:00:00Z", nw.Value())}
		}
		t = t.UTC()
		c.now = &t
	}
	if sn := n.Get("seen"); sn != nil {
		c.seen = []string{}
		if sn.Kind != lang.ListNode {
			return c, &Failure{Pos: sn.Pos, Summary: "seen: must be a list of dedupe keys"}
		}
		for _, it := range sn.Items {
			switch it.Kind {
			case lang.MapNode, lang.ListNode, lang.NullNode:
				return c, &Failure{Pos: it.Pos, Summary: "seen: a dedupe key is text (or a number)"}
			}
			c.seen = append(c.seen, text(plain(it.Value())))
		}
	}
	if rq, f := withFixture(projDir, tf.File, c.request); f != nil {
		return c, f
	} else if rq != nil {
		c.request = rq
	}
	c.inputs = map[string]any{}
	if in := n.Get("inputs"); in != nil {
		if m, ok := plain(in.Value()).(map[string]any); ok {
			c.inputs = m
		}
	}
	c.params = map[string]any{}
	if conn := n.Get("connection"); conn != nil {
		if ps := conn.Get("params"); ps != nil && ps.Kind == lang.MapNode {
			for i, k := range ps.Keys {
				v, err := resolveEnv(ps.Vals[i])
				if err != nil {
					return c, &Failure{Pos: ps.Vals[i].Pos, Summary: err.Error()}
				}
				c.params[k.Str] = v
			}
		}
		if tn := conn.Get("token"); tn != nil && tn.Kind == lang.MapNode {
			t := &connection.Token{}
			for i, k := range tn.Keys {
				v, err := resolveEnv(tn.Vals[i])
				if err != nil {
					return c, &Failure{Pos: tn.Vals[i].Pos, Summary: err.Error()}
				}
				s := text(v)
				switch k.Str {
				case "access_token":
					t.AccessToken = s
				case "refresh_token":
					t.RefreshToken = s
				case "expiry":
					if s != "" {
						if t.Expiry, err = time.Parse(time.RFC3339, s); err != nil {
							return c, &Failure{Pos: tn.Vals[i].Pos, Summary: fmt.Sprintf("token expiry %q is not an RFC 3339 time", s)}
						}
					}
				}
			}
			c.token = t
		}
	}
	if h := n.Get("http"); h != nil && h.Kind == lang.ListNode {
		for i, mn := range h.Items {
			m, f := decodeMock(mn, i, projDir, tf.File)
			if f != nil {
				return c, f
			}
			c.mocks = append(c.mocks, m)
		}
	}
	return c, nil
}

// resolveEnv reads a connection value, which may be written {env: NAME}.
func resolveEnv(n *lang.Node) (any, error) {
	if n.Kind == lang.MapNode && len(n.Keys) == 1 && n.Keys[0].Str == "env" {
		name := str(n.Vals[0])
		v, ok := os.LookupEnv(name)
		if !ok {
			return nil, fmt.Errorf("environment variable %s is not set (the case's connection reads it)", name)
		}
		return v, nil
	}
	return plain(n.Value()), nil
}

// connection builds the case's connection: its params over the connector's
// defaults, and its token.
func (c *testCase) connection(connector *lang.Connector) *connection.Connection {
	params := make(map[string]any, len(c.params))
	for k, v := range c.params {
		params[k] = v
	}
	if connector != nil {
		for _, p := range connector.Params {
			if _, ok := params[p.Name]; !ok && p.HasDefault {
				params[p.Name] = plain(p.Default)
			}
		}
	}
	conn := &connection.Connection{Params: params, Token: c.token}
	// what the case's failures show is redacted as traces are
	var secrets []string
	if connector != nil {
		for _, p := range connector.Params {
			if v, ok := params[p.Name]; ok && p.Secret && v != nil {
				secrets = append(secrets, text(v))
			}
		}
	}
	if c.token != nil {
		secrets = append(secrets, c.token.AccessToken, c.token.RefreshToken)
	}
	conn.AddSecret(secrets...)
	return conn
}

// expectsFailure reports whether the case is about a failing run: it
// expects an error, or (webhook cases) a response status of 400 or more.
func (c *testCase) expectsFailure() bool {
	if c.errWant != nil {
		return true
	}
	if c.response != nil {
		if s := c.response.Get("status"); s != nil && s.Kind == lang.IntNode && s.Int >= 400 {
			return true
		}
	}
	return false
}
