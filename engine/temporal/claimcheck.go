package temporal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

// DefaultLargePayload is the size above which the claim check moves a payload
// out of Temporal's history (Temporal refuses payloads over 2 MB and gRPC
// messages over 4 MB, and warns from 256 KB).
const DefaultLargePayload = 128 << 10

// claimEncoding marks a claim: a payload whose data is a claimRef.
const claimEncoding = "json/flowrun-claim-check"

// BlobStore keeps the payloads the claim check moved out of history. The
// Postgres state (trigger/pgstore) is one.
type BlobStore interface {
	// PutBlob keeps data under key; writing a key again is not an error.
	PutBlob(ctx context.Context, key string, data []byte) error
	// GetBlob returns the data under key; found is false when there is none.
	GetBlob(ctx context.Context, key string) (data []byte, found bool, err error)
}

// claimRef is what history keeps in place of a large payload.
type claimRef struct {
	Key  string `json:"key"`  // "sha256:" and the hex SHA-256 of the payload (protobuf, deterministic)
	Size int    `json:"size"` // bytes of that payload
}

// ClaimCheckCodec is a converter.PayloadCodec that moves each payload larger
// than Threshold bytes into Store and leaves in its place a small claim
// naming it by the SHA-256 of its content: an encode run again (a retried
// workflow task) writes the same key, and Decode checks the content it gets
// back against it. Seal, when set, encodes what is stored (the encrypting
// codec), so that the state database holds no plaintext either; give the
// same codec to Converters before this one, so that the claims are sealed
// too. Without a Store, Encode leaves payloads as they are and Decode
// refuses a claim with an error that says so.
type ClaimCheckCodec struct {
	Store     BlobStore
	Threshold int                    // 0: DefaultLargePayload
	Seal      converter.PayloadCodec // optional
	Timeout   time.Duration          // of each store call; 0: 30 s
}

func (c *ClaimCheckCodec) threshold() int {
	if c.Threshold > 0 {
		return c.Threshold
	}
	return DefaultLargePayload
}

func (c *ClaimCheckCodec) ctx() (context.Context, context.CancelFunc) {
	d := c.Timeout
	if d <= 0 {
		d = 30 * time.Second
	}
	return context.WithTimeout(context.Background(), d)
}

// Encode replaces each payload over the threshold by a claim.
func (c *ClaimCheckCodec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	if c.Store == nil {
		return payloads, nil
	}
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if proto.Size(p) <= c.threshold() {
			out[i] = p
			continue
		}
		plain, err := proto.MarshalOptions{Deterministic: true}.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("claim check: %w", err)
		}
		sum := sha256.Sum256(plain)
		ref := claimRef{Key: "sha256:" + hex.EncodeToString(sum[:]), Size: len(plain)}
		stored := plain
		if c.Seal != nil {
			sealed, err := c.Seal.Encode([]*commonpb.Payload{p})
			if err != nil {
				return nil, fmt.Errorf("claim check: %w", err)
			}
			if stored, err = proto.Marshal(sealed[0]); err != nil {
				return nil, fmt.Errorf("claim check: %w", err)
			}
		}
		ctx, cancel := c.ctx()
		err = c.Store.PutBlob(ctx, ref.Key, stored)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("claim check: payload of %d bytes: %w", len(plain), err)
		}
		data, _ := json.Marshal(ref)
		out[i] = &commonpb.Payload{Metadata: map[string][]byte{converter.MetadataEncoding: []byte(claimEncoding)}, Data: data}
	}
	return out, nil
}

// Decode replaces each claim by the payload it names.
func (c *ClaimCheckCodec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != claimEncoding {
			out[i] = p
			continue
		}
		var ref claimRef
		if err := json.Unmarshal(p.Data, &ref); err != nil || ref.Key == "" {
			return nil, fmt.Errorf("claim check: a claim that does not parse: %q", p.Data)
		}
		if c.Store == nil {
			return nil, fmt.Errorf("claim check: payload %s (%d bytes) is in the state database, and this process has no Postgres --state to read it from", ref.Key, ref.Size)
		}
		ctx, cancel := c.ctx()
		stored, found, err := c.Store.GetBlob(ctx, ref.Key)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("claim check: payload %s: %w", ref.Key, err)
		}
		if !found {
			return nil, fmt.Errorf("claim check: payload %s (%d bytes) is not in the state database: deleted by retention (--blob-retention), or this is another database than the one that stored it", ref.Key, ref.Size)
		}
		q := &commonpb.Payload{}
		if err := proto.Unmarshal(stored, q); err != nil {
			return nil, fmt.Errorf("claim check: payload %s: %w", ref.Key, err)
		}
		if c.Seal != nil {
			opened, err := c.Seal.Decode([]*commonpb.Payload{q})
			if err != nil {
				return nil, fmt.Errorf("claim check: payload %s: %w", ref.Key, err)
			}
			q = opened[0]
		}
		plain, err := proto.MarshalOptions{Deterministic: true}.Marshal(q)
		if err != nil {
			return nil, fmt.Errorf("claim check: payload %s: %w", ref.Key, err)
		}
		if sum := sha256.Sum256(plain); "sha256:"+hex.EncodeToString(sum[:]) != ref.Key {
			return nil, fmt.Errorf("claim check: payload %s: the state database holds other content under this key", ref.Key)
		}
		out[i] = q
	}
	return out, nil
}
