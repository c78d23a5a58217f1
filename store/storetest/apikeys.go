package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
)

var apiKeyTests = []test{
	{"APIKeys/CreateAndRead", testAPIKeyCreateAndRead},
	{"APIKeys/List", testAPIKeyList},
	{"APIKeys/Revoke", testAPIKeyRevoke},
	{"APIKeys/RevokeUser", testAPIKeyRevokeUser},
	{"APIKeys/Touch", testAPIKeyTouch},
	{"Tokens/RefreshTokenByHash", testRefreshTokenByHash},
}

func newAPIKey(id, userID string) auth.APIKey {
	return auth.APIKey{
		ID: id, UserID: userID, Name: "key " + id, Prefix: "gqa_" + id, Hash: hashOf("secret " + id),
		CreatedAt: t0, ExpiresAt: t0.Add(90 * 24 * time.Hour),
	}
}

func sameKey(t *testing.T, got, want auth.APIKey) {
	t.Helper()
	us := func(x time.Time) time.Time {
		if x.IsZero() {
			return x
		}
		return x.UTC().Truncate(time.Microsecond)
	}
	if got.ID != want.ID || got.UserID != want.UserID || got.Name != want.Name || got.Prefix != want.Prefix ||
		!slices.Equal(got.Hash, want.Hash) || !got.CreatedAt.Equal(us(want.CreatedAt)) || got.CreatedAt.Location() != time.UTC ||
		!got.ExpiresAt.Equal(us(want.ExpiresAt)) || !got.LastUsedAt.Equal(us(want.LastUsedAt)) || !got.RevokedAt.Equal(us(want.RevokedAt)) {
		t.Fatalf("key = %+v\nwant  %+v", got, want)
	}
}

// A key reads back by hash and by id as written (UTC, microseconds; a zero expiry stays zero);
// unknown ones are ErrNotFound; creating logs nothing.
func testAPIKeyCreateAndRead(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	mustCreateUser(t, s, newUser("u1"))
	k := newAPIKey("k1", "u1")
	must(t, s.CreateAPIKey(ctx, k))
	forever := newAPIKey("k2", "u1")
	forever.ExpiresAt = time.Time{}
	must(t, s.CreateAPIKey(ctx, forever))
	got, err := s.APIKeyByHash(ctx, k.Hash)
	must(t, err)
	sameKey(t, got, k)
	got, err = s.APIKeyByID(ctx, "k2")
	must(t, err)
	sameKey(t, got, forever)
	if _, err := s.APIKeyByHash(ctx, hashOf("nothing")); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("unknown hash: %v", err)
	}
	if _, err := s.APIKeyByID(ctx, "k9"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	mustLogNothing(t, s, "creating keys")
}

// ListAPIKeys: the user's keys that are not revoked, newest first, expired ones included.
func testAPIKeyList(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	mustCreateUser(t, s, newUser("u1"))
	mustCreateUser(t, s, newUser("u2"))
	for i, id := range []string{"k1", "k2", "k3", "k4"} {
		k := newAPIKey(id, "u1")
		k.CreatedAt = at(time.Duration(i) * time.Second)
		if id == "k2" {
			k.ExpiresAt = at(-time.Hour)
		}
		must(t, s.CreateAPIKey(ctx, k))
	}
	must(t, s.CreateAPIKey(ctx, newAPIKey("other", "u2")))
	_, err := s.RevokeAPIKey(ctx, "k3", at(time.Hour))
	must(t, err)
	ks, err := s.ListAPIKeys(ctx, "u1")
	must(t, err)
	var ids []string
	for _, k := range ks {
		ids = append(ids, k.ID)
	}
	if !slices.Equal(ids, []string{"k4", "k2", "k1"}) {
		t.Fatalf("ListAPIKeys = %v", ids)
	}
	if ks, err := s.ListAPIKeys(ctx, "nobody"); err != nil || len(ks) != 0 {
		t.Fatalf("unknown user: %v %v", ks, err)
	}
}

// RevokeAPIKey revokes once, logging ChangeAPIKeyRevoked with the owner in UserID and the key
// in SessionID; again it reports false and logs nothing; unknown: ErrNotFound.
func testAPIKeyRevoke(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	mustCreateUser(t, s, newUser("u1"))
	k := newAPIKey("k1", "u1")
	must(t, s.CreateAPIKey(ctx, k))
	ok, err := s.RevokeAPIKey(ctx, "k1", at(time.Minute))
	if err != nil || !ok {
		t.Fatalf("RevokeAPIKey = %v, %v", ok, err)
	}
	got, err := s.APIKeyByHash(ctx, k.Hash)
	must(t, err)
	k.RevokedAt = at(time.Minute)
	sameKey(t, got, k)
	if ok, err := s.RevokeAPIKey(ctx, "k1", at(2*time.Minute)); err != nil || ok {
		t.Fatalf("again: %v, %v", ok, err)
	}
	if _, err := s.RevokeAPIKey(ctx, "k9", at(time.Minute)); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	cs := allChanges(t, s)
	if len(cs) != 1 || cs[0].Kind != auth.ChangeAPIKeyRevoked || cs[0].UserID != "u1" || cs[0].SessionID != "k1" ||
		!cs[0].At.Equal(at(time.Minute).Truncate(time.Microsecond)) {
		t.Fatalf("change log = %+v", cs)
	}
}

// RevokeUserAPIKeys revokes the user's active keys only, one entry each, ids sorted.
func testAPIKeyRevokeUser(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	mustCreateUser(t, s, newUser("u1"))
	mustCreateUser(t, s, newUser("u2"))
	for _, id := range []string{"kc", "ka", "kb"} {
		must(t, s.CreateAPIKey(ctx, newAPIKey(id, "u1")))
	}
	must(t, s.CreateAPIKey(ctx, newAPIKey("other", "u2")))
	_, err := s.RevokeAPIKey(ctx, "kb", at(time.Second))
	must(t, err)
	ids, err := s.RevokeUserAPIKeys(ctx, "u1", at(time.Minute))
	must(t, err)
	if !slices.Equal(ids, []string{"ka", "kc"}) {
		t.Fatalf("RevokeUserAPIKeys = %v", ids)
	}
	if ks, _ := s.ListAPIKeys(ctx, "u1"); len(ks) != 0 {
		t.Fatalf("left %+v", ks)
	}
	if ks, _ := s.ListAPIKeys(ctx, "u2"); len(ks) != 1 {
		t.Fatalf("other user's keys: %+v", ks)
	}
	var got []string
	for _, c := range allChanges(t, s)[1:] {
		if c.Kind != auth.ChangeAPIKeyRevoked || c.UserID != "u1" {
			t.Fatalf("entry %+v", c)
		}
		got = append(got, c.SessionID)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"ka", "kc"}) {
		t.Fatalf("logged %v", got)
	}
	if ids, err := s.RevokeUserAPIKeys(ctx, "u1", at(time.Hour)); err != nil || len(ids) != 0 {
		t.Fatalf("again: %v %v", ids, err)
	}
}

// TouchAPIKey writes LastUsedAt unless it is already at or after notBefore.
func testAPIKeyTouch(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	mustCreateUser(t, s, newUser("u1"))
	must(t, s.CreateAPIKey(ctx, newAPIKey("k1", "u1")))
	last := func() time.Time {
		k, err := s.APIKeyByID(ctx, "k1")
		must(t, err)
		return k.LastUsedAt
	}
	must(t, s.TouchAPIKey(ctx, "k1", at(time.Minute), at(0)))
	if !last().Equal(at(time.Minute).Truncate(time.Microsecond)) {
		t.Fatalf("first touch: %v", last())
	}
	must(t, s.TouchAPIKey(ctx, "k1", at(90*time.Second), at(30*time.Second))) // written at 1m ≥ 30s: kept
	if !last().Equal(at(time.Minute).Truncate(time.Microsecond)) {
		t.Fatalf("touch within the interval wrote: %v", last())
	}
	must(t, s.TouchAPIKey(ctx, "k1", at(3*time.Minute), at(2*time.Minute)))
	if !last().Equal(at(3 * time.Minute).Truncate(time.Microsecond)) {
		t.Fatalf("touch after the interval: %v", last())
	}
	must(t, s.TouchAPIKey(ctx, "nope", at(time.Minute), at(0))) // unknown: nothing to do
	mustLogNothing(t, s, "touching")
}

// RefreshTokenByHash finds current and rotated refresh tokens with their times; an unknown
// hash is ErrNotFound.
func testRefreshTokenByHash(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	mustCreateUser(t, s, newUser("u1"))
	mustCreateSession(t, s, newSession("s1", "u1"))
	first, err := s.RefreshTokenByHash(ctx, hashOf("s1/0"))
	must(t, err)
	if first.SessionID != "s1" || !first.CreatedAt.Equal(t0.Truncate(time.Microsecond)) || !first.RotatedAt.IsZero() {
		t.Fatalf("current token: %+v", first)
	}
	_, err = s.RotateRefreshToken(ctx, tok("s1/0"), tok("s1/1"), at(time.Minute))
	must(t, err)
	old, err := s.RefreshTokenByHash(ctx, hashOf("s1/0"))
	must(t, err)
	if !old.RotatedAt.Equal(at(time.Minute).Truncate(time.Microsecond)) || old.RotatedAt.Location() != time.UTC {
		t.Fatalf("rotated token: %+v", old)
	}
	cur, err := s.RefreshTokenByHash(ctx, hashOf("s1/1"))
	must(t, err)
	if cur.SessionID != "s1" || !cur.RotatedAt.IsZero() || !cur.CreatedAt.Equal(at(time.Minute).Truncate(time.Microsecond)) {
		t.Fatalf("new token: %+v", cur)
	}
	if _, err := s.RefreshTokenByHash(ctx, hashOf("nothing")); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
}
