package temporal

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
)

func testPayloadKey(t testing.TB, fill byte) PayloadKey {
	t.Helper()
	k, err := NewPayloadKey(bytes.Repeat([]byte{fill}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// orderPayloads is what a start of place_order puts into history: the
// connection's base URL (a non-secret param) is in the activity's inputs,
// the order body in the workflow's.
func orderPayloads(t *testing.T) []*commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayloads(
		FlowInput{Project: "shop", Flow: "place_order", ConnectionID: "acme", Inputs: map[string]any{"order_id": "ord-confidential-4711"}},
		map[string]any{"base_url": "https://internal.acme.example"})
	if err != nil {
		t.Fatal(err)
	}
	return p.Payloads
}

func TestEncryptionCodecRoundTrip(t *testing.T) {
	in := orderPayloads(t)
	c := NewEncryptionCodec(testPayloadKey(t, 1))
	enc, err := c.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range enc {
		b, _ := p.Marshal()
		for _, plain := range []string{"ord-confidential-4711", "internal.acme.example", "place_order", "json/plain"} {
			if bytes.Contains(b, []byte(plain)) {
				t.Fatalf("encoded payload holds %q", plain)
			}
		}
		if string(p.Metadata[converter.MetadataEncoding]) != encryptedEncoding || string(p.Metadata[metaKeyID]) != c.keys[0].ID {
			t.Fatalf("metadata %v", p.Metadata)
		}
	}
	again, _ := c.Encode(in)
	if bytes.Equal(again[0].Data, enc[0].Data) {
		t.Fatal("two encodings of one payload are equal: the nonce is not fresh")
	}
	dec, err := c.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	var fi FlowInput
	if err := converter.GetDefaultDataConverter().FromPayload(dec[0], &fi); err != nil || fi.Inputs["order_id"] != "ord-confidential-4711" {
		t.Fatalf("decoded %+v %v", fi, err)
	}
	// Payloads from before encryption was turned on pass through.
	if dec, err := c.Decode(in); err != nil || dec[0] != in[0] {
		t.Fatalf("plain payload: %v", err)
	}
}

func TestEncryptionCodecRotationAndWrongKey(t *testing.T) {
	old, cur := testPayloadKey(t, 1), testPayloadKey(t, 2)
	sealedOld, err := NewEncryptionCodec(old).Encode(orderPayloads(t))
	if err != nil {
		t.Fatal(err)
	}
	// After a rotation: the new key seals, the old one (second) still opens.
	rotated := NewEncryptionCodec(cur, old)
	if _, err := rotated.Decode(sealedOld); err != nil {
		t.Fatal(err)
	}
	sealedNew, _ := rotated.Encode(orderPayloads(t))
	if string(sealedNew[0].Metadata[metaKeyID]) != cur.ID {
		t.Fatalf("sealed with %s, want the first key %s", sealedNew[0].Metadata[metaKeyID], cur.ID)
	}
	_, err = NewEncryptionCodec(cur).Decode(sealedOld)
	if err == nil || !strings.Contains(err.Error(), "encrypted with key "+old.ID+", which is not among the --payload-key keys ("+cur.ID+")") {
		t.Fatalf("wrong key: %v", err)
	}
	_, err = NewEncryptionCodec().Decode(sealedOld)
	if err == nil || !strings.Contains(err.Error(), "has no --payload-key") {
		t.Fatalf("no key: %v", err)
	}
	// No keys: Encode changes nothing.
	in := orderPayloads(t)
	if out, err := NewEncryptionCodec().Encode(in); err != nil || out[0] != in[0] {
		t.Fatalf("no keys encoded: %v", err)
	}
}

func TestEncryptionCodecTampered(t *testing.T) {
	k := testPayloadKey(t, 1)
	c := NewEncryptionCodec(k)
	for name, tamper := range map[string]func(p *commonpb.Payload){
		"a flipped bit": func(p *commonpb.Payload) { p.Data[len(p.Data)/2] ^= 1 },
		"cut short":     func(p *commonpb.Payload) { p.Data = p.Data[:10] },
		"another key id": func(p *commonpb.Payload) {
			other := testPayloadKey(t, 3)
			c.byID[other.ID] = PayloadKey{ID: other.ID, aead: k.aead} // same key, relabelled
			p.Metadata[metaKeyID] = []byte(other.ID)
		},
	} {
		enc, err := c.Encode(orderPayloads(t))
		if err != nil {
			t.Fatal(err)
		}
		tamper(enc[0])
		if _, err := c.Decode(enc); err == nil {
			t.Fatalf("%s: decoded", name)
		} else if name != "cut short" && !strings.Contains(err.Error(), "does not open: it was altered") {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

func TestReadPayloadKey(t *testing.T) {
	dir := t.TempDir()
	raw := bytes.Repeat([]byte{7}, 32)
	want, _ := NewPayloadKey(raw)
	for name, text := range map[string]string{
		"b64": "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n",
		"hex": "  " + hex.EncodeToString(raw) + "\n",
	} {
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(text), 0o600)
		k, err := ReadPayloadKey(path)
		if err != nil || k.ID != want.ID {
			t.Fatalf("%s: %v %s", name, err, k.ID)
		}
	}
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("hunter2-short-secret\n"), 0o600)
	_, err := ReadPayloadKey(bad)
	if err == nil || !strings.Contains(err.Error(), bad+": want 32 bytes") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("bad key: %v", err)
	}
	if _, err := ReadPayloadKey(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("missing key: %v", err)
	}
}

// recordingCodec keeps what the codec it wraps encoded: what Temporal would
// be sent and keep in history.
type recordingCodec struct {
	converter.PayloadCodec
	mu   sync.Mutex
	sent [][]byte
}

func (r *recordingCodec) Encode(ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out, err := r.PayloadCodec.Encode(ps)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range out {
		b, _ := p.Marshal()
		r.sent = append(r.sent, b)
	}
	return out, err
}

// TestWorkflowWithEncryptionCodec runs place_order in the SDK's test
// environment with the codec as its data converter: the run completes, and
// nothing it sends to Temporal holds the order id or the service's URL.
func TestWorkflowWithEncryptionCodec(t *testing.T) {
	svc := &shop{}
	srv := httptest.NewServer(svc)
	defer srv.Close()
	e := newEngine(t, srv.URL)
	rec := &recordingCodec{PayloadCodec: NewEncryptionCodec(testPayloadKey(t, 9))}
	dc, _ := Converters(rec)

	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.SetDataConverter(dc)
	e.Register(env)
	env.ExecuteWorkflow(WorkflowName, FlowInput{Project: "shop", Flow: "place_order", ConnectionID: "acme",
		Inputs: map[string]any{"order_id": "ord-confidential-4711", "items": []any{"apple"}}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(out)
	if want := `{"charge":"ch_ord-confidential-4711","id":"ord-confidential-4711","reserved":["apple"]}`; string(got) != want {
		t.Fatalf("outputs %s, want %s", got, want)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.sent) < 4 {
		t.Fatalf("only %d payloads went through the codec", len(rec.sent))
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, b := range rec.sent {
		if bytes.Contains(b, []byte("ord-confidential-4711")) || bytes.Contains(b, []byte(host)) {
			t.Fatalf("a payload sent to Temporal holds plaintext: %q", b)
		}
	}
}
