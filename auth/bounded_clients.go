package auth

import (
	"context"
	"time"
)

// Deadlines for the ClientStore and APIKeyStore methods (see boundedStore).

func (s *boundedStore) CreateClient(ctx context.Context, c OAuthClient) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.CreateClient(ctx, c)
}

func (s *boundedStore) ClientByID(ctx context.Context, id string) (OAuthClient, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.ClientByID(ctx, id)
}

func (s *boundedStore) ListClients(ctx context.Context) ([]OAuthClient, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.ListClients(ctx)
}

func (s *boundedStore) RevokeClient(ctx context.Context, id string, now time.Time) (bool, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.RevokeClient(ctx, id, now)
}

func (s *boundedStore) CreateAPIKey(ctx context.Context, k APIKey) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.CreateAPIKey(ctx, k)
}

func (s *boundedStore) APIKeyByHash(ctx context.Context, hash []byte) (APIKey, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.APIKeyByHash(ctx, hash)
}

func (s *boundedStore) APIKeyByID(ctx context.Context, id string) (APIKey, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.APIKeyByID(ctx, id)
}

func (s *boundedStore) ListAPIKeys(ctx context.Context, userID string) ([]APIKey, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.ListAPIKeys(ctx, userID)
}

func (s *boundedStore) RevokeAPIKey(ctx context.Context, id string, now time.Time) (bool, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.RevokeAPIKey(ctx, id, now)
}

func (s *boundedStore) RevokeUserAPIKeys(ctx context.Context, userID string, now time.Time) ([]string, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.RevokeUserAPIKeys(ctx, userID, now)
}

func (s *boundedStore) TouchAPIKey(ctx context.Context, id string, now, notBefore time.Time) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.TouchAPIKey(ctx, id, now, notBefore)
}

func (s *boundedStore) RefreshTokenByHash(ctx context.Context, hash []byte) (RefreshToken, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.RefreshTokenByHash(ctx, hash)
}
