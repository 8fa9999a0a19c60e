package flowtest

import (
	"encoding/json"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/flowrun/flowrun/trigger"
)

// TestSignPublishedVectors: Sign computes the published signatures of
// realdata/webhook-signature-vectors.json (Standard Webhooks, GitHub, Slack).
func TestSignPublishedVectors(t *testing.T) {
	data, err := os.ReadFile("/work/shared/realdata/webhook-signature-vectors.json")
	if err != nil {
		t.Skipf("realdata not available: %v", err)
	}
	var doc struct {
		Vectors []struct {
			Scheme   string            `json:"scheme"`
			Secret   string            `json:"secret"`
			Headers  map[string]string `json:"headers"`
			Body     string            `json:"body"`
			Expected map[string]string `json:"expected_header"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	configs := map[string]trigger.VerifyConfig{
		"standard-webhooks-v1":       {Scheme: "standard_webhooks"},
		"github-x-hub-signature-256": {Scheme: "hmac_sha256", Header: "X-Hub-Signature-256", Format: "sha256={hex}"},
		"slack-v0": {Scheme: "hmac_sha256", Header: "X-Slack-Signature", Format: "v0={hex}",
			TimestampHeader: "X-Slack-Request-Timestamp", SignedPayload: "v0:{timestamp}:{body}"},
	}
	if len(doc.Vectors) < len(configs) {
		t.Fatalf("%d vectors", len(doc.Vectors))
	}
	for _, v := range doc.Vectors {
		cfg, ok := configs[v.Scheme]
		if !ok {
			t.Errorf("no config for %s", v.Scheme)
			continue
		}
		h := http.Header{}
		for k, x := range v.Headers {
			h.Set(k, x)
		}
		now := caseNow(cfg, h)
		if err := Sign(cfg, v.Secret, h, []byte(v.Body), now); err != nil {
			t.Fatalf("%s: %v", v.Scheme, err)
		}
		for k, want := range v.Expected {
			if got := h.Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", v.Scheme, k, got, want)
			}
		}
		cfg.Secret = v.Secret
		if err := trigger.Verify(cfg, h, []byte(v.Body), now); err != nil {
			t.Errorf("%s: trigger.Verify refuses the signed request: %v", v.Scheme, err)
		}
	}
}

// TestSignRoundTrip: what Sign writes, trigger.Verify accepts, for every
// format style, with the clock pinned.
func TestSignRoundTrip(t *testing.T) {
	body := []byte(`{"id":"evt_1","type":"customer.created"}`)
	for name, cfg := range map[string]trigger.VerifyConfig{
		"stripe":        {Scheme: "hmac_sha256", Header: "Stripe-Signature", Format: "t={timestamp},v1={hex}", SignedPayload: "{timestamp}.{body}"},
		"base64":        {Scheme: "hmac_sha256", Header: "X-Sig", Format: "{base64}"},
		"default hex":   {Scheme: "hmac_sha256", Header: "X-Sig"},
		"svix prefix":   {Scheme: "standard_webhooks", Header: "svix-signature"},
		"standard":      {Scheme: "standard_webhooks"},
		"ts header hex": {Scheme: "hmac_sha256", Header: "X-Sig", TimestampHeader: "X-Ts", SignedPayload: "{timestamp}:{body}"},
	} {
		secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		h := http.Header{}
		if err := Sign(cfg, secret, h, body, DefaultNow); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cfg.Secret = secret
		if err := trigger.Verify(cfg, h, body, DefaultNow); err != nil {
			t.Errorf("%s: %v (headers %v)", name, err, h)
		}
		if got := caseNow(cfg, h); cfg.Format != "" && cfg.Format != "{base64}" && !got.Equal(DefaultNow) {
			t.Errorf("%s: the signed timestamp reads back as %v", name, got)
		}
		// a request signed an hour ago is refused, as a replay
		if cfg.SignedPayload != "" || cfg.Scheme == "standard_webhooks" {
			h := http.Header{}
			Sign(cfg, secret, h, body, DefaultNow.Add(-time.Hour))
			if err := trigger.Verify(cfg, h, body, DefaultNow); err == nil {
				t.Errorf("%s: a stale signature verifies", name)
			}
		}
	}
}
