package flowtest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// vectorFile is testdata/realdata/webhook-signature-vectors.json: published
// signatures of Standard Webhooks, GitHub and Slack.
type vectorFile struct {
	Vectors []struct {
		Scheme   string            `json:"scheme"`
		Secret   string            `json:"secret"`
		Headers  map[string]string `json:"headers"`
		Body     string            `json:"body"`
		Expected map[string]string `json:"expected_header"`
	} `json:"vectors"`
}

func loadVectors(t *testing.T) vectorFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "realdata", "webhook-signature-vectors.json"))
	if err != nil {
		t.Fatalf("fixture missing: %v", err)
	}
	var doc vectorFile
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// vectorVerify is the verify block of each vector's scheme.
var vectorVerify = map[string]string{
	"standard-webhooks-v1":       "scheme: standard_webhooks",
	"github-x-hub-signature-256": "scheme: hmac_sha256\n  header: X-Hub-Signature-256\n  format: \"sha256={hex}\"",
	"slack-v0":                   "scheme: hmac_sha256\n  header: X-Slack-Signature\n  format: \"v0={hex}\"\n  signed_payload: \"v0:{timestamp}:{body}\"\n  timestamp_header: X-Slack-Request-Timestamp",
}

// hookFlowYAML is a webhook flow verifying as verify says, whose one event
// carries the signature header the request arrived with.
func hookFlowYAML(name, verify, sigHeader string) string {
	v := ""
	if verify != "" {
		v = "verify:\n  " + verify + "\n  secret: ${ registration.secret }\n"
	}
	return fmt.Sprintf(`flowrun: 1
name: %s
type: webhook
%sregister: {steps: [{return: {secret: x}}]}
deregister: {steps: [{log: gone}]}
event:
  steps:
    - return:
        events:
          - sig: ${ request.headers[%q] ?? "" }
`, name, v, strings.ToLower(sigHeader))
}

// TestSignPublishedVectors: a webhook case is signed as the published
// vectors say (the runner pins the clock to the vector's timestamp), and the
// signed request passes the flow's verify.
func TestSignPublishedVectors(t *testing.T) {
	doc := loadVectors(t)
	if len(doc.Vectors) < len(vectorVerify) {
		t.Fatalf("%d vectors", len(doc.Vectors))
	}
	files := map[string]string{}
	var suite strings.Builder
	suite.WriteString("flowrun: 1\ntests:\n")
	for i, v := range doc.Vectors {
		verify, ok := vectorVerify[v.Scheme]
		if !ok {
			t.Fatalf("no verify block for vector %s", v.Scheme)
		}
		var sigHeader, sig string
		for k, x := range v.Expected {
			sigHeader, sig = k, x
		}
		name := fmt.Sprintf("hook%d", i)
		files["flows/"+name+".yaml"] = hookFlowYAML(name, verify, sigHeader)
		headers := []byte("{}")
		if v.Headers != nil {
			headers, _ = json.Marshal(v.Headers)
		}
		fmt.Fprintf(&suite, "  - name: %s\n    flow: %s\n    registration: {secret: %q}\n    request:\n      headers: %s\n      raw: %q\n    events: [{sig: %q}]\n",
			v.Scheme, name, v.Secret, headers, v.Body, sig)
	}
	files["tests/vectors.yaml"] = suite.String()
	rep, out := runCase(t, writeProject(t, files), Options{})
	if rep.Failed != 0 || rep.Passed != len(doc.Vectors) {
		t.Fatalf("%s\n%s", Summary(rep), out)
	}
}

// TestWebhookCaseKeys: signed: false, secret: and secret rotation in
// webhook cases (SPEC §8.7, §8.4), with the failures positioned in the
// test file.
func TestWebhookCaseKeys(t *testing.T) {
	files := map[string]string{
		"flows/github.yaml": hookFlowYAML("github", vectorVerify["github-x-hub-signature-256"], "X-Hub-Signature-256"),
		"flows/open.yaml":   hookFlowYAML("open", "", "X-Hub-Signature-256"),
		"flows/manual.yaml": strings.Replace(hookFlowYAML("manual", "", "X-Hub-Signature-256"), "deregister: {steps: [{log: gone}]}\n", "", 1),
		"flows/rotating.yaml": strings.Replace(hookFlowYAML("rotating", vectorVerify["github-x-hub-signature-256"], "X-Hub-Signature-256"),
			"secret: ${ registration.secret }", "secret: [\"${ registration.secret }\", \"${ registration.old_secret }\"]", 1),
	}
	cases := []struct {
		name, body string
		want       []string // failures, as path:line:col: summary
	}{
		{"signed by the runner with the flow's secret", `
    flow: github
    registration: {secret: "It's a Secret to Everybody"}
    request: {raw: "Hello, World!"}
    events: [{sig: "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}]`, nil},
		{"unsigned", `
    flow: github
    registration: {secret: s3}
    signed: false
    request: {raw: "Hello, World!"}
    response: {status: 401, body: {error: signature verification failed}}`, nil},
		{"unsigned, not expected", `
    flow: github
    registration: {secret: s3}
    signed: false
    request: {raw: "Hello, World!"}
    events: []`, []string{"flow failed: delivery answered 401: signature verification failed: missing header X-Hub-Signature-256"}},
		{"a secret for a flow without verify", `
    flow: open
    secret: s3
    request: {raw: "Hello, World!"}
    events: [{sig: ""}]`, []string{`secret: flow "open" has no verify block, so its requests are not signed; remove secret:`}},
		{"a deregister case for a flow without deregister", `
    flow: manual
    registration: {secret: s3}`, []string{`registration: a case with a registration and no request tests deregister, but flow "manual" has none; give request: to test event`}},
		{"a delivery to a flow without deregister", `
    flow: manual
    registration: {secret: s3}
    request: {raw: "Hello, World!"}
    events: [{sig: ""}]`, nil},
		{"signed for a flow without verify", `
    flow: open
    signed: false
    request: {raw: "Hello, World!"}
    events: [{sig: ""}]`, []string{`signed: flow "open" has no verify block, so its requests are not signed; remove signed:`}},
		{"a secret that is not used", `
    flow: github
    registration: {secret: s3}
    secret: s4
    signed: false
    request: {raw: "Hello, World!"}
    response: {status: 401}`, []string{"secret: is not used: signed: false sends the request unsigned"}},
		{"signed with the old secret while rotating", `
    flow: rotating
    registration: {secret: new, old_secret: "It's a Secret to Everybody"}
    secret: "It's a Secret to Everybody"
    request: {raw: "Hello, World!"}
    events: [{sig: "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}]`, nil},
		{"signed with a secret of neither", `
    flow: rotating
    registration: {secret: new, old_secret: old}
    secret: "It's a Secret to Everybody"
    request: {raw: "Hello, World!"}
    response: {status: 401}`, nil},
		{"signed on a register case", `
    flow: github
    signed: true
    outputs: {secret: x}`, []string{"signed: only a delivery (request:) is signed"}},
		{"no secret to sign with", `
    flow: github
    registration: {secret: ""}
    request: {raw: "Hello, World!"}
    events: []`, []string{"flow failed: delivery answered 500: verify is misconfigured: refusing to verify with an empty secret"}},
		{"a malformed JSON body is 400", `
    flow: github
    registration: {secret: s3}
    request: {headers: {content-type: application/json}, raw: "{\"action\": "}
    response: {status: 400, body: {error: malformed body}}`, nil},
		{"an empty JSON body is 400", `
    flow: github
    registration: {secret: s3}
    request: {headers: {content-type: application/json}, raw: ""}
    error: "the body is empty, but Content-Type application/json says JSON"`, nil},
	}
	var b strings.Builder
	b.WriteString("flowrun: 1\ntests:\n")
	lines := map[string]int{} // "case/key" -> line in the file
	line := 3
	for _, c := range cases {
		fmt.Fprintf(&b, "  - name: %s%s\n", c.name, c.body)
		for i, l := range strings.Split(c.body, "\n")[1:] {
			k, _, _ := strings.Cut(strings.TrimSpace(l), ":")
			lines[c.name+"/"+k] = line + i + 1
		}
		line += strings.Count(c.body, "\n") + 1
	}
	files["tests/cases.yaml"] = b.String()
	rep, out := runCase(t, writeProject(t, files), Options{})
	if len(rep.Cases) != len(cases) {
		t.Fatalf("%d results\n%s", len(rep.Cases), out)
	}
	for i, c := range cases {
		var got, want []string // summaries; a secret: or signed: one must point at its key
		for _, f := range rep.Cases[i].Failures {
			got = append(got, f.Summary)
			if strings.HasPrefix(f.Summary, "secret:") || strings.HasPrefix(f.Summary, "signed:") {
				key, _, _ := strings.Cut(f.Summary, ":")
				if f.Pos.Line != lines[c.name+"/"+key] || f.Pos.Col != 5 || !strings.HasSuffix(f.Pos.File, "cases.yaml") {
					t.Errorf("%s: failure at %s, want cases.yaml:%d:5", c.name, f.Pos, lines[c.name+"/"+key])
				}
			}
		}
		want = c.want
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: failures\n%s\nwant\n%s\n%s", c.name, strings.Join(got, "\n"), strings.Join(want, "\n"), out)
		}
	}
}
