package auth

import (
	"slices"
	"time"
)

// Role is a permission level. ADMIN implies USER.
type Role string

// The roles, as the API's Role enum names them.
const (
	RoleUser  Role = "USER"
	RoleAdmin Role = "ADMIN"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleUser || r == RoleAdmin }

// User is an account. PasswordHash is a bcrypt hash and never leaves this package's callers
// through an API.
type User struct {
	ID           string
	Email        string // normalised: trimmed, NFC, lower case
	PasswordHash string
	Roles        []Role
	Disabled     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// SecurityStamp changes with every change of the account that must end its sessions or
	// void a sign-in in flight (password, status). A session is only started for the stamp
	// the password was checked against, so a sign-in that raced such a change fails.
	SecurityStamp int64
	// EmailVerified: the owner of Email proved it by a link mailed there (or the account was
	// created before verification existed, or by an operator).
	EmailVerified bool
	// MFAEnabled: the account has TOTP on, so a password sign-in needs a second step.
	MFAEnabled bool
}

// HasRole reports whether the user holds r (an ADMIN holds USER too).
func (u User) HasRole(r Role) bool {
	if slices.Contains(u.Roles, r) {
		return true
	}
	return r == RoleUser && slices.Contains(u.Roles, RoleAdmin)
}

// Session is one login: a refresh-token family and the access tokens minted from it.
type Session struct {
	ID         string
	UserID     string
	CreatedAt  time.Time
	LastUsedAt time.Time
	ExpiresAt  time.Time // absolute lifetime (REFRESH_TOKEN_TTL from login)
	UserAgent  string
	IPAddress  string
	EndedAt    time.Time // zero while live
	EndReason  string
	// AMR and AuthTime say how and when the sign-in that started the session was made (see
	// amr.go); every access token of the session carries them.
	AMR      []string
	AuthTime time.Time
}

// Live reports whether the session can still be used at now.
func (s Session) Live(now time.Time) bool {
	return s.EndedAt.IsZero() && now.Before(s.ExpiresAt)
}

// Reasons a session ends, recorded with it.
const (
	EndLogout         = "logout"
	EndLogoutAll      = "logout_all"
	EndRevoked        = "revoked"
	EndPasswordChange = "password_changed"
	EndUserDisabled   = "user_disabled"
	EndTokenReuse     = "refresh_token_reuse"
	EndAdminRevoked   = "admin_revoked" // RevokeUserSessions (sessions revoke --user)
	EndMFAReset       = "mfa_reset"     // ResetMFA (user reset-mfa)
)
