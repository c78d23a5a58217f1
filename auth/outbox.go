package auth

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// The outbox sender: one loop per instance, in the shape of the change-log poller (a context, a
// wake-up channel, a poll fallback, a bounded batch). Each pass claims due mails with a lease
// (ClaimMail), prepares and delivers them, and records the outcome:
//
//	EnqueueMail ──► queued ──ClaimMail──► prepare (token + link) ──Deliver──► sent
//	                   ▲                                              │
//	                   └──── RetryMail (backoff RetryMin·2ⁿ ≤ RetryMax) ◄┘ temporary failure
//	                                         failed ◄── rejected, or older than GiveUp
//
// A crash between the enqueue and the delivery, or during it, leaves the mail queued (its lease
// runs out), so it is sent after the restart; at most a mail whose delivery was cut off after
// the server accepted it is sent twice.
type outbox struct {
	ch chan struct{}
}

func newOutbox() *outbox { return &outbox{ch: make(chan struct{}, 1)} }

// wake makes the sender look for work now.
func (o *outbox) wake() {
	select {
	case o.ch <- struct{}{}:
	default:
	}
}

// RunMailSender delivers the outbox until ctx ends; without a Mailer it returns at once.
func (s *Service) RunMailSender(ctx context.Context) {
	if s.cfg.Mail.Mailer == nil {
		return
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.outbox.ch:
			// Not at once: see MailConfig.WakeDelay.
			d := s.cfg.Mail.WakeDelay
			pause := time.NewTimer(d + rand.N(d+1)) //nolint:gosec // G404: jitter, not a secret
			select {
			case <-ctx.Done():
				pause.Stop()
				return
			case <-pause.C:
			}
		}
		for ctx.Err() == nil {
			n, err := s.SendMail(ctx)
			if err != nil && ctx.Err() == nil {
				s.cfg.Logger.Warn("mail sender: claim failed; will retry", "err", err)
			}
			if err != nil || n < s.cfg.Mail.Batch {
				break
			}
		}
		t.Reset(s.cfg.Mail.Poll)
	}
}

// SendMail runs one pass of the sender: it claims a batch and handles each mail, and reports
// how many it claimed.
func (s *Service) SendMail(ctx context.Context) (int, error) {
	cfg := s.cfg.Mail
	batch, err := s.store.ClaimMail(ctx, s.cfg.Now().UTC(), cfg.Lease, cfg.Batch)
	if err != nil {
		return 0, err
	}
	for _, m := range batch {
		if ctx.Err() != nil {
			break // the claims run out; another instance or the next start sends them
		}
		s.handleMail(ctx, m)
	}
	return len(batch), nil
}

func (s *Service) handleMail(ctx context.Context, m OutboxMail) {
	cfg := s.cfg.Mail
	// The events of a delivery name the request that caused the mail.
	ctx = WithClient(ctx, Client{IP: m.Data["ip"], UserAgent: m.Data["userAgent"]})
	m, send, err := s.prepare(ctx, m)
	if err == nil && !send {
		s.finishMail(ctx, m, MailDropped, "")
		return
	}
	if err == nil {
		dctx, cancel := context.WithTimeout(ctx, cfg.SendTimeout)
		err = cfg.Mailer.Deliver(dctx, m)
		cancel()
	}
	switch {
	case err == nil:
		s.finishMail(ctx, m, MailSent, "")
		s.publish(ctx, EventMailSent, m.UserID, "", m.Template)
	case ctx.Err() != nil:
		// Shutting down: leave the claim to run out rather than count an attempt.
	case errors.Is(err, ErrMailRejected) || s.cfg.Now().Sub(m.CreatedAt) >= cfg.GiveUp:
		s.cfg.Logger.Error("mail failed; giving up", "mail", m.ID, "to", m.To, "template", m.Template, "attempts", m.Attempts+1, "err", err)
		s.finishMail(ctx, m, MailFailed, err.Error())
		s.publish(ctx, EventMailFailed, m.UserID, "", m.Template)
	default:
		next := s.cfg.Now().UTC().Add(retryDelay(cfg.RetryMin, cfg.RetryMax, m.Attempts))
		s.cfg.Logger.Warn("mail delivery failed; will retry", "mail", m.ID, "to", m.To, "attempt", m.Attempts+1, "next", next, "err", err)
		if rerr := s.store.RetryMail(ctx, m.ID, next, truncate(err.Error(), 500)); rerr != nil {
			s.cfg.Logger.Warn("mail retry not recorded; the lease will run out", "mail", m.ID, "err", rerr)
		}
		if cfg.OnMail != nil {
			cfg.OnMail(MailQueued)
		}
	}
}

func (s *Service) finishMail(ctx context.Context, m OutboxMail, status MailStatus, lastErr string) {
	if err := s.store.FinishMail(ctx, m.ID, status, truncate(lastErr, 500), s.cfg.Now().UTC()); err != nil {
		// The mail stays claimed; when the lease runs out it is handled again (a sent one is
		// then sent twice, which the outbox allows after a failure).
		s.cfg.Logger.Warn("mail outcome not recorded", "mail", m.ID, "status", string(status), "err", err)
	}
	if s.cfg.Mail.OnMail != nil {
		s.cfg.Mail.OnMail(status)
	}
}

// retryDelay is the wait before attempt n+1: first·2ⁿ, at most ceiling.
func retryDelay(first, ceiling time.Duration, attempts int) time.Duration {
	d := first
	for range attempts {
		d *= 2
		if d >= ceiling {
			return ceiling
		}
	}
	return d
}
