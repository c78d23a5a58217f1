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
