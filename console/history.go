package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/flowrun/flowrun/run"
	"github.com/flowrun/flowrun/trigger"
)

// The run history of a state store (flowrun serve's deliveries and polls,
// flowrun run --state) is shown beside the runs started from the console:
// its runs have ids "s<N>", the console's plain numbers.

const storePrefix = "s"

// fromRecord turns a stored run into the console's view of a run.
func fromRecord(rec *trigger.RunRecord) *Run {
	rn := &Run{ID: storePrefix + strconv.FormatInt(rec.ID, 10), Project: rec.Project, Flow: rec.Flow, Start: rec.Started,
		Duration: rec.Duration, Status: "ok", Error: rec.Error, Trigger: rec.TriggerID, Connection: rec.Connection, Source: rec.Source, Events: rec.Events,
		StepsDropped: rec.StepsDropped, Replayable: rec.Replayable}
	if rec.Status != "ok" {
		rn.Status = "failed"
	}
	for _, st := range rec.Steps {
		rn.Steps = append(rn.Steps, run.TraceEvent{Flow: st.Flow, Step: st.Step, Kind: st.Kind, Pos: st.Pos, Depth: st.Depth, Nest: st.Nest,
			Start: st.Started, Duration: st.Duration, Method: st.Method, URL: st.URL, Status: st.Status, Message: st.Message, Error: st.Error,
			Input: rawValue(st.Input), Output: rawValue(st.Output)})
	}
	return rn
}

// rawValue decodes a stored step value for display; a value cut at its
// size limit is shown as the text that was kept.
func rawValue(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return string(b)
	}
	return v
}

// storeRuns lists the stored runs the filter selects, newest first.
func (s *Server) storeRuns(ctx context.Context, q url.Values, limit int) ([]*Run, error) {
	if s.cfg.Store == nil {
		return nil, nil
	}
	recs, err := s.cfg.Store.ListRuns(ctx, trigger.RunFilter{TriggerID: q.Get("trigger"), Flow: q.Get("flow"), Failed: q.Get("failed") != "", Limit: limit})
	if err != nil {
		return nil, err
	}
	out := make([]*Run, 0, len(recs))
	for i := range recs {
		out = append(out, fromRecord(&recs[i]))
	}
	return out, nil
}

// storeRun returns a stored run by its console id ("s12"), or nil.
func (s *Server) storeRun(ctx context.Context, id string) (*Run, error) {
	n, ok := strings.CutPrefix(id, storePrefix)
	if !ok || s.cfg.Store == nil {
		return nil, nil
	}
	i, err := strconv.ParseInt(n, 10, 64)
	if err != nil {
		return nil, nil
	}
	rec, err := s.cfg.Store.GetRun(ctx, i)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", id, err)
	}
	return fromRecord(rec), nil
}

// mergeRuns puts two lists of runs, each newest first, into one.
func mergeRuns(a, b []*Run) []*Run {
	out := append(append([]*Run{}, a...), b...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.After(out[j].Start) })
	return out
}
