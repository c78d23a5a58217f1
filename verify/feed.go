package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"
)

// follower follows the service's revocation feed (GET /revocations, a long poll with a cursor)
// and remembers the ended sessions and changed users until they no longer matter. It keeps
// what it knew while the service is unreachable.
type follower struct {
	url          string
	clientID     string
	clientSecret string
	client       *http.Client
	now          func() time.Time
	log          *slog.Logger
	hooks        Hooks
	wait         time.Duration
	staleAfter   time.Duration
	failOpen     bool
	maxEntries   int

	mu           sync.RWMutex
	ended        map[string]time.Time // session id → when it stops mattering
	users        map[string]userState
	cursor       string
	caughtUp     bool      // a page without more came back since the start or a reset
	lastContact  time.Time // of the last answer
	failingSince time.Time // the first failure since the last answer; zero while healthy
}

type userState struct {
	disabled bool
	roles    []string
	until    time.Time
}

// The feed's answer (docs/api.md, GET /revocations).
type feedPage struct {
	Cursor   string `json:"cursor"`
	More     bool   `json:"more"`
	Sessions []struct {
		SID   string    `json:"sid"`
		Until time.Time `json:"until"`
	} `json:"sessions"`
	Users []struct {
		Sub      string    `json:"sub"`
		Disabled bool      `json:"disabled"`
		Roles    []string  `json:"roles"`
		Until    time.Time `json:"until"`
	} `json:"users"`
}

const (
	pollSlack         = 15 * time.Second // a long poll's timeout beyond its wait
	maxFeedBytes      = 8 << 20
	defaultUserWindow = 24 * time.Hour // a user entry without an until
)

func newFollower(o Options, u string) *follower {
	f := &follower{
		url: u, clientID: o.ClientID, clientSecret: o.ClientSecret, client: o.HTTPClient, now: o.Clock,
		log: o.Logger, hooks: o.Hooks, wait: o.PollWait, staleAfter: o.StaleAfter, failOpen: o.FailOpen,
		maxEntries: o.MaxEntries, ended: map[string]time.Time{}, users: map[string]userState{},
	}
	if f.wait <= 0 || f.wait > 30*time.Second {
		f.wait = 25 * time.Second
	}
	if f.staleAfter <= 0 {
		f.staleAfter = time.Minute
	}
	if f.maxEntries <= 0 {
		f.maxEntries = 1_000_000
	}
	return f
}

// check refuses what the feed reported, and gives the user's current roles.
func (f *follower) check(c *Claims) error {
	now := f.now()
	f.mu.RLock()
	defer f.mu.RUnlock()
	if !f.failOpen && f.staleAt(now) {
		return ErrFeedUnavailable
	}
	if u, ok := f.users[c.Subject]; ok && now.Before(u.until) {
		switch {
		case u.disabled && c.IsClient():
			return ErrClientRevoked
		case u.disabled:
			return ErrUserDisabled
		}
		if c.SessionID != "" { // the roles now, not when the token was issued
			c.Roles = u.roles
		}
	}
	if c.SessionID != "" {
		if until, ok := f.ended[c.SessionID]; ok && now.Before(until) {
			return ErrSessionEnded
		}
	}
	return nil
}

func (f *follower) ready() bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return !f.staleAt(f.now())
}

// staleAt reports whether what the follower knows can no longer be trusted at now: not caught
// up yet, failing for longer than staleAfter, or without an answer for longer than a long poll
// can take plus staleAfter (a connection that hangs without failing). Under f.mu.
func (f *follower) staleAt(now time.Time) bool {
	return !f.caughtUp ||
		!f.failingSince.IsZero() && now.Sub(f.failingSince) > f.staleAfter ||
		now.Sub(f.lastContact) > f.wait+pollSlack+f.staleAfter
}

func (f *follower) stats(s *Stats) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	s.EndedSessions, s.ChangedUsers, s.LastContact, s.Cursor = len(f.ended), len(f.users), f.lastContact, f.cursor
}

// errBadCursor: the service did not know our cursor (its database was replaced or its change
// log purged); start over with everything that still matters.
var errBadCursor = errors.New("revocation feed: cursor refused")

// errServerUnavailable: the service answered 503 (its database is away).
var errServerUnavailable = errors.New("revocation feed: service temporarily unavailable")

// run polls until ctx ends, backing off (with jitter) while the service is unreachable.
func (f *follower) run(ctx context.Context) {
	// Short: a retry is one cheap request, and the first one after an outage brings the
	// follower up to date.
	const minBackoff, maxBackoff = 100 * time.Millisecond, 2 * time.Second
	backoff := minBackoff
	failing := false
	for ctx.Err() == nil {
		f.mu.RLock()
		cursor, wait := f.cursor, f.wait
		if !f.caughtUp {
			wait = 0
		}
		f.mu.RUnlock()
		page, err := f.poll(ctx, cursor, wait)
		if f.hooks.FeedPolled != nil {
			f.hooks.FeedPolled(len(page.Sessions)+len(page.Users), err)
		}
		switch {
		case err == nil:
			f.apply(page)
			if failing {
				f.log.Info("revocation feed reachable again", "url", f.url)
				failing = false
			}
			backoff = minBackoff
			continue
		case errors.Is(err, errBadCursor):
			f.log.Warn("revocation feed refused the cursor; loading everything that still matters", "cursor", cursor)
			f.mu.Lock()
			f.cursor, f.caughtUp = "", false
			f.mu.Unlock()
			continue
		case ctx.Err() != nil:
			return
		}
		f.mu.Lock()
		if f.failingSince.IsZero() {
			f.failingSince = f.now()
		}
		f.mu.Unlock()
		pause := backoff
		if errors.Is(err, errServerUnavailable) {
			// The service answers but cannot read its database: ask again soon, so that the
			// follower is back within half a second of it.
			pause = min(backoff, 500*time.Millisecond)
		}
		if !failing {
			f.log.Warn("revocation feed unreachable; keeping the revocations known", "url", f.url, "err", err)
			failing = true
		}
		t := time.NewTimer(pause/2 + rand.N(pause/2+1)) //nolint:gosec // G404: jitter, not a secret
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

func (f *follower) poll(ctx context.Context, cursor string, wait time.Duration) (feedPage, error) {
	ctx, cancel := context.WithTimeout(ctx, wait+pollSlack)
	defer cancel()
	q := url.Values{"wait": {strconv.Itoa(int(wait / time.Second))}}
	if cursor != "" {
		q.Set("after", cursor)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.url+"?"+q.Encode(), nil)
	if err != nil {
		return feedPage{}, err
	}
	// client_secret_basic: RFC 6749 §2.3.1 form-encodes both before the Basic encoding.
	req.SetBasicAuth(url.QueryEscape(f.clientID), url.QueryEscape(f.clientSecret))
	req.Header.Set("Accept", "application/json")
	resp, err := f.client.Do(req)
	if err != nil {
		return feedPage{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxFeedBytes+1))
	if err != nil {
		return feedPage{}, err
	}
	if len(body) > maxFeedBytes {
		return feedPage{}, fmt.Errorf("revocation feed: an answer over %d bytes", maxFeedBytes)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		_ = json.Unmarshal(body, &e)
		if resp.StatusCode == http.StatusBadRequest && e.Error == "invalid_cursor" {
			return feedPage{}, errBadCursor
		}
		if resp.StatusCode == http.StatusServiceUnavailable {
			return feedPage{}, fmt.Errorf("%w: %s", errServerUnavailable, e.Description)
		}
		return feedPage{}, fmt.Errorf("revocation feed: %s %s %s", resp.Status, e.Error, e.Description)
	}
	var page feedPage
	if err := json.Unmarshal(body, &page); err != nil {
		return feedPage{}, fmt.Errorf("revocation feed: %w", err)
	}
	if page.Cursor == "" {
		return feedPage{}, errors.New("revocation feed: an answer without a cursor")
	}
	return page, nil
}

// apply records a page, forgets what stopped mattering, and keeps within maxEntries.
func (f *follower) apply(p feedPage) {
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range p.Sessions {
		if s.SID != "" && now.Before(s.Until) && s.Until.After(f.ended[s.SID]) {
			f.ended[s.SID] = s.Until
		}
	}
	for _, u := range p.Users {
		if u.Sub == "" {
			continue
		}
		until := u.Until
		if until.IsZero() {
			until = now.Add(defaultUserWindow)
		}
		if now.Before(until) {
			f.users[u.Sub] = userState{disabled: u.Disabled, roles: u.Roles, until: until}
		}
	}
	f.cursor, f.lastContact, f.failingSince = p.Cursor, now, time.Time{}
	if !p.More {
		f.caughtUp = true
	}
	for sid, until := range f.ended {
		if !now.Before(until) {
			delete(f.ended, sid)
		}
	}
	for sub, u := range f.users {
		if !now.Before(u.until) {
			delete(f.users, sub)
		}
	}
	if over := len(f.ended) + len(f.users) - f.maxEntries; over > 0 {
		f.evict(over)
	}
}

// evict drops n entries, those that stop mattering soonest first (a slow path: only a flood of
// revocations beyond MaxEntries gets here).
func (f *follower) evict(n int) {
	type entry struct {
		key   string
		user  bool
		until time.Time
	}
	all := make([]entry, 0, len(f.ended)+len(f.users))
	for k, u := range f.ended {
		all = append(all, entry{k, false, u})
	}
	for k, u := range f.users {
		all = append(all, entry{k, true, u.until})
	}
	slicesSortByUntil(all, func(e entry) time.Time { return e.until })
	for _, e := range all[:n] {
		if e.user {
			delete(f.users, e.key)
		} else {
			delete(f.ended, e.key)
		}
	}
	f.log.Warn("revocation feed: more entries than MaxEntries; dropped the ones expiring soonest", "dropped", n)
}

func slicesSortByUntil[E any](s []E, until func(E) time.Time) {
	slices.SortFunc(s, func(a, b E) int { return until(a).Compare(until(b)) })
}
