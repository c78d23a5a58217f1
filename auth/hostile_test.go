package auth

import (
	"testing"

	"github.com/example/gqlauth/verify/verifytest"
)

// TestHostileTable runs the shared hostile-token table (verify/verifytest) through the
// service's verifier; package verify runs the same table through its own, so the two agree.
func TestHostileTable(t *testing.T) {
	for _, alg := range ktAlgs {
		t.Run(alg, func(t *testing.T) {
			key, _ := ktSigningKey(t, alg, 0)
			ks, _ := NewKeySet(key)
			tokens := NewTokens(ks, ktTokenConfig(nil))
			vk := verifytest.Key{Method: key.method, Private: key.sign, KID: key.KID}
			if alg != AlgHS256 {
				vk.Public = key.verify
			}
			cases := verifytest.Hostile(vk, verifytest.Claims{
				Issuer: ktIssuer, Audience: ktAudience, Subject: ktUser.ID, Session: "sess-1", Now: ktStart, TTL: ktTTL,
			})
			want := map[verifytest.Verdict]error{verifytest.Accept: nil, verifytest.Expired: ErrTokenExpired, verifytest.Invalid: ErrTokenInvalid}
			for _, c := range cases {
				if _, err := tokens.Verify(c.Token); err != want[c.Want] {
					t.Errorf("%s: Verify = %v, want %v", c.Name, err, c.Want)
				}
			}
		})
	}
}
