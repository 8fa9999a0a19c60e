package lsp

import (
	"net/url"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf16"

	"github.com/flowrun/flowrun/lang"
	protocol "github.com/tliron/glsp/protocol_3_16"
)

// Positions: lang.Pos counts lines from 1 and characters (runes) from 1;
// LSP counts lines from 0 and UTF-16 code units from 0. Every conversion
// goes through the line's text.

// splitLines splits a file's text into lines without their line ends.
func splitLines(text string) []string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

// utf16Len is the length of s in UTF-16 code units.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += max(utf16.RuneLen(r), 1)
	}
	return n
}

// runesToUTF16 converts a rune column (0-based) of line to UTF-16 units.
func runesToUTF16(line string, col int) int {
	n, i := 0, 0
	for _, r := range line {
		if i >= col {
			break
		}
		n += max(utf16.RuneLen(r), 1)
		i++
	}
	return n + max(col-i, 0)
}

// utf16ToRunes converts a UTF-16 column of line to a rune column (0-based).
func utf16ToRunes(line string, units int) int {
	n, i := 0, 0
	for _, r := range line {
		if n >= units {
			return i
		}
		n += max(utf16.RuneLen(r), 1)
		i++
	}
	return i
}

// byteOffset is the byte offset in line of a rune column (0-based).
func byteOffset(line string, col int) int {
	i := 0
	for off := range line {
		if i == col {
			return off
		}
		i++
	}
	return len(line)
}

func lineAt(lines []string, i int) string {
	if i < 0 || i >= len(lines) {
		return ""
	}
	return lines[i]
}

// position converts a lang.Pos (1-based, runes) to an LSP position.
func position(lines []string, p lang.Pos) protocol.Position {
	if p.Line <= 0 {
		return protocol.Position{}
	}
	line := lineAt(lines, p.Line-1)
	return protocol.Position{Line: uint32(p.Line - 1), Character: uint32(runesToUTF16(line, max(p.Col-1, 0)))}
}

// isWord reports whether r belongs to a name: letters, digits, _.
func isWord(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// wordRange is the range of the word starting at p: the run of letters,
// digits and _ there, or one character when p is on another character, or
// an empty range at a line's end. Diagnostics get it as their range.
func wordRange(lines []string, p lang.Pos) protocol.Range {
	start := position(lines, p)
	if p.Line <= 0 {
		return protocol.Range{Start: start, End: start}
	}
	rs := []rune(lineAt(lines, p.Line-1))
	c := max(p.Col-1, 0)
	if c >= len(rs) {
		return protocol.Range{Start: start, End: start}
	}
	e := c
	for e < len(rs) && isWord(rs[e]) {
		e++
	}
	if e == c {
		e = c + 1
	}
	end := protocol.Position{Line: start.Line, Character: uint32(runesToUTF16(string(rs), e))}
	return protocol.Range{Start: start, End: end}
}

// pathOf turns a file: URI into a clean path; "" for other schemes.
func pathOf(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "file" {
		return ""
	}
	p := u.Path
	if len(p) >= 3 && p[0] == '/' && p[2] == ':' { // file:///C:/x on Windows
		p = p[1:]
	}
	return filepath.Clean(filepath.FromSlash(p))
}

// uriOf turns a path into a file: URI.
func uriOf(path string) string {
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return (&url.URL{Scheme: "file", Path: p}).String()
}

// applyChange applies one content change to a document's text.
func applyChange(text string, ch any) string {
	switch c := ch.(type) {
	case protocol.TextDocumentContentChangeEventWhole:
		return c.Text
	case protocol.TextDocumentContentChangeEvent:
		if c.Range == nil {
			return c.Text
		}
		start, end := offsetOf(text, c.Range.Start), offsetOf(text, c.Range.End)
		if end < start {
			start, end = end, start
		}
		return text[:start] + c.Text + text[end:]
	}
	return text
}

// offsetOf is the byte offset of an LSP position in text, clamped to it.
func offsetOf(text string, p protocol.Position) int {
	off := 0
	for l := uint32(0); l < p.Line; l++ {
		i := strings.IndexByte(text[off:], '\n')
		if i < 0 {
			return len(text)
		}
		off += i + 1
	}
	line := text[off:]
	if i := strings.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	line = strings.TrimSuffix(line, "\r")
	return off + byteOffset(line, utf16ToRunes(line, int(p.Character)))
}
