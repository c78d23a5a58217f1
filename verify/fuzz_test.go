package verify

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/example/gqlauth/verify/verifytest"
)

// Run one for a while with, for example:
//
//	go test ./verify -run '^$' -fuzz FuzzParseJWKS -fuzztime 60s

func FuzzParseJWKS(f *testing.F) {
	for _, alg := range []string{"EdDSA", "ES256", "RS256"} {
		f.Add(verifytest.NewIssuer(alg, "i", "a").JWKS())
	}
	for _, s := range []string{`{}`, `{"keys":[]}`, `{"keys":null}`, `{"keys":[{"kty":"oct","k":"AAAA","kid":"x"}]}`,
		`{"keys":[{"kty":"EC","crv":"P-256","kid":"x","x":"AAAA","y":"AAAA"}]}`, `{"keys":[{"kty":"RSA","kid":"x","n":"AQAB","e":"AQAB"}]}`,
		`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","alg":"ES256"}]}`, `[`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, pinned := range []string{"", "EdDSA", "ES256", "RS256"} {
			keys, alg, err := parseJWKS(body, pinned)
			if err != nil {
				if keys != nil {
					t.Fatal("keys with an error")
				}
				continue
			}
			if len(keys) == 0 || len(keys) > maxJWKSKeys {
				t.Fatalf("%d keys", len(keys))
			}
			if pinned != "" && alg != pinned {
				t.Fatalf("pinned %s, got %s", pinned, alg)
			}
			for kid, k := range keys {
				if kid == "" || k.Alg != alg || k.Verify == nil || k.Alg == "HS256" {
					t.Fatalf("key %q: %+v", kid, k)
				}
			}
		}
	})
}

func FuzzMaxAge(f *testing.F) {
	for _, s := range []string{"", "max-age=300", "no-store", "public, max-age=0", "max-age=99999999999999999999", "max-age=-1", `max-age="60"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cc string) {
		if d := maxAge(cc); d < minKeysMaxAge || d > maxKeysMaxAge {
			t.Fatalf("maxAge(%q) = %v", cc, d)
		}
	})
}

// FuzzFeedPage: whatever the feed answers, applying it keeps the follower's maps bounded and
// never makes an entry matter past its until.
func FuzzFeedPage(f *testing.F) {
	f.Add([]byte(`{"cursor":"1.5","sessions":[{"sid":"s","until":"2031-05-06T08:00:00Z"}],"users":[{"sub":"u","disabled":true,"roles":["USER"]}]}`))
	f.Add([]byte(`{"cursor":"x","more":true,"sessions":[{"sid":"","until":"1999-01-01T00:00:00Z"}]}`))
	f.Add([]byte(`{"cursor":""}`))
	now := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		var p feedPage
		if json.Unmarshal(body, &p) != nil {
			return
		}
		fl := newFollower(Options{Clock: func() time.Time { return now }, MaxEntries: 8}, "http://x")
		fl.apply(p)
		if len(fl.ended)+len(fl.users) > 8 {
			t.Fatalf("%d entries over the bound of 8", len(fl.ended)+len(fl.users))
		}
		for sid, until := range fl.ended {
			if sid == "" || !now.Before(until) {
				t.Fatalf("ended %q until %v", sid, until)
			}
		}
	})
}

func FuzzVerify(f *testing.F) {
	iss := verifytest.NewIssuer("HS256", "https://i", "a")
	now := time.Now()
	iss.Now = func() time.Time { return now }
	for _, c := range iss.Hostile() {
		f.Add(c.Token)
	}
	v, err := New(context.Background(), Options{Issuer: iss.Issuer, Audience: iss.Audience, HS256Secret: iss.Secret(), Clock: iss.Now})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(v.Close)
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := v.Verify(context.Background(), raw)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && err != ErrExpired {
				t.Fatalf("not a sentinel: %v", err)
			}
			return
		}
		if c.Issuer != iss.Issuer || c.Subject == "" || c.ID == "" || (c.SessionID == "" && c.ClientID == "") {
			t.Fatalf("accepted %+v", c)
		}
	})
}
