package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"
)

// Config holds the service's policy. Zero values take the documented defaults.
type Config struct {
	RefreshTTL  time.Duration // absolute session lifetime; 720h
	ReuseGrace  time.Duration // retry window after a rotation; 10s
	BcryptCost  int           // 12
	BcryptSlots int           // concurrent bcrypt operations; the number of CPUs
	BcryptQueue time.Duration // longest wait for a bcrypt slot; 15s
	// BcryptLowPriority runs the hashing on threads of the lowest scheduling priority (Linux;
	// see bcryptpool.go), so that cheap requests win the CPU during a login flood. The server
	// turns it on; tests that time hashing leave it off, so that other test processes running
	// at once cannot starve what they measure.
	BcryptLowPriority bool
	Passwords         PasswordPolicy
	PollInterval      time.Duration // change log poll; 1s
	StoreTimeout      time.Duration // deadline of each store call made for a request; 5s
	// WrapStore, when set, decorates the store (metrics time every call). New applies it, and
	// the request deadline around it, after reading the store's own optional interfaces
	// (HousekeepingLocker): the store is wrapped here only, and a decorator forwards nothing.
	WrapStore func(Store) Store

	// OnChange, when set, is called after this instance appended to the change log (a session
	// ended, a user changed). A push channel (Redis) publishes from it so that other instances
	// poll at once; it must not block.
	OnChange func()

	// Limiter enforces the attempt limits below; nil turns every limit off (RATE_LIMITS=off).
	Limiter Limiter
	// The per-IP rules stop spraying across accounts from one address; they are generous
	// because many honest users can share one address (offices, NAT, a test suite).
	LoginPerAccount Limit // failed logins per account; 10 per 15 min
	LoginPerIP      Limit // failed logins per client IP; 300 per 15 min
	RegisterPerIP   Limit // registrations per client IP; 100 per 10 min
	RefreshPerIP    Limit // refreshes per client IP; 1200 per minute
	// Failed OAuth client authentications (AuthenticateClient), like logins: per client id
	// 20 per 15 min, per client IP 300 per 15 min.
	ClientAuthPerClient Limit
	ClientAuthPerIP     Limit
	// UnknownAPIKeyPerIP limits bearer tokens shaped as API keys that match no key, per client
	// IP (each costs a database read); 100 per 10 min. Known keys, revoked ones included, are
	// answered from memory and never count.
	UnknownAPIKeyPerIP Limit
	// LoginPerDevice replaces LoginPerAccount for an attempt presenting a device token of the
	// account (see device.go); 10 per 15 min. The per-IP rule applies as ever.
	LoginPerDevice Limit
	// DeviceTokenTTL is how long a device token is accepted; a year.
	DeviceTokenTTL time.Duration
	// AdminMFA (ADMIN_MFA=required): every ADMIN requirement also needs a session that
	// passed a second factor.
	AdminMFA bool
	// MFAKeys seal the TOTP secrets at rest (MFA_ENCRYPTION_KEY); nil derives them from the
	// signing key material (see mfakeys.go).
	MFAKeys *MFAKeys
	// TOTPIssuer names the service in authenticator apps (the otpauth:// URI's issuer);
	// "gqlauth".
	TOTPIssuer string

	// Passkeys is the WebAuthn adapter (package passkey); nil turns passkeys off.
	Passkeys PasskeyProtocol
	// PasskeyStartPerIP limits started passkey ceremonies per client IP (each is stored until
	// it expires); 120 per minute.
	PasskeyStartPerIP Limit

	Now    func() time.Time
	Logger *slog.Logger
	// OnBcryptWait, when set, observes how long each bcrypt operation waited for a slot.
	OnBcryptWait func(time.Duration)
	// Events receives every security event as it happens (metrics); may be nil. The service
	// stores them in the audit trail itself.
	Events EventSink
	// Deliver, when set, receives each event of the audit trail once, from every instance and
	// the command line, shortly after it was stored: the subscriptions' source (EventBus.Deliver).
	Deliver func(Event)

	// Housekeeping (RunHousekeeping): every HousekeepingEvery (1m, jittered) it deletes, in
	// batches of PurgeBatch (500) rows with PurgePause (100ms) between them, sessions ended or
	// expired more than a day ago, change-log entries older than a day, and audit entries older
	// than AuditRetention (90 days).
	AuditRetention    time.Duration
	HousekeepingEvery time.Duration
	PurgeBatch        int
	PurgePause        time.Duration
	// OnPurged, when set, observes how many rows housekeeping deleted from table.
	OnPurged func(table string, n int64)

	// Mail is the mail policy: the Mailer, EMAIL_VERIFICATION, links, limits, the sender.
	Mail MailConfig
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.RefreshTTL, 720*time.Hour)
	def(&c.ReuseGrace, 10*time.Second)
	def(&c.BcryptQueue, 15*time.Second)
	def(&c.PollInterval, time.Second)
	def(&c.AuditRetention, 90*24*time.Hour)
	def(&c.HousekeepingEvery, time.Minute)
	def(&c.PurgePause, 100*time.Millisecond)
	if c.PurgeBatch <= 0 {
		c.PurgeBatch = 500
	}
	def(&c.StoreTimeout, 5*time.Second)
	def(&c.DeviceTokenTTL, DefaultDeviceTokenTTL)
	if c.BcryptCost == 0 {
		c.BcryptCost = 12
	}
	if c.BcryptSlots <= 0 {
		c.BcryptSlots = runtime.NumCPU()
	}
	defLimit := func(l *Limit, n int, w time.Duration) {
		if l.N == 0 && l.Window == 0 {
			*l = Limit{N: n, Window: w}
		}
	}
	defLimit(&c.LoginPerAccount, 10, 15*time.Minute)
	defLimit(&c.LoginPerDevice, 10, 15*time.Minute)
	defLimit(&c.LoginPerIP, 300, 15*time.Minute)
	defLimit(&c.RegisterPerIP, 100, 10*time.Minute)
	defLimit(&c.RefreshPerIP, 1200, time.Minute)
	c.Mail.setDefaults()
	defLimit(&c.PasskeyStartPerIP, 120, time.Minute)
	defLimit(&c.ClientAuthPerClient, 20, 15*time.Minute)
	defLimit(&c.ClientAuthPerIP, 300, 15*time.Minute)
	defLimit(&c.UnknownAPIKeyPerIP, 100, 10*time.Minute)
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.TOTPIssuer == "" {
		c.TOTPIssuer = "gqlauth"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Service is the authentication domain: accounts, sessions, tokens and access decisions. It
// knows nothing of GraphQL, HTTP routing or SQL; adapters call it.
type Service struct {
	cfg     Config
	store   Store
	tokens  *Tokens
	devices *deviceTokens  // nil without tokens: none issued, none accepted
	refresh *refreshTokens // without key material: tokens that name no session
	mfaKeys *MFAKeys       // nil: no TOTP can be enrolled or checked
	hasher  *Hasher
	view    *view
	keyUses *keyUses // API keys' LastUsedAt, written off the request path
	grace   *graceCache
	audit   *auditWriter
	locker  HousekeepingLocker // nil: every instance purges (deletes are idempotent)
	outbox  *outbox
	feed    feedState // the revocation feed's knowledge of the change log (revocations.go)
	decoys  *passkeyDecoys
}

// New builds the service (tokens may be nil for tools that issue none) and loads its in-memory view from the store's change log.
func New(ctx context.Context, store Store, tokens *Tokens, cfg Config) (*Service, error) {
	cfg.setDefaults()
	hasher, err := NewHasher(cfg.BcryptCost, cfg.BcryptSlots, cfg.BcryptQueue)
	if err == nil {
		hasher.pool.lowPriority = cfg.BcryptLowPriority
	}
	if err != nil {
		return nil, fmt.Errorf("bcrypt: %w", err)
	}
	hasher.OnWait = cfg.OnBcryptWait
	locker, _ := store.(HousekeepingLocker) // the store's own: wrappers hide optional interfaces
	if cfg.WrapStore != nil {
		store = cfg.WrapStore(store)
	}
	store = boundStore(store, cfg.StoreTimeout)
	window := 15*time.Minute + MaxLeeway // no tokens: a command-line tool that issues none
	if tokens != nil {
		window = tokens.TTL() + MaxLeeway
	}
	s := &Service{
		cfg: cfg, store: store, tokens: tokens, hasher: hasher,
		view:   newView(store, window, cfg.Now, cfg.Logger),
		grace:  newGraceCache(cfg.ReuseGrace, cfg.Now),
		locker: locker, outbox: newOutbox(),
		feed: feedState{stopping: make(chan struct{})},
	}
	s.keyUses = newKeyUses(store, cfg.Logger, cfg.Now)
	if tokens != nil {
		s.devices = newDeviceTokens(tokens.keys, cfg.DeviceTokenTTL, cfg.Now)
		s.decoys = newPasskeyDecoys(tokens.keys)
		s.refresh = newRefreshTokens(tokens.keys)
	} else {
		s.decoys = newPasskeyDecoys(nil)
		s.refresh = newRefreshTokens(nil)
	}
	s.mfaKeys = cfg.MFAKeys
	if s.mfaKeys == nil && tokens != nil {
		s.mfaKeys = mfaKeysFromSigning(tokens.keys)
	}
	s.view.onChange = cfg.OnChange
	if err := s.view.sync(ctx); err != nil {
		return nil, fmt.Errorf("load change log: %w", err)
	}
	if cfg.Deliver != nil {
		feed := &auditFeed{store: store, deliver: cfg.Deliver, now: cfg.Now}
		if err := feed.start(ctx); err != nil {
			return nil, fmt.Errorf("load audit trail: %w", err)
		}
		s.view.afterSync = feed.poll
	}
	s.audit = newAuditWriter(store, cfg.Logger, func() {
		s.view.Wake() // deliver to this instance's subscribers now, not at the next tick
		if cfg.OnChange != nil {
			cfg.OnChange() // and other instances', through a push channel
		}
	})
	return s, nil
}

// Close stores the audit events still queued. Call it after the last request finished and
// before closing the store; events published later are stored synchronously.
func (s *Service) Close() { s.audit.Close() }

// Run keeps the in-memory view in step with the store until ctx ends.
func (s *Service) Run(ctx context.Context) {
	done := make(chan struct{})
	go func() { defer close(done); s.keyUses.run(ctx) }()
	s.view.run(ctx, s.cfg.PollInterval)
	<-done
}

// Wake makes the view poll the change log now; push subscribers call it.
func (s *Service) Wake() { s.view.Wake() }

// Tokens returns the access token issuer/verifier.
func (s *Service) Tokens() *Tokens { return s.tokens }

// DeviceTokenTTL is how long a device token is accepted (the device cookie's lifetime).
func (s *Service) DeviceTokenTTL() time.Duration { return s.cfg.DeviceTokenTTL }

// Ready reports whether the store answers.
func (s *Service) Ready(ctx context.Context) error { return s.store.Ping(ctx) }

// Grant is the result of a successful register, login, refresh or password change.
type Grant struct {
	AccessToken  string
	RefreshToken string
	ExpiresIn    time.Duration
	User         User
	SessionID    string
	// DeviceToken is the device token of a sign-in (see device.go); for a refresh, the one the
	// request presented when it is still valid for the account; "" otherwise.
	DeviceToken string
}

// newSession starts a session for u, as read when its password was checked, signed in by the
// methods amr, and returns its grant. The store starts it only if u's security stamp is unchanged and u is enabled: a
// password change, a disable or a re-enable since the read voids the sign-in, which then
// fails as a sign-in of the account as it is now would (ErrInvalidCredentials or
// ErrAccountDisabled). A sign-in that takes bcrypt time can therefore never end with a session
// that a change made meanwhile should have ended.
func (s *Service) newSession(ctx context.Context, u User, amr []string) (Grant, error) {
	now := s.cfg.Now().UTC()
	client := ClientFrom(ctx)
	sess := Session{
		ID: newID(now), UserID: u.ID, CreatedAt: now, LastUsedAt: now,
		ExpiresAt: now.Add(s.cfg.RefreshTTL), UserAgent: truncate(client.UserAgent, 512), IPAddress: client.IP,
		AMR: amr, AuthTime: now,
	}
	refresh, hash := s.refresh.mint(sess.ID)
	err := s.store.CreateSession(ctx, sess, hash, u.SecurityStamp)
	if errors.Is(err, ErrUserChanged) {
		return Grant{}, s.voidedSignIn(ctx, u.ID)
	}
	if err != nil {
		return Grant{}, fmt.Errorf("create session: %w", err)
	}
	g, err := s.grant(u, sess, refresh)
	if err != nil {
		return Grant{}, err
	}
	g.DeviceToken = s.devices.issue(u) // a sign-in: this device is now known to the account
	return g, nil
}

// presentedDevice returns the request's device token when it is valid for u, else "".
func (s *Service) presentedDevice(ctx context.Context, u User) string {
	raw := ClientFrom(ctx).DeviceToken
	if dv, ok := s.devices.parse(raw); ok && dv.boundTo(u) {
		return raw
	}
	return ""
}

// voidedSignIn is the answer to a sign-in whose account changed while it was in flight.
func (s *Service) voidedSignIn(ctx context.Context, userID string) error {
	u, err := s.store.UserByID(ctx, userID)
	switch {
	case err == nil && u.Disabled:
		return ErrAccountDisabled
	case err == nil, errors.Is(err, ErrNotFound):
		return ErrInvalidCredentials
	default:
		return fmt.Errorf("load user: %w", err)
	}
}

func (s *Service) grant(u User, sess Session, refresh string) (Grant, error) {
	access, ttl, err := s.tokens.Issue(u, sess)
	if err != nil {
		return Grant{}, fmt.Errorf("sign access token: %w", err)
	}
	return Grant{AccessToken: access, RefreshToken: refresh, ExpiresIn: ttl, User: u, SessionID: sess.ID}, nil
}

// reserve takes a slot of rule under key; a disabled limiter or rule always allows.
func (s *Service) reserve(ctx context.Context, rule Limit, key string) (Reservation, error) {
	if s.cfg.Limiter == nil || rule.N <= 0 || key == "" {
		return noReservation{}, nil
	}
	return s.cfg.Limiter.Reserve(ctx, key, rule.N, rule.Window)
}

// reserveOrReport is reserve for an attempt a client makes: a refused one is published as a
// RATE_LIMITED event with what as its reason (and the account's id when it is known).
func (s *Service) reserveOrReport(ctx context.Context, rule Limit, key, userID, what string) (Reservation, error) {
	res, err := s.reserve(ctx, rule, key)
	if err != nil {
		s.publish(ctx, EventRateLimited, userID, "", what)
	}
	return res, err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
