package sqlite

import (
	"database/sql"
	"strings"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/store/internal/sqlshared"
)

// Times are stored as integer unix microseconds (UTC by definition); sub-microsecond parts are
// dropped, matching PostgreSQL's precision.

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// nullMicros stores the zero time as NULL (EndedAt of a live session, say).
func nullMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func fromNullMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
}

// Roles are a comma-separated list; role names never contain commas.
func encodeRoles(roles []auth.Role) string {
	parts := make([]string, len(roles))
	for i, r := range roles {
		parts[i] = string(r)
	}
	return strings.Join(parts, ",")
}

func decodeRoles(s string) []auth.Role {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	roles := make([]auth.Role, len(parts))
	for i, p := range parts {
		roles[i] = auth.Role(p)
	}
	return roles
}

// scanner is a *sql.Row or *sql.Rows.
type scanner = sqlshared.Scanner

// times reads the microsecond columns for the rows sqlshared knows.
var times = sqlshared.Times[int64, sql.NullInt64]{Time: fromMicros, Null: fromNullMicros}

const userCols = `id, email, password_hash, roles, disabled, created_at, updated_at, security_stamp, email_verified, mfa_enabled`

func scanUser(sc scanner) (auth.User, error) {
	var (
		u                auth.User
		roles            string
		created, updated int64
	)
	if err := sc.Scan(&u.ID, &u.Email, &u.PasswordHash, &roles, &u.Disabled, &created, &updated, &u.SecurityStamp, &u.EmailVerified, &u.MFAEnabled); err != nil {
		return auth.User{}, err
	}
	u.Roles = decodeRoles(roles)
	u.CreatedAt, u.UpdatedAt = fromMicros(created), fromMicros(updated)
	return u, nil
}

const sessionCols = `id, user_id, created_at, last_used_at, expires_at, user_agent, ip_address, ended_at, end_reason, amr, auth_time`

func scanSession(sc scanner) (auth.Session, error) {
	var (
		s                      auth.Session
		created, used, expires int64
		ended                  sql.NullInt64
		amr                    string
		authTime               int64
	)
	if err := sc.Scan(&s.ID, &s.UserID, &created, &used, &expires, &s.UserAgent, &s.IPAddress, &ended, &s.EndReason, &amr, &authTime); err != nil {
		return auth.Session{}, err
	}
	s.CreatedAt, s.LastUsedAt, s.ExpiresAt = fromMicros(created), fromMicros(used), fromMicros(expires)
	s.AMR, s.AuthTime = auth.DecodeAMR(amr), fromMicros(authTime)
	s.EndedAt = fromNullMicros(ended)
	return s, nil
}
