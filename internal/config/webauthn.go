package config

import (
	"net"
	"net/url"
	"strings"
)

// WebAuthn is the passkey relying party: WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS, derived from
// PUBLIC_URL unless set.
type WebAuthn struct {
	RPID    string   // "" when passkeys are off
	Origins []string // scheme://host[:port], no trailing slash
	// Off says why passkeys are off: the settings were derived from PUBLIC_URL, whose host
	// cannot be a relying-party id (an IP address: browsers refuse WebAuthn there). Set
	// explicitly, a bad value stops the start instead.
	Off string
}

// loadWebAuthn reads PUBLIC_URL, WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS. A value given and wrong
// is a configuration error (exit 2); defaults that cannot work (an IP address, plain http on a
// host other than localhost) turn passkeys off, with the reason in Off for the start-up log,
// so a deployment that never asked for passkeys starts as before.
func loadWebAuthn(c *Config, env func(name, def string) string, fail func(name, format string, args ...any)) {
	given := env("PUBLIC_URL", "")
	c.PublicURL = strings.TrimRight(env("PUBLIC_URL", c.Issuer), "/")
	public, err := url.Parse(c.PublicURL)
	publicOK := err == nil && (public.Scheme == "http" || public.Scheme == "https") && public.Host != "" &&
		public.User == nil && public.RawQuery == "" && public.Fragment == ""
	if !publicOK && given != "" {
		fail("PUBLIC_URL", "%q is not an http(s) URL without user, query or fragment", c.PublicURL)
		return
	}

	rpGiven := env("WEBAUTHN_RP_ID", "")
	originsGiven := env("WEBAUTHN_ORIGINS", "")
	w := &c.WebAuthn
	switch {
	case rpGiven != "":
		w.RPID = strings.ToLower(rpGiven)
		if reason := rpIDProblem(w.RPID); reason != "" {
			fail("WEBAUTHN_RP_ID", "%q %s", rpGiven, reason)
			return
		}
	case !publicOK:
		w.Off = "JWT_ISSUER (PUBLIC_URL's default) " + c.PublicURL + " is not an http(s) URL; set PUBLIC_URL or WEBAUTHN_RP_ID"
		return
	default:
		w.RPID = strings.ToLower(public.Hostname())
		if reason := rpIDProblem(w.RPID); reason != "" {
			w.Off = "PUBLIC_URL's host " + w.RPID + " " + reason + "; set WEBAUTHN_RP_ID (and reach the service by that name)"
			w.RPID = ""
			return
		}
	}

	if originsGiven == "" {
		if !publicOK {
			fail("WEBAUTHN_ORIGINS", "is required when PUBLIC_URL is not an http(s) URL")
			return
		}
		o := public.Scheme + "://" + strings.ToLower(public.Host)
		if reason := originProblem(o, w.RPID); reason != "" {
			if rpGiven != "" { // passkeys were asked for: say what is missing
				fail("WEBAUTHN_ORIGINS", "PUBLIC_URL's origin %q %s; set WEBAUTHN_ORIGINS", o, reason)
				return
			}
			w.RPID, w.Off = "", "PUBLIC_URL's origin "+o+" "+reason+"; set PUBLIC_URL or WEBAUTHN_ORIGINS"
			return
		}
		w.Origins = []string{o}
		return
	}
	for _, o := range strings.Split(originsGiven, ",") {
		o = strings.ToLower(strings.TrimRight(strings.TrimSpace(o), "/"))
		if o == "" {
			continue
		}
		if reason := originProblem(o, w.RPID); reason != "" {
			fail("WEBAUTHN_ORIGINS", "%q %s", o, reason)
			return
		}
		w.Origins = append(w.Origins, o)
	}
	if len(w.Origins) == 0 {
		fail("WEBAUTHN_ORIGINS", "lists no origin")
	}
}

// rpIDProblem says why id cannot be a relying-party id: it must be a host name (not an IP
// address, no port, scheme or path).
func rpIDProblem(id string) string {
	if net.ParseIP(strings.Trim(id, "[]")) != nil {
		return "is an IP address; browsers allow passkeys only for a domain name (localhost included)"
	}
	if len(id) > 253 || strings.Trim(id, "0123456789.") == "" {
		return "is not a domain name"
	}
	for _, label := range strings.Split(id, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' ||
			strings.Trim(label, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			return "is not a domain name (no scheme, port or path: like example.com)"
		}
	}
	return ""
}

// originProblem says why o cannot be an origin of rpID's pages: it must be scheme://host[:port]
// with the host equal to rpID or under it, https, or http on localhost (the only insecure
// origin browsers run WebAuthn on).
func originProblem(o, rpID string) string {
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "is not an origin (scheme://host[:port])"
	}
	host := u.Hostname()
	switch u.Scheme {
	case "https":
	case "http":
		if host != "localhost" && !strings.HasSuffix(host, ".localhost") {
			return "is http but not on localhost: browsers allow passkeys only on https (or http://localhost)"
		}
	default:
		return "is not an http(s) origin"
	}
	if host != rpID && !strings.HasSuffix(host, "."+rpID) {
		return "is not on the relying party " + rpID + " (WEBAUTHN_RP_ID): its host must be it or under it"
	}
	return ""
}
