package graph

import (
	"context"
	"strconv"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/graph/model"
)

// refreshTokenOrCookie is the refresh token argument, or, when it is null, the refresh cookie
// the HTTP layer found (only when cookies are on).
func refreshTokenOrCookie(ctx context.Context, arg *string) string {
	if arg != nil {
		return *arg
	}
	return auth.ClientFrom(ctx).RefreshCookie
}

func toConnection(page auth.UserPage) *model.UserConnection {
	conn := &model.UserConnection{
		Edges:    make([]*model.UserEdge, len(page.Users)),
		PageInfo: pageInfo(page.Cursors, page.HasNext, page.HasPrevious),
	}
	for i, u := range page.Users {
		conn.Edges[i] = &model.UserEdge{Cursor: page.Cursors[i], Node: toUser(u)}
	}
	return conn
}

// pageInfo is a Relay connection's PageInfo for a page whose edges have these cursors.
func pageInfo(cursors []string, hasNext, hasPrevious bool) *model.PageInfo {
	p := &model.PageInfo{HasNextPage: hasNext, HasPreviousPage: hasPrevious}
	if n := len(cursors); n > 0 {
		p.StartCursor, p.EndCursor = &cursors[0], &cursors[n-1]
	}
	return p
}

// securityEvents streams the principal's events until the subscription ends.
func (r *Resolver) securityEvents(ctx context.Context, p auth.Principal) <-chan *model.SecurityEvent {
	out := make(chan *model.SecurityEvent, 1)
	if r.Events == nil {
		close(out)
		return out
	}
	in := r.Events.Subscribe(ctx, p.User.ID)
	go func() {
		defer close(out)
		for e := range in {
			// Each delivery is authorised as a request would be now: since the subscription
			// started, the token may have expired, the session ended or the account been
			// disabled. Then the subscription ends with that error (the watcher closes the
			// socket too), rather than hand out one more event.
			if _, err := r.Auth.Authorize(ctx, auth.Requirement{}); err != nil {
				r.endSubscription(ctx, err)
				return
			}
			select {
			case out <- toEvent(e):
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// endSubscription ends a subscription whose authorisation failed. On a WebSocket the socket is
// closed at once with the code the watcher would use (4401/4403) instead of waiting for its next
// tick. (gqlgen's AddSubscriptionError is not used: the transport reads it without
// synchronisation when the socket's context ends, which races with a write from here.)
func (r *Resolver) endSubscription(ctx context.Context, err error) {
	if h := socketOf(ctx); h != nil {
		h.closeWith(closeCodeFor(err), "session ended")
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefInt(n *int, def int) int {
	if n == nil {
		return def
	}
	return *n
}

func toAuditConnection(page auth.AuditPage) *model.AuditEventConnection {
	conn := &model.AuditEventConnection{
		Edges:    make([]*model.AuditEventEdge, len(page.Entries)),
		PageInfo: pageInfo(page.Cursors, page.HasNext, page.HasPrevious),
	}
	for i, e := range page.Entries {
		conn.Edges[i] = &model.AuditEventEdge{Cursor: page.Cursors[i], Node: toAuditEvent(e)}
	}
	return conn
}

func toAuditEvent(e auth.AuditEntry) *model.AuditEvent {
	return &model.AuditEvent{
		ID: strconv.FormatInt(e.Seq, 10), Type: model.AuditEventType(e.Type), At: e.At.UTC(),
		UserID: optional(e.UserID), SessionID: optional(e.SessionID), IPAddress: optional(e.IPAddress),
		UserAgent: optional(e.UserAgent), Reason: optional(e.Reason),
	}
}
