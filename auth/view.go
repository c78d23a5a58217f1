package auth

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// view is this instance's in-memory picture of what changes often and is read on every
// request: which sessions have ended (while their access tokens could still be unexpired) and
// the users' current roles and status. It lets Authorize answer without a database round trip.
//
// It stays true by applying the store's change log: local changes at once, other processes'
// changes on the next poll. Polling runs every pollInterval, or sooner when Wake is called (by a
// Redis or LISTEN/NOTIFY subscriber), so the staleness is bounded by pollInterval even if every
// push is lost.
type view struct {
	store  Store
	window time.Duration // how long an ended session must be remembered: access TTL + leeway
	now    func() time.Time
	log    *slog.Logger

	mu      sync.RWMutex
	ended   map[string]time.Time // session id → when it can be forgotten
	clients map[string]time.Time // revoked client id → when its last token has expired
	keys    *keyCache            // API keys (apikeyview.go); its own lock
	users   map[string]User
	epoch   uint64 // bumped on every user invalidation; guards against caching a stale read
	lastSeq int64

	wake     chan struct{}
	onChange func() // told of every local change (Config.OnChange); may be nil
	// applied is closed, and replaced, each time a poll applied entries: the one wake-up every
	// waiting request of the revocation feed shares (see revocations.go).
	appliedMu  sync.Mutex
	applied    chan struct{}
	appliedGen uint64 // how many times applied was closed
	// afterSync, when set, runs after each poll of the change log, on the same wake: the audit
	// trail's delivery to subscribers (audit.go).
	afterSync func(ctx context.Context) error
}

const maxCachedUsers = 100_000

func newView(store Store, window time.Duration, now func() time.Time, log *slog.Logger) *view {
	return &view{
		store: store, window: window, now: now, log: log,
		ended: map[string]time.Time{}, users: map[string]User{}, clients: map[string]time.Time{},
		keys: newKeyCache(), wake: make(chan struct{}, 1), applied: make(chan struct{}),
	}
}

// sessionEnded reports whether sid is known to have ended.
func (v *view) sessionEnded(sid string) bool {
	v.mu.RLock()
	_, ended := v.ended[sid]
	v.mu.RUnlock()
	return ended
}

func (v *view) markEnded(sids ...string) {
	until := v.now().Add(v.window)
	v.mu.Lock()
	for _, sid := range sids {
		v.ended[sid] = until
	}
	v.mu.Unlock()
	if len(sids) > 0 {
		v.changed()
	}
}

// clientRevoked reports whether the client id is known to have been revoked.
func (v *view) clientRevoked(id string) bool {
	v.mu.RLock()
	_, revoked := v.clients[id]
	v.mu.RUnlock()
	return revoked
}

func (v *view) markClientRevoked(id string) {
	v.mu.Lock()
	v.clients[id] = v.now().Add(v.window)
	v.mu.Unlock()
	v.changed()
}

// changed tells the OnChange hook that this instance appended to the change log, and polls it
// at once, so that this instance's feed waiters hear of the change without waiting for a tick.
func (v *view) changed() {
	if v.onChange != nil {
		v.onChange()
	}
	v.Wake()
}

// appliedChan returns the channel closed by the next poll that applies entries; take it before
// reading the change log, so that no entry can slip between the read and the wait.
// The generation names the channel: reads made while it is open see the same entries applied.
func (v *view) appliedChan() (<-chan struct{}, uint64) {
	v.appliedMu.Lock()
	defer v.appliedMu.Unlock()
	return v.applied, v.appliedGen
}

func (v *view) announceApplied() {
	v.appliedMu.Lock()
	close(v.applied)
	v.applied = make(chan struct{})
	v.appliedGen++
	v.appliedMu.Unlock()
}

// seq is the highest change log entry applied.
func (v *view) seq() int64 {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.lastSeq
}

func (v *view) invalidateUser(id string) {
	v.mu.Lock()
	delete(v.users, id)
	v.epoch++
	v.mu.Unlock()
	v.changed()
}

// storeUser caches u, unless an invalidation happened since the read began (epoch changed).
func (v *view) storeUser(u User, epoch uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.epoch != epoch {
		return
	}
	if len(v.users) >= maxCachedUsers {
		for id := range v.users { // drop an arbitrary tenth; map order is random
			delete(v.users, id)
			if len(v.users) < maxCachedUsers*9/10 {
				break
			}
		}
	}
	v.users[u.ID] = u
}

// user returns the user's current record, from the cache or the store.
func (v *view) user(ctx context.Context, id string) (User, error) {
	v.mu.RLock()
	u, ok := v.users[id]
	epoch := v.epoch
	v.mu.RUnlock()
	if ok {
		return u, nil
	}
	u, err := v.store.UserByID(ctx, id)
	if err != nil {
		return User{}, err
	}
	v.storeUser(u, epoch)
	return u, nil
}

// Wake asks for a poll of the change log now (a push channel saw a change).
func (v *view) Wake() {
	select {
	case v.wake <- struct{}{}:
	default:
	}
}

// sync applies the change log entries written since the last call.
func (v *view) sync(ctx context.Context) error {
	notBefore := v.now().Add(-v.window)
	for {
		v.mu.RLock()
		after := v.lastSeq
		v.mu.RUnlock()
		changes, err := v.store.ChangesAfter(ctx, after, notBefore, 1000)
		if err != nil {
			return err
		}
		if len(changes) == 0 {
			return nil
		}
		now := v.now()
		v.mu.Lock()
		for _, c := range changes {
			switch c.Kind {
			case ChangeSessionEnded:
				if until := c.At.Add(v.window); until.After(now) {
					v.ended[c.SessionID] = until
				}
			case ChangeUser:
				delete(v.users, c.UserID)
				v.epoch++
			case ChangeAPIKeyRevoked:
				v.keys.forget(c.SessionID)
			case ChangeClientRevoked:
				if until := c.At.Add(v.window); until.After(now) {
					v.clients[c.UserID] = until
				}
			}
			v.lastSeq = max(v.lastSeq, c.Seq)
		}
		v.mu.Unlock()
		v.announceApplied()
		if len(changes) < 1000 {
			return nil
		}
	}
}

// forgetExpired drops ended sessions whose access tokens have all expired.
func (v *view) forgetExpired() {
	now := v.now()
	v.mu.Lock()
	for sid, until := range v.ended {
		if now.After(until) {
			delete(v.ended, sid)
		}
	}
	for id, until := range v.clients {
		if now.After(until) {
			delete(v.clients, id)
		}
	}
	v.mu.Unlock()
}

// run polls the change log until ctx ends. A failed poll is logged once per outage; the user
// cache is dropped then, since invalidations may have been missed.
func (v *view) run(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-v.wake:
		}
		pollCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := v.sync(pollCtx)
		if v.afterSync != nil {
			err = errors.Join(err, v.afterSync(pollCtx))
		}
		cancel()
		switch {
		case err != nil && !failing && ctx.Err() == nil:
			failing = true
			v.log.Warn("change log poll failed; revocations from other instances may be late", "err", err)
		case err == nil && failing:
			failing = false
			v.log.Info("change log poll recovered")
			v.mu.Lock()
			clear(v.users)
			v.epoch++
			v.mu.Unlock()
			v.keys.clear()
		}
		v.forgetExpired()
	}
}
