package e2e

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/example/gqlauth/internal/servertest"
	"github.com/example/gqlauth/verify"
	"github.com/example/gqlauth/verify/verifytest"
	"github.com/golang-jwt/jwt/v5"
)

// TestHostileTableThroughServerAndVerifier signs the shared hostile-token table with a running
// server's own key, for a real user and a live session, and asks both the server (`me`) and a
// verify.Verifier of that server: every row gets the same verdict from both.
func TestHostileTableThroughServerAndVerifier(t *testing.T) {
	s := servertest.StartFollowed(t, nil)
	userID := s.CreateUser(t, "ada@example.com", "USER", vfPassword)
	g := s.Login(t, "ada@example.com", vfPassword)
	tok, _, err := jwt.NewParser().ParseUnverified(g.AccessToken, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	sid, _ := tok.Claims.(jwt.MapClaims)["sid"].(string)
	kid, _ := tok.Header["kid"].(string)

	pemBytes, err := os.ReadFile(s.Env["JWT_PRIVATE_KEY_FILE"])
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemBytes)
	priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	key := verifytest.Key{Method: jwt.SigningMethodEdDSA, Private: priv, Public: priv.(ed25519.PrivateKey).Public(), KID: kid}
	rows := verifytest.Hostile(key, verifytest.Claims{
		Issuer: s.Env["JWT_ISSUER"], Audience: s.Env["JWT_AUDIENCE"], Subject: userID, Session: sid,
		Now: time.Now(), TTL: 15 * time.Minute,
	})

	v, err := verify.New(context.Background(), vfOptions(s))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	for _, row := range rows {
		_, verr := v.Verify(context.Background(), row.Token)
		byVerifier := verifytest.Invalid
		switch {
		case verr == nil:
			byVerifier = verifytest.Accept
		case errors.Is(verr, verify.ErrExpired):
			byVerifier = verifytest.Expired
		}
		if byVerifier != row.Want {
			t.Errorf("%s: the verifier says %v (%v), want %v", row.Name, byVerifier, verr, row.Want)
		}
		if strings.ContainsAny(row.Token, "\r\n") {
			continue // not sendable in a header; the HTTP layer refuses it before any verifier
		}
		if byServer := hostileServerVerdict(t, s, row.Token); byServer != byVerifier {
			t.Errorf("%s: the server says %v, the verifier %v (%v)", row.Name, byServer, byVerifier, verr)
		}
	}
}

// hostileServerVerdict asks the server's `me` with token.
func hostileServerVerdict(t *testing.T, s *servertest.Server, token string) verifytest.Verdict {
	t.Helper()
	// Always the header, even for an empty token: "Bearer " is a token the server must judge.
	r := (&testServer{s}).gqlWithHeader(t, http.Header{"Authorization": {"Bearer " + token}}, "{ me { id } }", nil)
	switch {
	case len(r.Errors) == 0:
		return verifytest.Accept
	case r.reason() == "USER_REQUIRED":
		return verifytest.Accept // a client's token: verified, then refused by `me`, which wants a user
	case r.reason() == "TOKEN_EXPIRED":
		return verifytest.Expired
	case r.reason() == "TOKEN_INVALID":
		return verifytest.Invalid
	}
	t.Fatalf("an unexpected answer: %+v", r)
	return 0
}
