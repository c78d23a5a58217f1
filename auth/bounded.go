package auth

import (
	"context"
	"time"
)

// boundedStore gives every store call a deadline, so that a database lost mid-request turns
// into an error within a bounded time instead of a hang (a partitioned peer never answers).
// A caller's own, earlier deadline wins. Only calls that reach the store pay for the timer:
// Authorize answers from the in-memory view.
//
// Its methods are generated from Store (store_bounded_gen.go) and it does not embed Store, so
// a method added to Store without regenerating is a compile error rather than a call that
// passes through without a deadline. The methods after -skip below are forwarded as they are:
// Close; the housekeeping purges (PurgeSessions, PurgeChanges, PurgeAudit, PurgeMail,
// PurgeMFAChallenges, PurgePasskeyChallenges), housekeeping rather than requests; and CountLiveSessions, LatestChangeSeq, AppendAudit,
// ListAudit, AuditAfter and MailStats, which have gone without a deadline since they were added
// to Store and keep going without one until that is decided on its own.
//
//go:generate go run github.com/example/gqlauth/internal/cmd/storewrap -kind bounded -o store_bounded_gen.go -skip Close,PurgeSessions,PurgeChanges,PurgeAudit,PurgeMail,PurgeMFAChallenges,PurgePasskeyChallenges,CountLiveSessions,LatestChangeSeq,AppendAudit,ListAudit,AuditAfter,MailStats
type boundedStore struct {
	inner   Store
	timeout time.Duration
}

func boundStore(s Store, timeout time.Duration) Store {
	if timeout <= 0 {
		return s
	}
	if b, ok := s.(*boundedStore); ok {
		s = b.inner
	}
	return &boundedStore{inner: s, timeout: timeout}
}

func noCancel() {}

func (s *boundedStore) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= s.timeout {
		return ctx, noCancel
	}
	return context.WithTimeout(ctx, s.timeout)
}
