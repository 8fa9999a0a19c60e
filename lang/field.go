package lang

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/flowrun/flowrun/value"
)

func FieldNames(fs []*Field) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Name
	}
	return out
}

// CheckType reports, as text, how v fails to be of the field's type; "" if it fits.
func CheckType(f *Field, v any) string {
	if v == nil {
		return ""
	}
	want := f.Type
	got := value.TypeName(v)
	switch want {
	case "", "any":
		return ""
	case "string":
		if got == "string" {
			return ""
		}
	case "datetime":
		if s, ok := v.(string); ok {
			if _, err := time.Parse(time.RFC3339, s); err != nil {
				return fmt.Sprintf("%q is not an RFC 3339 date-time", s)
			}
			return ""
		}
	case "number":
		if got == "number" || got == "integer" {
			return ""
		}
	case "integer":
		if got == "integer" {
			return ""
		}
		if x, ok := v.(float64); ok && x == float64(int64(x)) {
			return ""
		}
	case "boolean":
		if got == "boolean" {
			return ""
		}
	case "object":
		if m, ok := v.(map[string]any); ok {
			for _, p := range f.Properties {
				if msg := CheckField(p, m[p.Name]); msg != "" {
					return "property " + strconv.Quote(p.Name) + ": " + msg
				}
			}
			return ""
		}
	case "list":
		if xs, ok := v.([]any); ok {
			if f.Items != nil {
				for i, x := range xs {
					if msg := CheckType(f.Items, x); msg != "" {
						return fmt.Sprintf("item %d: %s", i, msg)
					}
				}
			}
			return ""
		}
	default:
		return ""
	}
	return fmt.Sprintf("expected %s, got %s", want, got)
}

// CheckField checks a value against a field: type, enum and required.
func CheckField(f *Field, v any) string {
	if v == nil {
		if f.Required && !f.HasDefault {
			return "is required"
		}
		return ""
	}
	if msg := CheckType(f, v); msg != "" {
		return msg
	}
	if len(f.Enum) > 0 {
		for _, e := range f.Enum {
			if value.Equal(e, v) {
				return ""
			}
		}
		parts := make([]string, len(f.Enum))
		for i, e := range f.Enum {
			parts[i] = shownValue(e)
		}
		return fmt.Sprintf("%s is not one of %s", shownValue(v), strings.Join(parts, ", "))
	}
	return ""
}

// shownValue is a value in a message: as value.Text writes it (objects
// and lists as JSON, not Go's map[k:v]), null as null.
func shownValue(v any) string {
	if v == nil {
		return "null"
	}
	return value.Text(v)
}

// TypeOnly is the field without its enum, default and required flag: what
// a value must be, not which values are allowed.
func (f *Field) TypeOnly() *Field {
	return &Field{Name: f.Name, Type: f.Type, Items: f.Items, Properties: f.Properties}
}

// CoerceField checks a value against a declared field and converts it to the
// field's run-time representation (integer -> int, number -> float64),
// filling defaults. It returns an error message naming what is wrong.
func CoerceField(f *Field, v any, fromCLI bool) (any, string) {
	return coerceField(f, v, fromCLI, false)
}

// coerceField is CoerceField; normal says v is in normal form already
// (value.Normalize would return it unchanged), so it is not walked again.
func coerceField(f *Field, v any, fromCLI, normal bool) (any, string) {
	if len(f.Enum) == 0 {
		// values already in their run-time form (what the interpreter and
		// the JSON decoder make) are returned as they are: the same result
		// as the general path below, without normalising and checking them
		switch x := v.(type) {
		case int:
			switch f.Type {
			case "integer", "any", "":
				return v, ""
			case "number":
				return float64(x), ""
			}
		case float64:
			switch f.Type {
			case "number", "any", "":
				return v, ""
			}
		case string:
			switch f.Type {
			case "string", "any", "":
				return v, ""
			}
		case bool:
			switch f.Type {
			case "boolean", "any", "":
				return v, ""
			}
		}
	}
	if !normal {
		v = value.Normalize(v)
	}
	if v == nil {
		if f.HasDefault {
			return value.Normalize(f.Default), ""
		}
		if f.Required {
			return nil, "is required"
		}
		return nil, ""
	}
	if s, ok := v.(string); ok && fromCLI {
		switch f.Type {
		case "integer":
			if i, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
				v = i
			}
		case "number":
			if x, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
				v = x
			}
		case "boolean":
			if b, err := strconv.ParseBool(strings.TrimSpace(s)); err == nil {
				v = b
			}
		}
	}
	if msg := CheckField(f, v); msg != "" {
		return nil, msg
	}
	switch f.Type {
	case "integer":
		if x, ok := v.(float64); ok {
			v = int(x)
		}
	case "number":
		if x, ok := v.(int); ok {
			v = float64(x)
		}
	case "object":
		if m, ok := v.(map[string]any); ok && len(f.Properties) > 0 {
			out := make(map[string]any, len(m))
			for k, x := range m {
				out[k] = x
			}
			for _, p := range f.Properties {
				x, msg := coerceField(p, m[p.Name], fromCLI, normal)
				if msg != "" {
					return nil, "property " + strconv.Quote(p.Name) + ": " + msg
				}
				if x != nil || p.HasDefault {
					out[p.Name] = x
				}
			}
			v = out
		}
	case "list":
		if l, ok := v.([]any); ok && f.Items != nil {
			out := make([]any, len(l))
			for i, x := range l {
				y, msg := coerceField(f.Items, x, fromCLI, normal)
				if msg != "" {
					return nil, fmt.Sprintf("item %d: %s", i, msg)
				}
				out[i] = y
			}
			v = out
		}
	}
	return v, ""
}

// CoerceFields applies CoerceField to every declared field of an object and
// rejects undeclared keys.
func CoerceFields(fs []*Field, in map[string]any, what string, fromCLI bool) (map[string]any, error) {
	return CoerceFieldsInto(make(map[string]any, len(fs)), fs, in, what, fromCLI)
}

// CoerceFieldsInto is CoerceFields writing into out, which may be in itself
// when the caller owns in (a call's freshly evaluated arguments).
func CoerceFieldsInto(out map[string]any, fs []*Field, in map[string]any, what string, fromCLI bool) (map[string]any, error) {
	return coerceFields(out, fs, in, what, fromCLI, false)
}

// CoerceNormalFields is CoerceFields for inputs whose values are in normal
// form already: what value.DecodeJSON returns (and TextInputs leaves), so
// that a large decoded input is checked but not walked to be normalised
// again. The result is CoerceFields's for such values.
func CoerceNormalFields(fs []*Field, in map[string]any, what string, fromCLI bool) (map[string]any, error) {
	return coerceFields(make(map[string]any, len(fs)), fs, in, what, fromCLI, true)
}

func coerceFields(out map[string]any, fs []*Field, in map[string]any, what string, fromCLI, normal bool) (map[string]any, error) {
	// Every key of in is declared when as many declared fields are given
	// as in has keys (field names are distinct): then in is not iterated,
	// which costs more than the lookups for a call's few arguments. A
	// value is looked up before out (which may be in) gets the field.
	n, given := len(in), 0
	for _, f := range fs {
		x, ok := in[f.Name]
		if ok {
			given++
		}
		v, msg := coerceField(f, x, fromCLI, normal)
		if msg != "" {
			if err := undeclared(fs, in, what); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("%s %q: %s", what, f.Name, msg)
		}
		out[f.Name] = v
	}
	if given != n {
		return nil, undeclared(fs, in, what)
	}
	return out, nil
}

// undeclared is the error for the first key of in that is not a declared
// field (keys in order, so the error does not depend on map order), or nil.
func undeclared(fs []*Field, in map[string]any, what string) error {
	var keys []string
	for k := range in {
		if FindField(fs, k) == nil {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	sort.Strings(keys)
	k := keys[0]
	names := FieldNames(fs)
	sort.Strings(names)
	hint := value.Suggest(k, names)
	if hint != "" {
		hint = " (" + hint + ")"
	}
	return fmt.Errorf("%s %q is not declared%s", what, k, hint)
}

// TextInputs converts the string values of in that are given for declared
// number, integer and boolean fields ("3", "true", as a command line gives
// them) to those types; other values are left as they are.
func TextInputs(fs []*Field, in map[string]any) map[string]any {
	out := make(map[string]any, len(in))
	for k, v := range in {
		out[k] = v
		f := FindField(fs, k)
		s, ok := v.(string)
		if f == nil || !ok {
			continue
		}
		s = strings.TrimSpace(s)
		switch f.Type {
		case "integer":
			if i, err := strconv.Atoi(s); err == nil {
				out[k] = i
			}
		case "number":
			if x, err := strconv.ParseFloat(s, 64); err == nil {
				out[k] = x
			}
		case "boolean":
			if b, err := strconv.ParseBool(s); err == nil {
				out[k] = b
			}
		}
	}
	return out
}
