package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/example/gqlauth/auth"
)

// mailMetrics observe the outbox: what happened to each mail, how many wait, and for how long
// the oldest has been waiting (a growing age is an SMTP outage).
type mailMetrics struct {
	outcomes  *prometheus.CounterVec
	queued    prometheus.Gauge
	oldestAge prometheus.Gauge
}

// NewMail registers the outbox metrics and returns their hooks.
func (m *Metrics) NewMail() *MailMetrics {
	mm := &MailMetrics{mailMetrics{
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auth_mail_total",
			Help: "Outbox mails by outcome: sent, failed (given up), dropped (nobody to write to), retry (a failed attempt, to be retried).",
		}, []string{"outcome"}),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "auth_mail_queued",
			Help: "Mails waiting in the outbox (all instances).",
		}),
		oldestAge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "auth_mail_oldest_queued_age_seconds",
			Help: "Age of the oldest mail waiting in the outbox; 0 when none waits.",
		}),
	}}
	for _, o := range []string{"sent", "failed", "dropped", "retry"} {
		mm.outcomes.WithLabelValues(o)
	}
	m.registry.MustRegister(mm.outcomes, mm.queued, mm.oldestAge)
	return mm
}

// MailMetrics are the outbox's hooks.
type MailMetrics struct{ mailMetrics }

// ObserveMail is auth.MailConfig.OnMail.
func (mm *MailMetrics) ObserveMail(s auth.MailStatus) {
	outcome := string(s)
	if s == auth.MailQueued {
		outcome = "retry"
	}
	mm.outcomes.WithLabelValues(outcome).Inc()
}

// Run sets the queue gauges from stats every interval until ctx ends (at once first).
func (mm *MailMetrics) Run(ctx context.Context, stats func(ctx context.Context) (int64, time.Time, error), interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		n, oldest, err := stats(cctx)
		cancel()
		if err == nil {
			mm.queued.Set(float64(n))
			age := 0.0
			if !oldest.IsZero() {
				age = max(0, time.Since(oldest).Seconds())
			}
			mm.oldestAge.Set(age)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
