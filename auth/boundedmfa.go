package auth

import (
	"context"
	"time"
)

// The second-factor methods (MFAStore) with the deadline of every store call; housekeeping's
// PurgeMFAChallenges passes through unbounded like PurgeChanges.

func (s *boundedStore) TOTPOf(ctx context.Context, userID string) (TOTP, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.TOTPOf(ctx, userID)
}

func (s *boundedStore) BeginTOTP(ctx context.Context, userID string, secret []byte, now time.Time) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.BeginTOTP(ctx, userID, secret, now)
}

func (s *boundedStore) EnableTOTP(ctx context.Context, userID string, secret []byte, step int64, codes [][]byte, now time.Time) (User, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.EnableTOTP(ctx, userID, secret, step, codes, now)
}

func (s *boundedStore) UseTOTPStep(ctx context.Context, userID string, step int64, reseal []byte) (bool, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.UseTOTPStep(ctx, userID, step, reseal)
}

func (s *boundedStore) DisableTOTP(ctx context.Context, userID string, now time.Time) (bool, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.DisableTOTP(ctx, userID, now)
}

func (s *boundedStore) UseRecoveryCode(ctx context.Context, userID string, hash []byte, now time.Time) (bool, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.UseRecoveryCode(ctx, userID, hash, now)
}

func (s *boundedStore) ReplaceRecoveryCodes(ctx context.Context, userID string, codes [][]byte, now time.Time) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.ReplaceRecoveryCodes(ctx, userID, codes, now)
}

func (s *boundedStore) UnusedRecoveryCodes(ctx context.Context, userID string) (int, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.UnusedRecoveryCodes(ctx, userID)
}

func (s *boundedStore) CreateMFAChallenge(ctx context.Context, c MFAChallenge) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.CreateMFAChallenge(ctx, c)
}

func (s *boundedStore) TakeMFAAttempt(ctx context.Context, hash []byte, maxAttempts int, now time.Time) (MFAChallenge, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.TakeMFAAttempt(ctx, hash, maxAttempts, now)
}

func (s *boundedStore) ConsumeMFAChallenge(ctx context.Context, hash []byte, now time.Time) (bool, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.ConsumeMFAChallenge(ctx, hash, now)
}
