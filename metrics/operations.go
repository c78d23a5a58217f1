package metrics

import (
	"context"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/example/gqlauth/auth"
)

// endReasons are the values of auth_sessions_ended_total's reason label; anything else is
// counted as "other", so the label set stays bounded.
var endReasons = map[string]bool{
	auth.EndLogout: true, auth.EndLogoutAll: true, auth.EndRevoked: true, auth.EndPasswordChange: true,
	auth.EndUserDisabled: true, auth.EndTokenReuse: true, auth.EndAdminRevoked: true,
}

func (m *Metrics) registerOperational() {
	m.storeDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "auth_store_duration_seconds",
		Help:    "Duration of database calls by store method.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"method"})
	m.liveSessions = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "auth_live_sessions",
		Help: "Sessions neither ended nor expired, in the whole database (every instance reports the same count; refreshed every 15 s).",
	})
	m.sessionsEnded = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "auth_sessions_ended_total",
		Help: "Sessions ended by this instance, by reason (logout, logout_all, revoked, password_changed, user_disabled, refresh_token_reuse, admin_revoked).",
	}, []string{"reason"})
	m.purged = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "auth_housekeeping_purged_rows_total",
		Help: "Rows deleted by housekeeping, by table (sessions with their refresh tokens, changes, audit, passkey_challenges).",
	}, []string{"table"})
	m.registry.MustRegister(m.storeDuration, m.liveSessions, m.sessionsEnded, m.purged)
	for r := range endReasons {
		m.sessionsEnded.WithLabelValues(r) // every reason shows, at 0, from the start
	}
	for _, table := range []string{"sessions", "changes", "audit", "passkey_challenges"} {
		m.purged.WithLabelValues(table)
	}
}

// countSessionEnd counts the events that end a session. Their Reason starts with how it
// ended (auth.End*), possibly followed by who ended it.
func (m *Metrics) countSessionEnd(e auth.Event) {
	switch e.Type {
	case auth.EventLogout, auth.EventSessionRevoked, auth.EventRefreshReuse:
	default:
		return
	}
	reason, _, _ := strings.Cut(e.Reason, " ")
	if !endReasons[reason] {
		reason = "other"
	}
	m.sessionsEnded.WithLabelValues(reason).Inc()
}

// ObservePurged is the auth service's housekeeping callback (auth.Config.OnPurged).
func (m *Metrics) ObservePurged(table string, n int64) {
	m.purged.WithLabelValues(table).Add(float64(n))
}

// RunLiveSessions sets auth_live_sessions from count every interval until ctx ends (at once
// first). A failed count leaves the last value.
func (m *Metrics) RunLiveSessions(ctx context.Context, count func(ctx context.Context, now time.Time) (int64, error), interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		n, err := count(cctx, time.Now())
		cancel()
		if err == nil {
			m.liveSessions.Set(float64(n))
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
