package graph

import (
	"context"

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
		PageInfo: &model.PageInfo{HasNextPage: page.HasNext, HasPreviousPage: page.HasPrevious},
	}
	for i, u := range page.Users {
		conn.Edges[i] = &model.UserEdge{Cursor: page.Cursors[i], Node: toUser(u)}
	}
	if n := len(page.Cursors); n > 0 {
		conn.PageInfo.StartCursor, conn.PageInfo.EndCursor = &page.Cursors[0], &page.Cursors[n-1]
	}
	return conn
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
			select {
			case out <- toEvent(e):
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}
