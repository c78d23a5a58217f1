package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// OAuthClient is another service registered to call the OAuth endpoints with its own
// credentials: client_credentials at /token, /introspect, /revocations. Its secret is stored
// only as a SHA-256 hash: it is 256 random bits, so a slow hash would add nothing.
type OAuthClient struct {
	ID         string // "cl_…"; the sub and client_id of its tokens
	Name       string
	SecretHash []byte
	Scopes     []string // the scopes it may ask for; a token without a scope parameter gets them all
	CreatedAt  time.Time
	RevokedAt  time.Time // zero while active
}

// Revoked reports whether the client was revoked.
func (c OAuthClient) Revoked() bool { return !c.RevokedAt.IsZero() }

// ClientStore keeps OAuth clients.
type ClientStore interface {
	// CreateClient inserts c.
	CreateClient(ctx context.Context, c OAuthClient) error
	// ClientByID returns a client, revoked or not; ErrNotFound when unknown.
	ClientByID(ctx context.Context, id string) (OAuthClient, error)
	// ListClients returns every client, revoked ones included, oldest first.
	ListClients(ctx context.Context) ([]OAuthClient, error)
	// RevokeClient marks an active client revoked at now and, in the same transaction, appends
	// a ChangeClientRevoked entry. It reports whether this call revoked it (false: already
	// revoked); ErrNotFound for an unknown id.
	RevokeClient(ctx context.Context, id string, now time.Time) (bool, error)
}

// Client credentials have recognisable prefixes (logs, secret scanners).
const (
	clientIDPrefix     = "cl_"
	clientSecretPrefix = "cs_"
	// MaxClientCredentialBytes bounds a presented client id or secret; ours are far shorter.
	MaxClientCredentialBytes = 128
	maxClientNameBytes       = 200
	maxScopes                = 50
	maxScopeBytes            = 100
)

// ErrInvalidClient: client authentication failed (unknown client, wrong secret, revoked).
var ErrInvalidClient = errors.New("client authentication failed")

// ErrInvalidScope: a token request asked for a scope the client was not given.
var ErrInvalidScope = errors.New("the requested scope is not allowed for this client")

// NewClient is a just-registered client with its secret, which exists only here.
type NewClient struct {
	Client OAuthClient
	Secret string
}

// ValidateClient checks a new client's name and scopes (RFC 6749 §3.3 scope tokens) and
// returns them normalised (name trimmed; scopes sorted, without duplicates), or an
// *InputError naming the field ("name" or "scope").
func ValidateClient(name string, scopes []string) (string, []string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > maxClientNameBytes || !utf8.ValidString(name) || strings.ContainsFunc(name, isControl) {
		return "", nil, &InputError{Field: "name", Message: fmt.Sprintf("a name of 1 to %d bytes without control characters is required", maxClientNameBytes)}
	}
	scopes = slices.Clone(scopes)
	slices.Sort(scopes)
	scopes = slices.Compact(scopes)
	if len(scopes) > maxScopes {
		return "", nil, &InputError{Field: "scope", Message: fmt.Sprintf("at most %d scopes", maxScopes)}
	}
	for _, sc := range scopes {
		if !validScopeToken(sc) {
			return "", nil, &InputError{Field: "scope", Message: fmt.Sprintf("%q is not a scope token (RFC 6749 §3.3: printable ASCII without space, '\"' or '\\', at most %d bytes)", sc, maxScopeBytes)}
		}
	}
	return name, scopes, nil
}

// CreateClient registers an OAuth client with the given scopes (see ValidateClient).
func (s *Service) CreateClient(ctx context.Context, name string, scopes []string) (NewClient, error) {
	name, scopes, err := ValidateClient(name, scopes)
	if err != nil {
		return NewClient{}, err
	}
	now := s.cfg.Now().UTC()
	secret := clientSecretPrefix + randomID(32)
	c := OAuthClient{
		ID: clientIDPrefix + randomID(16), Name: name, SecretHash: hashClientSecret(secret),
		Scopes: scopes, CreatedAt: now,
	}
	if err := s.store.CreateClient(ctx, c); err != nil {
		return NewClient{}, fmt.Errorf("create client: %w", err)
	}
	return NewClient{Client: c, Secret: secret}, nil
}

// Clients lists every registered client, revoked ones included, oldest first.
func (s *Service) Clients(ctx context.Context) ([]OAuthClient, error) {
	return s.store.ListClients(ctx)
}

// RevokeClient revokes a client: its credentials stop working at once and its access tokens
// are refused on every instance (the change log) and by introspection. ErrNotFound when unknown.
func (s *Service) RevokeClient(ctx context.Context, id string) (bool, error) {
	revoked, err := s.store.RevokeClient(ctx, id, s.cfg.Now().UTC())
	if err != nil {
		return false, err
	}
	if revoked {
		s.view.markClientRevoked(id)
	}
	return revoked, nil
}

// AuthenticateClient checks a client's id and secret in constant time and returns the client.
// Failures are limited per client address and per client id like logins (attempts in flight
// count, a limited attempt is refused before the secret is looked at): ErrInvalidClient, or a
// *RateLimitedError.
func (s *Service) AuthenticateClient(ctx context.Context, id, secret string) (OAuthClient, error) {
	perIP, err := s.reserveOrReport(ctx, s.cfg.ClientAuthPerIP, ipKey(ctx, "client"), "", "client")
	if err != nil {
		return OAuthClient{}, err
	}
	wellFormed := strings.HasPrefix(id, clientIDPrefix) && len(id) <= MaxClientCredentialBytes && len(secret) <= MaxClientCredentialBytes
	if !wellFormed { // no bucket for an id that cannot exist: a spray of them fills nothing
		perIP.Done(true)
		return OAuthClient{}, ErrInvalidClient
	}
	perClient, err := s.reserveOrReport(ctx, s.cfg.ClientAuthPerClient, "client:id:"+id, "", "client")
	if err != nil {
		perIP.Done(false)
		return OAuthClient{}, err
	}
	failed := true
	defer func() { perClient.Done(failed); perIP.Done(failed) }()

	c, err := s.store.ClientByID(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		c = OAuthClient{SecretHash: dummyClientHash[:]} // compared all the same
	case err != nil:
		failed = false // not the caller's fault
		return OAuthClient{}, fmt.Errorf("load client: %w", err)
	}
	presented := hashClientSecret(secret)
	match := subtle.ConstantTimeCompare(presented, c.SecretHash) == 1
	if !match || c.ID == "" || c.Revoked() || secret == "" {
		return OAuthClient{}, ErrInvalidClient
	}
	failed = false
	return c, nil
}

var dummyClientHash = sha256.Sum256([]byte("no such client"))

func hashClientSecret(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// GrantedScopes decides the scopes of a client_credentials token: requested is the request's
// space-delimited scope parameter; empty grants every scope of the client. ErrInvalidScope
// when it names one the client does not have, or is not a list of scope tokens.
func GrantedScopes(c OAuthClient, requested string) ([]string, error) {
	if strings.TrimSpace(requested) == "" {
		return c.Scopes, nil
	}
	if len(requested) > maxScopes*(maxScopeBytes+1) {
		return nil, ErrInvalidScope
	}
	var out []string
	for _, sc := range strings.Split(requested, " ") {
		if sc == "" {
			continue // RFC 6749 says one space; being lenient about doubles costs nothing
		}
		if !validScopeToken(sc) || !slices.Contains(c.Scopes, sc) {
			return nil, ErrInvalidScope
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}

// ClientGrant is the answer to a client_credentials request.
type ClientGrant struct {
	AccessToken string
	ExpiresIn   time.Duration
	Scopes      []string
}

// ClientToken issues an access token to an authenticated client for scopes (GrantedScopes):
// sub and client_id are the client's id; no sid, no roles, no refresh token.
func (s *Service) ClientToken(ctx context.Context, c OAuthClient, scopes []string) (ClientGrant, error) {
	if s.view.clientRevoked(c.ID) {
		return ClientGrant{}, ErrInvalidClient
	}
	tok, ttl, err := s.tokens.IssueClient(c.ID, scopes)
	if err != nil {
		return ClientGrant{}, fmt.Errorf("sign client token: %w", err)
	}
	return ClientGrant{AccessToken: tok, ExpiresIn: ttl, Scopes: scopes}, nil
}

// validScopeToken: RFC 6749 §3.3 scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
func validScopeToken(s string) bool {
	if s == "" || len(s) > maxScopeBytes {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }
