package webhook

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// TestMessageID is the Standard Webhooks message id Sign sends when the
// request carries none.
const TestMessageID = "msg_flowrun_test"

// Sign adds to h the signature a sender holding secret would send at time
// now: the signature header and, where the scheme signs one, the timestamp
// header (and Standard Webhooks' id header) unless h already carries it, in
// which case that value is signed. Tests and `flowrun test` use it; what it
// writes, Verify accepts.
func (v *Verifier) Sign(h http.Header, body []byte, secret string, now time.Time) error {
	keys, err := v.keys([]string{secret})
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	switch v.spec.Scheme {
	case "shared_secret":
		h.Set(v.sigHeader, secret)
	case "standard_webhooks":
		id := firstValue(h, v.idHeader)
		if id == "" {
			id = TestMessageID
			h.Set(v.idHeader, id)
		}
		if t := firstValue(h, v.tsHeader); t != "" {
			ts = t
		} else {
			h.Set(v.tsHeader, ts)
		}
		sum := mac(keys[0], signedContent(standardPayload, body, ts, id))
		h.Set(v.sigHeader, "v1,"+base64.StdEncoding.EncodeToString(sum))
	default:
		if v.tsHeader != "" {
			if t := firstValue(h, v.tsHeader); t != "" {
				ts = t
			} else {
				h.Set(v.tsHeader, ts)
			}
		}
		sum := mac(keys[0], signedContent(v.payload, body, ts, ""))
		digest := hex.EncodeToString(sum)
		if v.format.enc == "base64" {
			digest = base64.StdEncoding.EncodeToString(sum)
		}
		if !v.format.pairs {
			h.Set(v.sigHeader, v.format.prefix+digest+v.format.suffix)
			return nil
		}
		// the pairs in the order the format lists them
		var parts []string
		for part := range strings.SplitSeq(v.spec.Format, ",") {
			k, _, _ := strings.Cut(strings.TrimSpace(part), "=")
			switch k {
			case v.format.tsKey:
				parts = append(parts, k+"="+ts)
			case v.format.digestKey:
				parts = append(parts, k+"="+digest)
			}
		}
		h.Set(v.sigHeader, strings.Join(parts, ","))
	}
	return nil
}

// Carries reports whether h already holds the signature header, i.e. a test
// case wrote its own signature.
func (v *Verifier) Carries(h http.Header) bool {
	return len(headerValues(h, v.sigHeader)) > 0
}

// SignedTimestamp is the timestamp a request carries for verification (the
// timestamp header, or the timestamp pair of the signature header), if the
// scheme signs one and it is unix seconds.
func (v *Verifier) SignedTimestamp(h http.Header) (time.Time, bool) {
	if !v.signsTS {
		return time.Time{}, false
	}
	ts := ""
	if v.tsHeader != "" {
		ts = firstValue(h, v.tsHeader)
	} else if v.format.tsKey != "" {
		for _, val := range headerValues(h, v.sigHeader) {
			for part := range strings.FieldsFuncSeq(val, isSeparator) {
				if k, tv, ok := strings.Cut(part, "="); ok && k == v.format.tsKey {
					ts = tv
				}
			}
		}
	}
	sec, err := parseTimestamp(ts)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(sec, 0).UTC(), true
}

func firstValue(h http.Header, name string) string {
	if vs := headerValues(h, name); len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// Verify is Compile and Verifier.Verify in one call, for a single use.
func Verify(s Spec, secrets []string, h http.Header, body []byte, now time.Time) error {
	v, err := Compile(s)
	if err != nil {
		return err
	}
	return v.Verify(h, body, secrets, now)
}

// Sign is Compile and Verifier.Sign in one call, for a single use.
func Sign(s Spec, secret string, h http.Header, body []byte, now time.Time) error {
	v, err := Compile(s)
	if err != nil {
		return fmt.Errorf("signing: %w", err)
	}
	return v.Sign(h, body, secret, now)
}
