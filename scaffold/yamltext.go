package scaffold

import (
	"bytes"
	"encoding/json"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// The generator writes YAML as text, not through an encoder, because the
// output carries comments at the places they are about (what was not mapped,
// suggestions to check). These helpers quote what needs quoting.

var plainRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_/][A-Za-z0-9 _./()'-]*$`) })

// yamlWords are plain scalars that YAML reads as something else than text.
var yamlWords = map[string]bool{"true": true, "false": true, "yes": true, "no": true, "on": true,
	"off": true, "null": true, "y": true, "n": true, "~": true}

// str is a one-line YAML scalar holding s as text. Text never becomes an
// expression: "${" is written "$${".
func str(s string) string {
	s = strings.ReplaceAll(s, "${", "$${")
	if plainRE().MatchString(s) && !yamlWords[strings.ToLower(s)] && !strings.HasSuffix(s, " ") {
		return s
	}
	return jsonText(s)
}

// jsonText is s as a JSON string, which YAML reads as a double-quoted scalar.
func jsonText(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// text is a scalar for prose (titles, descriptions) after `key: `: one line,
// or a folded block indented by indent spaces when s has several lines.
func text(s string, indent int) string {
	s = strings.TrimSpace(prose(s))
	if !strings.Contains(s, "\n") {
		return str(s)
	}
	s = strings.ReplaceAll(s, "${", "$${")
	pad := strings.Repeat(" ", indent)
	var b strings.Builder
	b.WriteString("|-")
	for _, line := range strings.Split(s, "\n") {
		b.WriteByte('\n')
		if strings.TrimSpace(line) != "" {
			b.WriteString(pad + strings.TrimRight(line, " \t"))
		}
	}
	return b.String()
}

// flow is v written as a one-line YAML flow value (JSON, which YAML reads),
// with object keys sorted so the output is stable.
func flow(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return flowStr(x)
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = flow(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = flowStr(k) + ": " + flow(x[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return "null"
		}
		return string(b)
	}
}

// prose drops what YAML cannot carry in comments and block scalars: control
// characters other than newline and tab, and the Unicode line separators.
func prose(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\r':
			return '\n'
		case r == '\n' || r == '\t':
			return r
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029 || r == 0xfeff || r == 0xfffd:
			return -1
		}
		return r
	}, s)
}

// flowPlainRE is text that a YAML flow collection keeps as a plain string.
var flowPlainRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z_/][A-Za-z0-9_./@+-]*( [A-Za-z0-9_./@+()-]+)*$`)
})

// flowStr is s inside a flow collection: plain when YAML reads it back as the
// same text, else double-quoted. Data is written as it is ("${" included:
// test data is not a template).
func flowStr(s string) string {
	if flowPlainRE().MatchString(s) && !yamlWords[strings.ToLower(s)] {
		return s
	}
	return jsonText(s)
}

// comment writes each line of s as a YAML comment indented by indent spaces.
func comment(s string, indent int) string {
	s = prose(s)
	pad := strings.Repeat(" ", indent)
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString(pad + "#")
		if line != "" {
			b.WriteString(" " + line)
		}
		b.WriteByte('\n')
	}
	return b.String()
}
