package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/flowrun/flowrun/connection"
	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/run"
	"github.com/flowrun/flowrun/trigger"
)

// Reloading --connections DIR: on SIGHUP, `serve` reads DIR again. A new
// file adds its connection, a removed one retires its host (its triggers'
// deliveries are answered 503 "trigger not served: connection NAME was
// removed ..."), a changed one replaces its host with one built from the
// new file (new token, new params; a connection no longer revoked also
// lifts the auth_expired and config pauses of its triggers, as a login
// does). A file that does not load (bad YAML, a missing {env: NAME}, a
// refused name) is logged with its file:line:col and skipped: a changed
// one keeps its running host, a new one is not added, and every other
// connection goes on. Project files are not reloaded.

// servedConn is one connection a serve --connections process runs.
type servedConn struct {
	host *trigger.Host
	path string
	sum  [32]byte // of the file as loaded
}

// connReloader re-reads a --connections directory into a serving host.
type connReloader struct {
	mu       sync.Mutex
	dir      string
	hub      *trigger.Host // the first host: the others are its peers
	projects []*lang.Project
	conns    map[string]*servedConn // project + "/" + name
	newHost  func(*run.Runner) *trigger.Host
	log      *slog.Logger
}

func fileSum(path string) [32]byte {
	b, err := os.ReadFile(path)
	if err != nil {
		return [32]byte{}
	}
	return sha256.Sum256(b)
}

// watch reloads on SIGHUP until ctx is done.
func (r *connReloader) watch(ctx context.Context) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	go func() {
		defer signal.Stop(ch)
		for {
			select {
			case <-ctx.Done():
				return
			case <-ch:
				r.reload(ctx)
			}
		}
	}()
}

// reload reads the directory again and applies what changed.
func (r *connReloader) reload(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var added, changed, removed, skipped int
	for _, p := range r.projects {
		name := p.Connector.Name
		d, bad, err := scanConnectionsSkipping(r.dir, name)
		if err != nil {
			// the directory itself is unreadable: keep everything running
			r.log.Error("reload: connections not read; the running ones are kept", "project", name, "error", errText(err))
			continue
		}
		for _, b := range bad {
			skipped++
			r.log.Error("reload: connection file skipped", "project", name, "error", errText(b))
		}
		for _, n := range d.names {
			key := name + "/" + n
			path := d.files[n]
			cur := r.conns[key]
			sum := fileSum(path)
			if cur != nil && cur.path == path && cur.sum == sum {
				continue
			}
			conn, err := connection.Load(path, p.Connector)
			if err != nil {
				skipped++
				what := "not added"
				if cur != nil {
					what = "the running connection is kept"
				}
				r.log.Error("reload: connection file skipped ("+what+")", "project", name, "connection", n, "error", connErrText(err))
				continue
			}
			x := r.newHost(&run.Runner{Project: p, Connection: conn})
			x.Named, x.ConnectionName = n, n
			if cur == nil {
				r.hub.AddPeer(x, nil, "")
				added++
				r.log.Info("reload: connection added", "project", name, "connection", n)
			} else {
				r.hub.AddPeer(x, cur.host, fmt.Sprintf("connection %s was replaced", n))
				changed++
				r.log.Info("reload: connection changed", "project", name, "connection", n)
				if !conn.Revoked {
					// a new token (or a file no longer revoked): what a
					// login does, lift the pauses for the connection
					abs, _ := filepath.Abs(path)
					if ids, err := x.Store.ResumeConnection(ctx, name, abs); err != nil {
						r.log.Error("reload: resuming the triggers paused with the connection", "connection", n, "error", err.Error())
					} else if len(ids) > 0 {
						r.log.Info("reload: triggers resumed", "connection", n, "triggers", strings.Join(ids, ","))
					}
				}
			}
			r.conns[key] = &servedConn{host: x, path: path, sum: sum}
		}
		for key, cur := range r.conns {
			n, ok := strings.CutPrefix(key, name+"/")
			if !ok {
				continue
			}
			if _, still := d.files[n]; still {
				continue
			}
			cur.host.Retire(fmt.Sprintf("connection %s was removed from %s", n, relPath(d.dir)))
			delete(r.conns, key)
			removed++
			r.log.Info("reload: connection removed", "project", name, "connection", n)
		}
	}
	r.log.Info("reload: connections read", "added", added, "changed", changed, "removed", removed, "skipped", skipped, "serving", len(r.conns))
}

func errText(err error) string {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.msg
	}
	return err.Error()
}

// connErrText is a connection file's problems, each with its
// file:line:col, on one line.
func connErrText(err error) string {
	var ds lang.Diagnostics
	if errors.As(err, &ds) {
		var parts []string
		for _, d := range ds {
			d.Pos.File = relPath(d.Pos.File)
			parts = append(parts, d.String())
		}
		return strings.Join(parts, "; ")
	}
	return err.Error()
}
