package smtp

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// TLSMode says how a connection is encrypted.
type TLSMode int

const (
	// TLSOpportunistic (smtp://): STARTTLS when the server offers it, plain text otherwise.
	// A server that offers STARTTLS with a certificate we cannot verify is not sent to.
	TLSOpportunistic TLSMode = iota
	// TLSRequired (smtp://…?tls=required): no mail goes out without STARTTLS.
	TLSRequired
	// TLSImplicit (smtps://): TLS from the first byte (port 465).
	TLSImplicit
)

func (m TLSMode) String() string {
	switch m {
	case TLSRequired:
		return "starttls-required"
	case TLSImplicit:
		return "implicit"
	}
	return "starttls-opportunistic"
}

// Auth is the SASL mechanism used when the URL has credentials.
type Auth string

// The SMTP authentication mechanisms.
const (
	AuthPlain Auth = "PLAIN"
	AuthLogin Auth = "LOGIN"
)

// Config is a parsed SMTP_URL.
type Config struct {
	Host     string
	Port     int
	Username string // "" sends without authenticating
	Password string
	Auth     Auth // PLAIN unless ?auth=login
	TLS      TLSMode
}

// String is the URL without its password, for logs.
func (c Config) String() string {
	scheme := "smtp"
	if c.TLS == TLSImplicit {
		scheme = "smtps"
	}
	u := url.URL{Scheme: scheme, Host: net.JoinHostPort(c.Host, strconv.Itoa(c.Port))}
	if c.Username != "" {
		u.User = url.User(c.Username)
	}
	q := url.Values{}
	if c.TLS == TLSRequired {
		q.Set("tls", "required")
	}
	if c.Username != "" && c.Auth == AuthLogin {
		q.Set("auth", "login")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// maxURL bounds what is parsed: a configuration value, never long.
const maxURL = 2048

// ParseURL reads SMTP_URL: smtp://[user[:password]@]host[:port][?tls=required][&auth=login]
// (port 587 by default) or smtps://[user[:password]@]host[:port][?auth=login] (port 465). The
// user and password are percent-decoded.
func ParseURL(raw string) (Config, error) {
	if len(raw) > maxURL {
		return Config{}, errors.New("longer than 2048 bytes")
	}
	if strings.ContainsFunc(raw, func(r rune) bool { return r < 0x20 || r == 0x7f || r == ' ' }) {
		return Config{}, errors.New("contains spaces or control characters")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Config{}, errors.New("not a URL (smtp://[user:pass@]host:port or smtps://…)")
	}
	var c Config
	switch strings.ToLower(u.Scheme) {
	case "smtp":
		c.TLS, c.Port = TLSOpportunistic, 587
	case "smtps":
		c.TLS, c.Port = TLSImplicit, 465
	default:
		return Config{}, fmt.Errorf("scheme %q is neither smtp nor smtps", u.Scheme)
	}
	if u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return Config{}, errors.New("want smtp://host:port with no path")
	}
	c.Host = u.Hostname()
	if c.Host == "" {
		return Config{}, errors.New("no host")
	}
	if strings.ContainsAny(c.Host, "%/\\@[]") {
		return Config{}, fmt.Errorf("host %q is not a host name or IP address", c.Host)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Config{}, fmt.Errorf("port %q is not a number from 1 to 65535", p)
		}
		c.Port = n
	} else if strings.HasSuffix(u.Host, ":") {
		return Config{}, errors.New("empty port")
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
		if c.Username == "" {
			return Config{}, errors.New("a password without a user")
		}
	}
	c.Auth = AuthPlain
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Config{}, errors.New("bad query")
	}
	for k, vs := range q {
		if len(vs) != 1 {
			return Config{}, fmt.Errorf("%s given more than once", k)
		}
		switch v := strings.ToLower(vs[0]); k {
		case "tls":
			switch {
			case c.TLS == TLSImplicit:
				return Config{}, errors.New("tls= applies to smtp://; smtps:// is always TLS")
			case v == "required":
				c.TLS = TLSRequired
			case v == "opportunistic":
			default:
				return Config{}, fmt.Errorf("tls=%s: want tls=required or tls=opportunistic", v)
			}
		case "auth":
			switch v {
			case "plain":
			case "login":
				c.Auth = AuthLogin
			default:
				return Config{}, fmt.Errorf("auth=%s: want auth=plain or auth=login", v)
			}
		default:
			return Config{}, fmt.Errorf("unknown parameter %q (tls, auth)", k)
		}
	}
	return c, nil
}
