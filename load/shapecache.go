package load

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
)

// ShapeCache remembers project files whose shape the JSON Schema accepted,
// so that loading an unchanged file again skips the schema pass. Compiling
// the schemas is most of a cold `flowrun run` of a small flow (~15 ms of
// ~50 ms); every other check (names, expressions, calls, types) still runs on
// every load.
//
// An entry is an empty file named by the SHA-256 of the file's kind and bytes
// and of the running binary (its path, size, modification time and build
// information), so a rebuilt flowrun or an edited file never matches an old
// entry. Only accepted files are recorded: a file with problems is validated,
// and its problems reported, on every load. A cache that cannot be read or
// written is ignored; entries are never read for their content, and the
// directory can be deleted at any time.
type ShapeCache struct {
	dir  string
	salt []byte
}

// OpenShapeCache returns a cache in dir (created on first write), or nil
// when the running binary cannot be identified (then nothing is cached).
func OpenShapeCache(dir string) *ShapeCache {
	salt := binarySalt()
	if salt == nil || dir == "" {
		return nil
	}
	return &ShapeCache{dir: dir, salt: salt}
}

// DefaultShapeCacheDir is where the CLI keeps the cache: $FLOWRUN_CACHE when
// set ("off" turns the cache off), else flowrun/shapes under the user's
// cache directory (os.UserCacheDir). It returns "" for no cache.
func DefaultShapeCacheDir() string {
	switch v := os.Getenv("FLOWRUN_CACHE"); v {
	case "off":
		return ""
	case "":
		d, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		return filepath.Join(d, "flowrun", "shapes")
	default:
		return v
	}
}

var (
	saltOnce sync.Once
	saltVal  []byte
)

// binarySalt identifies the running binary without reading it: the
// embedded schemas and the YAML decoder are part of it, so an entry made by
// another build must not match.
func binarySalt() []byte {
	saltOnce.Do(func() {
		exe, err := os.Executable()
		if err != nil {
			return
		}
		st, err := os.Stat(exe)
		if err != nil {
			return
		}
		h := sha256.New()
		fmt.Fprintf(h, "flowrun shape cache 1\x00%s\x00%d\x00%d\x00", exe, st.Size(), st.ModTime().UnixNano())
		if bi, ok := debug.ReadBuildInfo(); ok {
			h.Write([]byte(bi.String()))
		}
		saltVal = h.Sum(nil)
	})
	return saltVal
}

func (c *ShapeCache) path(kind string, data []byte) string {
	h := sha256.New()
	h.Write(c.salt)
	fmt.Fprintf(h, "\x00%s\x00%d\x00", kind, len(data))
	h.Write(data)
	sum := hex.EncodeToString(h.Sum(nil))
	return filepath.Join(c.dir, sum[:2], sum[2:])
}

// known reports whether data, a file of kind, was accepted before.
func (c *ShapeCache) known(kind string, data []byte) bool {
	if c == nil {
		return false
	}
	st, err := os.Lstat(c.path(kind, data))
	return err == nil && st.Mode().IsRegular()
}

// add records that data, a file of kind, was accepted. Errors are ignored:
// the cache only saves time.
func (c *ShapeCache) add(kind string, data []byte) {
	if c == nil {
		return
	}
	p := c.path(kind, data)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err == nil {
		f.Close()
	}
}
