package verify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/example/gqlauth/internal/tokenrules"
	"github.com/golang-jwt/jwt/v5"
)

// Options configure a Verifier. Issuer, Audience and one key source (JWKSURL, MetadataURL or
// HS256Secret) are required.
type Options struct {
	Issuer   string // the service's JWT_ISSUER
	Audience string // the service's JWT_AUDIENCE

	// Algorithm is the service's JWT_ALG. With HS256Secret it is HS256. With a JWKS it may be
	// left empty: New then loads the key set at once (and fails when it cannot) and pins the
	// algorithm its keys share. Setting it lets New return while the service is unreachable.
	Algorithm string
	// JWKSURL is the service's /.well-known/jwks.json; MetadataURL its
	// /.well-known/oauth-authorization-server, whose jwks_uri is then used (and whose issuer
	// must be Issuer).
	JWKSURL     string
	MetadataURL string
	// HS256Secret is the service's JWT_SECRET, for a service signing with HS256.
	HS256Secret []byte

	// ClientID and ClientSecret, of a client registered with `clients create`, turn on the
	// revocation feed. RevocationsURL defaults to /revocations on the host of MetadataURL or
	// JWKSURL, or else under Issuer.
	ClientID       string
	ClientSecret   string
	RevocationsURL string
	// StaleAfter is how long the feed may keep failing before the Verifier stops trusting what
	// it knows (1 minute; a poll that hangs counts from its timeout, PollWait + 15 s); FailOpen
	// keeps accepting tokens then (only the last-known revocations apply), instead of refusing
	// every token with ErrFeedUnavailable. Before the first answer, the feed counts as stale.
	StaleAfter time.Duration
	FailOpen   bool
	// PollWait is the long poll's wait (25 s; the service allows up to 30 s).
	PollWait time.Duration
	// MaxEntries bounds the revocations remembered (sessions plus users; 1,000,000, about 150
	// bytes each). Over it the entries that stop mattering soonest are dropped first.
	MaxEntries int

	HTTPClient *http.Client     // nil: a client of its own
	Clock      func() time.Time // nil: time.Now
	Leeway     time.Duration    // clock skew allowed on exp, nbf and iat; 5 s, which is also the cap
	Logger     *slog.Logger     // nil: slog.Default()
	Hooks      Hooks
}

// Hooks observe the Verifier (metrics); each may be nil and must not block.
type Hooks struct {
	JWKSFetched func(err error)              // after each JWKS (or metadata) request
	FeedPolled  func(entries int, err error) // after each answer (or failure) of the feed
	Refused     func(err error)              // after each refused Verify
}

// Claims are a verified access token's claims. A user's token has SessionID and Roles; a
// client_credentials token has ClientID (= Subject) and Scope and no session.
type Claims struct {
	jwt.RegisteredClaims
	SessionID string           `json:"sid,omitempty"`
	ClientID  string           `json:"client_id,omitempty"`
	Scope     string           `json:"scope,omitempty"`
	Roles     []string         `json:"roles,omitempty"`
	AMR       []string         `json:"amr,omitempty"`
	AuthTime  *jwt.NumericDate `json:"auth_time,omitempty"`
}

// Validate requires a token id and either a session (a user's token) or a client whose id is
// the subject (a client's token), never both: the service's own rule (tokenrules.Principal).
// The rules call it after their own checks.
func (c *Claims) Validate() error {
	return tokenrules.Principal(c.ID, c.Subject, c.SessionID, c.ClientID, len(c.Roles))
}

// HasRole reports whether the token's user has role (USER, ADMIN). With the feed, Roles are
// the user's current roles when the feed reported a change since the token was issued.
func (c Claims) HasRole(role string) bool { return slices.Contains(c.Roles, role) }

// HasScope reports whether a client token was granted scope.
func (c Claims) HasScope(scope string) bool { return slices.Contains(strings.Fields(c.Scope), scope) }

// IsClient reports whether the token is a client's (client_credentials), not a user's.
func (c Claims) IsClient() bool { return c.SessionID == "" && c.ClientID != "" }

// Verifier verifies access tokens; safe for concurrent use. Close it to stop its background
// work.
type Verifier struct {
	rules *tokenrules.Rules
	keys  keySource
	// verified spares a token seen before the decoding and signature check (the same cache as
	// the service's); cleared whenever the key set is reloaded.
	verified tokenrules.Cache[*Claims]
	feed     *follower // nil without client credentials
	hooks    Hooks
	stop     context.CancelFunc
	done     chan struct{}
}

// New builds a Verifier and starts its background work (the feed, key loading).
func New(ctx context.Context, o Options) (*Verifier, error) {
	if o.Issuer == "" || o.Audience == "" {
		return nil, errors.New("verify: Issuer and Audience are required")
	}
	sources := 0
	for _, set := range []bool{o.JWKSURL != "", o.MetadataURL != "", o.HS256Secret != nil} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		return nil, errors.New("verify: exactly one of JWKSURL, MetadataURL and HS256Secret is required")
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Leeway <= 0 || o.Leeway > tokenrules.MaxLeeway {
		o.Leeway = tokenrules.MaxLeeway
	}
	bg, stop := context.WithCancel(context.Background())
	v := &Verifier{hooks: o.Hooks, stop: stop, done: make(chan struct{})}
	var starters []func(context.Context)
	switch {
	case o.HS256Secret != nil:
		if o.Algorithm != "" && o.Algorithm != "HS256" {
			stop()
			return nil, fmt.Errorf("verify: Algorithm %s with an HS256 secret", o.Algorithm)
		}
		if len(o.HS256Secret) < 32 {
			stop()
			return nil, errors.New("verify: an HS256 secret has at least 32 bytes")
		}
		o.Algorithm = "HS256"
		v.keys = newSecretKeys(o.HS256Secret)
	default:
		j := newJWKSKeys(o)
		j.onLoad = v.verified.Clear
		switch o.Algorithm {
		case "":
			if err := j.fetch(ctx); err != nil {
				stop()
				return nil, fmt.Errorf("verify: load the key set: %w", err)
			}
			o.Algorithm = j.alg
		case "HS256":
			stop()
			return nil, errors.New("verify: HS256 keys are never published; use HS256Secret")
		}
		v.keys = j
		starters = append(starters, j.run)
	}
	v.rules = tokenrules.New(tokenrules.Config{
		Issuer: o.Issuer, Audience: o.Audience, Alg: o.Algorithm, Leeway: o.Leeway, Now: o.Clock,
	})
	if o.ClientID != "" {
		u, err := revocationsURL(o)
		if err != nil {
			stop()
			return nil, err
		}
		v.feed = newFollower(o, u)
		starters = append(starters, v.feed.run)
	}
	go func() {
		defer close(v.done)
		finished := make(chan struct{}, len(starters))
		for _, start := range starters {
			go func() { start(bg); finished <- struct{}{} }()
		}
		for range starters {
			<-finished
		}
	}()
	return v, nil
}

// revocationsURL is where the feed is: given, or /revocations beside the key set or metadata.
func revocationsURL(o Options) (string, error) {
	base := o.RevocationsURL
	if base != "" {
		return base, nil
	}
	from := o.MetadataURL
	if from == "" {
		from = o.JWKSURL
	}
	if from == "" {
		return strings.TrimSuffix(o.Issuer, "/") + "/revocations", nil
	}
	u, err := url.Parse(from)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("verify: cannot derive the revocations URL from %q", from)
	}
	return u.ResolveReference(&url.URL{Path: "/revocations"}).String(), nil
}

// Close stops the background work (the feed, key refreshes).
func (v *Verifier) Close() {
	v.stop()
	<-v.done
}

// Verify checks raw, the token of an `Authorization: Bearer` header, and returns its claims.
// The error is one of the package's sentinels (errors.Is).
func (v *Verifier) Verify(ctx context.Context, raw string) (Claims, error) {
	c, err := v.verify(ctx, raw)
	if err != nil && v.hooks.Refused != nil {
		v.hooks.Refused(err)
	}
	return c, err
}

func (v *Verifier) verify(ctx context.Context, raw string) (Claims, error) {
	if cached, ok := v.verified.Get(raw); ok {
		if err := v.rules.Current(cached); err == nil {
			return v.checkFeed(*cached)
		}
		v.verified.Drop(raw) // expired: the full check gives the error
	}
	var c Claims
	var asked string
	lookup := func(kid string) (tokenrules.Key, bool) {
		asked = kid
		return v.keys.lookup(kid)
	}
	err := v.rules.Parse(raw, &c, lookup)
	if err == tokenrules.ErrUnknownKey && asked != "" {
		// A key rotated since the key set was loaded: refetch it (at most once per 10 s).
		if v.keys.refresh(ctx, asked) {
			c = Claims{}
			err = v.rules.Parse(raw, &c, lookup)
		}
		if err == tokenrules.ErrUnknownKey && !v.keys.loaded() {
			err = ErrKeysUnavailable
		}
	}
	if err != nil {
		return Claims{}, err
	}
	kept := c
	v.verified.Put(raw, &kept, v.rules.Now())
	return v.checkFeed(c)
}

// checkFeed applies what the revocation feed said to c, a copy.
func (v *Verifier) checkFeed(c Claims) (Claims, error) {
	if v.feed != nil {
		if err := v.feed.check(&c); err != nil {
			return Claims{}, err
		}
	}
	return c, nil
}

// Ready reports whether the Verifier can answer as the service would: keys loaded and, with the
// feed, caught up with it and not stale. Use it in the service's readiness probe.
func (v *Verifier) Ready() bool {
	return v.keys.loaded() && (v.feed == nil || v.feed.ready())
}

// WaitReady waits until Ready or ctx ends.
func (v *Verifier) WaitReady(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for !v.Ready() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// Stats describe the Verifier's state, for metrics and debugging.
type Stats struct {
	Keys          int       // verification keys known
	EndedSessions int       // ended sessions remembered
	ChangedUsers  int       // changed users remembered
	LastContact   time.Time // last answer of the feed (zero without the feed, or before one)
	Cursor        string    // the feed's position
}

// Stats returns the current state.
func (v *Verifier) Stats() Stats {
	s := Stats{Keys: v.keys.count()}
	if v.feed != nil {
		v.feed.stats(&s)
	}
	return s
}
