// Package metrics exposes sdproxy's Prometheus metrics (names sdproxy_*).
// Request metrics are fed from the event log's writer, off the request
// path, so the proxy's hot path does no metrics work.
package metrics

import (
	"regexp"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/sdproxy/sdproxy/events"
)

// Queue is what the metrics read of the event log.
type Queue interface {
	QueueDepth() int
	Dropped() uint64
	Written() uint64
	SinkDropped() uint64
}

// Metrics holds the collectors of one process.
type Metrics struct {
	reg            *prometheus.Registry
	requests       *prometheus.CounterVec
	latency        *prometheus.HistogramVec
	upstream       prometheus.Histogram
	fields         *prometheus.CounterVec
	rateLimited    *prometheus.CounterVec
	upstreamErrors *prometheus.CounterVec
	respValues     prometheus.Counter
	untransformed  prometheus.Counter

	// The children of the vectors ObserveRequest uses, by their labels:
	// looking them up in a vector hashes and validates every label value,
	// for every request. mu also makes an observation and the dropping of
	// a deleted project's series (dropGone) happen one after the other.
	mu     sync.Mutex
	byReq  map[reqLabels]prometheus.Counter
	byMode map[string]modeChildren
	// projects are those that have series; exists (WatchProjects) says
	// which of them still exist.
	projects map[string]struct{}
	exists   func(project string) bool
}

type reqLabels struct {
	project, mode string
	status        int
}

type modeChildren struct {
	latency prometheus.Observer
	fields  prometheus.Counter
}

// liveHeap adds go_gc_heap_live_bytes to the Go runtime's metrics: the
// heap the last garbage collection found live. Unlike the heap in use or
// the RSS, it does not swing with where a collection cycle is, so it is
// the figure to watch for a leak.
var liveHeap = collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/gc/heap/live:bytes$`)}

// durationBuckets are the buckets of the duration histograms, in seconds:
// from 100 µs (a transform answered directly) to 30 s (the upstream
// timeout).
var durationBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// New registers sdproxy's metrics, plus Go runtime and process metrics,
// on a fresh registry. The event log, built after the metrics it reports
// to, adds its queue's with WatchQueue.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sdproxy_requests_total", Help: "Data-plane requests by project, mode and HTTP status.",
		}, []string{"project", "mode", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sdproxy_request_duration_seconds", Help: "Data-plane request latency, including the upstream.",
			Buckets: durationBuckets,
		}, []string{"mode"}),
		upstream: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sdproxy_upstream_duration_seconds", Help: "Time upstreams took to answer forwarded requests, from sending the request until the answer was read.",
			Buckets: durationBuckets,
		}),
		fields: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sdproxy_fields_transformed_total", Help: "Field paths named in successful requests, by mode.",
		}, []string{"mode"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sdproxy_rate_limited_total", Help: "Requests refused 429 rate_limited by their key's rate limit, by project (decrypt budget refusals are not counted).",
		}, []string{"project"}),
		upstreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sdproxy_upstream_errors_total", Help: "Requests whose upstream was unreachable (502) or too slow (504).",
		}, []string{"project", "status"}),
	}
	m.respValues = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "sdproxy_response_values_total", Help: "Values of upstream answers transformed by the response phase (routes, X-Qanapi-Response-Fields).",
	})
	m.untransformed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "sdproxy_untransformed_values_total", Help: "Tokens in upstream answers left as they were: not openable by the key or the project.",
	})
	m.reg.MustRegister(m.requests, m.latency, m.upstream, m.fields, m.rateLimited, m.upstreamErrors, m.respValues, m.untransformed,
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(liveHeap)),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// WatchAuthFailures exports sdproxy_auth_failures_total, read at each
// scrape from total: failed authentications are not request events (they
// are summarised), so they are counted where they happen.
//
// admin, when not nil, exports sdproxy_admin_auth_failures_total: failed
// attempts at the admin token.
func (m *Metrics) WatchAuthFailures(total, admin func() float64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "sdproxy_auth_failures_total", Help: "Failed authentications on the data listener (answered 401, or 429 past the client IP's budget).",
	}, total))
	if admin != nil {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "sdproxy_admin_auth_failures_total", Help: "Failed attempts at the admin token on the admin listener (answered 401, or 429 past the client IP's budget).",
		}, admin))
	}
}

// WatchQueue exports the event log's queue depth and its written and
// dropped counts, read at each scrape. Call it once.
func (m *Metrics) WatchQueue(q Queue) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sdproxy_event_queue_depth", Help: "Events waiting to be written."},
			func() float64 { return float64(q.QueueDepth()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sdproxy_events_dropped_total", Help: "Events dropped because the queue was full (65,536 events or 32 MiB of their request data; failed writes stay queued and are retried) or because they were still unwritten at a stop."},
			func() float64 { return float64(q.Dropped()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sdproxy_events_written_total", Help: "Events written to the event log."},
			func() float64 { return float64(q.Written()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sdproxy_event_sink_dropped_total", Help: "Event lines not copied to the events sink because it was not taking them (the event log holds their events)."},
			func() float64 { return float64(q.SinkDropped()) }),
	)
}

// WatchProjects has the series labelled with a project that no longer
// exists (deleted here, by another instance or by apply --prune) dropped
// at each scrape, so that a deleted project's series do not stay until
// a restart. exists must be cheap: it is called for each project with
// series at every scrape.
func (m *Metrics) WatchProjects(exists func(project string) bool) {
	m.mu.Lock()
	m.exists = exists
	m.mu.Unlock()
}

// ObserveRequest counts one data-plane request (called by the event
// log's writer).
func (m *Metrics) ObserveRequest(r *events.Request) {
	mode := r.Mode
	// Held throughout: only the writer observes, so it waits only for a
	// scrape dropping the series of deleted projects, which must not
	// miss a series this creates.
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.byReq == nil {
		m.byReq, m.byMode, m.projects = map[reqLabels]prometheus.Counter{}, map[string]modeChildren{}, map[string]struct{}{}
	}
	k := reqLabels{r.ProjectID, mode, r.Status}
	requests, ok := m.byReq[k]
	if !ok {
		requests = m.requests.WithLabelValues(r.ProjectID, mode, strconv.Itoa(r.Status))
		m.byReq[k] = requests
		if r.ProjectID != "" { // "" is no project (a 404 off /proxy/): never one deleted
			m.projects[r.ProjectID] = struct{}{}
		}
	}
	mc, ok := m.byMode[mode]
	if !ok {
		mc = modeChildren{m.latency.WithLabelValues(mode), m.fields.WithLabelValues(mode)}
		m.byMode[mode] = mc
	}
	requests.Inc()
	mc.latency.Observe(r.Latency.Seconds())
	if r.Upstream > 0 {
		m.upstream.Observe(r.Upstream.Seconds())
	}
	switch {
	case r.Status < 400:
		if n := r.FieldCount(); n > 0 {
			mc.fields.Add(float64(n))
		}
	case r.RateLimited:
		m.rateLimited.WithLabelValues(r.ProjectID).Inc()
	case r.Status == 502 || r.Status == 504:
		m.upstreamErrors.WithLabelValues(r.ProjectID, strconv.Itoa(r.Status)).Inc()
	}
	if r.ResponseValues > 0 {
		m.respValues.Add(float64(r.ResponseValues))
	}
	if r.Untransformed > 0 {
		m.untransformed.Add(float64(r.Untransformed))
	}
}

// dropGone deletes the series of the projects that no longer exist
// (see WatchProjects). A request of such a project observed later (its
// event was still queued) brings its series back until the next scrape.
func (m *Metrics) dropGone() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.exists == nil {
		return
	}
	for p := range m.projects {
		if m.exists(p) {
			continue
		}
		delete(m.projects, p)
		for k := range m.byReq {
			if k.project == p {
				delete(m.byReq, k)
			}
		}
		l := prometheus.Labels{"project": p}
		m.requests.DeletePartialMatch(l)
		m.rateLimited.DeletePartialMatch(l)
		m.upstreamErrors.DeletePartialMatch(l)
	}
}

// Handler serves /metrics in the Prometheus text format.
func (m *Metrics) Handler() fasthttp.RequestHandler {
	h := fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	return func(ctx *fasthttp.RequestCtx) {
		m.dropGone()
		h(ctx)
	}
}
