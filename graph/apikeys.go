package graph

import (
	"context"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/graph/model"
)

func (r *queryResolver) apiKeysOf(ctx context.Context, userID string) ([]*model.APIKey, error) {
	list, err := r.Auth.APIKeys(ctx, userID)
	if err != nil {
		return nil, err
	}
	return toList(list, toAPIKey), nil
}

func toAPIKey(k auth.APIKey) *model.APIKey {
	m := &model.APIKey{ID: k.ID, Name: k.Name, Prefix: k.Prefix, CreatedAt: k.CreatedAt.UTC()}
	if !k.ExpiresAt.IsZero() {
		t := k.ExpiresAt.UTC()
		m.ExpiresAt = &t
	}
	if !k.LastUsedAt.IsZero() {
		t := k.LastUsedAt.UTC()
		m.LastUsedAt = &t
	}
	return m
}
