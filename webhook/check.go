package webhook

import (
	"fmt"
	"strings"
	"time"
)

// Spec is a webhook flow's `verify:` block as written, without its secret
// (an expression evaluated per delivery). Empty strings are keys left out.
type Spec struct {
	// Scheme is "hmac_sha256", "standard_webhooks" or "shared_secret".
	Scheme string
	// Header is the signature header's name (any case). Required for
	// hmac_sha256 and shared_secret; for standard_webhooks it defaults to
	// "webhook-signature", and a header named "<prefix>-signature" (e.g.
	// "svix-signature") makes the id and timestamp headers "<prefix>-id"
	// and "<prefix>-timestamp".
	Header string
	// Format is how the header carries the digest (hmac_sha256 only): one
	// {hex} or {base64} with literal text around it ("sha256={hex}",
	// "v0={hex}", "{base64}"), or comma-separated key={placeholder} pairs
	// ("t={timestamp},v1={hex}", Stripe). Default "{hex}".
	Format string
	// SignedPayload is what is signed (hmac_sha256 only), with {body} and
	// {timestamp}: "v0:{timestamp}:{body}" (Slack), "{timestamp}.{body}"
	// (Stripe). Default "{body}". standard_webhooks always signs
	// "{id}.{timestamp}.{body}" (which it may say, and nothing else).
	SignedPayload string
	// TimestampHeader is where {timestamp} comes from when Format does not
	// carry it (Slack: X-Slack-Request-Timestamp); for standard_webhooks it
	// replaces the default "<prefix>-timestamp" header.
	TimestampHeader string
	// Tolerance is the largest clock skew, either way, between a signed
	// timestamp (unix seconds) and now. 0 means DefaultTolerance.
	Tolerance time.Duration
}

// standardSignedPayload is what standard_webhooks signs; a Spec may say so.
const standardSignedPayload = "{id}.{timestamp}.{body}"

// DefaultTolerance is the clock skew allowed when Spec.Tolerance is 0.
const DefaultTolerance = 5 * time.Minute

// Problem is one mistake in a Spec, found by Check.
type Problem struct {
	// Field is the `verify:` key the problem is about: "scheme", "header",
	// "format", "signed_payload", "timestamp_header" or "tolerance".
	Field string
	// Offset is the byte offset, in that field's value, of what is wrong
	// (the "{" of a bad placeholder, an unclosed "{", a stray "}", a
	// pair of the format); -1 when the problem is about the field as a
	// whole, or about a field that is absent (then point at `verify:`).
	Offset int
	// Message says what is wrong, without the field name; Hint (may be
	// empty) says how to fix it.
	Message, Hint string
}

// Error is the problem as one line, "verify.format: ..." : the text
// Compile's error carries, so serve and test say what validate says.
func (p Problem) Error() string {
	s := "verify." + p.Field + ": " + p.Message
	if p.Hint != "" {
		s += " (hint: " + p.Hint + ")"
	}
	return s
}

// Check reports every problem of a verify block, in field order. It is the
// rule `flowrun validate` applies to each webhook flow's `verify:` and the
// one Compile applies before a delivery or a test case is verified, so a
// Spec without problems always compiles.
//
// A caller with positions turns Problem.Field into the YAML node of that key
// (or of the `verify:` mapping when the key is absent or Offset is -1) and
// Problem.Offset into a column inside the scalar: Offset counts bytes of the
// value as decoded, so convert it to runes, and add the quote and any
// escapes of a quoted scalar. Check never fails on unknown text: it has no
// other error than the problems it returns.
func Check(s Spec) []Problem {
	var ps []Problem
	add := func(field string, off int, hint, format string, args ...any) {
		ps = append(ps, Problem{Field: field, Offset: off, Message: fmt.Sprintf(format, args...), Hint: hint})
	}
	unused := func(field, value, why string) {
		if value != "" {
			add(field, -1, "remove it", "%s does not use %s", s.Scheme, why)
		}
	}
	switch s.Scheme {
	case "hmac_sha256":
		if s.Header == "" {
			add("header", -1, "name the header that carries the signature, e.g. header: X-Hub-Signature-256", "hmac_sha256 needs a header")
		}
	case "standard_webhooks":
		unused("format", s.Format, "format: its header is a space-separated list of v1,<base64>")
		if s.SignedPayload != standardSignedPayload {
			unused("signed_payload", s.SignedPayload, "signed_payload: it always signs "+standardSignedPayload)
		}
	case "shared_secret":
		if s.Header == "" {
			add("header", -1, "name the header that carries the secret, e.g. header: Authorization", "shared_secret needs a header")
		}
		unused("format", s.Format, "format: the header carries the secret itself")
		unused("signed_payload", s.SignedPayload, "signed_payload: nothing is signed")
		unused("timestamp_header", s.TimestampHeader, "timestamp_header: nothing is signed")
		if s.Tolerance != 0 {
			add("tolerance", -1, "remove it", "shared_secret does not use tolerance: no timestamp is signed")
		}
	default:
		add("scheme", -1, "", "scheme %q is not hmac_sha256, standard_webhooks or shared_secret", s.Scheme)
		return ps
	}
	for _, h := range []struct{ field, name string }{{"header", s.Header}, {"timestamp_header", s.TimestampHeader}} {
		if i := badHeaderChar(h.name); i >= 0 {
			add(h.field, i, "write the header's name only, e.g. X-Hub-Signature-256", "%q is not a header name: it holds %q", h.name, h.name[i])
		}
	}
	if s.Tolerance < 0 {
		add("tolerance", -1, "", "tolerance %s is negative", s.Tolerance)
	}
	if s.Scheme != "hmac_sha256" {
		return ps
	}

	f, fps := parseFormat(s.Format)
	ps = append(ps, fps...)
	payload, pps := parsePayload(s.SignedPayload)
	ps = append(ps, pps...)
	if len(fps) > 0 || len(pps) > 0 {
		return ps // the rules below would repeat what is already said
	}
	tsAt := placeholderAt(s.SignedPayload, payload, "timestamp")
	switch {
	case f.tsKey != "" && s.TimestampHeader != "":
		add("timestamp_header", -1, "remove timestamp_header, or the {timestamp} pair of format",
			"the timestamp comes from format (%s={timestamp}) and from timestamp_header; use one", f.tsKey)
	case tsAt >= 0 && f.tsKey == "" && s.TimestampHeader == "":
		add("signed_payload", tsAt, "add timestamp_header: <the header carrying it>, or a t={timestamp} pair to format",
			"{timestamp} is signed, but neither format nor timestamp_header says where it comes from")
	case tsAt < 0 && f.tsKey != "":
		// An unsigned timestamp can be replaced at will: it would only look like replay protection.
		add("format", f.tsAt, "add {timestamp} to signed_payload, e.g. {timestamp}.{body}",
			"format reads a timestamp, but signed_payload does not sign it")
	case tsAt < 0 && s.TimestampHeader != "":
		add("timestamp_header", -1, "add {timestamp} to signed_payload, e.g. v0:{timestamp}:{body}",
			"timestamp_header is read, but signed_payload does not sign it")
	case tsAt < 0 && s.Tolerance > 0:
		add("tolerance", -1, "sign a timestamp (signed_payload with {timestamp}), or remove tolerance",
			"tolerance has no effect: no timestamp is signed")
	}
	return ps
}

// badHeaderChar is the index of the first byte that may not be in a header
// name (RFC 9110 token), or -1.
func badHeaderChar(name string) int {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return i
	}
	return -1
}

// token is one piece of a format or signed payload: literal text, or a
// {placeholder} (name set), at byte offset off.
type token struct {
	lit  string
	name string
	ph   bool
	off  int
}

// scan splits text into literals and {placeholders}. An unclosed "{" or a
// stray "}" is a problem of field at its offset; base is added to offsets.
func scan(field, text string, base int) ([]token, []Problem) {
	var (
		toks []token
		ps   []Problem
	)
	lit := func(from, to int) {
		if to > from {
			if i := strings.IndexByte(text[from:to], '}'); i >= 0 {
				ps = append(ps, Problem{Field: field, Offset: base + from + i, Message: "a \"}\" closes no placeholder",
					Hint: "placeholders are written {name}; there is no way to write a literal brace"})
			}
			toks = append(toks, token{lit: text[from:to], off: base + from})
		}
	}
	i := 0
	for i < len(text) {
		j := strings.IndexByte(text[i:], '{')
		if j < 0 {
			lit(i, len(text))
			break
		}
		lit(i, i+j)
		start := i + j
		k := strings.IndexAny(text[start+1:], "{}")
		if k < 0 || text[start+1+k] == '{' {
			ps = append(ps, Problem{Field: field, Offset: base + start, Message: "a \"{\" is not closed", Hint: "write placeholders as {name}"})
			if k < 0 {
				break
			}
			i = start + 1 + k
			continue
		}
		toks = append(toks, token{name: text[start+1 : start+1+k], ph: true, off: base + start})
		i = start + 2 + k
	}
	return toks, ps
}

// sigFormat is a parsed Spec.Format.
type sigFormat struct {
	// literal form: prefix + digest + suffix
	prefix, suffix string
	// pair form: the keys of the digest and of the timestamp ("" = none)
	pairs            bool
	digestKey, tsKey string
	tsAt             int    // offset of the {timestamp} pair, for Check
	enc              string // "hex" or "base64"
}

const formatHint = "format placeholders are {hex} and {base64} (the digest) and, in key={placeholder} pairs such as t={timestamp},v1={hex}, {timestamp}"

func parseFormat(f string) (sigFormat, []Problem) {
	if f == "" {
		return sigFormat{enc: "hex"}, nil
	}
	var (
		sf sigFormat
		ps []Problem
	)
	bad := func(off int, hint, format string, args ...any) {
		ps = append(ps, Problem{Field: "format", Offset: off, Message: fmt.Sprintf(format, args...), Hint: hint})
	}
	digestAt := -1
	digest := func(t token) {
		if sf.enc != "" {
			bad(t.off, "a header carries one digest per signature; several signatures are read from one header automatically", "a second digest placeholder {%s}", t.name)
			return
		}
		sf.enc, digestAt = t.name, t.off
	}
	if !strings.Contains(f, ",") {
		toks, sps := scan("format", f, 0)
		ps = append(ps, sps...)
		for _, t := range toks {
			switch {
			case !t.ph:
				if sf.enc == "" {
					sf.prefix += t.lit
				} else {
					sf.suffix += t.lit
				}
			case t.name == "hex" || t.name == "base64":
				digest(t)
			case t.name == "timestamp":
				bad(t.off, "write the format as key={placeholder} pairs, e.g. t={timestamp},v1={hex}", "{timestamp} must be a key={timestamp} pair")
			default:
				bad(t.off, formatHint, "unknown placeholder {%s}", t.name)
			}
		}
		if sf.enc == "" && len(ps) == 0 {
			bad(-1, "mark the digest with {hex} or {base64}, e.g. sha256={hex}", "format %q has no {hex} or {base64}", f)
		}
		return sf, ps
	}
	sf.pairs = true
	keys := map[string]bool{}
	off := 0
	for part := range strings.SplitSeq(f, ",") {
		start := off
		off += len(part) + 1
		trimmed := strings.TrimLeft(part, " ")
		at := start + len(part) - len(trimmed)
		trimmed = strings.TrimRight(trimmed, " ")
		if trimmed == "" {
			at = max(start-1, 0) // the comma before an empty part
		}
		k, v, ok := strings.Cut(trimmed, "=")
		if !ok || k == "" || strings.ContainsAny(k, "{} ") {
			bad(at, "write each comma-separated part as key={placeholder}, e.g. t={timestamp},v1={hex}", "%q is not key={placeholder}", trimmed)
			continue
		}
		toks, sps := scan("format", v, at+len(k)+1)
		ps = append(ps, sps...)
		if len(sps) > 0 {
			continue
		}
		if len(toks) != 1 || !toks[0].ph {
			bad(at+len(k)+min(len(v), 1), "in the pair form each value is exactly one placeholder: {hex}, {base64} or {timestamp}", "the value of %s is not one placeholder", k)
			continue
		}
		t := toks[0]
		if keys[k] {
			bad(at, "give the digest and the timestamp different keys", "key %s is used twice", k)
			continue
		}
		keys[k] = true
		switch t.name {
		case "hex", "base64":
			digest(t)
			if digestAt == t.off {
				sf.digestKey = k
			}
		case "timestamp":
			if sf.tsKey != "" {
				bad(t.off, "", "a second {timestamp}")
				continue
			}
			sf.tsKey, sf.tsAt = k, t.off
		default:
			bad(t.off, formatHint, "unknown placeholder {%s}", t.name)
		}
	}
	if sf.enc == "" && len(ps) == 0 {
		bad(-1, "add the digest pair, e.g. v1={hex}", "format %q has no {hex} or {base64}", f)
	}
	return sf, ps
}

// payloadPart is one piece of a parsed signed payload: literal text, or a
// placeholder name ("body", "timestamp", "id").
type payloadPart struct {
	lit  string
	name string
}

func parsePayload(p string) ([]payloadPart, []Problem) {
	if p == "" {
		return []payloadPart{{name: "body"}}, nil
	}
	toks, ps := scan("signed_payload", p, 0)
	var parts []payloadPart
	body := false
	for _, t := range toks {
		switch {
		case !t.ph:
			parts = append(parts, payloadPart{lit: t.lit})
		case t.name == "body" || t.name == "timestamp":
			body = body || t.name == "body"
			parts = append(parts, payloadPart{name: t.name})
		case t.name == "id":
			ps = append(ps, Problem{Field: "signed_payload", Offset: t.off, Message: "{id} is only signed by standard_webhooks",
				Hint: "signed_payload placeholders are {body} and {timestamp}"})
		default:
			ps = append(ps, Problem{Field: "signed_payload", Offset: t.off, Message: fmt.Sprintf("unknown placeholder {%s}", t.name),
				Hint: "signed_payload placeholders are {body} and {timestamp}"})
		}
	}
	if !body && len(ps) == 0 {
		ps = append(ps, Problem{Field: "signed_payload", Offset: -1, Message: fmt.Sprintf("%q does not sign {body}: the signature would not cover the request", p),
			Hint: "add {body}, e.g. {timestamp}.{body}"})
	}
	return parts, ps
}

// placeholderAt is the offset of the first {name} in a signed payload, or -1.
func placeholderAt(text string, parts []payloadPart, name string) int {
	for _, p := range parts {
		if p.name == name {
			return strings.Index(text, "{"+name+"}")
		}
	}
	return -1
}
