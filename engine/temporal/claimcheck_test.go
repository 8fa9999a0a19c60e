package temporal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/flowrun/flowrun/trigger/pgstore"
	"github.com/flowrun/flowrun/trigger/pgstore/pgtest"
)

// openBlobs opens the Postgres state in a fresh schema of FLOWRUN_PG_DSN
// (scripts/e2e-temporal.sh starts one), with a connection using that schema
// and a DSN naming it; without FLOWRUN_PG_DSN the test is skipped.
func openBlobs(t *testing.T) (*pgstore.Store, *pgx.Conn, string) {
	t.Helper()
	dsn := os.Getenv("FLOWRUN_PG_DSN")
	if dsn == "" {
		t.Skip("FLOWRUN_PG_DSN is not set: the claim check's store is Postgres (scripts/e2e-temporal.sh starts one)")
	}
	ctx := context.Background()
	sdsn, conn := pgtest.Schema(t, dsn, "cc")
	s, err := pgstore.Open(ctx, sdsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, conn, sdsn
}

// bigOrder is an order whose body is over 2 MB: more than Temporal takes in
// one payload.
func bigOrder(t *testing.T, n int) []*commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayloads(
		FlowInput{Project: "shop", Flow: "place_order", ConnectionID: "acme",
			Inputs: map[string]any{"order_id": "o-big", "note": "CONFIDENTIAL-" + strings.Repeat("n", n)}},
		"small")
	if err != nil {
		t.Fatal(err)
	}
	return p.Payloads
}

func blobCount(t *testing.T, conn *pgx.Conn) int {
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM payload_blobs").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestClaimCheckCodec(t *testing.T) {
	st, conn, _ := openBlobs(t)
	c := &ClaimCheckCodec{Store: st}
	in := bigOrder(t, 3<<20)
	enc, err := c.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	if enc[1] != in[1] {
		t.Fatal("a small payload was moved")
	}
	if size := len(enc[0].Data); size > 200 || string(enc[0].Metadata[converter.MetadataEncoding]) != claimEncoding {
		t.Fatalf("claim: %d bytes, %v", size, enc[0].Metadata)
	}
	// Encoding again (a retried task) writes the same key.
	if _, err := c.Encode(bigOrder(t, 3<<20)); err != nil {
		t.Fatal(err)
	}
	if n := blobCount(t, conn); n != 1 {
		t.Fatalf("%d blobs after encoding one payload twice", n)
	}
	dec, err := c.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	var fi FlowInput
	if err := converter.GetDefaultDataConverter().FromPayload(dec[0], &fi); err != nil || len(fi.Inputs["note"].(string)) != 3<<20+len("CONFIDENTIAL-") {
		t.Fatalf("decoded: %v", err)
	}

	// A process without the store cannot read the claim, and says why.
	if _, err := (&ClaimCheckCodec{}).Decode(enc); err == nil || !strings.Contains(err.Error(), "has no Postgres --state") {
		t.Fatalf("no store: %v", err)
	}
	// Content under the key that is not the payload's is refused.
	if _, err := conn.Exec(context.Background(), "UPDATE payload_blobs SET data = $1", []byte{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Decode(enc); err == nil || !strings.Contains(err.Error(), "holds other content under this key") {
		t.Fatalf("altered blob: %v", err)
	}
	// A blob deleted (retention) is a clear error.
	n, err := st.DeleteBlobsBefore(context.Background(), time.Now().Add(time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("deleted %d: %v", n, err)
	}
	if _, err := c.Decode(enc); err == nil || !strings.Contains(err.Error(), "is not in the state database: deleted by retention") {
		t.Fatalf("missing blob: %v", err)
	}
}

// TestClaimCheckSealed: with the encrypting codec, the state database holds
// no plaintext and history holds only a sealed claim.
func TestClaimCheckSealed(t *testing.T) {
	st, conn, _ := openBlobs(t)
	enc := NewEncryptionCodec(testPayloadKey(t, 5))
	claim := &ClaimCheckCodec{Store: st, Threshold: 1 << 10, Seal: enc}
	dc, _ := Converters(enc, claim)
	p, err := dc.ToPayload(map[string]any{"note": "CONFIDENTIAL-" + strings.Repeat("n", 4<<10)})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := p.Marshal(); bytes.Contains(b, []byte("CONFIDENTIAL")) || len(b) > 400 {
		t.Fatalf("history payload: %d bytes", len(b))
	}
	var stored []byte
	if err := conn.QueryRow(context.Background(), "SELECT data FROM payload_blobs").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored, []byte("CONFIDENTIAL")) || !bytes.Contains(stored, []byte(encryptedEncoding)) {
		t.Fatalf("the stored blob is not sealed")
	}
	var out map[string]any
	if err := dc.FromPayload(p, &out); err != nil || !strings.HasPrefix(out["note"].(string), "CONFIDENTIAL-") {
		t.Fatalf("round trip: %v", err)
	}
}

// uploads is the upload flow's service: it answers POST /upload with the
// size of the document it got.
func uploads() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Doc string }
		if r.Header.Get("Authorization") != "Bearer "+testKey || r.URL.Path != "/upload" || json.NewDecoder(r.Body).Decode(&in) != nil {
			w.WriteHeader(400)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"size": %d}`, len(in.Doc))
	}))
}

// TestWorkflowWithClaimCheck runs the upload flow with a document of 3 MB in
// the SDK's test environment: the workflow's input, the activity's request
// and the workflow's outputs all cross Temporal as claims.
func TestWorkflowWithClaimCheck(t *testing.T) {
	st, conn, _ := openBlobs(t)
	srv := uploads()
	defer srv.Close()
	e := newEngine(t, srv.URL)
	rec := &recordingCodec{PayloadCodec: &ClaimCheckCodec{Store: st}}
	dc, _ := Converters(rec)
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.SetDataConverter(dc)
	e.Register(env)
	doc := strings.Repeat("d", 3<<20)
	env.ExecuteWorkflow(WorkflowName, FlowInput{Project: "shop", Flow: "upload", ConnectionID: "acme",
		Inputs: map[string]any{"doc": doc}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := env.GetWorkflowResult(&out); err != nil || out["size"] != float64(len(doc)) || out["doc"] != doc {
		t.Fatalf("outputs (size %v): %v", out["size"], err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, b := range rec.sent {
		if len(b) > DefaultLargePayload+1<<10 {
			t.Fatalf("a payload of %d bytes was sent to Temporal", len(b))
		}
	}
	if n := blobCount(t, conn); n < 3 {
		t.Fatalf("%d blobs: want the input, the request and the output", n)
	}
}
