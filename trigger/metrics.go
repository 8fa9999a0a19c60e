package trigger

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are serve's Prometheus metrics, exposed at /metrics on the
// webhook listener (see NewMetrics). A nil *Metrics records nothing.
type Metrics struct {
	reg        *prometheus.Registry
	deliveries *prometheus.CounterVec   // flowrun_webhook_deliveries_total{trigger,outcome}
	runs       *prometheus.CounterVec   // flowrun_runs_total{source,outcome,connection}
	runSecs    *prometheus.HistogramVec // flowrun_run_duration_seconds{source}
	pollSecs   prometheus.Histogram     // flowrun_poll_duration_seconds
	events     prometheus.Counter       // flowrun_events_delivered_total
	sinkSecs   prometheus.Histogram     // flowrun_sink_duration_seconds
	sinkErrs   prometheus.Counter       // flowrun_sink_errors_total
	inflight   prometheus.Gauge         // flowrun_inflight_runs (the queue depth)
	paused     prometheus.Gauge         // flowrun_paused_triggers
}

// NewMetrics makes the metrics with their own registry, which also holds
// the Go runtime and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "flowrun_webhook_deliveries_total",
		Help: "Webhook deliveries by trigger and outcome (ok, replayed, rejected, error)."}, []string{"trigger", "outcome"})
	m.runs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "flowrun_runs_total",
		Help: "Runs recorded by source (webhook, poll, replay), outcome (ok, error) and connection."}, []string{"source", "outcome", "connection"})
	m.runSecs = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "flowrun_run_duration_seconds",
		Help: "Duration of runs by source.", Buckets: prometheus.DefBuckets}, []string{"source"})
	m.pollSecs = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "flowrun_poll_duration_seconds",
		Help: "Latency of poll runs, from start to commit.", Buckets: prometheus.DefBuckets})
	m.events = prometheus.NewCounter(prometheus.CounterOpts{Name: "flowrun_events_delivered_total",
		Help: "Events handed to the sink after dedupe."})
	m.sinkSecs = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "flowrun_sink_duration_seconds",
		Help: "Latency of sink writes.", Buckets: prometheus.DefBuckets})
	m.sinkErrs = prometheus.NewCounter(prometheus.CounterOpts{Name: "flowrun_sink_errors_total",
		Help: "Sink writes that failed."})
	m.inflight = prometheus.NewGauge(prometheus.GaugeOpts{Name: "flowrun_inflight_runs",
		Help: "Deliveries and polls being handled now (the work queue's depth)."})
	m.paused = prometheus.NewGauge(prometheus.GaugeOpts{Name: "flowrun_paused_triggers",
		Help: "Triggers paused or delayed by a failed run's error code."})
	m.reg.MustRegister(m.deliveries, m.runs, m.runSecs, m.pollSecs, m.events, m.sinkSecs, m.sinkErrs, m.inflight, m.paused,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Registry is the registry the metrics are in (for tests and embedding).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

func (m *Metrics) delivery(t *Trigger, outcome string) {
	if m == nil {
		return
	}
	m.deliveries.WithLabelValues(t.ID, outcome).Inc()
}

func (m *Metrics) run(source, connection string, d time.Duration, events int, err error) {
	if m == nil {
		return
	}
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.runs.WithLabelValues(source, outcome, connection).Inc()
	m.runSecs.WithLabelValues(source).Observe(d.Seconds())
	if source == "poll" {
		m.pollSecs.Observe(d.Seconds())
	}
}

func (m *Metrics) sink(d time.Duration, events int, err error) {
	if m == nil {
		return
	}
	m.sinkSecs.Observe(d.Seconds())
	if err != nil {
		m.sinkErrs.Inc()
		return
	}
	m.events.Add(float64(events))
}

func (m *Metrics) busy(delta float64) {
	if m == nil {
		return
	}
	m.inflight.Add(delta)
}

func (m *Metrics) setPaused(n int) {
	if m == nil {
		return
	}
	m.paused.Set(float64(n))
}

func (h *Host) metrics() *Metrics { return h.Metrics }
