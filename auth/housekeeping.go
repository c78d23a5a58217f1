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
	var err error
	if r.Sessions, err = s.purge(ctx, "sessions", func(ctx context.Context, n int) (int64, error) {
		return s.store.PurgeSessions(ctx, now.Add(-keep), n)
	}); err != nil {
		return r, err
	}
	if r.Changes, err = s.purge(ctx, "changes", func(ctx context.Context, n int) (int64, error) {
		return s.store.PurgeChanges(ctx, now.Add(-keep), n)
	}); err != nil {
		return r, err
	}
	if r.Audit, err = s.purge(ctx, "audit", func(ctx context.Context, n int) (int64, error) {
		return s.store.PurgeAudit(ctx, now.Add(-s.cfg.AuditRetention), n)
	}); err != nil {
		return r, err
	}
	// Finished mails (their data, the links, were cleared when they finished) and spent
	// tokens are kept a day, for the operator's look into a delivery problem.
	if r.Mail, err = s.purge(ctx, "mail", func(ctx context.Context, n int) (int64, error) {
		return s.store.PurgeMail(ctx, now.Add(-minKeep), n)
	}); err != nil {
		return r, err
	}
	// A two-step sign-in's challenge is worthless once expired (5 minutes).
	if r.MFAChallenges, err = s.purge(ctx, "mfa_challenges", func(ctx context.Context, n int) (int64, error) {
		return s.store.PurgeMFAChallenges(ctx, now, n)
	}); err != nil {
		return r, err
	}
	r.PasskeyChallenges, err = s.purge(ctx, "passkey_challenges", func(ctx context.Context, n int) (int64, error) {
		return s.store.PurgePasskeyChallenges(ctx, now, n)
	})
	return r, err
}

// purge calls fn with the batch size until a batch comes back short.
func (s *Service) purge(ctx context.Context, table string, fn func(ctx context.Context, batch int) (int64, error)) (int64, error) {
	var total int64
	defer func() {
		if s.cfg.OnPurged != nil && total > 0 {
			s.cfg.OnPurged(table, total)
		}
	}()
	for {
		bctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		n, err := fn(bctx, s.cfg.PurgeBatch)
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
