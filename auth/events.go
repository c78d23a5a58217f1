package auth

import (
	"context"
	"time"
)

// EventType names a security event.
type EventType string

// The event types, as the API's SecurityEventType names them.
const (
	EventLogin           EventType = "LOGIN"
	EventLoginFailed     EventType = "LOGIN_FAILED"
	EventLogout          EventType = "LOGOUT"
	EventSessionRevoked  EventType = "SESSION_REVOKED"
	EventRefreshReuse    EventType = "REFRESH_TOKEN_REUSE"
	EventPasswordChanged EventType = "PASSWORD_CHANGED"
	EventRolesChanged    EventType = "ROLES_CHANGED"
	EventUserDisabled    EventType = "USER_DISABLED"
	EventUserEnabled     EventType = "USER_ENABLED"
	EventUserRegistered  EventType = "REGISTERED"
	EventRefreshed       EventType = "REFRESHED"
	EventRateLimited     EventType = "RATE_LIMITED"
	// Second factors (mfa.go, mfalogin.go); MFA_ENABLED and MFA_DISABLED, which mail a notice,
	// are in notices.go.
	EventMFAFailed        EventType = "MFA_FAILED"
	EventRecoveryCodeUsed EventType = "RECOVERY_CODE_USED"
	// Passkeys (Reason: the passkey's name).
	EventPasskeyAdded         EventType = "PASSKEY_ADDED"
	EventPasskeyRemoved       EventType = "PASSKEY_REMOVED"
	EventPasskeyCloneDetected EventType = "PASSKEY_CLONE_DETECTED"
)

// Event is one security event of a user.
type Event struct {
	Type      EventType
	At        time.Time
	UserID    string
	SessionID string
	IPAddress string
	UserAgent string
	Reason    string // for failures: the error's reason
}

// EventSink receives security events. It must not block for long.
type EventSink interface {
	Publish(ctx context.Context, e Event)
}

// publish records a security event in the audit trail (asynchronously; see audit.go) and
// hands it to Config.Events.
func (s *Service) publish(ctx context.Context, t EventType, userID, sessionID, reason string) {
	s.emit(ctx, t, userID, sessionID, reason, noticeOf{})
}

// emit is publish with more for the event's notice (notices.go).
func (s *Service) emit(ctx context.Context, t EventType, userID, sessionID, reason string, n noticeOf) {
	c := ClientFrom(ctx)
	e := Event{
		Type: t, At: s.cfg.Now().UTC(), UserID: userID, SessionID: sessionID,
		IPAddress: c.IP, UserAgent: truncate(c.UserAgent, 512), Reason: reason,
	}
	if audited(t) {
		s.audit.Publish(e)
	}
	if s.cfg.Events != nil {
		s.cfg.Events.Publish(ctx, e)
	}
	s.notice(ctx, e, n)
}
