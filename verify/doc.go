// Package verify lets another Go service trust the access tokens of the gqlauth service.
//
// A Verifier checks a token exactly as the service does: it calls the same rule code
// (algorithm pinned, typ at+jwt, iss and aud, exp, nbf and iat with at most 5 s of leeway, a kid
// naming one of the keys, crit and embedded keys refused). Keys come from the service's JWKS —
// cached as its Cache-Control says, refetched when a token names an unknown kid, at most once
// per 10 s — or from a shared HS256 secret.
//
// Given a registered client's id and secret, the Verifier also follows the service's
// revocation feed (GET /revocations, a long poll), so a session ended on the service (logout,
// a revoked session, a password change, a disabled account) is refused here within about a
// second, without a call to the service per request. While the service is unreachable the
// Verifier keeps what it knew; after Options.StaleAfter it refuses every token
// (ErrFeedUnavailable) unless Options.FailOpen says to go on accepting them.
//
// Refusals are sentinel errors, checked with errors.Is: ErrExpired, ErrSessionEnded,
// ErrUserDisabled, ErrClientRevoked, ErrFeedUnavailable, ErrKeysUnavailable, and ErrInvalid, which every reason
// of a malformed or forged token wraps (ErrSignature, ErrAudience, ErrUnknownKey, ...).
//
// Middleware answers requests without a valid token with 401 and an RFC 6750
// `WWW-Authenticate: Bearer` challenge; Identify only records the verdict in the context, for
// handlers (a GraphQL server) that decide per field. ClaimsFrom reads the claims back.
package verify
