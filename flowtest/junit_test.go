package flowtest

import (
	"bytes"
	"encoding/xml"
	"regexp"
	"strconv"
	"testing"
)

// The structs below follow the Jenkins xunit plugin's JUnit schema
// (src/main/resources/org/jenkinsci/plugins/xunit/types/model/xsd/junit-10.xsd):
// every element and attribute it declares, and a catch-all for anything
// else, so the test can refuse what the schema does not allow.

type xsdTestsuites struct {
	XMLName  xml.Name       `xml:"testsuites"`
	Name     *string        `xml:"name,attr"`
	Time     *string        `xml:"time,attr"` // SUREFIRE_TIME
	Tests    *string        `xml:"tests,attr"`
	Failures *string        `xml:"failures,attr"`
	Errors   *string        `xml:"errors,attr"`
	Other    []xml.Attr     `xml:",any,attr"`
	Suites   []xsdTestsuite `xml:"testsuite"`
	Unknown  []xsdAny       `xml:",any"`
}

type xsdTestsuite struct {
	Name      *string        `xml:"name,attr"`     // required
	Tests     *string        `xml:"tests,attr"`    // required
	Failures  *string        `xml:"failures,attr"` // required
	Errors    *string        `xml:"errors,attr"`   // required
	Group     *string        `xml:"group,attr"`
	Time      *string        `xml:"time,attr"` // SUREFIRE_TIME
	Skipped   *string        `xml:"skipped,attr"`
	Timestamp *string        `xml:"timestamp,attr"`
	Hostname  *string        `xml:"hostname,attr"`
	ID        *string        `xml:"id,attr"`
	Package   *string        `xml:"package,attr"`
	File      *string        `xml:"file,attr"`
	Log       *string        `xml:"log,attr"`
	URL       *string        `xml:"url,attr"`
	Other     []xml.Attr     `xml:",any,attr"`
	Suites    []xsdTestsuite `xml:"testsuite"`
	Props     []xsdAny       `xml:"properties"`
	Cases     []xsdTestcase  `xml:"testcase"`
	SystemOut []string       `xml:"system-out"`
	SystemErr []string       `xml:"system-err"`
	Unknown   []xsdAny       `xml:",any"`
}

type xsdTestcase struct {
	Name      *string      `xml:"name,attr"` // required
	Time      *string      `xml:"time,attr"`
	Classname *string      `xml:"classname,attr"`
	Group     *string      `xml:"group,attr"`
	Other     []xml.Attr   `xml:",any,attr"`
	Skipped   []xsdMessage `xml:"skipped"`
	Error     []xsdMessage `xml:"error"`
	Failure   []xsdMessage `xml:"failure"`
	SystemOut []string     `xml:"system-out"`
	SystemErr []string     `xml:"system-err"`
	Unknown   []xsdAny     `xml:",any"`
}

type xsdMessage struct {
	Type    *string    `xml:"type,attr"`
	Message *string    `xml:"message,attr"`
	Other   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
}

type xsdAny struct {
	XMLName xml.Name
}

// surefireTime is junit-10.xsd's SUREFIRE_TIME pattern, anchored.
var surefireTime = regexp.MustCompile(`^(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]*)?$`)

func TestJUnitFollowsJenkinsSchema(t *testing.T) {
	p := writeProject(t, map[string]string{
		"tests/a.yaml": `flowrun: 1
tests:
  - name: passes
    flow: twice
    http:
      - request: {path: /api/v2/a}
        times: 2
      - request: {method: POST}
    outputs: {n: 2}
  - name: fails <&> "quoted" ]]> end
    flow: twice
    http:
      - request: {path: /api/v2/a}
        times: 2
      - request: {method: POST}
    outputs: {n: 3}
  - name: skipped
    flow: twice
    skip: later
`,
		"tests/sub/b.yaml": `flowrun: 1
tests:
  - name: passes too
    flow: twice
    http:
      - request: {path: /api/v2/a}
        times: 2
      - request: {method: POST}
    outputs: {n: 2}
`,
	})
	rep, _ := runCase(t, p, Options{Verbose: true})
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, rep, &Report{}); err != nil {
		t.Fatal(err)
	}
	var doc xsdTestsuites
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, buf.String())
	}
	bad := func(format string, args ...any) {
		t.Helper()
		t.Errorf(format+"\n%s", append(args, buf.String())...)
	}
	count := func(what string, s *string) int {
		t.Helper()
		if s == nil {
			bad("%s: missing", what)
			return -1
		}
		n, err := strconv.Atoi(*s)
		if err != nil {
			bad("%s: %q is not a number", what, *s)
		}
		return n
	}
	checkTime := func(what string, s *string) {
		t.Helper()
		if s != nil && !surefireTime.MatchString(*s) {
			bad("%s: time %q does not match SUREFIRE_TIME", what, *s)
		}
	}
	if len(doc.Other) > 0 || len(doc.Unknown) > 0 {
		bad("testsuites: attributes %v or elements %v the schema does not declare", doc.Other, doc.Unknown)
	}
	checkTime("testsuites", doc.Time)
	var tests, failures, skipped int
	for _, s := range doc.Suites {
		if s.Name == nil {
			bad("testsuite without name")
			continue
		}
		what := "testsuite " + *s.Name
		nt, nf, ne := count(what+" tests", s.Tests), count(what+" failures", s.Failures), count(what+" errors", s.Errors)
		ns := 0
		if s.Skipped != nil {
			ns = count(what+" skipped", s.Skipped)
		}
		checkTime(what, s.Time)
		if len(s.Other) > 0 || len(s.Unknown) > 0 {
			bad("%s: attributes %v or elements %v the schema does not declare", what, s.Other, s.Unknown)
		}
		if nt != len(s.Cases) || ne != 0 {
			bad("%s: tests=%d errors=%d for %d testcases", what, nt, ne, len(s.Cases))
		}
		var cf, cs int
		for _, c := range s.Cases {
			if c.Name == nil || *c.Name == "" {
				bad("%s: testcase without name", what)
				continue
			}
			checkTime(*c.Name, c.Time)
			if len(c.Other) > 0 || len(c.Unknown) > 0 {
				bad("testcase %s: attributes %v or elements %v the schema does not declare", *c.Name, c.Other, c.Unknown)
			}
			for _, m := range append(append(c.Failure, c.Skipped...), c.Error...) {
				if len(m.Other) > 0 {
					bad("testcase %s: failure/skipped attributes %v", *c.Name, m.Other)
				}
			}
			cf += len(c.Failure)
			cs += len(c.Skipped)
		}
		if cf != nf || cs != ns {
			bad("%s: failures=%d skipped=%d, but %d failure and %d skipped elements", what, nf, ns, cf, cs)
		}
		tests, failures, skipped = tests+nt, failures+nf, skipped+ns
	}
	if tests != 4 || failures != 1 || skipped != 1 || count("testsuites tests", doc.Tests) != 4 || count("testsuites failures", doc.Failures) != 1 {
		bad("counts: tests %d failures %d skipped %d", tests, failures, skipped)
	}
	// what the report says
	if len(doc.Suites) != 2 || *doc.Suites[1].Name != rep.Cases[3].File {
		bad("a testsuite per file, named by its path")
	}
	failed := doc.Suites[0].Cases[1]
	if *failed.Name != `fails <&> "quoted" ]]> end` || *failed.Classname != "acme.a" || *doc.Suites[1].Cases[0].Classname != "acme.sub.b" {
		bad("names and classnames")
	}
	if f := failed.Failure[0]; *f.Message != "outputs differ" || !bytes.Contains([]byte(f.Text), []byte(`-  "n": 3`)) {
		bad("the failure carries its message and diff")
	}
	if *doc.Suites[0].Cases[2].Skipped[0].Message != "later" {
		bad("the skipped element carries the reason")
	}
	if len(doc.Suites[0].Cases[0].SystemOut) != 1 {
		bad("-v logs go to system-out")
	}
}
