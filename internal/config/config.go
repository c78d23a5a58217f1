// Package config reads the service's configuration from the environment, refusing what is
// unsafe with an Error that names the variable, and loads the signing keys it names.
package config

import (
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/mail"
	"github.com/example/gqlauth/mail/smtp"
)

// Config is the service's configuration, read from the environment (docs/configuration.md).
type Config struct {
	Host        string // listen address; empty = every interface
	Port        string
	MetricsAddr string // host:port of a listener of its own for /metrics; empty = the main port
	Production  bool
	Playground  bool
	DataDir     string
	DatabaseURL string
	RedisURL    string
	// RedisKeyPrefix starts every Redis key and channel, so deployments can share one Redis.
	RedisKeyPrefix string

	JWTAlg            string
	JWTSecret         []byte // HS256 key, as given
	JWTPrivateKeyFile string
	JWTPreviousKeys   []string // files of previous keys that still verify
	Issuer            string
	Audience          string
	AccessTTL         time.Duration
	RefreshTTL        time.Duration
	ReuseGrace        time.Duration
	BcryptCost        int
	BcryptConcurrency int // bcrypt operations at once; 0 = the number of CPUs
	// BcryptLowPriority (BCRYPT_PRIORITY=low, the default): hashing on threads of the lowest
	// priority, so cheap requests win the CPU during a login flood.
	BcryptLowPriority bool
	MinPasswordLength int

	RateLimits         bool
	AdminMFA           bool // ADMIN_MFA=required: ADMIN fields need a second factor
	LoginFailuresPerIP int  // per 15 minutes
	RegistrationsPerIP int  // per 10 minutes
	TrustedProxies     []netip.Prefix
	CORSOrigins        []string
	RefreshCookie      bool
	OAuthPasswordGrant bool
	ShutdownTimeout    time.Duration
	AuditRetention     time.Duration // how long audit events are kept

	// Mail (docs/mail.md).
	PublicURL         string       // where users reach the service; JWT_ISSUER's value by default
	SMTP              *smtp.Config // nil: no SMTP_URL
	SMTPTimeout       time.Duration
	SMTPCAFile        string
	MailFrom          *netmail.Address
	MailLinkBase      string // no trailing slash
	MailTemplatesDir  string
	EmailVerification auth.Verification
	WebAuthn          WebAuthn

	// MFA_ENCRYPTION_KEY (nil: derived from the signing key) and the previous keys that only
	// open (mfa.go).
	MFAKey          []byte
	MFAPreviousKeys [][]byte
}

// Error names the variable at fault; it makes the process exit with code 2.
type Error struct {
	Var    string
	Reason string
}

func (e *Error) Error() string { return e.Var + ": " + e.Reason }

// Load reads the configuration from getenv; the error joins one *Error per variable at fault.
func Load(getenv func(string) string) (Config, error) {
	env := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	var errs []error
	fail := func(name, format string, args ...any) {
		errs = append(errs, &Error{Var: name, Reason: fmt.Sprintf(format, args...)})
	}
	duration := func(name, def string) time.Duration {
		d, err := time.ParseDuration(env(name, def))
		if err != nil || d <= 0 {
			fail(name, "%q is not a positive Go duration (like 15m or 720h)", env(name, def))
		}
		return d
	}
	boolean := func(name string, def bool) bool {
		raw := env(name, strconv.FormatBool(def))
		switch strings.ToLower(raw) {
		case "1", "true", "yes", "on":
			return true
		case "0", "false", "no", "off":
			return false
		}
		fail(name, "%q is not a boolean (true/false, on/off)", raw)
		return def
	}

	c := Config{Port: env("PORT", "8080"), Host: env("HOST", ""), MetricsAddr: env("METRICS_ADDR", "")}
	if p, err := strconv.Atoi(c.Port); err != nil || p < 0 || p > 65535 {
		fail("PORT", "%q is not a port number", c.Port)
	}
	if c.Host != "" {
		host, ok := listenHost(c.Host)
		if !ok {
			fail("HOST", "%q is not an IP address or host name (the port is PORT)", c.Host)
		}
		c.Host = host
	}
	if c.MetricsAddr != "" {
		host, port, err := net.SplitHostPort(c.MetricsAddr)
		if p, perr := strconv.Atoi(port); err != nil || perr != nil || p < 1 || p > 65535 {
			fail("METRICS_ADDR", "%q is not host:port (like 127.0.0.1:9090 or :9090)", c.MetricsAddr)
		} else if _, ok := listenHost(host); host != "" && !ok {
			fail("METRICS_ADDR", "%q: %q is not an IP address or host name", c.MetricsAddr, host)
		}
	}
	switch appEnv := env("APP_ENV", "development"); appEnv {
	case "development", "dev":
	case "production", "prod":
		c.Production = true
	default:
		fail("APP_ENV", "%q is neither development nor production", appEnv)
	}
	c.Playground = boolean("PLAYGROUND", !c.Production)
	c.DataDir = env("DATA_DIR", "./data")
	c.DatabaseURL = env("DATABASE_URL", "")
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") &&
		!strings.HasPrefix(c.DatabaseURL, "postgresql://") && !strings.HasPrefix(c.DatabaseURL, "sqlite://") {
		fail("DATABASE_URL", "must start with postgres://, postgresql:// or sqlite://")
	}
	c.RedisURL = env("REDIS_URL", "")
	if c.RedisURL != "" && !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") {
		fail("REDIS_URL", "must start with redis:// or rediss://")
	}
	c.RedisKeyPrefix = env("REDIS_KEY_PREFIX", "gqlauth:")

	c.JWTAlg = env("JWT_ALG", auth.AlgHS256)
	switch c.JWTAlg {
	case auth.AlgHS256, auth.AlgEdDSA, auth.AlgES256, auth.AlgRS256:
	default:
		fail("JWT_ALG", "%q is not one of HS256, EdDSA, ES256, RS256", c.JWTAlg)
	}
	if s := getenv("JWT_SECRET"); s != "" {
		c.JWTSecret = []byte(s)
	}
	c.JWTPrivateKeyFile = env("JWT_PRIVATE_KEY_FILE", "")
	for _, f := range strings.Split(env("JWT_PREVIOUS_KEY_FILES", ""), ",") {
		if f = strings.TrimSpace(f); f != "" {
			c.JWTPreviousKeys = append(c.JWTPreviousKeys, f)
		}
	}
	checkKeys(&c, fail)
	checkMFAKeys(&c, getenv, fail)

	c.Issuer = env("JWT_ISSUER", "http://localhost:"+c.Port)
	c.Audience = env("JWT_AUDIENCE", "graphql-api")
	c.AccessTTL = duration("ACCESS_TOKEN_TTL", "15m")
	c.RefreshTTL = duration("REFRESH_TOKEN_TTL", "720h")
	c.ReuseGrace = duration("REFRESH_REUSE_GRACE", "10s")
	c.ShutdownTimeout = duration("SHUTDOWN_TIMEOUT", "20s")
	if d, err := parseRetention(env("AUDIT_RETENTION", "90d")); err != nil {
		fail("AUDIT_RETENTION", "%q is not a positive duration (like 90d, 2160h or 30m)", env("AUDIT_RETENTION", "90d"))
	} else {
		c.AuditRetention = d
	}
	cost, err := strconv.Atoi(env("BCRYPT_COST", "12"))
	if err != nil || cost < 10 || cost > 14 {
		fail("BCRYPT_COST", "%q is not a whole number from 10 to 14", env("BCRYPT_COST", "12"))
	}
	c.BcryptCost = cost
	if raw := env("BCRYPT_CONCURRENCY", ""); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > 1024 {
			fail("BCRYPT_CONCURRENCY", "%q is not a whole number from 1 to 1024", raw)
		}
		c.BcryptConcurrency = n
	}
	switch v := env("BCRYPT_PRIORITY", "low"); v {
	case "low":
		c.BcryptLowPriority = true
	case "normal":
	default:
		fail("BCRYPT_PRIORITY", "%q is neither low nor normal", v)
	}
	minLen, err := strconv.Atoi(env("PASSWORD_MIN_LENGTH", "8"))
	if err != nil || minLen < 8 || minLen > 64 {
		fail("PASSWORD_MIN_LENGTH", "%q is not a whole number from 8 to 64", env("PASSWORD_MIN_LENGTH", "8"))
	}
	c.MinPasswordLength = minLen

	c.RateLimits = boolean("RATE_LIMITS", true)
	switch v := env("ADMIN_MFA", "optional"); v {
	case "optional":
	case "required":
		c.AdminMFA = true
	default:
		fail("ADMIN_MFA", "%q is neither optional nor required", v)
	}
	count := func(name string, def int) int {
		raw := env(name, strconv.Itoa(def))
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 {
			fail(name, "%q is not a positive whole number", raw)
		}
		return n
	}
	c.LoginFailuresPerIP = count("LOGIN_FAILURES_PER_IP", 300)
	c.RegistrationsPerIP = count("REGISTRATIONS_PER_IP", 100)
	for _, p := range strings.Split(env("TRUSTED_PROXIES", ""), ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		prefix, err := parsePrefix(p)
		if err != nil {
			fail("TRUSTED_PROXIES", "%q is not an IP address or CIDR prefix", p)
		}
		c.TrustedProxies = append(c.TrustedProxies, prefix)
	}
	for _, o := range strings.Split(env("CORS_ALLOWED_ORIGINS", ""), ",") {
		if o = strings.TrimRight(strings.TrimSpace(o), "/"); o != "" {
			if o == "*" {
				fail("CORS_ALLOWED_ORIGINS", "a wildcard is not allowed; list the origins")
			}
			c.CORSOrigins = append(c.CORSOrigins, o)
		}
	}
	c.RefreshCookie = boolean("REFRESH_COOKIE", false)
	c.OAuthPasswordGrant = boolean("OAUTH_PASSWORD_GRANT", true)
	loadWebAuthn(&c, env, fail)
	loadMailConfig(&c, env, fail, duration)
	return c, errors.Join(errs...)
}

// loadMailConfig reads the mail settings. EMAIL_VERIFICATION=required in production needs a
// way to send the verification mails: SMTP_URL.
func loadMailConfig(c *Config, env func(string, string) string, fail func(string, string, ...any), duration func(string, string) time.Duration) {
	// PUBLIC_URL is read (and checked) with the WebAuthn settings, which come first.
	c.MailLinkBase = strings.TrimRight(env("MAIL_LINK_BASE", c.PublicURL), "/")
	if env("MAIL_LINK_BASE", "") != "" && !isBaseURL(c.MailLinkBase) {
		fail("MAIL_LINK_BASE", "%q is not an http(s) URL without query or fragment", c.MailLinkBase)
	}
	if raw := env("SMTP_URL", ""); raw != "" {
		sc, err := smtp.ParseURL(raw)
		if err != nil {
			fail("SMTP_URL", "%v", err)
		} else {
			c.SMTP = &sc
		}
	}
	c.SMTPTimeout = duration("SMTP_TIMEOUT", "30s")
	c.SMTPCAFile = env("SMTP_CA_FILE", "")
	from, err := mail.ParseFrom(env("MAIL_FROM", "gqlauth <no-reply@localhost>"))
	if err != nil {
		fail("MAIL_FROM", "%q is not an address like \"Name <no-reply@example.com>\": %v", env("MAIL_FROM", ""), err)
	}
	c.MailFrom = from
	c.MailTemplatesDir = env("MAIL_TEMPLATES_DIR", "")
	switch v := auth.Verification(env("EMAIL_VERIFICATION", "optional")); v {
	case auth.VerificationOff, auth.VerificationOptional, auth.VerificationRequired:
		c.EmailVerification = v
	default:
		fail("EMAIL_VERIFICATION", "%q is not off, optional or required", v)
	}
	if c.Production && c.EmailVerification == auth.VerificationRequired && c.SMTP == nil && env("SMTP_URL", "") == "" {
		fail("SMTP_URL", "is required in production with EMAIL_VERIFICATION=required (the verification mails need it)")
	}
}

// isBaseURL reports whether s is an absolute http(s) URL that links can be appended to.
func isBaseURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" &&
		u.RawQuery == "" && u.Fragment == "" && u.User == nil
}

// checkKeys validates the signing key settings. A short HS256 key is refused everywhere; in
// production a key must be configured and must not be trivially guessable.
func checkKeys(c *Config, fail func(string, string, ...any)) {
	if c.JWTAlg != auth.AlgHS256 {
		if c.JWTPrivateKeyFile == "" && c.Production {
			fail("JWT_PRIVATE_KEY_FILE", "is required in production with JWT_ALG=%s", c.JWTAlg)
		}
		return
	}
	if c.JWTSecret == nil {
		if c.Production {
			fail("JWT_SECRET", "is required in production (at least 32 random bytes)")
		}
		return
	}
	s := string(c.JWTSecret)
	if len(s) < auth.MinHMACKeyBytes {
		fail("JWT_SECRET", "is %d bytes; at least %d are required", len(s), auth.MinHMACKeyBytes)
		return
	}
	if !c.Production {
		return
	}
	if reason := weakSecretReason(s); reason != "" {
		fail("JWT_SECRET", "%s", reason)
	}
}

// listenHost checks a host to listen on: an IP address (IPv6 with or without brackets) or a
// host name. It returns the form net.JoinHostPort wants.
func listenHost(h string) (string, bool) {
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")); err == nil {
		return a.String(), true
	}
	if len(h) > 253 || strings.Trim(h, "0123456789.") == "" { // 999.1.1.1 is a bad address, not a name
		return "", false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' ||
			strings.Trim(strings.ToLower(label), "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			return "", false
		}
	}
	return h, true
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// parseRetention reads a positive Go duration or a whole number of days ("90d").
func parseRetention(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > 100*365 {
			return 0, errors.New("bad number of days")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d <= 0 {
		return 0, errors.New("not positive")
	}
	return d, nil
}
