package webhook

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

// Errors from Verifier.Verify. Every error it returns matches exactly one of
// them with errors.Is. Messages name headers but never hold a secret, the
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
	// ErrSignatureMismatch: no signature in the header matches any secret.
	ErrSignatureMismatch = errors.New("signature does not match")
	// ErrEmptySecret: every configured secret is empty; Verify refuses to
	// verify rather than accept anything.
	ErrEmptySecret = errors.New("refusing to verify with an empty secret")
	// ErrVerifyConfig: the verify block or its secret is wrong (a project
	// problem, not the sender's).
	ErrVerifyConfig = errors.New("invalid verify config")
)

// Verifier is a compiled Spec: it verifies and signs requests. It is
// immutable and safe for concurrent use.
type Verifier struct {
	spec      Spec
	tol       time.Duration
	format    sigFormat
	payload   []payloadPart
	signsTS   bool   // the signed content holds a timestamp
	sigHeader string // the signature header
	idHeader  string // standard_webhooks: the id header
	tsHeader  string // the header carrying the timestamp, if any
}

// Compile checks a Spec (see Check) and parses it once. Its error is the
// first problem, wrapping ErrVerifyConfig, with the text Problem.Error gives.
func Compile(s Spec) (*Verifier, error) {
	if ps := Check(s); len(ps) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrVerifyConfig, ps[0].Error())
	}
	v := &Verifier{spec: s, tol: s.Tolerance, sigHeader: s.Header, tsHeader: s.TimestampHeader}
	if v.tol == 0 {
		v.tol = DefaultTolerance
	}
	switch s.Scheme {
	case "hmac_sha256":
		v.format, _ = parseFormat(s.Format)
		v.payload, _ = parsePayload(s.SignedPayload)
		for _, p := range v.payload {
			v.signsTS = v.signsTS || p.name == "timestamp"
		}
	case "standard_webhooks":
		if v.sigHeader == "" {
			v.sigHeader = "webhook-signature"
		}
		prefix := "webhook-"
		if p, ok := strings.CutSuffix(strings.ToLower(v.sigHeader), "-signature"); ok && p != "" {
			prefix = p + "-"
		}
		v.idHeader = prefix + "id"
		if v.tsHeader == "" {
			v.tsHeader = prefix + "timestamp"
		}
		v.payload = standardPayload
		v.signsTS = true
	}
	return v, nil
}

// standardPayload is what Standard Webhooks sign: "{id}.{timestamp}.{body}".
var standardPayload = []payloadPart{{name: "id"}, {lit: "."}, {name: "timestamp"}, {lit: "."}, {name: "body"}}

// Spec returns the Spec v was compiled from.
func (v *Verifier) Spec() Spec { return v.spec }

// SignatureHeader is the header that carries the signature (or, for
// shared_secret, the secret).
func (v *Verifier) SignatureHeader() string { return v.sigHeader }

// SignsTimestamp reports whether a signed timestamp makes deliveries expire
// (after Tolerance). Without one (GitHub's X-Hub-Signature-256, shared
// secrets), a captured delivery verifies for ever.
func (v *Verifier) SignsTimestamp() bool { return v.signsTS }

// Verify checks that a request was signed with one of secrets (several:
// secret rotation; empty ones are skipped). headers are looked up in any
// case, so both an http.Header from a request and one built from lower-case
// names work; body is the raw body, byte for byte; now is the clock.
//
// The signature header may carry several signatures, separated by commas
// or spaces ("v1=a,v1=b"; Stripe "t=..,v1=a,v1=b"; Standard Webhooks
// "v1,a v1,b"), and may be sent more than once: the request passes if any
// one signature matches any one secret. Entries of another version (v0= for
// v1={hex}, v1a, for Standard Webhooks) are skipped.
//
// A nil error means the request is authentic (and, when it carries a signed
// timestamp, fresh). errors.Is(err, ErrVerifyConfig) or ErrEmptySecret
// points at the project rather than the sender.
func (v *Verifier) Verify(headers http.Header, body []byte, secrets []string, now time.Time) error {
	keys, err := v.keys(secrets)
	if err != nil {
		return err
	}
	switch v.spec.Scheme {
	case "shared_secret":
		return verifyShared(v.sigHeader, headers, keys)
	case "standard_webhooks":
		return v.verifyStandard(headers, body, keys, now)
	default:
		return v.verifyHMAC(headers, body, keys, now)
	}
}

// keys turns the secrets into HMAC keys: as is for hmac_sha256 (so
// Stripe's whole "whsec_..." string is the key) and shared_secret; for
// standard_webhooks, the base64 after an optional "whsec_" prefix.
func (v *Verifier) keys(secrets []string) ([][]byte, error) {
	var keys [][]byte
	for i, s := range secrets {
		if s == "" || v.spec.Scheme == "standard_webhooks" && s == "whsec_" {
			continue
		}
		if v.spec.Scheme != "standard_webhooks" {
			keys = append(keys, []byte(s))
			continue
		}
		k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
		if err != nil || len(k) == 0 {
			which := ""
			if len(secrets) > 1 {
				which = fmt.Sprintf(" (secret %d of %d)", i+1, len(secrets))
			}
			return nil, fmt.Errorf("%w: the standard_webhooks secret is not base64 after whsec_%s", ErrVerifyConfig, which)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, ErrEmptySecret
	}
	return keys, nil
}

func (v *Verifier) verifyHMAC(headers http.Header, body []byte, keys [][]byte, now time.Time) error {
	values := headerValues(headers, v.sigHeader)
	if len(values) == 0 {
		return fmt.Errorf("%w %s", ErrMissingHeader, v.sigHeader)
	}
	var (
		sigs      [][]byte
		timestamp string
	)
	for _, val := range values {
		s, ts, err := v.format.parseHeader(val)
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
	if v.format.tsKey != "" && timestamp == "" {
		return ErrMalformedSignature
	}
	if v.tsHeader != "" {
		ts, err := singleHeader(headers, v.tsHeader, ErrMalformedTimestamp)
		if err != nil {
			return err
		}
		timestamp = ts
	}
	if v.signsTS {
		if err := checkTimestamp(timestamp, now, v.tol); err != nil {
			return err
		}
	}
	return matchAny(keys, signedContent(v.payload, body, timestamp, ""), sigs)
}

// parseHeader reads the digests (and the timestamp, for a pair format that
// carries one) from one value of the signature header.
func (f sigFormat) parseHeader(val string) (sigs [][]byte, timestamp string, err error) {
	if !f.pairs {
		for item := range strings.FieldsFuncSeq(val, isSeparator) {
			d, ok := strings.CutPrefix(item, f.prefix)
			if ok {
				d, ok = strings.CutSuffix(d, f.suffix)
			}
			if !ok {
				continue // another version's entry, e.g. v0= beside v1=
			}
			sig, err := decodeDigest(f.enc, d)
			if err != nil {
				return nil, "", err
			}
			sigs = append(sigs, sig)
		}
		if len(sigs) == 0 {
			return nil, "", ErrMalformedSignature
		}
		return sigs, "", nil
	}
	for part := range strings.FieldsFuncSeq(val, isSeparator) {
		k, pv, ok := strings.Cut(part, "=")
		if !ok {
			return nil, "", ErrMalformedSignature
		}
		switch k {
		case f.digestKey:
			sig, err := decodeDigest(f.enc, pv)
			if err != nil {
				return nil, "", err
			}
			sigs = append(sigs, sig)
		case f.tsKey:
			if timestamp != "" {
				return nil, "", ErrMalformedSignature
			}
			if pv == "" {
				return nil, "", ErrMalformedTimestamp
			}
			timestamp = pv
		}
	}
	if len(sigs) == 0 {
		return nil, "", ErrMalformedSignature
	}
	return sigs, timestamp, nil
}

// isSeparator separates the signatures of one header: commas and spaces.
func isSeparator(r rune) bool { return r == ',' || r == ' ' || r == '\t' }

func decodeDigest(enc, s string) ([]byte, error) {
	var (
		b   []byte
		err error
	)
	if enc == "hex" {
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

// signedContent assembles the bytes that are signed.
func signedContent(parts []payloadPart, body []byte, timestamp, id string) []byte {
	b := make([]byte, 0, len(body)+len(timestamp)+len(id)+16)
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

func mac(key, content []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(content)
	return m.Sum(nil)
}

// matchAny compares the HMAC of content under every key with every
// candidate signature, each comparison in constant time, and reports
// ErrSignatureMismatch unless one matches.
func matchAny(keys [][]byte, content []byte, sigs [][]byte) error {
	ok := false
	for _, k := range keys {
		want := mac(k, content)
		for _, s := range sigs {
			if hmac.Equal(want, s) {
				ok = true
			}
		}
	}
	if !ok {
		return ErrSignatureMismatch
	}
	return nil
}

// checkTimestamp requires ts (unix seconds) within tol of now, either way.
func checkTimestamp(ts string, now time.Time, tol time.Duration) error {
	sec, err := parseTimestamp(ts)
	if err != nil {
		return err
	}
	skew := now.Sub(time.Unix(sec, 0))
	if skew > tol || skew < -tol {
		return fmt.Errorf("%w (%s)", ErrTimestampTolerance, tol)
	}
	return nil
}

func parseTimestamp(ts string) (int64, error) {
	if ts == "" || len(ts) > 12 || ts[0] == '+' || ts[0] == '-' {
		return 0, ErrMalformedTimestamp
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return 0, ErrMalformedTimestamp
	}
	return sec, nil
}

func (v *Verifier) verifyStandard(headers http.Header, body []byte, keys [][]byte, now time.Time) error {
	id, err := singleHeader(headers, v.idHeader, ErrMalformedSignature)
	if err != nil {
		return err
	}
	ts, err := singleHeader(headers, v.tsHeader, ErrMalformedTimestamp)
	if err != nil {
		return err
	}
	values := headerValues(headers, v.sigHeader)
	if len(values) == 0 {
		return fmt.Errorf("%w %s", ErrMissingHeader, v.sigHeader)
	}
	if err := checkTimestamp(ts, now, v.tol); err != nil {
		return err
	}
	// Entries are "<version>,<base64>", space-separated; versions other than
	// v1 (e.g. v1a, asymmetric) are skipped, as are undecodable entries.
	var sigs [][]byte
	entries := 0
	for _, val := range values {
		for entry := range strings.FieldsSeq(val) {
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
	return matchAny(keys, signedContent(standardPayload, body, ts, id), sigs)
}

// verifyShared checks a header that carries one of the secrets itself (Okta
// event hooks send it in Authorization), in constant time.
func verifyShared(header string, headers http.Header, keys [][]byte) error {
	values := headerValues(headers, header)
	if len(values) == 0 {
		return fmt.Errorf("%w %s", ErrMissingHeader, header)
	}
	if len(values) > 1 {
		return ErrSignatureMismatch
	}
	ok := false
	for _, k := range keys {
		if hmac.Equal([]byte(values[0]), k) {
			ok = true
		}
	}
	if !ok {
		return ErrSignatureMismatch
	}
	return nil
}

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

// headerValues returns the non-blank values of a header, trimmed, matching
// its name in any case (http.Header keys are canonical when set with Set or
// read from a request, lower case when built from a flow's request.headers).
func headerValues(h http.Header, name string) []string {
	var out []string
	add := func(vs []string) {
		for _, v := range vs {
			if v = strings.TrimSpace(v); v != "" {
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
