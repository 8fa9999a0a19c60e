package flowtest

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// The JUnit XML report follows the Jenkins xunit plugin's junit-10.xsd:
// <testsuites> holds a <testsuite> per test file (name, tests, failures and
// errors required; skipped, time, timestamp, file optional), each with a
// <testcase> per case (name required; classname, time), holding <failure>
// or <skipped> (message, type) as need be.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	File      string      `xml:"file,attr,omitempty"`
	Cases     []junitCase `xml:"testcase"`

	dur time.Duration
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut *junitText    `xml:"system-out,omitempty"`
}

type junitText struct {
	Text string `xml:",cdata"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",cdata"`
}

// seconds formats a duration as JUnit's time: seconds with three decimals.
func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// WriteJUnit writes the reports as one JUnit XML document: a testsuite per
// test file, a testcase per case.
func WriteJUnit(w io.Writer, reports ...*Report) error {
	doc := junitSuites{Name: "flowrun test"}
	var total time.Duration
	for _, rep := range reports {
		total += rep.Duration
		var cur *junitSuite
		for _, r := range rep.Cases {
			if cur == nil || cur.Name != r.File {
				doc.Suites = append(doc.Suites, junitSuite{Name: r.File, File: r.File,
					Timestamp: rep.Started.UTC().Format("2006-01-02T15:04:05")})
				cur = &doc.Suites[len(doc.Suites)-1]
			}
			class := r.Suite
			if rep.Connector != "" {
				class = rep.Connector + "." + strings.ReplaceAll(r.Suite, "/", ".")
			}
			jc := junitCase{Name: r.Name, Classname: class, Time: seconds(r.Duration)}
			cur.Tests++
			doc.Tests++
			switch r.Status {
			case Failed:
				cur.Failures++
				doc.Failures++
				var msgs, details []string
				for _, f := range r.Failures {
					msgs = append(msgs, f.Summary)
					details = append(details, f.String())
				}
				jc.Failure = &junitMessage{Message: strings.Join(msgs, "; "), Type: "failure", Text: strings.Join(details, "\n") + "\n"}
			case Skipped:
				cur.Skipped++
				jc.Skipped = &junitMessage{Message: r.SkipReason}
			}
			if len(r.Log) > 0 {
				jc.SystemOut = &junitText{strings.Join(r.Log, "\n") + "\n"}
			}
			cur.dur += r.Duration
			cur.Cases = append(cur.Cases, jc)
		}
	}
	for i := range doc.Suites {
		doc.Suites[i].Time = seconds(doc.Suites[i].dur)
	}
	doc.Time = seconds(total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
