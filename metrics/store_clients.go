package metrics

import (
	"context"
	"time"

	"github.com/example/gqlauth/auth"
)

// The OAuth client and API key methods of auth.Store, timed like the others (kept in a file of
// their own so each feature's methods sit together).
func init() {
	storeMethods = append(storeMethods, "CreateClient", "ClientByID", "ListClients", "RevokeClient")
}

func (t *timedStore) CreateClient(ctx context.Context, c auth.OAuthClient) error {
	defer t.done("CreateClient", time.Now())
	return t.inner.CreateClient(ctx, c)
}

func (t *timedStore) ClientByID(ctx context.Context, id string) (auth.OAuthClient, error) {
	defer t.done("ClientByID", time.Now())
	return t.inner.ClientByID(ctx, id)
}

func (t *timedStore) ListClients(ctx context.Context) ([]auth.OAuthClient, error) {
	defer t.done("ListClients", time.Now())
	return t.inner.ListClients(ctx)
}

func (t *timedStore) RevokeClient(ctx context.Context, id string, now time.Time) (bool, error) {
	defer t.done("RevokeClient", time.Now())
	return t.inner.RevokeClient(ctx, id, now)
}
