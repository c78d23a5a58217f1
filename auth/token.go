package auth

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/example/gqlauth/internal/tokenrules"
	"github.com/golang-jwt/jwt/v5"
)

// The token rules themselves (typ, alg, kid, crit, embedded keys, iss, aud, times) live in
// internal/tokenrules, which the verifier other services import (package verify) uses too.
const (
	accessTokenType = tokenrules.AccessTokenType
	maxTokenBytes   = tokenrules.MaxTokenBytes
	// MaxLeeway is the largest clock-skew allowance on exp, nbf and iat (docs/tokens.md: at most 5 s).
	MaxLeeway = tokenrules.MaxLeeway
)

// Claims are an access token's claims.
type Claims struct {
	jwt.RegisteredClaims
	SessionID string `json:"sid,omitempty"` // a user's tokens always carry both
	Roles     []Role `json:"roles,omitempty"`
	// AMR are the RFC 8176 methods of the session's sign-in ("pwd"; "pwd otp mfa"; "hwk user
	// mfa"), AuthTime when it was made (OpenID Connect's auth_time). A refresh keeps both.
	AMR      []string         `json:"amr,omitempty"`
	AuthTime *jwt.NumericDate `json:"auth_time,omitempty"`
	// ClientID and Scope are those of an OAuth client's own token (client_credentials, RFC
	// 9068): sub = client_id, a space-delimited scope, and no sid or roles.
	ClientID string `json:"client_id,omitempty"`
	Scope    string `json:"scope,omitempty"`
}

// Validate requires what the registered claims do not: a token id, and either a session (a
// user's token) or a client whose id is the subject (a client's token), never both. The
// parser calls it (golang-jwt's ClaimsValidator) after the rules' own checks.
func (c *Claims) Validate() error {
	return tokenrules.Principal(c.ID, c.Subject, c.SessionID, c.ClientID, len(c.Roles))
}

// IsClient reports whether these are the claims of a client's own token.
func (c *Claims) IsClient() bool { return c.ClientID != "" }

// TokenConfig configures access tokens.
type TokenConfig struct {
	Issuer   string
	Audience string
	TTL      time.Duration
	Leeway   time.Duration    // capped at MaxLeeway
	Now      func() time.Time // injectable clock for tests; time.Now when nil
}

// Tokens issues and verifies access tokens. The parser is built once, from options.
type Tokens struct {
	keys     *KeySet
	header   string // the current key's encoded JOSE header, the same for every token
	cfg      TokenConfig
	rules    *tokenrules.Rules
	verified tokenrules.Cache[*Claims] // the key set never changes while the process runs
}

// expired reports whether claims verified earlier have since passed their exp, allowing the
// same leeway as Verify: a WebSocket's claims are verified once, at connection_init, and its
// operations must still be refused once a request with that token would be.
func (t *Tokens) expired(c *Claims) bool {
	return errors.Is(t.rules.Current(c), tokenrules.ErrExpired)
}

// NewTokens builds the issuer/verifier for keys.
func NewTokens(keys *KeySet, cfg TokenConfig) *Tokens {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Leeway = min(cfg.Leeway, MaxLeeway)
	rules := tokenrules.New(tokenrules.Config{
		Issuer: cfg.Issuer, Audience: cfg.Audience, Alg: keys.Alg(), Leeway: cfg.Leeway, Now: cfg.Now,
	})
	return &Tokens{keys: keys, header: encodeHeader(keys.current), cfg: cfg, rules: rules}
}

// encodeHeader is the first segment of key's tokens, as golang-jwt's SigningString encodes
// it (a map marshals with its keys sorted: alg, kid, typ). Encoding it once spares every token
// a map's marshalling.
func encodeHeader(key SigningKey) string {
	h, err := json.Marshal(map[string]any{"alg": key.method.Alg(), "kid": key.KID, "typ": accessTokenType})
	if err != nil { // strings only: cannot fail
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(h)
}

// TTL is the access token lifetime.
func (t *Tokens) TTL() time.Duration { return t.cfg.TTL }

// Issue mints an access token for the user's session. Its expiry never passes the session's
// absolute expiry (a zero ExpiresAt sets no bound), and it says how the session's sign-in was
// made (amr, auth_time). It returns the token and its lifetime.
func (t *Tokens) Issue(u User, sess Session) (string, time.Duration, error) {
	return t.sign(u.ID, sess.ExpiresAt, func(c *Claims) {
		c.SessionID, c.Roles, c.AMR = sess.ID, u.Roles, sess.AMR
		if !sess.AuthTime.IsZero() {
			c.AuthTime = jwt.NewNumericDate(sess.AuthTime)
		}
	})
}

// IssueClient mints an OAuth client's own access token (client_credentials): sub and
// client_id are the client's id, scope the granted scopes; no sid, no roles.
func (t *Tokens) IssueClient(clientID string, scopes []string) (string, time.Duration, error) {
	return t.sign(clientID, time.Time{}, func(c *Claims) {
		c.ClientID, c.Scope = clientID, strings.Join(scopes, " ")
	})
}

// sign mints a token for subject that expires after the TTL, or at notAfter if that is sooner
// (zero: no bound), with the registered claims every token has and what fill adds. It returns
// the token and its lifetime.
func (t *Tokens) sign(subject string, notAfter time.Time, fill func(*Claims)) (string, time.Duration, error) {
	now := t.cfg.Now().Truncate(time.Second)
	exp := now.Add(t.cfg.TTL)
	if !notAfter.IsZero() && notAfter.Before(exp) {
		exp = notAfter
	}
	claims := Claims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer:    t.cfg.Issuer,
		Subject:   subject,
		Audience:  jwt.ClaimStrings{t.cfg.Audience},
		ExpiresAt: jwt.NewNumericDate(exp),
		NotBefore: jwt.NewNumericDate(now),
		IssuedAt:  jwt.NewNumericDate(now),
		ID:        randomID(16),
	}}
	fill(&claims)
	// What golang-jwt's SignedString does, with the header encoded once (encodeHeader); the
	// signature is still the library's.
	payload, err := marshalClaims(&claims)
	if err != nil {
		return "", 0, err
	}
	key := t.keys.current
	signing := t.header + "." + base64.RawURLEncoding.EncodeToString(payload)
	sig, err := key.method.Sign(signing, key.sign)
	if err != nil {
		return "", 0, err
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), exp.Sub(now), nil
}

// Verify checks an access token and returns its claims, or ErrTokenExpired (a correctly signed
// token whose only fault is its expiry) or ErrTokenInvalid (anything else).
func (t *Tokens) Verify(raw string) (*Claims, error) {
	if raw == "" || len(raw) > maxTokenBytes {
		return nil, ErrTokenInvalid
	}
	// Only tokens that passed every check are cached, so a hit needs no second look at the
	// token's bytes (Shape reads all of them, about 500).
	if claims, ok := t.verified.Get(raw); ok {
		if t.rules.Current(claims) == nil {
			return claims, nil
		}
		t.verified.Drop(raw) // expired (or a clock moved back): the full check gives the error
	}
	if tokenrules.Shape(raw) != nil {
		return nil, ErrTokenInvalid
	}
	claims := &Claims{}
	switch err := t.rules.Parse(raw, claims, t.keys.lookup); {
	case err == nil:
	case errors.Is(err, tokenrules.ErrExpired):
		return nil, ErrTokenExpired
	default:
		return nil, ErrTokenInvalid
	}
	t.verified.Put(raw, claims, t.cfg.Now())
	return claims, nil
}

// randomID returns n random bytes, base64url-encoded.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+); it panics instead
	return base64.RawURLEncoding.EncodeToString(b)
}
