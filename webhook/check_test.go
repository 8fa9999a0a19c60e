package webhook

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// problems renders Check's result as "field@offset: message (hint: ...)"
// lines, so a table pins field, offset, message and hint at once.
func problems(ps []Problem) string {
	var b []string
	for _, p := range ps {
		s := fmt.Sprintf("%s@%d: %s", p.Field, p.Offset, p.Message)
		if p.Hint != "" {
			s += " (hint: " + p.Hint + ")"
		}
		b = append(b, s)
	}
	return strings.Join(b, "\n")
}

func hmacSpec(format, payload string) Spec {
	return Spec{Scheme: "hmac_sha256", Header: "X-Sig", Format: format, SignedPayload: payload}
}

func TestCheckAcceptsRealSchemes(t *testing.T) {
	for name, s := range map[string]Spec{
		"github":          {Scheme: "hmac_sha256", Header: "X-Hub-Signature-256", Format: "sha256={hex}"},
		"default format":  {Scheme: "hmac_sha256", Header: "X-Sig"},
		"shopify":         {Scheme: "hmac_sha256", Header: "X-Shopify-Hmac-Sha256", Format: "{base64}"},
		"pagerduty":       {Scheme: "hmac_sha256", Header: "X-PagerDuty-Signature", Format: "v1={hex}"},
		"slack":           {Scheme: "hmac_sha256", Header: "X-Slack-Signature", Format: "v0={hex}", SignedPayload: "v0:{timestamp}:{body}", TimestampHeader: "X-Slack-Request-Timestamp", Tolerance: 5 * time.Minute},
		"stripe":          {Scheme: "hmac_sha256", Header: "Stripe-Signature", Format: "t={timestamp},v1={hex}", SignedPayload: "{timestamp}.{body}", Tolerance: 5 * time.Minute},
		"stripe, spaced":  {Scheme: "hmac_sha256", Header: "Stripe-Signature", Format: "t={timestamp}, v1={hex}", SignedPayload: "{timestamp}.{body}"},
		"suffix":          {Scheme: "hmac_sha256", Header: "X-Sig", Format: "{hex};v=1"},
		"standard":        {Scheme: "standard_webhooks"},
		"svix":            {Scheme: "standard_webhooks", Header: "svix-signature", Tolerance: time.Minute},
		"standard, said":  {Scheme: "standard_webhooks", SignedPayload: "{id}.{timestamp}.{body}", TimestampHeader: "webhook-timestamp"},
		"okta":            {Scheme: "shared_secret", Header: "Authorization"},
		"body twice, odd": hmacSpec("", "{body}{body}"),
		"base64 pair":     hmacSpec("t={timestamp},v1={base64}", "{timestamp}.{body}"),
	} {
		if ps := Check(s); len(ps) > 0 {
			t.Errorf("%s: %s", name, problems(ps))
		}
		if _, err := Compile(s); err != nil {
			t.Errorf("%s: Compile: %v", name, err)
		}
	}
}

// TestCheckProblems pins each problem: field, byte offset of the offending
// text, message and hint.
func TestCheckProblems(t *testing.T) {
	for _, tt := range []struct {
		spec Spec
		want string
	}{
		// the format grammar, literal form
		{hmacSpec("sha256={hx}", ""), `format@7: unknown placeholder {hx} (hint: ` + formatHint + `)`},
		{hmacSpec("sha256={HEX}", ""), `format@7: unknown placeholder {HEX} (hint: ` + formatHint + `)`},
		{hmacSpec("sha256={digest}", ""), `format@7: unknown placeholder {digest} (hint: ` + formatHint + `)`},
		{hmacSpec("sha256={hex", ""), `format@7: a "{" is not closed (hint: write placeholders as {name})`},
		{hmacSpec("sha256={{hex}", ""), `format@7: a "{" is not closed (hint: write placeholders as {name})`},
		{hmacSpec("sha256=hex}", ""), `format@10: a "}" closes no placeholder (hint: placeholders are written {name}; there is no way to write a literal brace)`},
		{hmacSpec("sha256=", ""), `format@-1: format "sha256=" has no {hex} or {base64} (hint: mark the digest with {hex} or {base64}, e.g. sha256={hex})`},
		{hmacSpec("{hex}{base64}", ""), `format@5: a second digest placeholder {base64} (hint: a header carries one digest per signature; several signatures are read from one header automatically)`},
		{hmacSpec("{timestamp}:{hex}", "{timestamp}.{body}"), `format@0: {timestamp} must be a key={timestamp} pair (hint: write the format as key={placeholder} pairs, e.g. t={timestamp},v1={hex})`},
		// the format grammar, pair form
		{hmacSpec("t={timestamp},v1", "{timestamp}.{body}"), `format@14: "v1" is not key={placeholder} (hint: write each comma-separated part as key={placeholder}, e.g. t={timestamp},v1={hex})`},
		{hmacSpec("t={timestamp}, {hex}", "{timestamp}.{body}"), `format@15: "{hex}" is not key={placeholder} (hint: write each comma-separated part as key={placeholder}, e.g. t={timestamp},v1={hex})`},
		{hmacSpec("t={timestamp},v1={sha}", "{timestamp}.{body}"), `format@17: unknown placeholder {sha} (hint: ` + formatHint + `)`},
		{hmacSpec("t={timestamp},v1=sha256:{hex}", "{timestamp}.{body}"), `format@17: the value of v1 is not one placeholder (hint: in the pair form each value is exactly one placeholder: {hex}, {base64} or {timestamp})`},
		{hmacSpec("t={timestamp},t={hex}", "{timestamp}.{body}"), `format@14: key t is used twice (hint: give the digest and the timestamp different keys)`},
		{hmacSpec("t={timestamp},v1={hex},v2={hex}", "{timestamp}.{body}"), `format@26: a second digest placeholder {hex} (hint: a header carries one digest per signature; several signatures are read from one header automatically)`},
		{hmacSpec("t={timestamp},s={timestamp},v1={hex}", "{timestamp}.{body}"), `format@16: a second {timestamp}`},
		{hmacSpec("t={timestamp},v1={hex", "{timestamp}.{body}"), `format@17: a "{" is not closed (hint: write placeholders as {name})`},
		{hmacSpec("t={timestamp},x={timestamp}", "{timestamp}.{body}"), `format@16: a second {timestamp}`},
		{hmacSpec("t={timestamp}", "{timestamp}.{body}"), `format@2: {timestamp} must be a key={timestamp} pair (hint: write the format as key={placeholder} pairs, e.g. t={timestamp},v1={hex})`},
		{hmacSpec("t={timestamp},x=", "{timestamp}.{body}"), `format@15: the value of x is not one placeholder (hint: in the pair form each value is exactly one placeholder: {hex}, {base64} or {timestamp})`},
		// the signed payload grammar
		{hmacSpec("", "{timestamp}.{bdy}"), `signed_payload@12: unknown placeholder {bdy} (hint: signed_payload placeholders are {body} and {timestamp})`},
		{hmacSpec("", "{id}.{body}"), `signed_payload@0: {id} is only signed by standard_webhooks (hint: signed_payload placeholders are {body} and {timestamp})`},
		{hmacSpec("", "{body"), `signed_payload@0: a "{" is not closed (hint: write placeholders as {name})`},
		{hmacSpec("", "v0:{timestamp}"), `signed_payload@-1: "v0:{timestamp}" does not sign {body}: the signature would not cover the request (hint: add {body}, e.g. {timestamp}.{body})`},
		{hmacSpec("", "v0}{body}"), `signed_payload@2: a "}" closes no placeholder (hint: placeholders are written {name}; there is no way to write a literal brace)`},
		// both grammars report at once
		{hmacSpec("sha256={hx}", "{bdy}"), `format@7: unknown placeholder {hx} (hint: ` + formatHint + `)` + "\n" +
			`signed_payload@0: unknown placeholder {bdy} (hint: signed_payload placeholders are {body} and {timestamp})`},
		// where the timestamp comes from
		{hmacSpec("", "v0:{timestamp}:{body}"), `signed_payload@3: {timestamp} is signed, but neither format nor timestamp_header says where it comes from (hint: add timestamp_header: <the header carrying it>, or a t={timestamp} pair to format)`},
		{hmacSpec("t={timestamp},v1={hex}", ""), `format@2: format reads a timestamp, but signed_payload does not sign it (hint: add {timestamp} to signed_payload, e.g. {timestamp}.{body})`},
		{Spec{Scheme: "hmac_sha256", Header: "X-Sig", TimestampHeader: "X-Ts"}, `timestamp_header@-1: timestamp_header is read, but signed_payload does not sign it (hint: add {timestamp} to signed_payload, e.g. v0:{timestamp}:{body})`},
		{Spec{Scheme: "hmac_sha256", Header: "X-Sig", Format: "t={timestamp},v1={hex}", SignedPayload: "{timestamp}.{body}", TimestampHeader: "X-Ts"},
			`timestamp_header@-1: the timestamp comes from format (t={timestamp}) and from timestamp_header; use one (hint: remove timestamp_header, or the {timestamp} pair of format)`},
		{Spec{Scheme: "hmac_sha256", Header: "X-Sig", Tolerance: time.Minute}, `tolerance@-1: tolerance has no effect: no timestamp is signed (hint: sign a timestamp (signed_payload with {timestamp}), or remove tolerance)`},
		{Spec{Scheme: "hmac_sha256", Header: "X-Sig", Tolerance: -time.Second}, `tolerance@-1: tolerance -1s is negative`},
		// headers and schemes
		{Spec{Scheme: "hmac_sha256"}, `header@-1: hmac_sha256 needs a header (hint: name the header that carries the signature, e.g. header: X-Hub-Signature-256)`},
		{Spec{Scheme: "hmac_sha256", Header: "X-Hub-Signature-256:"}, `header@19: "X-Hub-Signature-256:" is not a header name: it holds ':' (hint: write the header's name only, e.g. X-Hub-Signature-256)`},
		{Spec{Scheme: "hmac_sha256", Header: "X Sig"}, `header@1: "X Sig" is not a header name: it holds ' ' (hint: write the header's name only, e.g. X-Hub-Signature-256)`},
		{Spec{Scheme: "shared_secret"}, `header@-1: shared_secret needs a header (hint: name the header that carries the secret, e.g. header: Authorization)`},
		{Spec{Scheme: "shared_secret", Header: "Authorization", Format: "{hex}", SignedPayload: "{body}", TimestampHeader: "X-Ts", Tolerance: time.Minute},
			`format@-1: shared_secret does not use format: the header carries the secret itself (hint: remove it)` + "\n" +
				`signed_payload@-1: shared_secret does not use signed_payload: nothing is signed (hint: remove it)` + "\n" +
				`timestamp_header@-1: shared_secret does not use timestamp_header: nothing is signed (hint: remove it)` + "\n" +
				`tolerance@-1: shared_secret does not use tolerance: no timestamp is signed (hint: remove it)`},
		{Spec{Scheme: "standard_webhooks", Format: "{base64}", SignedPayload: "{timestamp}.{body}"},
			`format@-1: standard_webhooks does not use format: its header is a space-separated list of v1,<base64> (hint: remove it)` + "\n" +
				`signed_payload@-1: standard_webhooks does not use signed_payload: it always signs {id}.{timestamp}.{body} (hint: remove it)`},
		{Spec{Scheme: "HMAC_SHA256", Header: "X-Sig"}, `scheme@-1: scheme "HMAC_SHA256" is not hmac_sha256, standard_webhooks or shared_secret`},
		{Spec{}, `scheme@-1: scheme "" is not hmac_sha256, standard_webhooks or shared_secret`},
	} {
		got := problems(Check(tt.spec))
		if got != tt.want {
			t.Errorf("%+v:\n got %s\nwant %s", tt.spec, got, tt.want)
		}
		// Compile refuses the spec with the first problem's text.
		_, err := Compile(tt.spec)
		first := Check(tt.spec)[0]
		if !errors.Is(err, ErrVerifyConfig) || err.Error() != "invalid verify config: "+first.Error() {
			t.Errorf("%+v: Compile: %v", tt.spec, err)
		}
	}
}

// TestCheckOffsetsPointAtTheText: every offset Check reports is inside its
// field's value and, where a placeholder is at fault, at its "{".
func TestCheckOffsetsPointAtTheText(t *testing.T) {
	for _, s := range []Spec{
		hmacSpec("sha256={hx}", "{timestamp}:{bdy}"),
		hmacSpec("t={timestamp}, v1={sha}", "{timestamp}.{body}"),
		hmacSpec("a={hex},b={base64}", "{body}"),
		hmacSpec("é={hex}", "ü:{id}"),
	} {
		for _, p := range Check(s) {
			val := map[string]string{"format": s.Format, "signed_payload": s.SignedPayload}[p.Field]
			if p.Offset < -1 || p.Offset >= len(val) {
				t.Errorf("%+v: %s offset %d outside %q", s, p.Field, p.Offset, val)
				continue
			}
			if strings.Contains(p.Message, "placeholder {") && val[p.Offset] != '{' {
				t.Errorf("%+v: %q at %d is not a placeholder", s, val, p.Offset)
			}
		}
	}
}

// FuzzCheck: Check never panics, offsets stay inside the value, and a spec
// without problems compiles and signs a request that it verifies.
func FuzzCheck(f *testing.F) {
	f.Add("hmac_sha256", "sha256={hex}", "{body}", "")
	f.Add("hmac_sha256", "t={timestamp},v1={hex}", "{timestamp}.{body}", "")
	f.Add("hmac_sha256", "v0={hex}", "v0:{timestamp}:{body}", "X-Ts")
	f.Add("hmac_sha256", "{base64}", "{body", "")
	f.Add("hmac_sha256", "{{}}", "}{", "")
	f.Add("standard_webhooks", "", "", "")
	f.Add("shared_secret", "", "", "")
	f.Fuzz(func(t *testing.T, scheme, format, payload, tsHeader string) {
		s := Spec{Scheme: scheme, Header: "X-Sig", Format: format, SignedPayload: payload, TimestampHeader: tsHeader}
		ps := Check(s)
		for _, p := range ps {
			val := map[string]string{"format": format, "signed_payload": payload, "timestamp_header": tsHeader, "header": "X-Sig"}[p.Field]
			if p.Offset < -1 || p.Offset >= max(len(val), 1) {
				t.Fatalf("%+v: %s offset %d outside %q", s, p.Field, p.Offset, val)
			}
		}
		v, err := Compile(s)
		if (err == nil) != (len(ps) == 0) {
			t.Fatalf("%+v: Check %v, Compile %v", s, ps, err)
		}
		if err != nil {
			return
		}
		secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		now := time.Unix(1700000000, 0)
		h := make(map[string][]string)
		body := []byte(`{"a":1}`)
		if err := v.Sign(h, body, secret, now); err != nil {
			t.Fatalf("%+v: Sign: %v", s, err)
		}
		if err := v.Verify(h, body, []string{secret}, now); err != nil {
			t.Fatalf("%+v: what Sign wrote does not verify: %v (%v)", s, err, h)
		}
	})
}
