package auth

import (
	"context"
	"sync"
)

// subscriberEvents are the event types a user's subscription sees.
var subscriberEvents = map[EventType]bool{
	EventLogin: true, EventLogout: true, EventSessionRevoked: true,
	EventRefreshReuse: true, EventPasswordChanged: true, EventRolesChanged: true,
	EventEmailVerificationRequested: true, EventEmailVerified: true, EventPasswordResetRequested: true,
	EventPasswordReset: true, EventEmailChangeRequested: true, EventEmailChanged: true,
	EventMailSent: true, EventMailFailed: true,
	EventMFAEnabled: true, EventMFADisabled: true, EventMFAFailed: true, EventRecoveryCodeUsed: true,
	EventPasskeyAdded: true, EventPasskeyRemoved: true, EventPasskeyCloneDetected: true,
}

// EventBus fans security events out to a list of sinks (metrics) as they are published, and,
// through Deliver, to this instance's subscribers of each user. Subscribers are fed from the
// audit trail (auth.Config.Deliver), which holds the events of every instance, not by Publish:
// so each event reaches them once, wherever it happened. Slow subscribers lose events rather
// than block the delivery.
type EventBus struct {
	mu    sync.RWMutex
	subs  map[string]map[chan Event]struct{}
	sinks []EventSink
}

// NewEventBus returns a bus that also forwards every event to sinks.
func NewEventBus(sinks ...EventSink) *EventBus {
	return &EventBus{subs: map[string]map[chan Event]struct{}{}, sinks: sinks}
}

// AddSink adds a sink after construction (wiring order).
func (b *EventBus) AddSink(s EventSink) {
	b.mu.Lock()
	b.sinks = append(b.sinks, s)
	b.mu.Unlock()
}

// Publish implements EventSink: it forwards e to the sinks (not to subscribers; see Deliver).
func (b *EventBus) Publish(ctx context.Context, e Event) {
	b.mu.RLock()
	sinks := b.sinks
	b.mu.RUnlock()
	for _, s := range sinks {
		s.Publish(ctx, e)
	}
}

// Deliver hands e to this instance's subscribers of e.UserID (the audit trail's feed calls it).
func (b *EventBus) Deliver(e Event) {
	if !subscriberEvents[e.Type] || e.UserID == "" {
		return
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	for ch := range b.subs[e.UserID] {
		select {
		case ch <- e:
		default:
		}
	}
}

// Subscribe returns a channel of the user's events, closed when ctx ends.
func (b *EventBus) Subscribe(ctx context.Context, userID string) <-chan Event {
	ch := make(chan Event, 16)
	b.mu.Lock()
	if b.subs[userID] == nil {
		b.subs[userID] = map[chan Event]struct{}{}
	}
	b.subs[userID][ch] = struct{}{}
	b.mu.Unlock()
	go func() {
		<-ctx.Done()
		b.mu.Lock()
		delete(b.subs[userID], ch)
		if len(b.subs[userID]) == 0 {
			delete(b.subs, userID)
		}
		close(ch)
		b.mu.Unlock()
	}()
	return ch
}
