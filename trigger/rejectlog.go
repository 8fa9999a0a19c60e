package trigger

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// DefaultRejectEvery is how often, at most, the host logs the refused
// deliveries of one trigger when Host.RejectEvery is 0.
const DefaultRejectEvery = time.Minute

// rejectLog keeps refused deliveries (4xx: bad signatures, bodies too large,
// malformed bodies) from flooding the log: per trigger, the first refusal of
// an interval is logged in full, the rest are counted by reason and logged
// as one summary line when the interval is over.
type rejectLog struct {
	mu      sync.Mutex
	every   time.Duration
	logf    func(format string, args ...any)
	buckets map[string]*rejectBucket // by trigger id
}

type rejectBucket struct {
	start  time.Time
	counts map[string]int // by reason, after the first
}

// note records one refused delivery of trigger at now.
func (l *rejectLog) note(now time.Time, trigger, reason, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[trigger]
	if b != nil && now.Sub(b.start) < l.every {
		b.counts[reason]++
		return
	}
	if b != nil {
		l.summary(trigger, b, now)
	}
	l.buckets[trigger] = &rejectBucket{start: now, counts: map[string]int{}}
	l.logf("trigger %s: %s (more refusals within %s are counted and summed up)", trigger, msg, l.every)
}

// flush logs the summary of every interval that is over at now (all: of
// every interval, as when the host stops).
func (l *rejectLog) flush(now time.Time, all bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, b := range l.buckets {
		if all || now.Sub(b.start) >= l.every {
			l.summary(id, b, now)
			delete(l.buckets, id)
		}
	}
}

func (l *rejectLog) summary(trigger string, b *rejectBucket, now time.Time) {
	total := 0
	reasons := make([]string, 0, len(b.counts))
	for r, n := range b.counts {
		total += n
		reasons = append(reasons, r)
	}
	if total == 0 {
		return
	}
	sort.Slice(reasons, func(i, j int) bool {
		if b.counts[reasons[i]] != b.counts[reasons[j]] {
			return b.counts[reasons[i]] > b.counts[reasons[j]]
		}
		return reasons[i] < reasons[j]
	})
	parts := make([]string, len(reasons))
	for i, r := range reasons {
		parts[i] = fmt.Sprintf("%s %d", r, b.counts[r])
	}
	l.logf("trigger %s: %d more deliveries refused in %s: %s", trigger, total, now.Sub(b.start).Round(time.Second), strings.Join(parts, ", "))
}

// rejects is the host's rejectLog, made on first use.
func (h *Host) rejects() *rejectLog {
	h.rejectMu.Lock()
	defer h.rejectMu.Unlock()
	if h.rejectLog == nil {
		every := h.RejectEvery
		if every <= 0 {
			every = DefaultRejectEvery
		}
		h.rejectLog = &rejectLog{every: every, logf: h.logf, buckets: map[string]*rejectBucket{}}
	}
	return h.rejectLog
}
