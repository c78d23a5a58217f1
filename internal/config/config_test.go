package config

import (
	"encoding/base64"
	"testing"
	"time"
)

// TestConfigAccepted: good values, boundaries included, load; the defaults are the documented ones.
func TestConfigAccepted(t *testing.T) {
	c, err := Load(func(string) string { return "" })
	if err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if c.Port != "8080" || c.Production || !c.Playground || c.DataDir != "./data" || c.DatabaseURL != "" ||
		c.JWTAlg != "HS256" || c.Issuer != "http://localhost:8080" || c.Audience != "graphql-api" ||
		c.AccessTTL != 15*time.Minute || c.RefreshTTL != 720*time.Hour || c.BcryptCost != 12 || !c.RateLimits ||
		len(c.CORSOrigins) != 0 || c.ShutdownTimeout < 15*time.Second {
		t.Errorf("defaults differ from docs/configuration.md: %+v", c)
	}

	key := base64.StdEncoding.EncodeToString(randomBytes(t, 48)) // as `openssl rand -base64 48` makes
	tests := []struct {
		name  string
		env   map[string]string
		check func(Config) bool
	}{
		{"ACCESS_TOKEN_TTL 2s", map[string]string{"ACCESS_TOKEN_TTL": "2s"}, func(c Config) bool { return c.AccessTTL == 2*time.Second }},
		{"REFRESH_TOKEN_TTL 2s", map[string]string{"REFRESH_TOKEN_TTL": "2s"}, func(c Config) bool { return c.RefreshTTL == 2*time.Second }},
		{"ACCESS_TOKEN_TTL 1h30m", map[string]string{"ACCESS_TOKEN_TTL": "1h30m"}, func(c Config) bool { return c.AccessTTL == 90*time.Minute }},
		{"BCRYPT_COST 10", map[string]string{"BCRYPT_COST": "10"}, func(c Config) bool { return c.BcryptCost == 10 }},
		{"BCRYPT_COST 14", map[string]string{"BCRYPT_COST": "14"}, func(c Config) bool { return c.BcryptCost == 14 }},
		{"ADMIN_MFA required", map[string]string{"ADMIN_MFA": "required"}, func(c Config) bool { return c.AdminMFA }},
		{"ADMIN_MFA default", map[string]string{}, func(c Config) bool { return !c.AdminMFA }},
		{"BCRYPT_PRIORITY default", map[string]string{}, func(c Config) bool { return c.BcryptLowPriority }},
		{"BCRYPT_PRIORITY normal", map[string]string{"BCRYPT_PRIORITY": "normal"}, func(c Config) bool { return !c.BcryptLowPriority }},
		{"JWT_ALG EdDSA", map[string]string{"JWT_ALG": "EdDSA"}, func(c Config) bool { return c.JWTAlg == "EdDSA" }},
		{"JWT_ALG ES256", map[string]string{"JWT_ALG": "ES256"}, func(c Config) bool { return c.JWTAlg == "ES256" }},
		{"JWT_ALG RS256", map[string]string{"JWT_ALG": "RS256"}, func(c Config) bool { return c.JWTAlg == "RS256" }},
		{"JWT_SECRET kept as given", map[string]string{"JWT_SECRET": " " + key + " "}, func(c Config) bool { return string(c.JWTSecret) == " "+key+" " }},
		{"issuer follows PORT", map[string]string{"PORT": "9999"}, func(c Config) bool { return c.Issuer == "http://localhost:9999" }},
		{"HOST default: every interface", nil, func(c Config) bool { return c.Host == "" && c.MetricsAddr == "" }},
		{"HOST loopback", map[string]string{"HOST": "127.0.0.1"}, func(c Config) bool { return c.Host == "127.0.0.1" }},
		{"HOST IPv6 in brackets", map[string]string{"HOST": "[::1]"}, func(c Config) bool { return c.Host == "::1" }},
		{"HOST a name", map[string]string{"HOST": "localhost"}, func(c Config) bool { return c.Host == "localhost" }},
		{"METRICS_ADDR every interface", map[string]string{"METRICS_ADDR": ":9090"}, func(c Config) bool { return c.MetricsAddr == ":9090" }},
		{"METRICS_ADDR IPv6", map[string]string{"METRICS_ADDR": "[::1]:9090"}, func(c Config) bool { return c.MetricsAddr == "[::1]:9090" }},
		{"placeholder allowed in development", map[string]string{"JWT_SECRET": fastAPIDocsKey}, func(c Config) bool { return !c.Production }},
		{"production with a random key", map[string]string{"APP_ENV": "production", "JWT_SECRET": key},
			func(c Config) bool { return c.Production && !c.Playground && string(c.JWTSecret) == key }},
		{"production with PLAYGROUND=true", map[string]string{"APP_ENV": "production", "JWT_SECRET": key, "PLAYGROUND": "true"},
			func(c Config) bool { return c.Production && c.Playground }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(func(k string) string { return tc.env[k] })
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.check(c) {
				t.Errorf("unexpected config: %+v", c)
			}
		})
	}
}
