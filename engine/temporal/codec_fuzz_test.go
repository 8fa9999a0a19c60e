package temporal

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"sync"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

// blobMap keeps claimed payloads in memory for the fuzz target (the codecs
// are under test here; the Postgres store has its own tests).
type blobMap struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (b *blobMap) PutBlob(_ context.Context, key string, data []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m[key] = append([]byte(nil), data...)
	return nil
}

func (b *blobMap) GetBlob(_ context.Context, key string) ([]byte, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d, ok := b.m[key]
	return d, ok, nil
}

// FuzzPayloadCodecs feeds the payload codecs what a hostile or broken
// history could hold: any data under any encoding and key id, sealed
// payloads altered byte by byte, claims of any shape. Decoding never
// panics and no error shows the key; whatever the codecs encode (any
// payload) decodes back to itself, through encryption alone and through
// the claim check in front of it.
func FuzzPayloadCodecs(f *testing.F) {
	key, err := NewPayloadKey(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		f.Fatal(err)
	}
	enc := NewEncryptionCodec(key)
	sealed, _ := enc.Encode([]*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`{"a":1}`)}})
	f.Add(sealed[0].Data, encryptedEncoding, key.ID, []byte(`{"a":1}`), 0, byte(0))
	f.Add([]byte(`{"key":"sha256:00","size":3}`), claimEncoding, "", []byte("x"), 5, byte(1))
	f.Add([]byte(`not json`), claimEncoding, "", bytes.Repeat([]byte("y"), 300), 0, byte(2))
	f.Add([]byte{}, "json/plain", "", []byte{}, 0, byte(0))
	f.Fuzz(func(t *testing.T, data []byte, encoding, keyID string, body []byte, flip int, mode byte) {
		blobs := &blobMap{m: map[string][]byte{}}
		claim := &ClaimCheckCodec{Store: blobs, Threshold: 64, Seal: enc}
		secretForms := []string{hex.EncodeToString(bytes.Repeat([]byte{9}, 32)), base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32)), string(bytes.Repeat([]byte{9}, 32))}
		noKey := func(err error) {
			if err == nil {
				return
			}
			for _, s := range secretForms {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("an error shows the key: %v", err)
				}
			}
		}
		// a payload as history might hold it
		p := &commonpb.Payload{Metadata: map[string][]byte{converter.MetadataEncoding: []byte(encoding)}, Data: data}
		if keyID != "" {
			p.Metadata[metaKeyID] = []byte(keyID)
		}
		for _, dec := range []converter.PayloadCodec{enc, claim, NewEncryptionCodec()} {
			_, err := dec.Decode([]*commonpb.Payload{p})
			noKey(err)
		}
		// a sealed payload with one byte altered never opens as something else
		in := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain"), "k": body}, Data: body}
		out, err := enc.Encode([]*commonpb.Payload{in})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(out[0].Data); n > 0 && mode%2 == 1 {
			i := (flip%n + n) % n
			out[0].Data[i] ^= 0x5a
			if _, err := enc.Decode(out); err == nil {
				t.Fatalf("a sealed payload altered at byte %d opened", i)
			} else {
				noKey(err)
			}
			return
		}
		// round trips: encryption alone, and the claim check then encryption
		back, err := enc.Decode(out)
		if err != nil || len(back) != 1 || !proto.Equal(back[0], in) {
			t.Fatalf("encryption round trip: %v", err)
		}
		claimed, err := claim.Encode([]*commonpb.Payload{in})
		if err != nil {
			t.Fatal(err)
		}
		sealedClaim, err := enc.Encode(claimed)
		if err != nil {
			t.Fatal(err)
		}
		opened, err := enc.Decode(sealedClaim)
		if err != nil {
			t.Fatal(err)
		}
		got, err := claim.Decode(opened)
		if err != nil || len(got) != 1 || !proto.Equal(got[0], in) {
			t.Fatalf("claim check round trip (%d bytes): %v", len(body), err)
		}
	})
}
