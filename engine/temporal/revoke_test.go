package temporal

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/flowrun/flowrun/connection"
)

// TestRevokedConnectionIsNoticed: a worker resolves a connection again once
// ConnectionTTL has passed, so a connection file marked revoked (flowrun
// connection revoke) fails the activities that use it from then on.
func TestRevokedConnectionIsNoticed(t *testing.T) {
	e := newEngine(t, "http://127.0.0.1:1")
	dir := t.TempDir()
	e.Resolve = DirResolver(dir)
	path := writeConn(t, dir, "http://127.0.0.1:1")
	ctx := context.Background()
	if _, err := e.Seal(ctx, "shop", "acme"); err != nil {
		t.Fatal(err)
	}
	c, err := connection.Load(path, e.Projects["shop"].Connector)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.MarkRevoked(time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Seal(ctx, "shop", "acme"); err != nil {
		t.Fatalf("within the TTL the cached connection is used: %v", err)
	}
	e.ConnectionTTL = time.Nanosecond
	if _, err := e.Seal(ctx, "shop", "acme"); err == nil || !strings.Contains(err.Error(), `connection "acme" is revoked`) {
		t.Fatalf("after the TTL: %v, want revoked", err)
	}
}
