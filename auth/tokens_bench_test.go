package auth

import (
	"testing"
	"time"
)

// One refresh parses the presented token and mints its successor.
func BenchmarkRefreshTokenParseMint(b *testing.B) {
	r := rtTokens(b, dtHMACKey(b, ktSecret))
	sid := newID(time.Now())
	tok, _ := r.mint(sid)
	b.ReportAllocs()
	for b.Loop() {
		h, ok := r.parse(tok)
		if !ok || h.SessionID != sid {
			b.Fatal("parse")
		}
		tok, _ = r.mint(h.SessionID)
	}
}

// Every sign-in and refresh signs an access token.
func BenchmarkIssue(b *testing.B) {
	tokens, _ := ktHMACTokens(b, nil)
	u := User{ID: newID(time.Now()), Roles: []Role{RoleUser}}
	sess := Session{ID: newID(time.Now()), AMR: []string{"pwd"}, AuthTime: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := tokens.Issue(u, sess); err != nil {
			b.Fatal(err)
		}
	}
}
