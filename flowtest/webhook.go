package flowtest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/trigger"
)

// DefaultNow is the clock of every case unless the case's webhook request
// carries a signed timestamp, in which case the clock is that timestamp.
var DefaultNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// hookURL is the webhook URL a test case's flow sees as webhook.url.
const hookURL = "https://flowrun.test/hooks/test"

// webhookRequest builds the HTTP request a case's request: describes. The
// body is raw when given, else body: as JSON (a mapping or list, with
// Content-Type application/json unless the case sets one) or as text.
func webhookRequest(n *lang.Node) (*http.Request, []byte, error) {
	method := "POST"
	if m := str(n.Get("method")); m != "" {
		method = strings.ToUpper(m)
	}
	path := str(n.Get("path"))
	if path == "" {
		path = "/hooks/test"
	} else if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	var raw []byte
	jsonBody := false
	if r := n.Get("raw"); r != nil {
		raw = []byte(text(plain(r.Value())))
	} else if b := n.Get("body"); b != nil {
		switch v := plain(b.Value()).(type) {
		case nil:
		case string:
			raw = []byte(v)
		default:
			raw = []byte(compactJSON(v))
			jsonBody = true
		}
	}
	u := "https://flowrun.test" + path
	if q := n.Get("query"); q != nil && q.Kind == lang.MapNode {
		vals := url.Values{}
		for i, k := range q.Keys {
			switch v := plain(q.Vals[i].Value()).(type) {
			case nil:
			case []any:
				for _, x := range v {
					vals.Add(k.Str, text(x))
				}
			default:
				vals.Add(k.Str, text(v))
			}
		}
		if len(vals) > 0 {
			u += "?" + vals.Encode()
		}
	}
	req, err := http.NewRequest(method, u, bytes.NewReader(raw))
	if err != nil {
		return nil, nil, fmt.Errorf("request: %v", err)
	}
	if h := n.Get("headers"); h != nil && h.Kind == lang.MapNode {
		for i, k := range h.Keys {
			req.Header.Add(k.Str, text(plain(h.Vals[i].Value())))
		}
	}
	if jsonBody && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, raw, nil
}

// verifyConfig is the trigger package's view of a flow's verify block.
func verifyConfig(v *lang.Verify, secret string) trigger.VerifyConfig {
	return trigger.VerifyConfig{Scheme: v.Scheme, Header: v.Header, Secret: secret, Format: v.Format,
		SignedPayload: v.SignedPayload, TimestampHeader: v.TimestampHeader, Tolerance: v.Tolerance}
}

// signatureHeader is the header that carries the signature.
func signatureHeader(cfg trigger.VerifyConfig) string {
	if cfg.Scheme == "standard_webhooks" && cfg.Header == "" {
		return "webhook-signature"
	}
	return cfg.Header
}

// standardHeaders are the id and timestamp headers of Standard Webhooks, named
// after the signature header's prefix ("svix-signature" -> "svix-id").
func standardHeaders(cfg trigger.VerifyConfig) (id, ts string) {
	prefix := "webhook-"
	if p, ok := strings.CutSuffix(strings.ToLower(signatureHeader(cfg)), "-signature"); ok && p != "" {
		prefix = p + "-"
	}
	ts = cfg.TimestampHeader
	if ts == "" {
		ts = prefix + "timestamp"
	}
	return prefix + "id", ts
}

// carriesSignature reports whether the case wrote the signature header itself.
func carriesSignature(cfg trigger.VerifyConfig, h http.Header) bool {
	return h.Get(signatureHeader(cfg)) != ""
}

// sigFormat is a parsed verify format: literal text around one digest, or
// comma-separated key={placeholder} pairs.
type sigFormat struct {
	pairs          [][2]string // key, placeholder name (hex, base64, timestamp)
	prefix, suffix string
	enc            string
}

func parseSigFormat(f string) (sigFormat, error) {
	if f == "" {
		f = "{hex}"
	}
	var sf sigFormat
	if strings.Contains(f, ",") {
		for part := range strings.SplitSeq(f, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			name := strings.Trim(v, "{}")
			if !ok || k == "" || (name != "hex" && name != "base64" && name != "timestamp") {
				return sf, fmt.Errorf("verify format %q: each part must be key={hex}, key={base64} or key={timestamp}", f)
			}
			if name != "timestamp" {
				sf.enc = name
			}
			sf.pairs = append(sf.pairs, [2]string{k, name})
		}
		if sf.enc == "" {
			return sf, fmt.Errorf("verify format %q has no {hex} or {base64}", f)
		}
		return sf, nil
	}
	for _, enc := range []string{"hex", "base64"} {
		if before, after, ok := strings.Cut(f, "{"+enc+"}"); ok {
			sf.enc, sf.prefix, sf.suffix = enc, before, after
			return sf, nil
		}
	}
	return sf, fmt.Errorf("verify format %q has no {hex} or {base64}", f)
}

func (sf sigFormat) timestampKey() string {
	for _, p := range sf.pairs {
		if p[1] == "timestamp" {
			return p[0]
		}
	}
	return ""
}

// signedTimestamp finds the timestamp a request carries for verification:
// the timestamp header, or the timestamp pair of the signature header.
func signedTimestamp(cfg trigger.VerifyConfig, h http.Header) string {
	if cfg.Scheme == "standard_webhooks" {
		_, ts := standardHeaders(cfg)
		return h.Get(ts)
	}
	if cfg.TimestampHeader != "" {
		return h.Get(cfg.TimestampHeader)
	}
	sf, err := parseSigFormat(cfg.Format)
	if err != nil {
		return ""
	}
	if k := sf.timestampKey(); k != "" {
		for part := range strings.SplitSeq(h.Get(cfg.Header), ",") {
			if pk, v, ok := strings.Cut(strings.TrimSpace(part), "="); ok && pk == k {
				return v
			}
		}
	}
	return ""
}

// caseNow pins a webhook case's clock: the signed timestamp the request
// carries, else DefaultNow.
func caseNow(cfg trigger.VerifyConfig, h http.Header) time.Time {
	if ts := signedTimestamp(cfg, h); ts != "" {
		if sec, err := strconv.ParseInt(ts, 10, 64); err == nil {
			return time.Unix(sec, 0).UTC()
		}
	}
	return DefaultNow
}

// Sign adds the signature that cfg describes to a request's headers, as the
// sender would compute it with secret at time now: the signature header and,
// where the scheme signs one, the timestamp (and Standard Webhooks' id)
// header, unless the request already carries it.
func Sign(cfg trigger.VerifyConfig, secret string, h http.Header, body []byte, now time.Time) error {
	switch cfg.Scheme {
	case "hmac_sha256":
		return signHMAC(cfg, secret, h, body, now)
	case "standard_webhooks":
		return signStandard(cfg, secret, h, body, now)
	case "shared_secret":
		if h.Get(cfg.Header) == "" {
			h.Set(cfg.Header, secret)
		}
		return nil
	}
	return fmt.Errorf("verify scheme %q is not hmac_sha256, standard_webhooks or shared_secret", cfg.Scheme)
}

func signHMAC(cfg trigger.VerifyConfig, secret string, h http.Header, body []byte, now time.Time) error {
	if cfg.Header == "" {
		return fmt.Errorf("verify: hmac_sha256 needs a header")
	}
	sf, err := parseSigFormat(cfg.Format)
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	if cfg.TimestampHeader != "" {
		if v := h.Get(cfg.TimestampHeader); v != "" {
			ts = v
		} else {
			h.Set(cfg.TimestampHeader, ts)
		}
	}
	content, err := signedPayload(cfg.SignedPayload, body, ts, "")
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(content)
	sum := mac.Sum(nil)
	digest := hex.EncodeToString(sum)
	if sf.enc == "base64" {
		digest = base64.StdEncoding.EncodeToString(sum)
	}
	if sf.pairs == nil {
		h.Set(cfg.Header, sf.prefix+digest+sf.suffix)
		return nil
	}
	parts := make([]string, len(sf.pairs))
	for i, p := range sf.pairs {
		v := digest
		if p[1] == "timestamp" {
			v = ts
		}
		parts[i] = p[0] + "=" + v
	}
	h.Set(cfg.Header, strings.Join(parts, ","))
	return nil
}

func signStandard(cfg trigger.VerifyConfig, secret string, h http.Header, body []byte, now time.Time) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(key) == 0 {
		return fmt.Errorf("the standard_webhooks secret must be base64 after an optional whsec_ prefix")
	}
	idH, tsH := standardHeaders(cfg)
	id := h.Get(idH)
	if id == "" {
		id = "msg_flowrun_test"
		h.Set(idH, id)
	}
	ts := h.Get(tsH)
	if ts == "" {
		ts = strconv.FormatInt(now.Unix(), 10)
		h.Set(tsH, ts)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	h.Set(signatureHeader(cfg), "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return nil
}

// signedPayload assembles the signed bytes from a payload template with
// {body}, {timestamp} and {id}; the body is inserted as is, never scanned.
func signedPayload(tmpl string, body []byte, ts, id string) ([]byte, error) {
	if tmpl == "" {
		tmpl = "{body}"
	}
	var b []byte
	rest := tmpl
	for rest != "" {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			b = append(b, rest...)
			break
		}
		b = append(b, rest[:i]...)
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("verify signed_payload %q: unclosed {", tmpl)
		}
		switch name := rest[i+1 : i+j]; name {
		case "body":
			b = append(b, body...)
		case "timestamp":
			b = append(b, ts...)
		case "id":
			b = append(b, id...)
		default:
			return nil, fmt.Errorf("verify signed_payload %q: unknown placeholder {%s}", tmpl, name)
		}
		rest = rest[i+j+1:]
	}
	return b, nil
}

// deliveryResponse is the response the sender gets, as the trigger host
// answers: the flow's response, else 200 {"ok": true}.
func deliveryResponse(resp map[string]any) map[string]any {
	out := map[string]any{"status": 200, "headers": map[string]any{}, "body": map[string]any{"ok": true}}
	if resp == nil {
		return out
	}
	if s, ok := resp["status"]; ok && s != nil {
		out["status"] = s
	}
	if h, ok := resp["headers"].(map[string]any); ok {
		out["headers"] = h
	}
	out["body"] = resp["body"]
	return out
}

// failedDelivery is what the host answers a delivery that failed.
func failedDelivery(status int, msg string) map[string]any {
	return map[string]any{"status": status, "headers": map[string]any{"Content-Type": "application/json"},
		"body": map[string]any{"error": msg}}
}
