package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func loadWith(env map[string]string) (Config, error) {
	return Load(func(k string) string { return env[k] })
}

// The relying party follows PUBLIC_URL, which follows JWT_ISSUER; explicit values win.
func TestWebAuthnDefaults(t *testing.T) {
	for _, c := range []struct {
		name    string
		env     map[string]string
		rpID    string
		origins []string
		off     bool
	}{
		{"defaults: JWT_ISSUER http://localhost:8080", nil, "localhost", []string{"http://localhost:8080"}, false},
		{"PUBLIC_URL", map[string]string{"PUBLIC_URL": "https://Auth.Example.com/"}, "auth.example.com", []string{"https://auth.example.com"}, false},
		{"PUBLIC_URL with a path", map[string]string{"PUBLIC_URL": "https://example.com/auth"}, "example.com", []string{"https://example.com"}, false},
		{"JWT_ISSUER", map[string]string{"JWT_ISSUER": "https://id.example.org:8443"}, "id.example.org", []string{"https://id.example.org:8443"}, false},
		{"RP id a parent domain", map[string]string{"PUBLIC_URL": "https://login.example.com", "WEBAUTHN_RP_ID": "example.com"}, "example.com", []string{"https://login.example.com"}, false},
		{"origins listed", map[string]string{"WEBAUTHN_RP_ID": "example.com", "WEBAUTHN_ORIGINS": "https://example.com, https://app.example.com/"},
			"example.com", []string{"https://example.com", "https://app.example.com"}, false},
		{"an IP host turns passkeys off", map[string]string{"JWT_ISSUER": "http://127.0.0.1:8080"}, "", nil, true},
		{"plain http off localhost turns passkeys off", map[string]string{"JWT_ISSUER": "http://gqlauth.test"}, "", nil, true},
		{"a non-URL issuer turns passkeys off", map[string]string{"JWT_ISSUER": "gqlauth"}, "", nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := loadWith(c.env)
			if err != nil {
				t.Fatal(err)
			}
			w := cfg.WebAuthn
			if w.RPID != c.rpID || !slices.Equal(w.Origins, c.origins) || (w.Off != "") != c.off {
				t.Errorf("WebAuthn = %+v, want rp %q origins %v off %v", w, c.rpID, c.origins, c.off)
			}
		})
	}
}

// A value given and wrong stops the start, naming the variable.
func TestWebAuthnRefusals(t *testing.T) {
	for _, c := range []struct {
		name     string
		env      map[string]string
		variable string
	}{
		{"PUBLIC_URL not a URL", map[string]string{"PUBLIC_URL": "example.com"}, "PUBLIC_URL"},
		{"PUBLIC_URL ftp", map[string]string{"PUBLIC_URL": "ftp://example.com"}, "PUBLIC_URL"},
		{"PUBLIC_URL with a query", map[string]string{"PUBLIC_URL": "https://example.com/?a=b"}, "PUBLIC_URL"},
		{"RP id an IP address", map[string]string{"WEBAUTHN_RP_ID": "127.0.0.1"}, "WEBAUTHN_RP_ID"},
		{"RP id a URL", map[string]string{"WEBAUTHN_RP_ID": "https://example.com"}, "WEBAUTHN_RP_ID"},
		{"RP id with a port", map[string]string{"WEBAUTHN_RP_ID": "example.com:443"}, "WEBAUTHN_RP_ID"},
		{"origin off the RP id", map[string]string{"WEBAUTHN_RP_ID": "example.com", "WEBAUTHN_ORIGINS": "https://example.org"}, "WEBAUTHN_ORIGINS"},
		{"origin a suffix, not a subdomain", map[string]string{"WEBAUTHN_RP_ID": "example.com", "WEBAUTHN_ORIGINS": "https://badexample.com"}, "WEBAUTHN_ORIGINS"},
		{"origin plain http off localhost", map[string]string{"WEBAUTHN_RP_ID": "example.com", "WEBAUTHN_ORIGINS": "http://example.com"}, "WEBAUTHN_ORIGINS"},
		{"origin with a path", map[string]string{"WEBAUTHN_RP_ID": "example.com", "WEBAUTHN_ORIGINS": "https://example.com/app"}, "WEBAUTHN_ORIGINS"},
		{"origins empty list", map[string]string{"WEBAUTHN_RP_ID": "example.com", "WEBAUTHN_ORIGINS": " , "}, "WEBAUTHN_ORIGINS"},
		{"RP id given, derived origin unusable", map[string]string{"JWT_ISSUER": "http://gqlauth.test", "WEBAUTHN_RP_ID": "gqlauth.test"}, "WEBAUTHN_ORIGINS"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := loadWith(c.env)
			var ce *Error
			if !errors.As(err, &ce) || ce.Var != c.variable || strings.Contains(ce.Reason, "\\n") {
				t.Errorf("Load = %v, want an error naming %s", err, c.variable)
			}
		})
	}
}
