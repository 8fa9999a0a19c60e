package connection

import (
	"fmt"
	"os"
	"time"

	"github.com/flowrun/flowrun/load"
)

// RefreshToken replaces the connection's OAuth 2.0 token, in step with every
// other process (and every other Connection) using the same file. stale is
// the access token the caller found expired or rejected. Under an exclusive
// lock on FILE.lock it reads the file's token: when another process has
// written a newer one (a different access token that has not expired), that
// token is taken and refresh is not called; otherwise refresh gets the
// newest token known (the file's, whose refresh token may have been
// rotated since this process read it) and its result is saved before the
// lock is released. Services that rotate refresh tokens refuse the second
// of two refreshes with the same one, so without the lock two flowrun
// processes sharing a connection would log each other out.
func (c *Connection) RefreshToken(stale string, refresh func(cur *Token) (*Token, error)) (*Token, error) {
	c.mu.Lock()
	cur := c.Token
	c.mu.Unlock()
	if c.File != "" {
		unlock, err := lockFile(c.File + ".lock")
		if err != nil {
			return nil, fmt.Errorf("locking the connection file for the token refresh: %w", err)
		}
		defer unlock()
		ft, raw, err := readToken(c.File)
		if err != nil {
			return nil, err
		}
		if ft != nil {
			if ft.AccessToken != stale && ft.AccessToken != "" && (ft.Expiry.IsZero() || time.Until(ft.Expiry) > expiryDelta) {
				c.adopt(ft, raw)
				return ft, nil
			}
			cur = ft
		}
	}
	t, err := refresh(cur)
	if err != nil {
		return nil, err
	}
	if err := c.SaveToken(t); err != nil {
		return nil, fmt.Errorf("saving the refreshed token: %w", err)
	}
	return t, nil
}

// expiryDelta is how long before its expiry a token counts as expired, as
// golang.org/x/oauth2 counts it.
const expiryDelta = 10 * time.Second

// adopt takes a token another process wrote, with the file's content.
func (c *Connection) adopt(t *Token, raw map[string]any) {
	c.mu.Lock()
	c.Token = t
	c.envMap = nil
	c.Revoked = false
	if raw != nil {
		c.raw = raw
	}
	c.mu.Unlock()
	c.AddSecret(t.AccessToken, t.RefreshToken)
}

// readToken reads the token in a connection file as it is now (nil when
// the file has none), with the file's content.
func readToken(path string) (*Token, map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, &FileError{Path: path, Err: err}
	}
	n, err := load.ParseYAML(path, data)
	if err != nil {
		return nil, nil, err
	}
	raw, _ := n.Value().(map[string]any)
	tn := n.Get("token")
	if tn == nil {
		return nil, raw, nil
	}
	t, ds := parseToken(tn)
	if len(ds) > 0 {
		return nil, nil, ds.Sort()
	}
	return t, raw, nil
}
