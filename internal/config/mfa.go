package config

import (
	"net/url"
	"strings"

	"github.com/example/gqlauth/auth"
)

// The key that seals TOTP secrets at rest (auth.MFAKeys). MFA_ENCRYPTION_KEY is a secret of its
// own, at least 32 bytes, used as given (through HKDF); MFA_ENCRYPTION_PREVIOUS_KEYS lists,
// comma-separated, keys that only open secrets sealed before a rotation (each is re-sealed under
// the current key at its next use). Without MFA_ENCRYPTION_KEY the key is derived from the
// signing key material. Under HS256 that is JWT_SECRET, which the services verifying our tokens
// hold too; MFA_ENCRYPTION_KEY keeps the TOTP secrets out of their reach.
func checkMFAKeys(c *Config, getenv func(string) string, fail func(string, string, ...any)) {
	if k := strings.TrimSpace(getenv("MFA_ENCRYPTION_KEY")); k != "" {
		c.MFAKey = []byte(k)
		switch {
		case len(k) < auth.MinMFAKeyBytes:
			fail("MFA_ENCRYPTION_KEY", "is %d bytes; at least %d are required", len(k), auth.MinMFAKeyBytes)
		case c.Production && weakSecretReason(k) != "":
			fail("MFA_ENCRYPTION_KEY", "%s", weakSecretReason(k))
		}
	}
	for _, k := range strings.Split(getenv("MFA_ENCRYPTION_PREVIOUS_KEYS"), ",") {
		if k = strings.TrimSpace(k); k == "" {
			continue
		}
		if len(k) < auth.MinMFAKeyBytes {
			fail("MFA_ENCRYPTION_PREVIOUS_KEYS", "a key is %d bytes; at least %d are required", len(k), auth.MinMFAKeyBytes)
		}
		c.MFAPreviousKeys = append(c.MFAPreviousKeys, []byte(k))
	}
	if len(c.MFAPreviousKeys) > 0 && c.MFAKey == nil {
		fail("MFA_ENCRYPTION_PREVIOUS_KEYS", "needs MFA_ENCRYPTION_KEY (the key that seals from now on)")
	}
}

// MFAKeys is the service's MFA key set: nil derives it from the signing key.
func MFAKeys(c Config) (*auth.MFAKeys, error) {
	if c.MFAKey == nil {
		return nil, nil
	}
	return auth.NewMFAKeys(c.MFAKey, c.MFAPreviousKeys...)
}

// TOTPIssuer names the service in authenticator apps: the host name of PUBLIC_URL (which is
// JWT_ISSUER's by default), without a port (a colon would end the issuer in the otpauth://
// label), or "gqlauth".
func TOTPIssuer(c Config) string {
	for _, raw := range []string{c.PublicURL, c.Issuer} {
		if u, err := url.Parse(raw); err == nil && u.Hostname() != "" {
			return u.Hostname()
		}
	}
	return "gqlauth"
}
