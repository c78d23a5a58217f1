package auth

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// keyUses records when API keys were used (APIKey.LastUsedAt) off the request path: a request
// only notes the use in memory; a background loop writes each key at most once per
// apiKeyTouchEvery, and the store's condition keeps several instances to the same rate.
type keyUses struct {
	store Store
	log   *slog.Logger
	now   func() time.Time

	mu      sync.Mutex
	written map[string]time.Time // key id → when its use was last queued for writing
	pending map[string]time.Time // key id → the use to write
	wake    chan struct{}
}

// maxKeyUses bounds both maps (about 100 bytes an entry); past it, uses are not recorded until
// the loop catches up and old entries are swept.
const maxKeyUses = 20_000

func newKeyUses(store Store, log *slog.Logger, now func() time.Time) *keyUses {
	return &keyUses{store: store, log: log, now: now,
		written: map[string]time.Time{}, pending: map[string]time.Time{}, wake: make(chan struct{}, 1)}
}

// used notes that key id was used at now. It never blocks on the store.
func (u *keyUses) used(id string, now time.Time) {
	u.mu.Lock()
	last, seen := u.written[id]
	if seen && now.Sub(last) < apiKeyTouchEvery {
		u.mu.Unlock()
		return
	}
	if len(u.written) >= maxKeyUses {
		u.sweep(now)
		if len(u.written) >= maxKeyUses {
			u.mu.Unlock()
			return
		}
	}
	u.written[id] = now
	u.pending[id] = now
	u.mu.Unlock()
	select {
	case u.wake <- struct{}{}:
	default:
	}
}

// sweep forgets keys not written for an interval (their next use is written again). Called
// with mu held.
func (u *keyUses) sweep(now time.Time) {
	for id, at := range u.written {
		if now.Sub(at) >= apiKeyTouchEvery {
			if _, waiting := u.pending[id]; !waiting {
				delete(u.written, id)
			}
		}
	}
}

// run writes noted uses until ctx ends, then once more (a clean stop loses none).
func (u *keyUses) run(ctx context.Context) {
	sweep := time.NewTicker(apiKeyTouchEvery)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			flush, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			u.flush(flush)
			cancel()
			return
		case <-u.wake:
			u.flush(ctx)
		case <-sweep.C:
			u.mu.Lock()
			u.sweep(u.now())
			u.mu.Unlock()
		}
	}
}

func (u *keyUses) flush(ctx context.Context) {
	u.mu.Lock()
	batch := u.pending
	u.pending = map[string]time.Time{}
	u.mu.Unlock()
	for id, at := range batch {
		if err := u.store.TouchAPIKey(ctx, id, at.UTC(), at.Add(-apiKeyTouchEvery).UTC()); err != nil && ctx.Err() == nil {
			u.log.Warn("recording an API key's use failed", "err", err)
		}
	}
}
