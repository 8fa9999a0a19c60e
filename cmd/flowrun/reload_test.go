package main

import (
	"testing"

	"github.com/flowrun/flowrun/connection"
)

// TestReloadFixed: a reloaded connection file lifts pauses only when it
// changes what a pause can be about (token, params, revocation), not when
// it is serve's own token write-back.
func TestReloadFixed(t *testing.T) {
	conn := func(access, refresh, base string, revoked bool) *connection.Connection {
		return &connection.Connection{Params: map[string]any{"base_url": base}, Revoked: revoked,
			Token: &connection.Token{AccessToken: access, RefreshToken: refresh}}
	}
	running := conn("at-1", "rt-1", "https://a", false)
	for _, c := range []struct {
		name string
		old  *connection.Connection
		cur  *connection.Connection
		want bool
	}{
		{"serve's own write-back", running, conn("at-1", "rt-1", "https://a", false), false},
		{"a login's new token", running, conn("at-2", "rt-2", "https://a", false), true},
		{"a new refresh token only", running, conn("at-1", "rt-9", "https://a", false), true},
		{"new params", running, conn("at-1", "rt-1", "https://b", false), true},
		{"no longer revoked", conn("at-1", "rt-1", "https://a", true), conn("at-1", "rt-1", "https://a", false), true},
		{"a token where there was none", &connection.Connection{Params: map[string]any{"base_url": "https://a"}}, running, true},
	} {
		if got := fixed(c.old, c.cur); got != c.want {
			t.Errorf("%s: fixed = %v, want %v", c.name, got, c.want)
		}
	}
}
