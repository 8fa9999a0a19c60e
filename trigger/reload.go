package trigger

import (
	"context"
	"slices"
	"sync"
)

// Reloading connections (`flowrun serve --connections DIR`, on SIGHUP): the
// command re-reads DIR and tells the serving host what changed. A new
// connection file becomes a new peer (AddPeer), with its own scheduler
// started at once. A changed file becomes a new peer that replaces the
// old host (AddPeer with replaces): the old one is retired, so it owns no
// trigger any more (deliveries and polls go to its replacement), its
// deliveries and polls in flight finish, and its scheduler stops; the two
// share the claims on dedupe keys and polls in flight, so a delivery or
// poll running on the old host is not run again beside it on the new one.
// A removed file retires its host (Retire): its triggers' deliveries are
// answered 503 with a clear error until the file is back (ServeHTTP).
// Retired hosts stay in the list (their work in flight is drained at
// shutdown) but are never chosen again.

// serveState is what a peer added while Serve runs needs to start its
// scheduler.
type serveState struct {
	stop, runCtx context.Context
	wg           *sync.WaitGroup
}

func (h *Host) setServing(s *serveState) {
	h.peersMu.Lock()
	h.serving = s
	h.peersMu.Unlock()
}

// peerList is h.Peers, safe while a reload adds to it.
func (h *Host) peerList() []*Host {
	h.peersMu.RLock()
	defer h.peersMu.RUnlock()
	return h.Peers
}

// Hosts is h and its peers, the retired ones included.
func (h *Host) Hosts() []*Host { return append([]*Host{h}, h.peerList()...) }

// Retired reports why h no longer runs its triggers ("" while it does).
func (h *Host) Retired() string {
	if p := h.retired.Load(); p != nil {
		return *p
	}
	return ""
}

// root is the host whose claims h uses: the first of the hosts it
// replaced, or h.
func (h *Host) root() *Host {
	for h.inherit != nil {
		h = h.inherit
	}
	return h
}

// AddPeer adds p to the hosts h serves with, while Serve runs or before:
// p shares h's listener, group committer and trigger listing, and its
// poll scheduler starts at once. With replaces (a host of the same
// project and connection), p takes over: replaces is retired with the
// reason given. p must not be in use yet.
func (h *Host) AddPeer(p *Host, replaces *Host, why string) {
	if replaces != nil {
		p.inherit = replaces.root()
	}
	p.listing = h.listing
	p.group.Store(h.group.Load())
	h.peersMu.Lock()
	h.Peers = append(slices.Clip(h.Peers), p)
	s := h.serving
	if s != nil && p.Ingress == nil {
		s.wg.Add(1) // under peersMu: Serve clears serving before it waits
		go func() {
			defer s.wg.Done()
			p.schedule(s.stop, s.runCtx, s.wg)
		}()
	}
	h.peersMu.Unlock()
	if replaces != nil {
		replaces.Retire(why)
	}
}

// Retire takes h out of service for good (see AddPeer): it owns no
// trigger, its scheduler stops after the polls in flight.
func (h *Host) Retire(why string) {
	h.retired.Store(&why)
}

// retiredFor is the reason of the last retired host of t's project and
// connection among h and its peers, when no live one runs it.
func (h *Host) retiredFor(t *Trigger) string {
	hosts := h.Hosts()
	for i := len(hosts) - 1; i >= 0; i-- {
		x := hosts[i]
		if why := x.Retired(); why != "" && t.Project == x.project().Connector.Name && t.Connection == x.Named {
			return why
		}
	}
	return ""
}
