package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Access tokens carry this media type in `typ` (RFC 9068).
const accessTokenType = "at+jwt"

// maxTokenBytes bounds what the verifier will even look at.
const maxTokenBytes = 8 << 10

// MaxLeeway is the largest clock-skew allowance on exp, nbf and iat (docs/tokens.md: at most 5 s).
const MaxLeeway = 5 * time.Second

// Claims are an access token's claims.
type Claims struct {
	jwt.RegisteredClaims
	SessionID string `json:"sid"`
	Roles     []Role `json:"roles"`
	// AMR are the RFC 8176 methods of the session's sign-in ("pwd"; "pwd otp mfa"; "hwk user
	// mfa"), AuthTime when it was made (OpenID Connect's auth_time). A refresh keeps both.
	AMR      []string         `json:"amr,omitempty"`
	AuthTime *jwt.NumericDate `json:"auth_time,omitempty"`
}

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
	cfg      TokenConfig
	parser   *jwt.Parser
	verified verifiedCache
}

// verifiedCache remembers access tokens that passed every check, keyed by the exact token
// string, so a client presenting the same token again (every request for its lifetime) costs a
// map lookup instead of two JSON decodes and a signature check. The key set never changes while
// the process runs, so a string that verified once verifies again; only the time checks (exp,
// nbf, iat, with the same leeway) depend on when it is presented, and they are repeated on every
// hit. A hit that fails them is dropped and the token goes through the full verification, which
// gives the error. Only verified tokens enter, so a flood of forged tokens cannot fill it.
type verifiedCache struct {
	mu sync.RWMutex
	m  map[string]*Claims
}

// maxVerifiedTokens bounds the cache (about 0.7 KB an entry).
const maxVerifiedTokens = 4096

func (c *verifiedCache) get(raw string) *Claims {
	c.mu.RLock()
	claims := c.m[raw]
	c.mu.RUnlock()
	return claims
}

func (c *verifiedCache) put(raw string, claims *Claims, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]*Claims, 64)
	}
	if len(c.m) >= maxVerifiedTokens {
		for k, v := range c.m { // expired first, then an arbitrary eighth (map order is random)
			if v.ExpiresAt == nil || !now.Before(v.ExpiresAt.Time.Add(MaxLeeway)) {
				delete(c.m, k)
			}
		}
		for k := range c.m {
			if len(c.m) < maxVerifiedTokens*7/8 {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[raw] = claims
}

func (c *verifiedCache) drop(raw string) {
	c.mu.Lock()
	delete(c.m, raw)
	c.mu.Unlock()
}

// timesValid repeats the parser's time checks (golang-jwt's Validator, same leeway) at now.
func (t *Tokens) timesValid(c *Claims, now time.Time) bool {
	l := t.cfg.Leeway
	if c.ExpiresAt == nil || !now.Before(c.ExpiresAt.Time.Add(l)) {
		return false
	}
	if c.NotBefore != nil && now.Before(c.NotBefore.Time.Add(-l)) {
		return false
	}
	if c.IssuedAt != nil && now.Before(c.IssuedAt.Time.Add(-l)) {
		return false
	}
	return true
}

// expired reports whether claims verified earlier have since passed their exp, allowing the
// same leeway as Verify: a WebSocket's claims are verified once, at connection_init, and its
// operations must still be refused once a request with that token would be.
func (t *Tokens) expired(c *Claims) bool {
	return c.ExpiresAt == nil || !t.cfg.Now().Before(c.ExpiresAt.Time.Add(t.cfg.Leeway))
}

// NewTokens builds the issuer/verifier for keys.
func NewTokens(keys *KeySet, cfg TokenConfig) *Tokens {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Leeway = min(cfg.Leeway, MaxLeeway)
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{keys.Alg()}),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(cfg.Now),
		jwt.WithJSONNumber(),
		// Canonical base64url only: otherwise a signature's unused trailing bits can be changed
		// and the altered token still verifies (a second spelling of the same token).
		jwt.WithStrictDecoding(),
	)
	return &Tokens{keys: keys, cfg: cfg, parser: parser}
}

// TTL is the access token lifetime.
func (t *Tokens) TTL() time.Duration { return t.cfg.TTL }

// Issue mints an access token for the user's session. Its expiry never passes the session's
// absolute expiry (a zero ExpiresAt sets no bound), and it says how the session's sign-in was
// made (amr, auth_time). It returns the token and its lifetime.
func (t *Tokens) Issue(u User, sess Session) (string, time.Duration, error) {
	now := t.cfg.Now().Truncate(time.Second)
	exp := now.Add(t.cfg.TTL)
	if !sess.ExpiresAt.IsZero() && sess.ExpiresAt.Before(exp) {
		exp = sess.ExpiresAt
	}
	claims := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.cfg.Issuer,
			Subject:   u.ID,
			Audience:  jwt.ClaimStrings{t.cfg.Audience},
			ExpiresAt: jwt.NewNumericDate(exp),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        randomID(16),
		},
		SessionID: sess.ID,
		Roles:     u.Roles,
		AMR:       sess.AMR,
	}
	if !sess.AuthTime.IsZero() {
		claims.AuthTime = jwt.NewNumericDate(sess.AuthTime)
	}
	key := t.keys.current
	tok := jwt.NewWithClaims(key.method, claims)
	tok.Header["typ"] = accessTokenType
	tok.Header["kid"] = key.KID
	s, err := tok.SignedString(key.sign)
	return s, exp.Sub(now), err
}

// Verify checks an access token and returns its claims, or ErrTokenExpired (a correctly signed
// token whose only fault is its expiry) or ErrTokenInvalid (anything else).
func (t *Tokens) Verify(raw string) (*Claims, error) {
	if raw == "" || len(raw) > maxTokenBytes || strings.Count(raw, ".") != 2 {
		return nil, ErrTokenInvalid
	}
	// Only base64url and the dots: Go's base64 decoders skip CR and LF, so a line break inside
	// the signature would otherwise give a second spelling of a valid token.
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return nil, ErrTokenInvalid
		}
	}
	if claims := t.verified.get(raw); claims != nil {
		if t.timesValid(claims, t.cfg.Now()) {
			return claims, nil
		}
		t.verified.drop(raw) // expired (or a clock moved back): the full check gives the error
	}
	claims := &Claims{}
	_, err := t.parser.ParseWithClaims(raw, claims, t.keyFor)
	switch {
	case err == nil:
	case isOnlyExpired(err):
		return nil, ErrTokenExpired
	default:
		return nil, ErrTokenInvalid
	}
	if claims.Subject == "" || claims.SessionID == "" || claims.ID == "" {
		return nil, ErrTokenInvalid
	}
	t.verified.put(raw, claims, t.cfg.Now())
	return claims, nil
}

// keyFor checks the header before any key is used: the type, a known kid, no critical
// extensions (we understand none, RFC 7515 §4.1.11), and no keys offered by the token itself
// (jwk, jku, x5u, x5c are never fetched or trusted).
func (t *Tokens) keyFor(tok *jwt.Token) (any, error) {
	h := tok.Header
	typ, _ := h["typ"].(string)
	if !strings.EqualFold(typ, accessTokenType) && !strings.EqualFold(typ, "application/"+accessTokenType) {
		return nil, errors.New("typ is not at+jwt")
	}
	for _, forbidden := range [...]string{"crit", "jwk", "jku", "x5u", "x5c"} {
		if _, present := h[forbidden]; present {
			return nil, errors.New("header " + forbidden + " is not accepted")
		}
	}
	kid, _ := h["kid"].(string)
	key, ok := t.keys.byKID[kid]
	if !ok || key.method.Alg() != tok.Method.Alg() {
		return nil, errors.New("unknown kid")
	}
	return key.verify, nil
}

// isOnlyExpired reports whether the expiry is the token's only fault; a token that is also for
// another audience, say, is invalid rather than expired.
func isOnlyExpired(err error) bool {
	if !errors.Is(err, jwt.ErrTokenExpired) {
		return false
	}
	for _, other := range []error{jwt.ErrTokenInvalidAudience, jwt.ErrTokenInvalidIssuer,
		jwt.ErrTokenNotValidYet, jwt.ErrTokenUsedBeforeIssued, jwt.ErrTokenRequiredClaimMissing,
		jwt.ErrTokenMalformed, jwt.ErrTokenSignatureInvalid, jwt.ErrTokenUnverifiable} {
		if errors.Is(err, other) {
			return false
		}
	}
	return true
}

// randomID returns n random bytes, base64url-encoded.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+); it panics instead
	return base64.RawURLEncoding.EncodeToString(b)
}

// Refresh tokens are opaque: 32 random bytes (256 bits), base64url, prefixed so they are
// recognisable in logs and secret scanners. Only their SHA-256 is stored.
const refreshTokenPrefix = "rt_"

func newRefreshToken() (token string, hash []byte) {
	token = refreshTokenPrefix + randomID(32)
	return token, hashRefreshToken(token)
}

// parseRefreshToken validates the shape of a presented refresh token and returns its hash.
func parseRefreshToken(token string) ([]byte, bool) {
	body, ok := strings.CutPrefix(token, refreshTokenPrefix)
	if !ok || len(body) != 43 {
		return nil, false
	}
	// The length check matters: the decoder skips CR and LF, so 43 characters with a line break
	// among them decode (to fewer bytes) without error.
	if b, err := base64.RawURLEncoding.Strict().DecodeString(body); err != nil || len(b) != 32 {
		return nil, false
	}
	return hashRefreshToken(token), true
}

func hashRefreshToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}
