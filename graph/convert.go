package graph

import (
	"context"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/graph/model"
	"github.com/example/gqlauth/internal/refreshcookie"
)

func toUser(u auth.User) *model.User {
	roles := make([]model.Role, len(u.Roles))
	for i, r := range u.Roles {
		roles[i] = model.Role(r)
	}
	return &model.User{ID: u.ID, Email: u.Email, Roles: roles, CreatedAt: u.CreatedAt.UTC(), Disabled: u.Disabled,
		EmailVerified: u.EmailVerified, MfaEnabled: u.MFAEnabled}
}

func toPayload(g auth.Grant) *model.AuthPayload {
	return &model.AuthPayload{
		AccessToken:  g.AccessToken,
		RefreshToken: g.RefreshToken,
		TokenType:    "Bearer",
		ExpiresIn:    int(g.ExpiresIn / time.Second),
		User:         toUser(g.User),
		DeviceToken:  g.DeviceToken,
	}
}

// signedIn answers a mutation that starts a session (a sign-in, a password reset or change):
// the refresh and device tokens go into their cookies (when cookies are on) and the payload.
func signedIn(ctx context.Context, g auth.Grant) *model.AuthPayload {
	refreshcookie.SetRefresh(ctx, g.RefreshToken)
	refreshcookie.SetDevice(ctx, g.DeviceToken)
	return toPayload(g)
}

// toList converts each element of a list the service returned into its API type.
func toList[T, M any](list []T, to func(T) M) []M {
	out := make([]M, len(list))
	for i, x := range list {
		out[i] = to(x)
	}
	return out
}

func toSession(s auth.Session, current string) *model.Session {
	return &model.Session{
		ID: s.ID, CreatedAt: s.CreatedAt.UTC(), LastUsedAt: s.LastUsedAt.UTC(), ExpiresAt: s.ExpiresAt.UTC(),
		UserAgent: optional(s.UserAgent), IPAddress: optional(s.IPAddress), Current: s.ID == current,
	}
}

func toRoles(roles []model.Role) []auth.Role {
	out := make([]auth.Role, len(roles))
	for i, r := range roles {
		out[i] = auth.Role(r)
	}
	return out
}

func toEvent(e auth.Event) *model.SecurityEvent {
	return &model.SecurityEvent{
		Type: model.SecurityEventType(e.Type), At: e.At.UTC(),
		SessionID: optional(e.SessionID), IPAddress: optional(e.IPAddress), UserAgent: optional(e.UserAgent),
	}
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func toPasskey(p auth.Passkey) *model.Passkey {
	out := &model.Passkey{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt.UTC()}
	if !p.LastUsedAt.IsZero() {
		t := p.LastUsedAt.UTC()
		out.LastUsedAt = &t
	}
	return out
}
