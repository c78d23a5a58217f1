package metrics

import (
	"context"
	"time"

	"github.com/example/gqlauth/auth"
)

// The second-factor methods of auth.Store (auth.MFAStore), timed like the others.

func (t *timedStore) TOTPOf(ctx context.Context, userID string) (auth.TOTP, error) {
	defer t.done("TOTPOf", time.Now())
	return t.inner.TOTPOf(ctx, userID)
}

func (t *timedStore) BeginTOTP(ctx context.Context, userID string, secret []byte, now time.Time) error {
	defer t.done("BeginTOTP", time.Now())
	return t.inner.BeginTOTP(ctx, userID, secret, now)
}

func (t *timedStore) EnableTOTP(ctx context.Context, userID string, secret []byte, step int64, codes [][]byte, now time.Time) (auth.User, error) {
	defer t.done("EnableTOTP", time.Now())
	return t.inner.EnableTOTP(ctx, userID, secret, step, codes, now)
}

func (t *timedStore) UseTOTPStep(ctx context.Context, userID string, step int64, reseal []byte) (bool, error) {
	defer t.done("UseTOTPStep", time.Now())
	return t.inner.UseTOTPStep(ctx, userID, step, reseal)
}

func (t *timedStore) DisableTOTP(ctx context.Context, userID string, now time.Time) (bool, error) {
	defer t.done("DisableTOTP", time.Now())
	return t.inner.DisableTOTP(ctx, userID, now)
}

func (t *timedStore) UseRecoveryCode(ctx context.Context, userID string, hash []byte, now time.Time) (bool, error) {
	defer t.done("UseRecoveryCode", time.Now())
	return t.inner.UseRecoveryCode(ctx, userID, hash, now)
}

func (t *timedStore) ReplaceRecoveryCodes(ctx context.Context, userID string, codes [][]byte, now time.Time) error {
	defer t.done("ReplaceRecoveryCodes", time.Now())
	return t.inner.ReplaceRecoveryCodes(ctx, userID, codes, now)
}

func (t *timedStore) UnusedRecoveryCodes(ctx context.Context, userID string) (int, error) {
	defer t.done("UnusedRecoveryCodes", time.Now())
	return t.inner.UnusedRecoveryCodes(ctx, userID)
}

func (t *timedStore) CreateMFAChallenge(ctx context.Context, c auth.MFAChallenge) error {
	defer t.done("CreateMFAChallenge", time.Now())
	return t.inner.CreateMFAChallenge(ctx, c)
}

func (t *timedStore) TakeMFAAttempt(ctx context.Context, hash []byte, maxAttempts int, now time.Time) (auth.MFAChallenge, error) {
	defer t.done("TakeMFAAttempt", time.Now())
	return t.inner.TakeMFAAttempt(ctx, hash, maxAttempts, now)
}

func (t *timedStore) ConsumeMFAChallenge(ctx context.Context, hash []byte, now time.Time) (bool, error) {
	defer t.done("ConsumeMFAChallenge", time.Now())
	return t.inner.ConsumeMFAChallenge(ctx, hash, now)
}

func (t *timedStore) PurgeMFAChallenges(ctx context.Context, before time.Time, batch int) (int64, error) {
	defer t.done("PurgeMFAChallenges", time.Now())
	return t.inner.PurgeMFAChallenges(ctx, before, batch)
}
