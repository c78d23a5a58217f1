package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/example/gqlauth/auth"
)

// timedStore is an auth.Store that observes the duration of every call of the store it wraps.
// It costs a clock read and a histogram observation per call, and nothing on paths that do not
// reach the store (an authorised `me` answers from the auth service's in-memory view).
//
// Its methods and storeMethods, the values of auth_store_duration_seconds' method label, are
// generated from auth.Store (store_timed_gen.go): every method but Close is timed.
//
//go:generate go run github.com/example/gqlauth/internal/cmd/storewrap -kind timed -src ../auth -qualify github.com/example/gqlauth/auth -o store_timed_gen.go -skip Close
type timedStore struct {
	inner auth.Store
	obs   map[string]prometheus.Observer // fixed after construction; read-only
}

// InstrumentStore returns s with every call timed in auth_store_duration_seconds{method}.
// It forwards no optional interface of s: pass it as auth.Config.WrapStore, which reads them first.
func (m *Metrics) InstrumentStore(s auth.Store) auth.Store {
	t := &timedStore{inner: s, obs: make(map[string]prometheus.Observer, len(storeMethods))}
	for _, name := range storeMethods {
		t.obs[name] = m.storeDuration.WithLabelValues(name)
	}
	return t
}

// done observes the time since start under method; use as `defer t.done("X", time.Now())`.
func (t *timedStore) done(method string, start time.Time) {
	t.obs[method].Observe(time.Since(start).Seconds())
}
