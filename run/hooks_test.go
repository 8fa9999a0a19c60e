package run

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"
)

// A Runner's UUID and TraceNow make uuid() and trace times, for hosts that
// replay runs (engine/temporal); without them uuid() is random.
func TestUUIDAndTraceClockHooks(t *testing.T) {
	flow := "name: main\ntype: action\noutputs: {a: string, b: string}\nsteps:\n  - set: {a: \"${ uuid() }\"}\n  - return:\n      a: ${ vars.a }\n      b: ${ uuid() }\n"
	p := loadProject(t, map[string]string{"flows/main.yaml": flow})
	r, _ := newTestRunner(p, nil)
	n := 0
	r.UUID = func() string { n++; return fmt.Sprintf("u-%d", n) }
	clock := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	r.TraceNow = func() time.Time { clock = clock.Add(time.Second); return clock }
	var evs []TraceEvent
	r.Trace = func(ev TraceEvent) { evs = append(evs, ev) }
	out, err := r.Run(context.Background(), "main", nil)
	if err != nil {
		t.Fatal(err)
	}
	if out["a"] != "u-1" || out["b"] != "u-2" {
		t.Fatalf("outputs %v", out)
	}
	if len(evs) != 2 || evs[0].Start != time.Date(2030, 1, 1, 0, 0, 1, 0, time.UTC) || evs[0].Duration != time.Second {
		t.Fatalf("trace events %+v", evs)
	}
	r.UUID, r.TraceNow = nil, nil
	out, err = r.Run(context.Background(), "main", nil)
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if err != nil || !re.MatchString(out["a"].(string)) || out["a"] == out["b"] {
		t.Fatalf("outputs %v, error %v", out, err)
	}
}
