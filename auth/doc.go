// Package auth is the authentication domain: accounts, passwords, sessions, access and refresh
// tokens, signing keys, attempt limits, the audit trail and the access decision. Everything a
// transport needs to sign someone in or to refuse them is decided here, once, so the GraphQL
// API (package graph), the OAuth endpoints (package oauth) and the admin commands apply the
// same rules with the same limits.
//
// # The pieces
//
//   - [Service] (built with [New]) is the entry point of the adapters: [Service.Register],
//     [Service.Login] and [Service.Refresh] return a [Grant] (an access token, a rotating
//     refresh token, the user); [Service.Authorize] decides whether the caller identified in a
//     request's context may use something, and answers a [Principal] or one of the errors
//     below.
//   - [Tokens] issues and verifies access tokens: JWTs with `typ: at+jwt`, signed by the
//     current key of a [KeySet] (HS256, EdDSA, ES256 or RS256) and verified against every key
//     of it, so keys can be rotated; [KeySet.JWKS] publishes the public keys. The verifier
//     refuses every variation a forger can try (other algorithms, `none`, embedded keys,
//     `crit`, non-canonical encodings) with [ErrTokenInvalid].
//   - Refresh tokens are opaque random strings; only their hashes are stored. Each refresh
//     rotates the token; presenting a spent one again ends the session (reuse detection),
//     except for a retry within a short grace window.
//   - [Store] is what the service needs from a database, declared here where it is used and
//     implemented in store/sqlite and store/postgres (both pass store/storetest). A change
//     that ends sessions is written in one transaction with its cause, together with an entry
//     of the change log ([ChangeLog]), from which every instance's in-memory view learns of
//     ended sessions and changed users; so a revoked token is refused at once on this
//     instance and within the poll interval on the others.
//   - [Limiter] counts attempts (per account, per device, per client address), in memory
//     ([MemoryLimiter], bounded in bytes) or shared (store/redis). Attempts in flight count,
//     so concurrent guesses cannot overtake the limit.
//   - [NormalizeEmail] gives the one form of an email address that accounts are keyed by, and
//     [PasswordPolicy] the rules of NIST SP 800-63B.
//
// # Errors
//
// The service's refusals are typed, and the adapters map them to their protocol's codes:
// [ErrTokenMissing], [ErrTokenInvalid], [ErrTokenExpired], [ErrTokenRevoked],
// [ErrInvalidCredentials], [ErrRefreshTokenReused], [ErrRefreshTokenInvalid] and
// [ErrAccountDisabled] (unauthenticated); *[ForbiddenError] (signed in, not allowed);
// *[InputError] (a field is invalid); *[RateLimitedError] and [ErrBusy] (try again later).
// Anything else is an internal failure and is masked by the adapters.
//
// # Why it stands alone
//
// The package imports no GraphQL, SQL driver or Redis code (a layering test checks it): the
// rules can be tested on their own, each adapter only translates, and a new transport cannot
// bypass a check by reimplementing it.
package auth
