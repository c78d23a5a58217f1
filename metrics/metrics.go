// Package metrics exposes the service's Prometheus metrics. It observes through hooks (an
// auth.EventSink, the hasher's wait callback, the GraphQL operation callback) so the domain
// and the GraphQL adapter do not import Prometheus.
package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/example/gqlauth/auth"
)

// Metrics holds the collectors of one process.
type Metrics struct {
	registry      *prometheus.Registry
	operations    *prometheus.HistogramVec
	events        *prometheus.CounterVec
	loginFailures *prometheus.CounterVec
	bcryptWait    prometheus.Histogram

	// operations.go: store latency, live sessions, ended sessions, housekeeping
	storeDuration *prometheus.HistogramVec
	liveSessions  prometheus.Gauge
	sessionsEnded *prometheus.CounterVec
	purged        *prometheus.CounterVec
}

// New registers the service's collectors and the Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		operations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "graphql_operation_duration_seconds",
			Help:    "GraphQL operations by type and root field (schema-bounded; invalid documents are labelled invalid).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"type", "operation", "outcome"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auth_events_total",
			Help: "Security events by type (LOGIN, LOGIN_FAILED, LOGOUT, SESSION_REVOKED, REFRESH_TOKEN_REUSE, RATE_LIMITED, ...).",
		}, []string{"event"}),
		loginFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auth_login_failures_total",
			Help: "Failed logins by reason.",
		}, []string{"reason"}),
		bcryptWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "auth_bcrypt_queue_wait_seconds",
			Help:    "Time a password hash or comparison waited for a bcrypt slot.",
			Buckets: []float64{.0001, .001, .01, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
	}
	m.registry.MustRegister(m.operations, m.events, m.loginFailures, m.bcryptWait,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.registerOperational()
	return m
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// Register adds further collectors (for example a store's gauges).
func (m *Metrics) Register(c ...prometheus.Collector) { m.registry.MustRegister(c...) }

// Publish implements auth.EventSink: counts each security event.
func (m *Metrics) Publish(_ context.Context, e auth.Event) {
	m.events.WithLabelValues(string(e.Type)).Inc()
	if e.Type == auth.EventLoginFailed {
		m.loginFailures.WithLabelValues(e.Reason).Inc()
	}
	m.countSessionEnd(e)
}

// ObserveBcryptWait is the hasher's wait callback.
func (m *Metrics) ObserveBcryptWait(d time.Duration) { m.bcryptWait.Observe(d.Seconds()) }

// ObserveOperation records one GraphQL operation. opType and operation come from the schema
// (root field names), never from client-chosen operation names, so the label set is bounded.
func (m *Metrics) ObserveOperation(opType, operation string, failed bool, d time.Duration) {
	outcome := "ok"
	if failed {
		outcome = "error"
	}
	m.operations.WithLabelValues(opType, operation, outcome).Observe(d.Seconds())
}
