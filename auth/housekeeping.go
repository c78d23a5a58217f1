package auth

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// HousekeepingLocker is implemented by stores that several processes share and that can let one
// of them purge at a time (PostgreSQL: a session advisory lock). Without it every instance
// purges, which is safe (the deletes are idempotent) but wasteful.
type HousekeepingLocker interface {
	// TryHousekeepingLock takes the lock if it is free. ok is false when another process holds
	// it; release must be called when ok is true.
	TryHousekeepingLock(ctx context.Context) (release func(), ok bool, err error)
}

// minKeep is how long ended or expired sessions and change-log entries are kept at least.
const minKeep = 24 * time.Hour

// PurgeReport says what one housekeeping pass deleted.
type PurgeReport struct {
	Skipped  bool // another instance holds the housekeeping lock
	Sessions int64
	Changes  int64
	Audit    int64
	Mail     int64 // finished mails and used or expired mail tokens
	// MFAChallenges: expired two-step sign-ins (mfaTokens).
	MFAChallenges int64
	// PasskeyChallenges: started passkey ceremonies that expired unfinished.
	PasskeyChallenges int64
}

// RunHousekeeping purges old rows every Config.HousekeepingEvery (jittered, so instances
// started together do not purge together) until ctx ends.
func (s *Service) RunHousekeeping(ctx context.Context) {
	for {
		every := s.cfg.HousekeepingEvery
		wait := every/2 + rand.N(every) //nolint:gosec // G404: timing jitter, not a secret; 0.5–1.5 × every
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		r, err := s.Housekeep(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.cfg.Logger.Warn("housekeeping failed; will retry", "err", err)
		case r.Sessions+r.Changes+r.Audit+r.Mail+r.MFAChallenges+r.PasskeyChallenges > 0:
			s.cfg.Logger.Info("housekeeping", "sessions", r.Sessions, "changes", r.Changes, "audit", r.Audit, "mail", r.Mail,
				"mfa_challenges", r.MFAChallenges, "passkey_challenges", r.PasskeyChallenges)
		}
	}
}

// Housekeep runs one purge pass: sessions that ended or expired more than a day ago (with
// their refresh tokens), change-log entries older than a day, audit entries older than
// Config.AuditRetention, passkey challenges that expired unfinished and expired mfaTokens. Each table is purged
// in batches of Config.PurgeBatch rows with Config.PurgePause between batches, so requests
// waiting for the database (SQLite's single writer) get their turn.
//
// Rotated refresh tokens of live sessions are not purged: a reused token must still be
// recognised as reuse (REFRESH_TOKEN_REUSED) however late it comes, rather than as an unknown
// one. They go with their session.
func (s *Service) Housekeep(ctx context.Context) (PurgeReport, error) {
	var r PurgeReport
	if s.locker != nil {
		release, ok, err := s.locker.TryHousekeepingLock(ctx)
		if err != nil {
			return r, fmt.Errorf("housekeeping lock: %w", err)
		}
		if !ok {
			r.Skipped = true
			return r, nil
		}
		defer release()
	}
	now := s.cfg.Now().UTC()
	// The view must be able to learn of ended sessions for as long as their access tokens live.
	keep := max(minKeep, s.view.window)
	for _, t := range []struct {
		name   string
		before time.Time // the rows that ended, expired or were written before this go
		purge  func(ctx context.Context, before time.Time, batch int) (int64, error)
		into   *int64
	}{
		{"sessions", now.Add(-keep), s.store.PurgeSessions, &r.Sessions},
		{"changes", now.Add(-keep), s.store.PurgeChanges, &r.Changes},
		{"audit", now.Add(-s.cfg.AuditRetention), s.store.PurgeAudit, &r.Audit},
		// Finished mails (their data, the links, were cleared when they finished) and spent
		// tokens are kept a day, for the operator's look into a delivery problem.
		{"mail", now.Add(-minKeep), s.store.PurgeMail, &r.Mail},
		// A two-step sign-in's challenge is worthless once expired (5 minutes).
		{"mfa_challenges", now, s.store.PurgeMFAChallenges, &r.MFAChallenges},
		{"passkey_challenges", now, s.store.PurgePasskeyChallenges, &r.PasskeyChallenges},
	} {
		var err error
		if *t.into, err = s.purge(ctx, t.name, t.before, t.purge); err != nil {
			return r, err
		}
	}
	return r, nil
}

// purge calls fn with before and the batch size until a batch comes back short.
func (s *Service) purge(ctx context.Context, table string, before time.Time, fn func(ctx context.Context, before time.Time, batch int) (int64, error)) (int64, error) {
	var total int64
	defer func() {
		if s.cfg.OnPurged != nil && total > 0 {
			s.cfg.OnPurged(table, total)
		}
	}()
	for {
		bctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		n, err := fn(bctx, before, s.cfg.PurgeBatch)
		cancel()
		total += n
		if err != nil {
			return total, fmt.Errorf("purge %s: %w", table, err)
		}
		if n < int64(s.cfg.PurgeBatch) {
			return total, nil
		}
		t := time.NewTimer(s.cfg.PurgePause)
		select {
		case <-ctx.Done():
			t.Stop()
			return total, ctx.Err()
		case <-t.C:
		}
	}
}
