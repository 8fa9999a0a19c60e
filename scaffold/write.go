package scaffold

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// ErrNotEmpty is returned (wrapped) when the target directory exists and is
// not empty: init never overwrites anything.
var ErrNotEmpty = errors.New("directory is not empty")

// Result says what was written.
type Result struct {
	// Dir is the project directory.
	Dir string
	// Files are the files written, relative to Dir, slash-separated, sorted.
	Files []string
	// Notes list what the generator did not map or guessed, in the order found.
	Notes []Note
}

// Note is one thing the generator could not map, or guessed and wants
// checked. Where names the place in the source (an operation, a file:line).
type Note struct {
	Where string
	What  string
	// File is the generated file that carries the note as a comment, if any.
	File string
}

func (n Note) String() string {
	s := n.What
	if n.Where != "" {
		s = n.Where + ": " + s
	}
	if n.File != "" {
		s += " (see " + n.File + ")"
	}
	return s
}

// checkEmpty refuses a directory that exists and holds anything.
func checkEmpty(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return fmt.Errorf("%s is not a directory that init can write into: %v", dir, pe.Err)
		}
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("%s: %w (init never overwrites files; give a new or empty directory)", dir, ErrNotEmpty)
	}
	return nil
}

// writeFiles writes files (relative slash paths -> contents) under dir, which
// checkEmpty accepted. On an error it removes what it wrote, so no half
// project is left behind.
func writeFiles(dir string, files map[string]string) ([]string, error) {
	if err := checkEmpty(dir); err != nil {
		return nil, err
	}
	_, statErr := os.Stat(dir)
	created := errors.Is(statErr, fs.ErrNotExist)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := filepath.Join(dir, filepath.FromSlash(name))
		err := os.MkdirAll(filepath.Dir(p), 0o755)
		if err == nil {
			err = os.WriteFile(p, []byte(files[name]), 0o644)
		}
		if err != nil {
			cleanup(dir, created)
			return nil, err
		}
	}
	return names, nil
}

func cleanup(dir string, created bool) {
	if created {
		_ = os.RemoveAll(dir)
		return
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		_ = os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}
