package auth

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The revocation feed: what other services' verifiers follow (GET /revocations) so that they
// refuse an ended session's access tokens, and a disabled user's, within a second. It is read
// from the change log every instance already shares, so every instance answers the same, and a
// waiting request costs nothing until the view applies new entries: all waiters share the
// view's one wake-up (view.appliedChan), whatever number of clients wait.

// RevocationPage is one answer of the feed.
type RevocationPage struct {
	Cursor   string // where the next request continues (after=)
	More     bool   // the page was full: ask again at once
	Sessions []EndedSession
	Users    []ChangedUser
}

// EndedSession is a session that ended; Until is when its last access token expires, after
// which the entry no longer matters.
type EndedSession struct {
	ID    string
	Until time.Time
}

// ChangedUser is a user whose roles or status changed, as the user is now (a deleted user is
// reported disabled, with no roles), or a revoked OAuth client (Client, Disabled: its tokens'
// sub is its id). Until is when the last token issued before the change expires.
type ChangedUser struct {
	ID       string
	Disabled bool
	Roles    []Role
	Client   bool
	Until    time.Time
}

// Cursor refusals.
var (
	ErrInvalidCursor = errors.New("cursor is not one this service gives out")
	// ErrFutureCursor wraps ErrInvalidCursor: a cursor past the end of the change log (another
	// deployment's, or one from before the database was replaced).
	ErrFutureCursor = fmt.Errorf("%w: it is past the end of the change log", ErrInvalidCursor)
)

const (
	// MaxRevocationWait is the longest a feed request waits for news.
	MaxRevocationWait = 30 * time.Second
	// RevocationPageSize bounds the entries of one answer.
	RevocationPageSize = 500
	// MaxRevocationWaiters bounds the feed requests waiting at once on an instance (each holds
	// a goroutine and a timer); beyond it a request is answered at once, as with wait=0.
	MaxRevocationWaiters = 10_000
	cursorPrefix         = "c1."
)

// formatCursor and parseCursor: "c1." and the Seq in decimal, the only spelling accepted.
func formatCursor(seq int64) string { return cursorPrefix + strconv.FormatInt(seq, 10) }

func parseCursor(s string) (int64, error) {
	digits, ok := strings.CutPrefix(s, cursorPrefix)
	if !ok || digits == "" || len(digits) > 19 || (digits[0] == '0' && digits != "0") {
		return 0, ErrInvalidCursor
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, ErrInvalidCursor
		}
	}
	seq, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, ErrInvalidCursor
	}
	return seq, nil
}

// feedState remembers the highest Seq known to be committed, so that checking a cursor costs
// a database query only when it is newer than anything this instance has seen; and ends the
// waits when the server shuts down.
type feedState struct {
	known    atomic.Int64
	pages    pageReads // one read of the change log per cursor and wake-up, however many wait
	waiting  atomic.Int64
	stopOnce sync.Once
	stopping chan struct{}
}

// EndFeedWaits makes every waiting and later feed request answer at once (with what it has):
// a shutdown should not wait for long polls.
func (s *Service) EndFeedWaits() { s.feed.stopOnce.Do(func() { close(s.feed.stopping) }) }

func (f *feedState) learn(seq int64) {
	for {
		cur := f.known.Load()
		if seq <= cur || f.known.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// Revocations answers the feed: with cursor "" everything that still matters and the current
// cursor, at once; otherwise what changed after cursor, waiting up to wait (at most
// MaxRevocationWait) for something to change. A cursor this service did not give out is
// ErrInvalidCursor (or ErrFutureCursor). When ctx ends while waiting, the page is empty.
func (s *Service) Revocations(ctx context.Context, cursor string, wait time.Duration) (RevocationPage, error) {
	wait = min(max(wait, 0), MaxRevocationWait)
	if cursor == "" {
		return s.revocationSnapshot(ctx)
	}
	after, err := parseCursor(cursor)
	if err != nil {
		return RevocationPage{}, err
	}
	if err := s.checkCursor(ctx, after); err != nil {
		return RevocationPage{}, err
	}
	if s.feed.waiting.Add(1) > MaxRevocationWaiters {
		wait = 0
	}
	defer s.feed.waiting.Add(-1)
	var timeout <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	for {
		woken, gen := s.view.appliedChan() // before the read: a change applied after it wakes us
		page, err := s.feed.pages.read(ctx, after, gen, s.revocationPage)
		if err != nil || len(page.Sessions)+len(page.Users) > 0 || wait == 0 {
			return page, err
		}
		select {
		case <-woken:
		case <-timeout:
			return page, nil
		case <-ctx.Done():
			return page, nil
		case <-s.feed.stopping:
			return page, nil
		}
	}
}

func (s *Service) checkCursor(ctx context.Context, after int64) error {
	s.feed.learn(s.view.seq())
	if after <= s.feed.known.Load() {
		return nil
	}
	latest, err := s.store.LatestChangeSeq(ctx)
	if err != nil {
		return fmt.Errorf("latest change: %w", err)
	}
	s.feed.learn(latest)
	if after > latest {
		return ErrFutureCursor
	}
	return nil
}

// pageReads shares the reads of the change log among the feed requests that wait on the same
// cursor: followers mostly share one, and a change wakes them together, so N followers cost one
// read per change instead of N. A read is shared only within one generation of the view's
// wake-up channel (view.appliedChan): any entry applied after the read closes that generation,
// and every waiter holding it then reads again, under the next one.
type pageReads struct {
	mu    sync.Mutex
	gen   uint64
	calls map[int64]*pageRead // of generation gen, by cursor
}

type pageRead struct {
	done chan struct{}
	page RevocationPage
	err  error
}

const maxSharedReads = 1024 // distinct cursors shared per generation; beyond, each reads alone

func (p *pageReads) read(ctx context.Context, after int64, gen uint64,
	readPage func(context.Context, int64) (RevocationPage, error)) (RevocationPage, error) {
	p.mu.Lock()
	if gen > p.gen || p.calls == nil {
		p.gen, p.calls = gen, map[int64]*pageRead{}
	}
	if gen < p.gen || len(p.calls) >= maxSharedReads { // a late waiter: read alone
		p.mu.Unlock()
		return readPage(ctx, after)
	}
	if c, ok := p.calls[after]; ok {
		p.mu.Unlock()
		select {
		case <-c.done:
			return c.page, c.err // shared: callers only read it
		case <-ctx.Done():
			return RevocationPage{}, ctx.Err()
		}
	}
	c := &pageRead{done: make(chan struct{})}
	p.calls[after] = c
	p.mu.Unlock()
	// Others wait on this read: it must not end with the first caller's request.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	c.page, c.err = readPage(rctx, after)
	cancel()
	close(c.done)
	if c.err != nil { // a failure is not shared with later callers
		p.mu.Lock()
		if p.calls[after] == c {
			delete(p.calls, after)
		}
		p.mu.Unlock()
	}
	return c.page, c.err
}

// revocationSnapshot is the first page of a follower without a cursor.
func (s *Service) revocationSnapshot(ctx context.Context) (RevocationPage, error) {
	latest, err := s.store.LatestChangeSeq(ctx) // before the read: nothing between is skipped
	if err != nil {
		return RevocationPage{}, fmt.Errorf("latest change: %w", err)
	}
	s.feed.learn(latest)
	page, err := s.revocationPage(ctx, 0)
	if err == nil && !page.More {
		if seq, _ := parseCursor(page.Cursor); seq < latest {
			page.Cursor = formatCursor(latest)
		}
	}
	return page, err
}

// revocationPage reads the entries after the cursor that still matter: those of the last
// access-token lifetime.
func (s *Service) revocationPage(ctx context.Context, after int64) (RevocationPage, error) {
	now := s.cfg.Now()
	changes, err := s.store.ChangesAfter(ctx, after, now.Add(-s.view.window), RevocationPageSize)
	if err != nil {
		return RevocationPage{}, fmt.Errorf("read change log: %w", err)
	}
	page := RevocationPage{Cursor: formatCursor(after), More: len(changes) == RevocationPageSize}
	users := map[string]int{} // user id → index in page.Users: each user once, the latest change's until
	for _, c := range changes {
		until := c.At.Add(s.view.window)
		switch c.Kind {
		case ChangeSessionEnded:
			page.Sessions = append(page.Sessions, EndedSession{ID: c.SessionID, Until: until})
		case ChangeClientRevoked:
			page.Users = append(page.Users, ChangedUser{ID: c.UserID, Disabled: true, Client: true, Until: until})
		case ChangeUser:
			if i, seen := users[c.UserID]; seen {
				page.Users[i].Until = until
				continue
			}
			users[c.UserID] = len(page.Users)
			page.Users = append(page.Users, ChangedUser{ID: c.UserID, Until: until})
		}
		page.Cursor = formatCursor(c.Seq)
		s.feed.learn(c.Seq)
	}
	for i := range page.Users {
		if page.Users[i].Client {
			continue
		}
		u, err := s.store.UserByID(ctx, page.Users[i].ID) // not the view's cache: it may lag the log
		switch {
		case errors.Is(err, ErrNotFound):
			page.Users[i].Disabled = true
		case err != nil:
			return RevocationPage{}, fmt.Errorf("load changed user: %w", err)
		default:
			page.Users[i].Disabled, page.Users[i].Roles = u.Disabled, u.Roles
		}
	}
	return page, nil
}
