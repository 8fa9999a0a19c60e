package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sourcegraph/jsonrpc2"
	"github.com/tliron/glsp"
	protocol "github.com/tliron/glsp/protocol_3_16"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/load"
)

// Server is a flowrun language server for one editor connection. Requests
// are handled one at a time, in the order they arrive, so a completion
// always sees the changes sent before it.
type Server struct {
	version  string
	docs     map[string]*document // open documents by clean path
	projects map[string]*project  // loaded projects by root
	handler  protocol.Handler
	shutdown bool // a shutdown request came before exit
	exited   bool
	logger   *log.Logger

	// mu serializes the handlers and the debounced reloads. Edits mark
	// their project stale and reload it once typing pauses for debounce,
	// or before the next request (which then sees the edits).
	mu      sync.Mutex
	stale   map[string]bool // roots to reload
	timer   *time.Timer
	notify  func(method string, params any)
	stopped bool
}

// debounce is how long the server waits after an edit before it reloads
// the project and publishes diagnostics, so that a burst of keystrokes
// costs one load. A request reloads at once.
const debounce = 150 * time.Millisecond

// document is a file open in the editor.
type document struct {
	uri     string
	path    string
	version int32
	text    string
	lines   []string

	// parsed is the last tree the text parsed to (nil before the first
	// parse that worked): completion reads it while the buffer does not
	// parse mid-edit.
	parsed *lang.Node
	// cur is the tree of this text (this version), nil when it does not
	// parse; requests read it rather than parse the text again, so that
	// many requests between two edits cost one parse.
	cur   *lang.Node
	curOK bool // the text parsed (cur may still be nil: an empty file)
	// blanked are the trees of this text with one line blanked (a key
	// half typed), by line, made when completion asks; nil: did not parse.
	blanked map[int]*lang.Node
}

func (d *document) set(text string) {
	d.text = text
	d.lines = splitLines(text)
	d.cur, d.blanked = nil, nil
	n, err := load.ParseYAML(d.path, []byte(text))
	d.cur, d.curOK = n, err == nil
	if err == nil && n != nil {
		d.parsed = n
	}
}

// blankedTree is the tree of the text with line blanked, parsed once per
// version and line; nil when that does not parse either.
func (d *document) blankedTree(line int) *lang.Node {
	if n, ok := d.blanked[line]; ok {
		return n
	}
	lines := slices.Clone(d.lines)
	if line < len(lines) {
		lines[line] = ""
	}
	var tree *lang.Node
	if n, err := load.ParseYAML(d.path, []byte(strings.Join(lines, "\n"))); err == nil {
		tree = n
	}
	if d.blanked == nil {
		d.blanked = map[int]*lang.Node{}
	}
	d.blanked[line] = tree
	return tree
}

// New makes a server; version is what it tells the editor it is.
func New(version string, logw io.Writer) *Server {
	s := &Server{version: version, docs: map[string]*document{}, projects: map[string]*project{},
		logger: log.New(logw, "flowrun lsp: ", log.LstdFlags), stale: map[string]bool{}}
	s.handler = protocol.Handler{
		Initialize:                     s.initialize,
		Initialized:                    func(*glsp.Context, *protocol.InitializedParams) error { return nil },
		Shutdown:                       s.onShutdown,
		Exit:                           func(*glsp.Context) error { return nil },
		SetTrace:                       func(*glsp.Context, *protocol.SetTraceParams) error { return nil },
		CancelRequest:                  func(*glsp.Context, *protocol.CancelParams) error { return nil },
		TextDocumentDidOpen:            s.didOpen,
		TextDocumentDidChange:          s.didChange,
		TextDocumentDidSave:            s.didSave,
		TextDocumentDidClose:           s.didClose,
		WorkspaceDidChangeWatchedFiles: s.didChangeWatchedFiles,
		WorkspaceDidChangeConfiguration: func(*glsp.Context, *protocol.DidChangeConfigurationParams) error {
			return nil
		},
		TextDocumentCompletion:     s.completion,
		TextDocumentHover:          s.hover,
		TextDocumentDefinition:     s.definition,
		TextDocumentDocumentSymbol: s.documentSymbol,
	}
	return s
}

// Serve speaks LSP (JSON-RPC 2.0 with Content-Length framing) over rw
// until the editor sends exit or closes the stream. It reports whether
// the editor asked for a shutdown before exit (LSP: exit code 0, else 1).
func (s *Server) Serve(ctx context.Context, rw io.ReadWriteCloser) bool {
	h := jsonrpc2.HandlerWithError(func(ctx context.Context, conn *jsonrpc2.Conn, req *jsonrpc2.Request) (any, error) {
		gc := &glsp.Context{
			Method: req.Method,
			Notify: func(method string, params any) {
				if err := conn.Notify(ctx, method, params); err != nil {
					s.logger.Printf("notify %s: %v", method, err)
				}
			},
			Call: func(method string, params, result any) {
				if err := conn.Call(ctx, method, params, result); err != nil {
					s.logger.Printf("call %s: %v", method, err)
				}
			},
		}
		if req.Params != nil {
			gc.Params = *req.Params
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if req.Method == protocol.MethodExit {
			s.exited, s.stopped = true, true
			if s.timer != nil {
				s.timer.Stop()
			}
			return nil, conn.Close()
		}
		if !req.Notif {
			s.flush() // a request sees every edit before it
		}
		if s.shutdown && !req.Notif {
			return nil, &jsonrpc2.Error{Code: jsonrpc2.CodeInvalidRequest, Message: "the server is shut down"}
		}
		r, validMethod, validParams, err := s.safeHandle(gc)
		switch {
		case !validMethod:
			return nil, &jsonrpc2.Error{Code: jsonrpc2.CodeMethodNotFound, Message: "method not supported: " + req.Method}
		case !validParams:
			msg := "invalid params"
			if err != nil {
				msg = err.Error()
			}
			return nil, &jsonrpc2.Error{Code: jsonrpc2.CodeInvalidParams, Message: msg}
		case err != nil:
			return nil, &jsonrpc2.Error{Code: jsonrpc2.CodeInvalidRequest, Message: err.Error()}
		}
		return r, nil
	})
	conn := jsonrpc2.NewConn(ctx, jsonrpc2.NewBufferedStream(rw, jsonrpc2.VSCodeObjectCodec{}), h.SuppressErrClosed(),
		jsonrpc2.SetLogger(s.logger))
	<-conn.DisconnectNotify()
	return s.shutdown && s.exited
}

// safeHandle runs a request's handler; a panic in it becomes an error
// answer instead of ending the editor's session.
func (s *Server) safeHandle(gc *glsp.Context) (r any, validMethod, validParams bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.logger.Printf("%s: internal error: %v", gc.Method, p)
			r, validMethod, validParams, err = nil, true, true, fmt.Errorf("flowrun lsp: internal error in %s: %v", gc.Method, p)
		}
	}()
	return s.handler.Handle(gc)
}

func (s *Server) initialize(_ *glsp.Context, _ *protocol.InitializeParams) (any, error) {
	t := true
	change := protocol.TextDocumentSyncKindIncremental
	return protocol.InitializeResult{
		Capabilities: protocol.ServerCapabilities{
			TextDocumentSync: protocol.TextDocumentSyncOptions{OpenClose: &t, Change: &change,
				Save: protocol.SaveOptions{IncludeText: new(bool)}},
			CompletionProvider:     &protocol.CompletionOptions{TriggerCharacters: []string{".", "{", ":", " "}},
			HoverProvider:          true,
			DefinitionProvider:     true,
			DocumentSymbolProvider: true,
		},
		ServerInfo: &protocol.InitializeResultServerInfo{Name: "flowrun", Version: &s.version},
	}, nil
}

func (s *Server) onShutdown(*glsp.Context) error {
	s.shutdown = true
	return nil
}

func (s *Server) didOpen(ctx *glsp.Context, p *protocol.DidOpenTextDocumentParams) error {
	path := pathOf(p.TextDocument.URI)
	if path == "" {
		return nil
	}
	d := &document{uri: p.TextDocument.URI, path: path, version: p.TextDocument.Version}
	d.set(p.TextDocument.Text)
	s.docs[path] = d
	s.refresh(ctx, path)
	return nil
}

func (s *Server) didChange(ctx *glsp.Context, p *protocol.DidChangeTextDocumentParams) error {
	path := pathOf(p.TextDocument.URI)
	d := s.docs[path]
	if d == nil {
		return nil
	}
	text := d.text
	for _, ch := range p.ContentChanges {
		text = applyChange(text, ch)
	}
	d.version = p.TextDocument.Version
	d.set(text)
	root := s.findRoot(path)
	if root == "" {
		return nil
	}
	s.stale[root] = true
	s.notify = ctx.Notify
	if s.timer == nil {
		s.timer = time.AfterFunc(debounce, s.flushLater)
	} else {
		s.timer.Reset(debounce)
	}
	return nil
}

// flushLater reloads the stale projects once edits pause.
func (s *Server) flushLater() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stopped {
		s.flush()
	}
}

// flush reloads the projects edits made stale and publishes their
// diagnostics.
func (s *Server) flush() {
	if len(s.stale) == 0 {
		return
	}
	roots := make([]string, 0, len(s.stale))
	for r := range s.stale {
		roots = append(roots, r)
	}
	sort.Strings(roots)
	clear(s.stale)
	for _, r := range roots {
		s.publish(s.load(r), s.notify)
	}
}

func (s *Server) didSave(ctx *glsp.Context, p *protocol.DidSaveTextDocumentParams) error {
	path := pathOf(p.TextDocument.URI)
	if d := s.docs[path]; d != nil && p.Text != nil {
		d.set(*p.Text)
	}
	s.refresh(ctx, path)
	return nil
}

func (s *Server) didClose(ctx *glsp.Context, p *protocol.DidCloseTextDocumentParams) error {
	path := pathOf(p.TextDocument.URI)
	delete(s.docs, path)
	s.refresh(ctx, path)
	return nil
}

// didChangeWatchedFiles reloads the projects of files changed on disk
// (a checkout, a file written by another program).
func (s *Server) didChangeWatchedFiles(ctx *glsp.Context, p *protocol.DidChangeWatchedFilesParams) error {
	roots := map[string]bool{}
	for _, ch := range p.Changes {
		if path := pathOf(ch.URI); path != "" {
			if root := s.findRoot(path); root != "" {
				roots[root] = true
			}
		}
	}
	list := make([]string, 0, len(roots))
	for r := range roots {
		list = append(list, r)
	}
	sort.Strings(list)
	for _, r := range list {
		s.publish(s.load(r), ctx.Notify)
	}
	return nil
}

// refresh reloads the project of path, if it has one, and publishes the
// diagnostics of all its files: a change to a helper re-checks its callers.
func (s *Server) refresh(ctx *glsp.Context, path string) {
	root := s.findRoot(path)
	if root == "" {
		return
	}
	delete(s.stale, root)
	s.publish(s.load(root), ctx.Notify)
}

// projectOf returns the loaded project of an open document, loading it
// if needed; nil for a file outside any project.
func (s *Server) projectOf(path string) *project {
	root := s.findRoot(path)
	if root == "" {
		return nil
	}
	if p := s.projects[root]; p != nil {
		return p
	}
	return s.load(root)
}

// docOf returns the open document for a URI, or nil.
func (s *Server) docOf(uri string) *document {
	return s.docs[pathOf(uri)]
}

// marshal is json.Marshal for tests and logs.
func marshal(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
