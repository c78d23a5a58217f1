package metrics

import (
	"context"
	"time"

	"github.com/example/gqlauth/auth"
)

// The OAuth client and API key methods of auth.Store, timed like the others (kept in a file of
// their own so each feature's methods sit together).
func init() {
	storeMethods = append(storeMethods, "CreateClient", "ClientByID", "ListClients", "RevokeClient",
		"CreateAPIKey", "APIKeyByHash", "APIKeyByID", "ListAPIKeys", "RevokeAPIKey", "RevokeUserAPIKeys", "TouchAPIKey", "RefreshTokenByHash")
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

func (t *timedStore) CreateAPIKey(ctx context.Context, k auth.APIKey) error {
	defer t.done("CreateAPIKey", time.Now())
	return t.inner.CreateAPIKey(ctx, k)
}

func (t *timedStore) APIKeyByHash(ctx context.Context, hash []byte) (auth.APIKey, error) {
	defer t.done("APIKeyByHash", time.Now())
	return t.inner.APIKeyByHash(ctx, hash)
}

func (t *timedStore) APIKeyByID(ctx context.Context, id string) (auth.APIKey, error) {
	defer t.done("APIKeyByID", time.Now())
	return t.inner.APIKeyByID(ctx, id)
}

func (t *timedStore) ListAPIKeys(ctx context.Context, userID string) ([]auth.APIKey, error) {
	defer t.done("ListAPIKeys", time.Now())
	return t.inner.ListAPIKeys(ctx, userID)
}

func (t *timedStore) RevokeAPIKey(ctx context.Context, id string, now time.Time) (bool, error) {
	defer t.done("RevokeAPIKey", time.Now())
	return t.inner.RevokeAPIKey(ctx, id, now)
}

func (t *timedStore) RevokeUserAPIKeys(ctx context.Context, userID string, now time.Time) ([]string, error) {
	defer t.done("RevokeUserAPIKeys", time.Now())
	return t.inner.RevokeUserAPIKeys(ctx, userID, now)
}

func (t *timedStore) TouchAPIKey(ctx context.Context, id string, now, notBefore time.Time) error {
	defer t.done("TouchAPIKey", time.Now())
	return t.inner.TouchAPIKey(ctx, id, now, notBefore)
}

func (t *timedStore) RefreshTokenByHash(ctx context.Context, hash []byte) (auth.RefreshToken, error) {
	defer t.done("RefreshTokenByHash", time.Now())
	return t.inner.RefreshTokenByHash(ctx, hash)
}
