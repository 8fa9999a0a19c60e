package temporal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"sort"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	sdktemporal "go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/proto"
)

// Payload metadata of an encrypted payload. The data is the nonce followed by
// the AES-256-GCM sealing of the original payload (its metadata and data, as
// protobuf); the key id is the additional authenticated data, so a payload
// cannot be passed off as sealed by another key.
const (
	encryptedEncoding = "binary/flowrun-aes256gcm"
	metaKeyID         = "flowrun-key-id"
)

// PayloadKey is one AES-256 key of the encrypting payload codec, with its id:
// the first 8 bytes of the key's SHA-256, in hex, so that the id names the key
// without revealing it and the same file always has the same id.
type PayloadKey struct {
	ID   string
	aead cipher.AEAD
}

// ReadPayloadKey reads a key file: 32 random bytes written as base64 (as
// `openssl rand -base64 32` writes them) or as 64 hex digits; surrounding
// white space is ignored. The error names the file but never its content.
func ReadPayloadKey(path string) (PayloadKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return PayloadKey{}, fmt.Errorf("payload key: %w", err)
	}
	text := strings.TrimSpace(string(b))
	var raw []byte
	if len(text) == 64 {
		raw, err = hex.DecodeString(text)
	} else {
		raw, err = base64.StdEncoding.DecodeString(text)
	}
	if err != nil || len(raw) != 32 {
		return PayloadKey{}, fmt.Errorf("payload key %s: want 32 bytes as base64 or 64 hex digits (make one with: openssl rand -base64 32)", path)
	}
	return NewPayloadKey(raw)
}

// NewPayloadKey makes a key from its 32 bytes.
func NewPayloadKey(raw []byte) (PayloadKey, error) {
	if len(raw) != 32 {
		return PayloadKey{}, fmt.Errorf("payload key: %d bytes, want 32 (AES-256)", len(raw))
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return PayloadKey{}, fmt.Errorf("payload key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return PayloadKey{}, fmt.Errorf("payload key: %w", err)
	}
	sum := sha256.Sum256(raw)
	return PayloadKey{ID: hex.EncodeToString(sum[:8]), aead: aead}, nil
}

// EncryptionCodec is a converter.PayloadCodec that seals every payload with
// AES-256-GCM: workflow and activity inputs and outputs, signals, queries,
// memos and failure details, as they are sent to Temporal and kept in its
// history. Encode seals with the first key; Decode opens a payload with the key
// its metadata names, so that after a rotation payloads sealed with an older
// key (given after the first) still open. Payloads that are not sealed (from
// before encryption was turned on) pass through Decode unchanged. With no keys
// Encode changes nothing and Decode refuses a sealed payload with an error that
// says so, rather than the data converter's "unknown encoding".
type EncryptionCodec struct {
	keys []PayloadKey
	byID map[string]PayloadKey
}

// NewEncryptionCodec returns the codec for keys, the first sealing.
func NewEncryptionCodec(keys ...PayloadKey) *EncryptionCodec {
	c := &EncryptionCodec{keys: keys, byID: map[string]PayloadKey{}}
	for _, k := range keys {
		c.byID[k.ID] = k
	}
	return c
}

// Encode seals each payload with the first key.
func (c *EncryptionCodec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	if len(c.keys) == 0 {
		return payloads, nil
	}
	k := c.keys[0]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("payload encryption: %w", err)
		}
		nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plain)+k.aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("payload encryption: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(encryptedEncoding),
				metaKeyID:                  []byte(k.ID),
			},
			Data: k.aead.Seal(nonce, nonce, plain, []byte(k.ID)),
		}
	}
	return out, nil
}

// Decode opens each sealed payload with the key it names.
func (c *EncryptionCodec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != encryptedEncoding {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[metaKeyID])
		k, ok := c.byID[id]
		if !ok {
			if len(c.keys) == 0 {
				return nil, fmt.Errorf("payload is encrypted (key %s) and this process has no --payload-key", id)
			}
			return nil, fmt.Errorf("payload is encrypted with key %s, which is not among the --payload-key keys (%s); give the old key as a second --payload-key", id, c.ids())
		}
		ns := k.aead.NonceSize()
		if len(p.Data) < ns+k.aead.Overhead() {
			return nil, fmt.Errorf("payload encrypted with key %s: %d bytes, too short to be sealed", id, len(p.Data))
		}
		plain, err := k.aead.Open(nil, p.Data[:ns], p.Data[ns:], []byte(id))
		if err != nil {
			return nil, fmt.Errorf("payload encrypted with key %s does not open: it was altered, or sealed by another key", id)
		}
		q := &commonpb.Payload{}
		if err := proto.Unmarshal(plain, q); err != nil {
			return nil, fmt.Errorf("payload encrypted with key %s: %w", id, err)
		}
		out[i] = q
	}
	return out, nil
}

func (c *EncryptionCodec) ids() string {
	ids := make([]string, len(c.keys))
	for i, k := range c.keys {
		ids[i] = k.ID
	}
	sort.Strings(ids)
	return strings.Join(ids, ", ")
}

// Converters returns a client's data and failure converters with codecs
// applied to every payload, first codec outermost: Converters(enc, claim)
// moves large payloads out (claim) and then seals what is left (enc). When an
// EncryptionCodec among them has a key, the failure converter encodes
// failures' messages and stack traces as a payload too
// (EncodeCommonAttributes), so that an error quoting a response is sealed as
// well; failures' details go through the codecs in any case. With no codecs
// both are Temporal's defaults (nil).
func Converters(codecs ...converter.PayloadCodec) (converter.DataConverter, converter.FailureConverter) {
	if len(codecs) == 0 {
		return nil, nil
	}
	// The claim check calls the state database from workflow code (an
	// activity's arguments are encoded there): a slow write must not trip
	// the SDK's deadlock detector (1 s).
	dc := workflow.DataConverterWithoutDeadlockDetection(converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), codecs...))
	sealing := false
	for _, c := range codecs {
		if e, ok := c.(*EncryptionCodec); ok && len(e.keys) > 0 {
			sealing = true
		}
	}
	return dc, sdktemporal.NewDefaultFailureConverter(sdktemporal.DefaultFailureConverterOptions{DataConverter: dc, EncodeCommonAttributes: sealing})
}
