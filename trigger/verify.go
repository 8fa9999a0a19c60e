package trigger

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// VerifyConfig says how a webhook flow's requests are signed: the flow's
// `verify:` block with its expressions already evaluated.
type VerifyConfig struct {
	// Scheme is "hmac_sha256" or "standard_webhooks".
	Scheme string
	// Header is the signature header's name (any case). Required for
	// hmac_sha256; for standard_webhooks it defaults to "webhook-signature",
	// and a header named "<prefix>-signature" (e.g. "svix-signature") makes
	// the id and timestamp headers "<prefix>-id" and "<prefix>-timestamp".
	Header string
	// Secret is the HMAC key: used as is for hmac_sha256 (so Stripe's whole
	// "whsec_..." string is the key); for standard_webhooks, the base64 after
	// an optional "whsec_" prefix. An empty secret is refused.
	Secret string
	// Format is how the header carries the digest (hmac_sha256 only): one
	// {hex} or {base64} with literal text around it ("sha256={hex}",
	// "v0={hex}", "{base64}"), or comma-separated key={placeholder} pairs
	// ("t={timestamp},v1={hex}", Stripe), in which case the header is parsed
	// as k=v pairs, other keys are ignored and the digest key may repeat.
	// Default "{hex}".
	Format string
	// SignedPayload is what is signed (hmac_sha256 only), with placeholders
	// {body}, {timestamp}; e.g. "v0:{timestamp}:{body}" (Slack),
	// "{timestamp}.{body}" (Stripe). Default "{body}". standard_webhooks
	// always signs "{id}.{timestamp}.{body}".
	SignedPayload string
	// TimestampHeader is where {timestamp} comes from when Format does not
	// carry it (Slack: X-Slack-Request-Timestamp); for standard_webhooks it
	// overrides the default webhook-timestamp header.
	TimestampHeader string
	// Tolerance is the largest clock skew, either way, between a signed
	// timestamp (unix seconds) and now. 0 means 5 minutes.
	Tolerance time.Duration
}

// DefaultTolerance is the clock skew Verify allows when VerifyConfig.Tolerance is 0.
const DefaultTolerance = 5 * time.Minute

// Errors from Verify. Every error Verify returns matches exactly one of them
// with errors.Is. Messages name headers but never hold the secret, the
// expected digest or the values the sender sent.
var (
	// ErrMissingHeader: a header verification needs is absent or empty
	// ("missing header X-Hub-Signature-256").
	ErrMissingHeader = errors.New("missing header")
	// ErrMalformedSignature: the signature header does not have the
	// configured format.
	ErrMalformedSignature = errors.New("malformed signature header")
	// ErrMalformedTimestamp: the timestamp is not unix seconds.
	ErrMalformedTimestamp = errors.New("malformed timestamp")
	// ErrTimestampTolerance: the signed timestamp is too old or too far in
	// the future ("timestamp outside tolerance (5m0s)"), e.g. a replay.
	ErrTimestampTolerance = errors.New("timestamp outside tolerance")
	// ErrSignatureMismatch: no signature in the header matches.
	ErrSignatureMismatch = errors.New("signature does not match")
	// ErrEmptySecret: the configured secret is empty; Verify refuses to
	// verify rather than accept anything.
	ErrEmptySecret = errors.New("refusing to verify with an empty secret")
	// ErrVerifyConfig: the VerifyConfig itself is wrong (a project or server
	// problem, not the sender's).
	ErrVerifyConfig = errors.New("invalid verify config")
)

// Verify checks that a webhook request was signed as cfg says. headers are
// looked up case-insensitively, so both an http.Header from a request and one
// built from the lower-case header map of a flow's `request` work. body must
// be the raw body, byte for byte; now is the clock (pin it in tests).
//
// A nil error means the request is authentic (and, when it carries a signed
// timestamp, fresh). Any other result must be answered 401 without running
// a step; errors.Is(err, ErrVerifyConfig) or ErrEmptySecret points at the
// project rather than the sender.
func Verify(cfg VerifyConfig, headers http.Header, body []byte, now time.Time) error {
	tol := cfg.Tolerance
	if tol == 0 {
		tol = DefaultTolerance
	}
	if tol < 0 {
		return fmt.Errorf("%w: tolerance %s is negative", ErrVerifyConfig, tol)
	}
	switch cfg.Scheme {
	case "hmac_sha256":
		return verifyHMAC(cfg, headers, body, now, tol)
	case "standard_webhooks":
		return verifyStandard(cfg, headers, body, now, tol)
	case "shared_secret":
		return verifyShared(cfg, headers)
	default:
		return fmt.Errorf("%w: scheme %q is not hmac_sha256, standard_webhooks or shared_secret", ErrVerifyConfig, cfg.Scheme)
	}
}

// digest encodings a Format may name.
const (
	encHex    = "hex"
	encBase64 = "base64"
)

// sigFormat is a parsed VerifyConfig.Format.
type sigFormat struct {
	// literal form: prefix + digest + suffix
	prefix, suffix string
	// pair form: the keys of the digest and the timestamp ("" = absent)
	pairs            bool
	digestKey, tsKey string
	enc              string // encHex or encBase64
}

func parseFormat(f string) (sigFormat, error) {
	if f == "" {
		f = "{hex}"
	}
	bad := func(why string) (sigFormat, error) {
		return sigFormat{}, fmt.Errorf("%w: format %q: %s", ErrVerifyConfig, f, why)
	}
	if strings.Contains(f, ",") {
		var sf sigFormat
		sf.pairs = true
		for part := range strings.SplitSeq(f, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok || k == "" {
				return bad("each comma-separated part must be key={placeholder}")
			}
			switch v {
			case "{hex}", "{base64}":
				if sf.enc != "" {
					return bad("more than one digest placeholder")
				}
				sf.enc, sf.digestKey = strings.Trim(v, "{}"), k
			case "{timestamp}":
				if sf.tsKey != "" {
					return bad("more than one {timestamp}")
				}
				sf.tsKey = k
			default:
				return bad("a value must be {hex}, {base64} or {timestamp}")
			}
		}
		if sf.enc == "" {
			return bad("no {hex} or {base64}")
		}
		if sf.digestKey == sf.tsKey {
			return bad("the digest and the timestamp need different keys")
		}
		return sf, nil
	}
	var sf sigFormat
	for _, enc := range []string{encHex, encBase64} {
		if before, after, ok := strings.Cut(f, "{"+enc+"}"); ok {
			if sf.enc != "" {
				return bad("more than one digest placeholder")
			}
			sf.enc, sf.prefix, sf.suffix = enc, before, after
		}
	}
	if sf.enc == "" {
		return bad("no {hex} or {base64}")
	}
	if strings.ContainsAny(sf.prefix+sf.suffix, "{}") {
		return bad("only one placeholder, {hex} or {base64}, is allowed (use key={timestamp} pairs for a timestamp)")
	}
	return sf, nil
}

// payloadPart is one piece of a parsed SignedPayload: literal text or a
// placeholder name.
type payloadPart struct {
	lit  string
	name string // "body", "timestamp" or "id"; "" for a literal
}

func parsePayload(p string, allowed ...string) ([]payloadPart, error) {
	if p == "" {
		p = "{body}"
	}
	var parts []payloadPart
	rest := p
	for rest != "" {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			parts = append(parts, payloadPart{lit: rest})
			break
		}
		if i > 0 {
			parts = append(parts, payloadPart{lit: rest[:i]})
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("%w: signed payload %q: unclosed {", ErrVerifyConfig, p)
		}
		name := rest[i+1 : i+j]
		ok := false
		for _, a := range allowed {
			ok = ok || name == a
		}
		if !ok {
			return nil, fmt.Errorf("%w: signed payload %q: unknown placeholder {%s} (allowed: {%s})",
				ErrVerifyConfig, p, name, strings.Join(allowed, "} {"))
		}
		parts = append(parts, payloadPart{name: name})
		rest = rest[i+j+1:]
	}
	return parts, nil
}

func usesPlaceholder(parts []payloadPart, name string) bool {
	for _, p := range parts {
		if p.name == name {
			return true
		}
	}
	return false
}

// signedContent assembles the bytes that are signed.
func signedContent(parts []payloadPart, body []byte, timestamp, id string) []byte {
	var b []byte
	for _, p := range parts {
		switch p.name {
		case "":
			b = append(b, p.lit...)
		case "body":
			b = append(b, body...)
		case "timestamp":
			b = append(b, timestamp...)
		case "id":
			b = append(b, id...)
		}
	}
	return b
}

func verifyHMAC(cfg VerifyConfig, headers http.Header, body []byte, now time.Time, tol time.Duration) error {
	if cfg.Header == "" {
		return fmt.Errorf("%w: hmac_sha256 needs a header", ErrVerifyConfig)
	}
	format, err := parseFormat(cfg.Format)
	if err != nil {
		return err
	}
	payload, err := parsePayload(cfg.SignedPayload, "body", "timestamp")
	if err != nil {
		return err
	}
	signsTS := usesPlaceholder(payload, "timestamp")
	switch {
	case format.tsKey != "" && cfg.TimestampHeader != "":
		return fmt.Errorf("%w: the timestamp comes from the format and from timestamp_header; use one", ErrVerifyConfig)
	case signsTS && format.tsKey == "" && cfg.TimestampHeader == "":
		return fmt.Errorf("%w: the signed payload uses {timestamp} but neither the format nor timestamp_header carries one", ErrVerifyConfig)
	case !signsTS && (format.tsKey != "" || cfg.TimestampHeader != ""):
		// An unsigned timestamp can be replaced at will: it would only look like replay protection.
		return fmt.Errorf("%w: a timestamp is read but the signed payload does not include {timestamp}", ErrVerifyConfig)
	}
	if cfg.Secret == "" {
		return ErrEmptySecret
	}

	values := headerValues(headers, cfg.Header)
	if len(values) == 0 {
		return fmt.Errorf("%w %s", ErrMissingHeader, cfg.Header)
	}
	var (
		sigs      [][]byte
		timestamp string
	)
	for _, v := range values {
		s, ts, err := parseSignatureHeader(format, v)
		if err != nil {
			return err
		}
		if ts != "" {
			if timestamp != "" && ts != timestamp {
				return ErrMalformedSignature
			}
			timestamp = ts
		}
		sigs = append(sigs, s...)
	}
	if format.tsKey != "" && timestamp == "" {
		return ErrMalformedSignature
	}
	if cfg.TimestampHeader != "" {
		ts := headerValues(headers, cfg.TimestampHeader)
		if len(ts) == 0 {
			return fmt.Errorf("%w %s", ErrMissingHeader, cfg.TimestampHeader)
		}
		if len(ts) > 1 {
			return ErrMalformedTimestamp
		}
		timestamp = ts[0]
	}
	if signsTS {
		if err := checkTimestamp(timestamp, now, tol); err != nil {
			return err
		}
	}
	mac := hmac.New(sha256.New, []byte(cfg.Secret))
	mac.Write(signedContent(payload, body, timestamp, ""))
	return matchAny(mac.Sum(nil), sigs)
}

// parseSignatureHeader reads the digests (and the timestamp, for a pair
// format that carries one) from one value of the signature header.
func parseSignatureHeader(f sigFormat, v string) (sigs [][]byte, timestamp string, err error) {
	v = strings.TrimSpace(v)
	if !f.pairs {
		d, ok := strings.CutPrefix(v, f.prefix)
		if ok {
			d, ok = strings.CutSuffix(d, f.suffix)
		}
		if !ok {
			return nil, "", ErrMalformedSignature
		}
		sig, err := decodeDigest(f.enc, d)
		if err != nil {
			return nil, "", err
		}
		return [][]byte{sig}, "", nil
	}
	for part := range strings.SplitSeq(v, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, "", ErrMalformedSignature
		}
		switch k {
		case f.digestKey:
			sig, err := decodeDigest(f.enc, val)
			if err != nil {
				return nil, "", err
			}
			sigs = append(sigs, sig)
		case f.tsKey:
			if timestamp != "" {
				return nil, "", ErrMalformedSignature
			}
			if val == "" {
				return nil, "", ErrMalformedTimestamp
			}
			timestamp = val
		}
	}
	if len(sigs) == 0 {
		return nil, "", ErrMalformedSignature
	}
	return sigs, timestamp, nil
}

func decodeDigest(enc, s string) ([]byte, error) {
	var (
		b   []byte
		err error
	)
	if enc == encHex {
		b, err = hex.DecodeString(s)
	} else {
		b, err = decodeBase64(s)
	}
	if err != nil || len(b) != sha256.Size {
		return nil, ErrMalformedSignature
	}
	return b, nil
}

// decodeBase64 accepts standard or URL-safe base64, padded or not.
func decodeBase64(s string) ([]byte, error) {
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		var b []byte
		if b, err = enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, err
}

// matchAny compares want with every candidate in constant time and reports
// ErrSignatureMismatch unless one matches.
func matchAny(want []byte, sigs [][]byte) error {
	ok := false
	for _, s := range sigs {
		if hmac.Equal(want, s) {
			ok = true
		}
	}
	if !ok {
		return ErrSignatureMismatch
	}
	return nil
}

// checkTimestamp requires ts (unix seconds) within tol of now, either way.
func checkTimestamp(ts string, now time.Time, tol time.Duration) error {
	if ts == "" || len(ts) > 12 || ts[0] == '+' || ts[0] == '-' {
		return ErrMalformedTimestamp
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrMalformedTimestamp
	}
	skew := now.Sub(time.Unix(sec, 0))
	if skew > tol || skew < -tol {
		return fmt.Errorf("%w (%s)", ErrTimestampTolerance, tol)
	}
	return nil
}

func verifyStandard(cfg VerifyConfig, headers http.Header, body []byte, now time.Time, tol time.Duration) error {
	if cfg.Format != "" || cfg.SignedPayload != "" {
		return fmt.Errorf("%w: standard_webhooks has a fixed format and signed payload; leave them unset", ErrVerifyConfig)
	}
	sigHeader := cfg.Header
	if sigHeader == "" {
		sigHeader = "webhook-signature"
	}
	prefix := "webhook-"
	if p, ok := strings.CutSuffix(strings.ToLower(sigHeader), "-signature"); ok && p != "" {
		prefix = p + "-"
	}
	idHeader, tsHeader := prefix+"id", cfg.TimestampHeader
	if tsHeader == "" {
		tsHeader = prefix + "timestamp"
	}
	if strings.TrimPrefix(cfg.Secret, "whsec_") == "" {
		return ErrEmptySecret
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(cfg.Secret, "whsec_"))
	if err != nil || len(key) == 0 {
		return fmt.Errorf("%w: the standard_webhooks secret is not base64 after whsec_", ErrVerifyConfig)
	}

	id, err := singleHeader(headers, idHeader, ErrMalformedSignature)
	if err != nil {
		return err
	}
	ts, err := singleHeader(headers, tsHeader, ErrMalformedTimestamp)
	if err != nil {
		return err
	}
	values := headerValues(headers, sigHeader)
	if len(values) == 0 {
		return fmt.Errorf("%w %s", ErrMissingHeader, sigHeader)
	}
	if err := checkTimestamp(ts, now, tol); err != nil {
		return err
	}
	// Entries are "<version>,<base64>", space-separated; versions other than
	// v1 (e.g. v1a, asymmetric) are skipped, as are undecodable entries.
	var sigs [][]byte
	entries := 0
	for _, v := range values {
		for entry := range strings.FieldsSeq(v) {
			version, sig, ok := strings.Cut(entry, ",")
			if !ok {
				continue
			}
			entries++
			if version != "v1" {
				continue
			}
			if b, err := base64.StdEncoding.DecodeString(sig); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	if entries == 0 {
		return ErrMalformedSignature
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(signedContent(standardPayload, body, ts, id))
	return matchAny(mac.Sum(nil), sigs)
}

// standardPayload is what Standard Webhooks sign: "{id}.{timestamp}.{body}".
var standardPayload = []payloadPart{{name: "id"}, {lit: "."}, {name: "timestamp"}, {lit: "."}, {name: "body"}}

// singleHeader returns a header that must be present once; several values
// are the error dup.
func singleHeader(h http.Header, name string, dup error) (string, error) {
	vs := headerValues(h, name)
	switch len(vs) {
	case 0:
		return "", fmt.Errorf("%w %s", ErrMissingHeader, name)
	case 1:
		return vs[0], nil
	default:
		return "", dup
	}
}

// headerValues returns the non-empty values of a header, matching its name
// in any case (http.Header keys are canonical when set with Set or read from
// a request, lower case when built from a flow's request.headers).
func headerValues(h http.Header, name string) []string {
	var out []string
	add := func(vs []string) {
		for _, v := range vs {
			if strings.TrimSpace(v) != "" {
				out = append(out, v)
			}
		}
	}
	canon := http.CanonicalHeaderKey(name)
	add(h[canon])
	for k, vs := range h {
		if k != canon && strings.EqualFold(k, name) {
			add(vs)
		}
	}
	return out
}

// verifyShared checks a header that carries the shared secret itself (Okta
// event hooks send it in Authorization), in constant time.
func verifyShared(cfg VerifyConfig, headers http.Header) error {
	if cfg.Secret == "" {
		return ErrEmptySecret
	}
	if cfg.Header == "" {
		return fmt.Errorf("%w: shared_secret needs a header", ErrVerifyConfig)
	}
	values := headerValues(headers, cfg.Header)
	if len(values) == 0 || values[0] == "" {
		return fmt.Errorf("%w %s", ErrMissingHeader, cfg.Header)
	}
	if len(values) > 1 || !hmac.Equal([]byte(values[0]), []byte(cfg.Secret)) {
		return ErrSignatureMismatch
	}
	return nil
}
