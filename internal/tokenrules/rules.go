// Package tokenrules is the one implementation of the access-token rules: what makes a JWS one
// of this service's access tokens. The service (package auth) and the verifier other services
// import (package verify) both call it, so the two can never disagree about a token.
//
// It knows keys only through a lookup function and claims only through golang-jwt's Claims
// interface, so each caller keeps its own key store and claims type.
package tokenrules

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MaxTokenBytes bounds what the verifier will even look at.
const MaxTokenBytes = 8 << 10

// MaxLeeway is the largest clock-skew allowance on exp, nbf and iat.
const MaxLeeway = 5 * time.Second

// AccessTokenType is the media type access tokens carry in `typ` (RFC 9068).
const AccessTokenType = "at+jwt"

// Refusals. Every one but ErrExpired wraps ErrInvalid, so errors.Is(err, ErrInvalid) asks "bad
// for any reason other than its age".
var (
	ErrInvalid = errors.New("access token is invalid")
	// ErrExpired: a correctly signed token, right in every respect, whose exp has passed.
	ErrExpired = errors.New("access token has expired")

	ErrMalformed      = fmt.Errorf("%w: malformed", ErrInvalid)
	ErrAlgorithm      = fmt.Errorf("%w: algorithm not accepted", ErrInvalid)
	ErrType           = fmt.Errorf("%w: typ is not at+jwt", ErrInvalid)
	ErrUnknownKey     = fmt.Errorf("%w: kid names none of the keys", ErrInvalid)
	ErrCritical       = fmt.Errorf("%w: crit names an extension not understood", ErrInvalid)
	ErrEmbeddedKey    = fmt.Errorf("%w: keys inside the token (jwk, jku, x5u, x5c) are never trusted", ErrInvalid)
	ErrSignature      = fmt.Errorf("%w: signature does not verify", ErrInvalid)
	ErrIssuer         = fmt.Errorf("%w: wrong or missing iss", ErrInvalid)
	ErrAudience       = fmt.Errorf("%w: wrong or missing aud", ErrInvalid)
	ErrNotYetValid    = fmt.Errorf("%w: nbf is in the future", ErrInvalid)
	ErrIssuedInFuture = fmt.Errorf("%w: iat is in the future", ErrInvalid)
	ErrClaims         = fmt.Errorf("%w: a required claim is missing or ill-typed", ErrInvalid)
)

// Key is one verification key: the algorithm it verifies and the key golang-jwt takes for it
// ([]byte for HS256, the public key otherwise).
type Key struct {
	Alg    string
	Verify any
}

// KeyFunc returns the key a kid names; ok is false when it names none.
type KeyFunc func(kid string) (key Key, ok bool)

// Config is the rules' parameters.
type Config struct {
	Issuer   string
	Audience string
	Alg      string        // the one accepted algorithm
	Leeway   time.Duration // capped at MaxLeeway
	Now      func() time.Time
}

// Rules checks tokens; build it once (the parser is made from options) and share it.
type Rules struct {
	cfg    Config
	parser *jwt.Parser
}

// New builds the rules.
func New(cfg Config) *Rules {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Leeway = max(min(cfg.Leeway, MaxLeeway), 0)
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{cfg.Alg}),
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
	return &Rules{cfg: cfg, parser: parser}
}

// Leeway is the clock-skew allowance in force.
func (r *Rules) Leeway() time.Duration { return r.cfg.Leeway }

// Now is the rules' clock.
func (r *Rules) Now() time.Time { return r.cfg.Now() }

// Parse checks raw against every rule, with keys naming the verification keys, and decodes its
// claims into claims (a pointer to a struct embedding jwt.RegisteredClaims). A claims type may
// implement Validate() error (golang-jwt's ClaimsValidator) to require its own claims; it
// should return ErrClaims. sub is always required.
// The error is nil, ErrExpired, or one of the errors wrapping ErrInvalid.
func (r *Rules) Parse(raw string, claims jwt.Claims, keys KeyFunc) error {
	if err := Shape(raw); err != nil {
		return err
	}
	tok, err := r.parser.ParseWithClaims(raw, claims, func(tok *jwt.Token) (any, error) {
		return r.keyFor(tok, keys)
	})
	if err != nil {
		return r.classify(tok, err)
	}
	if sub, err := claims.GetSubject(); err != nil || sub == "" {
		return ErrClaims
	}
	return nil
}

// Shape refuses what is not even worth decoding: empty, over MaxTokenBytes, not three
// segments, or any byte but base64url's and the dots (Go's base64 decoders skip CR and LF, so
// a line break inside a segment would otherwise give a second spelling of a valid token).
func Shape(raw string) error {
	if raw == "" || len(raw) > MaxTokenBytes || strings.Count(raw, ".") != 2 {
		return ErrMalformed
	}
	if !all(raw, jwsChars) {
		return ErrMalformed
	}
	return nil
}

// keyFor checks the header before any key is used: the type, no critical extensions (none is
// understood, RFC 7515 §4.1.11), no keys offered by the token itself (never fetched or
// trusted), and a kid naming a key of the pinned algorithm.
func (r *Rules) keyFor(tok *jwt.Token, keys KeyFunc) (any, error) {
	h := tok.Header
	typ, _ := h["typ"].(string)
	if !strings.EqualFold(typ, AccessTokenType) && !strings.EqualFold(typ, "application/"+AccessTokenType) {
		return nil, ErrType
	}
	if _, present := h["crit"]; present {
		return nil, ErrCritical
	}
	for _, embedded := range [...]string{"jwk", "jku", "x5u", "x5c"} {
		if _, present := h[embedded]; present {
			return nil, ErrEmbeddedKey
		}
	}
	kid, _ := h["kid"].(string)
	if kid == "" {
		return nil, ErrUnknownKey
	}
	key, ok := keys(kid)
	if !ok || key.Alg != r.cfg.Alg || key.Alg != tok.Method.Alg() {
		return nil, ErrUnknownKey
	}
	return key.Verify, nil
}

// classify turns golang-jwt's joined errors into one of ours. Any fault but the expiry wins, so
// a token that is expired and for another audience is invalid, not expired.
func (r *Rules) classify(tok *jwt.Token, err error) error {
	for _, ours := range []error{ErrType, ErrCritical, ErrEmbeddedKey, ErrUnknownKey, ErrClaims} {
		if errors.Is(err, ours) {
			return ours
		}
	}
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return ErrMalformed
	case errors.Is(err, jwt.ErrTokenUnverifiable),
		errors.Is(err, jwt.ErrTokenSignatureInvalid) && (tok == nil || tok.Method == nil || tok.Method.Alg() != r.cfg.Alg):
		return ErrAlgorithm
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return ErrSignature
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return ErrIssuer
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return ErrAudience
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return ErrClaims
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return ErrIssuedInFuture
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return ErrNotYetValid
	case errors.Is(err, jwt.ErrTokenExpired):
		return ErrExpired
	}
	return ErrClaims // a claims type's own Validate said no
}

// Current repeats the time checks of Parse (same leeway) at the rules' clock, for claims
// verified earlier (a cached token, a WebSocket's connection_init): nil, ErrExpired,
// ErrNotYetValid or ErrIssuedInFuture.
func (r *Rules) Current(c jwt.Claims) error {
	now, l := r.cfg.Now(), r.cfg.Leeway
	exp, err := c.GetExpirationTime()
	if err != nil || exp == nil || !now.Before(exp.Add(l)) {
		return ErrExpired
	}
	if nbf, _ := c.GetNotBefore(); nbf != nil && now.Before(nbf.Add(-l)) {
		return ErrNotYetValid
	}
	if iat, _ := c.GetIssuedAt(); iat != nil && now.Before(iat.Add(-l)) {
		return ErrIssuedInFuture
	}
	return nil
}

// Principal is the rule on who a token stands for, shared by every verifier: a token id, and
// either a user's session (sid, no client_id) or an OAuth client (client_id equal to sub, with
// no sid and no roles), never a mixture. It returns nil or ErrClaims.
func Principal(jti, sub, sid, clientID string, roles int) error {
	switch {
	case jti == "":
		return ErrClaims
	case clientID == "" && sid != "":
		return nil
	case clientID != "" && sid == "" && clientID == sub && roles == 0:
		return nil
	}
	return ErrClaims
}
