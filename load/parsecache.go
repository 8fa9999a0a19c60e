package load

import (
	"bytes"
	"sync"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/schema"
)

// ParseCache keeps the parsed and schema-checked trees of a project's files
// by path, for a process that loads the same project again and again: the
// language server loads it on every edit, and then only the edited file is
// parsed again (parsing is two thirds of a load's allocations). A file is
// reused only when its bytes are the same; a file that does not parse is not
// kept. Node trees are never changed after parsing, so loads share them.
// Give each project its own cache (Options.ParseCache): after each load,
// the files that load did not read are dropped. Safe for concurrent use.
type ParseCache struct {
	mu    sync.Mutex
	files map[string]*parsedFile
}

type parsedFile struct {
	kind string
	data []byte
	node *lang.Node
	errs []schema.Error // the schema's problems with it
}

// NewParseCache returns an empty cache.
func NewParseCache() *ParseCache { return &ParseCache{files: map[string]*parsedFile{}} }

func (c *ParseCache) get(path, kind string, data []byte) *parsedFile {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.files[path]
	if f == nil || f.kind != kind || !bytes.Equal(f.data, data) {
		return nil
	}
	return f
}

func (c *ParseCache) put(path string, f *parsedFile) {
	if c == nil {
		return
	}
	f.data = bytes.Clone(f.data) // an overlay's buffer may be reused
	c.mu.Lock()
	c.files[path] = f
	c.mu.Unlock()
}

// keep drops the files not in read.
func (c *ParseCache) keep(read map[string]bool) {
	if c == nil {
		return
	}
	c.mu.Lock()
	for p := range c.files {
		if !read[p] {
			delete(c.files, p)
		}
	}
	c.mu.Unlock()
}
