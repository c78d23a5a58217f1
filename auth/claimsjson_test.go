package auth

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func mcCheck(t *testing.T, c *Claims) {
	t.Helper()
	want, errWant := json.Marshal(c)
	got, errGot := marshalClaims(c)
	if (errWant == nil) != (errGot == nil) || !bytes.Equal(got, want) {
		t.Fatalf("marshalClaims\n got  %s, %v\n want %s, %v", got, errGot, want, errWant)
	}
}

func TestMarshalClaimsAsEncodingJSON(t *testing.T) {
	at := func(s int64, ns int) *jwt.NumericDate { return jwt.NewNumericDate(time.Unix(s, int64(ns))) }
	for _, c := range []*Claims{
		{},
		{RegisteredClaims: jwt.RegisteredClaims{Issuer: "http://127.0.0.1:18092", Subject: "01a233f3-c700-7cb2-98ae-5b5753764ccf",
			Audience: jwt.ClaimStrings{"bench"}, ExpiresAt: at(1796175143, 0), NotBefore: at(1796167943, 0), IssuedAt: at(1796167943, 0),
			ID: "D0QLriE9mpXaTYHPu53w6g"}, SessionID: "01a233f3-c701-704b-979f-80ce4db9b93c", Roles: []Role{RoleUser, RoleAdmin},
			AMR: []string{"pwd", "otp", "mfa"}, AuthTime: at(1796167943, 999_999_999)},
		{RegisteredClaims: jwt.RegisteredClaims{Subject: "cl_x", Audience: jwt.ClaimStrings{"a", "b"}, IssuedAt: at(-5, 500)},
			ClientID: "cl_x", Scope: "read:users write:users"},
		{RegisteredClaims: jwt.RegisteredClaims{Issuer: "https://example.com/?a=1&b=<2>", Audience: jwt.ClaimStrings{}}},
		{RegisteredClaims: jwt.RegisteredClaims{Subject: "é \"quoted\" \\ \n \u2028 \xff"}, Scope: "\x00"},
		{Roles: []Role{}, AMR: []string{""}, AuthTime: at(0, 0)},
	} {
		mcCheck(t, c)
	}
}

func FuzzMarshalClaims(f *testing.F) {
	f.Add("http://issuer", "sub", "aud", "jti", "sid", "USER", "pwd", "client", "scope", int64(1796167943), 123)
	f.Add("<&>", "é", "", "\"", "\\", "", "\n", "\u2028", "\xff", int64(-1), 999_999_999)
	f.Fuzz(func(t *testing.T, iss, sub, aud, jti, sid, role, amr, client, scope string, sec int64, ns int) {
		d := jwt.NewNumericDate(time.Unix(sec, int64(ns)))
		c := &Claims{RegisteredClaims: jwt.RegisteredClaims{Issuer: iss, Subject: sub, Audience: jwt.ClaimStrings{aud},
			ExpiresAt: d, NotBefore: d, IssuedAt: d, ID: jti}, SessionID: sid, Roles: []Role{Role(role)}, AMR: []string{amr, amr},
			AuthTime: d, ClientID: client, Scope: scope}
		mcCheck(t, c)
	})
}
