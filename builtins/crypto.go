package builtins

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
)

func cryptoDefs() []def {
	return []def{
		digestDef("sha256", sha256.New, "SHA-256", "",
			Example{Expr: `sha256("abc")`, Result: `"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"`}),
		digestDef("sha1", sha1.New, "SHA-1", " Only for APIs that still require it.",
			Example{Expr: `sha1("abc")`, Result: `"a9993e364706816aba3e25717850c26c9cd0d89d"`}),
		digestDef("md5", md5.New, "MD5", " Only for APIs that still require it (e.g. an ETag or a legacy signature); it is not secure.",
			Example{Expr: `md5("abc")`, Result: `"900150983cd24fb0d6963f7d28e17f72"`}),
		hmacDef("hmacSha256", sha256.New, "HMAC-SHA256", false,
			Example{Expr: `hmacSha256("key", "The quick brown fox jumps over the lazy dog")`, Result: `"f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"`},
			Example{Expr: `"sha256=" + hmacSha256("secret", "{\"id\":1}")`, Result: `"sha256=03def589620c813f198fd03d7967e292b163ef0435ebf43071ce0e9519763cb7"`}),
		hmacDef("hmacSha256Base64", sha256.New, "HMAC-SHA256", true,
			Example{Expr: `hmacSha256Base64("key", "The quick brown fox jumps over the lazy dog")`, Result: `"97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg="`}),
		hmacDef("hmacSha1", sha1.New, "HMAC-SHA1", false,
			Example{Expr: `hmacSha1("key", "The quick brown fox jumps over the lazy dog")`, Result: `"de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9"`}),
		hmacDef("hmacSha1Base64", sha1.New, "HMAC-SHA1", true,
			Example{Expr: `hmacSha1Base64("key", "The quick brown fox jumps over the lazy dog")`, Result: `"3nybhbi3iqa8ino29wqQcBydtNk="`}),
		{
			Spec: Spec{
				Name:      "timingSafeEqual",
				Category:  "crypto",
				Types:     []any{new(func(string, string) bool)},
				Signature: "timingSafeEqual(a string, b string) bool",
				Doc: "Compares two strings in time that does not depend on where they differ; use it to compare " +
					"a received signature with the expected one.",
				Examples: []Example{
					{Expr: `timingSafeEqual(hmacSha256("k", "body"), "0b1f")`, Result: `false`},
					{Expr: `timingSafeEqual("abc", "abc")`, Result: `true`},
				},
			},
			min: 2, max: 2,
			impl: func(c *call) (any, error) {
				a, err := c.str(0)
				if err != nil {
					return nil, err
				}
				b, err := c.str(1)
				if err != nil {
					return nil, err
				}
				return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1, nil
			},
		},
		{
			Spec: Spec{
				Name:      "uuid",
				Category:  "crypto",
				Types:     []any{new(func() string)},
				Signature: "uuid() string",
				Doc:       "A random UUID version 4 in lower case, e.g. for an idempotency key. Under `flowrun worker` (Temporal) each value is recorded in the run's history, so a replay sees the same.",
				Examples: []Example{
					{Expr: `uuid() matches "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"`, Result: `true`},
					{Expr: `uuid() != uuid()`, Result: `true`},
				},
			},
			min: 0, max: 0,
			impl: func(c *call) (any, error) {
				u, err := NewUUID()
				if err != nil {
					return nil, c.errorf("%v", err)
				}
				return u, nil
			},
		},
	}
}

func digestDef(name string, h func() hash.Hash, what, note string, examples ...Example) def {
	return def{
		Spec: Spec{
			Name:      name,
			Category:  "crypto",
			Types:     []any{new(func(string) string)},
			Signature: name + "(s string) string",
			Doc:       "The " + what + " digest of the UTF-8 bytes of s, in lower-case hex." + note,
			Examples:  examples,
		},
		min: 1, max: 1,
		impl: func(c *call) (any, error) {
			s, err := c.str(0)
			if err != nil {
				return nil, err
			}
			d := h()
			d.Write([]byte(s))
			return hex.EncodeToString(d.Sum(nil)), nil
		},
	}
}

func hmacDef(name string, h func() hash.Hash, what string, b64 bool, examples ...Example) def {
	enc, encName := hex.EncodeToString, "lower-case hex"
	if b64 {
		enc, encName = base64.StdEncoding.EncodeToString, "standard base64 (with padding)"
	}
	return def{
		Spec: Spec{
			Name:      name,
			Category:  "crypto",
			Types:     []any{new(func(string, string) string)},
			Signature: name + "(key string, s string) string",
			Doc:       "The " + what + " of s under key, in " + encName + "; compare it to a received signature with timingSafeEqual.",
			Examples:  examples,
		},
		min: 2, max: 2,
		impl: func(c *call) (any, error) {
			key, err := c.str(0)
			if err != nil {
				return nil, err
			}
			s, err := c.str(1)
			if err != nil {
				return nil, err
			}
			m := hmac.New(h, []byte(key))
			m.Write([]byte(s))
			return enc(m.Sum(nil)), nil
		},
	}
}

// NewUUID is a random UUID version 4 in lower case, what uuid() returns
// in a run without its own source of UUIDs (run.Runner.UUID).
func NewUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}
