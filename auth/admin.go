package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// UserPage is one page of a user listing.
type UserPage struct {
	Users       []User
	Cursors     []string
	HasNext     bool
	HasPrevious bool
}

// ListUsers returns up to first users after the opaque cursor, oldest first.
func (s *Service) ListUsers(ctx context.Context, first int, after string) (UserPage, error) {
	p, err := paginate(first, after, "user:", func(afterID string, limit int) ([]User, error) {
		users, err := s.store.ListUsers(ctx, afterID, limit)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		return users, nil
	}, func(u User) string { return u.ID })
	return UserPage{Users: p.items, Cursors: p.cursors, HasNext: p.hasNext, HasPrevious: p.hasPrevious}, err
}

// SetUserRoles replaces a user's roles. No session ends; Authorize reads current roles, so the
// change applies at once, and the next refresh carries the new roles in its token.
func (s *Service) SetUserRoles(ctx context.Context, actor Principal, userID string, roles []Role) (User, error) {
	clean := make([]Role, 0, len(roles))
	for _, r := range roles {
		if !r.Valid() {
			return User{}, &InputError{Field: "roles", Message: "unknown role " + string(r)}
		}
		if !slices.Contains(clean, r) {
			clean = append(clean, r)
		}
	}
	if len(clean) == 0 {
		return User{}, &InputError{Field: "roles", Message: "at least one role is required"}
	}
	u, err := s.store.SetUserRoles(ctx, userID, clean, s.cfg.Now().UTC())
	if errors.Is(err, ErrNotFound) {
		return User{}, &InputError{Field: "userId", Message: "no such user"}
	}
	if err != nil {
		return User{}, fmt.Errorf("set roles: %w", err)
	}
	s.view.invalidateUser(userID)
	s.publish(ctx, EventRolesChanged, userID, "", actorOf(actor))
	return u, nil
}

// SetUserDisabled disables a user, ending all their sessions, or enables them again. Either way
// the account's security stamp changes, so a sign-in in flight across the change fails: it cannot
// start a session for the disabled account that the re-enable would bring back to life.
func (s *Service) SetUserDisabled(ctx context.Context, actor Principal, userID string, disabled bool) (User, error) {
	c := SecurityChange{Disabled: &disabled}
	if disabled {
		c.EndReason = EndUserDisabled
	}
	u, err := s.changeSecurity(ctx, userID, c)
	if errors.Is(err, ErrNotFound) {
		return User{}, &InputError{Field: "userId", Message: "no such user"}
	}
	if err != nil {
		return User{}, fmt.Errorf("set disabled: %w", err)
	}
	if disabled {
		s.publish(ctx, EventUserDisabled, userID, "", actorOf(actor))
	} else {
		s.publish(ctx, EventUserEnabled, userID, "", actorOf(actor))
	}
	return u, nil
}

// RevokeUserSessions ends every live session of a user (an administrator's action: a stolen
// device, a leaver) and returns the ended sessions' ids. ErrNotFound for an unknown user.
func (s *Service) RevokeUserSessions(ctx context.Context, actor Principal, userID string) ([]string, error) {
	if _, err := s.store.UserByID(ctx, userID); err != nil {
		return nil, err
	}
	ids, err := s.endUserSessions(ctx, userID, "", EndAdminRevoked)
	for _, id := range ids {
		s.publish(ctx, EventSessionRevoked, userID, id, EndAdminRevoked+" "+actorOf(actor))
	}
	return ids, err
}

// UserByEmail finds a user by email (command line tools).
func (s *Service) UserByEmail(ctx context.Context, email string) (User, error) {
	e, err := NormalizeEmail(email, "email")
	if err != nil {
		return User{}, err
	}
	return s.store.UserByEmail(ctx, e)
}
