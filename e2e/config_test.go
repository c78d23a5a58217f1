package e2e

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/internal/config"
	"github.com/example/gqlauth/internal/servertest"
)

// fastAPIDocsKey is the example key of FastAPI's documentation, copied into many services.
const fastAPIDocsKey = "09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7"

// goodProductionKey is a fresh random key of 48 bytes, as `openssl rand -base64 48` makes.
func goodProductionKey(t testing.TB) string {
	t.Helper()
	b := make([]byte, 48)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// runRefused runs the program with env (over testEnv's defaults) and returns what it printed;
// starting instead of refusing fails the test.
func runRefused(t *testing.T, overrides map[string]string) cmdResult {
	t.Helper()
	start := time.Now()
	res := servertest.Run(t, servertest.Env(t, overrides), "")
	if res.Code == 0 {
		t.Fatalf("run started (and ran until the timeout) instead of refusing; stderr:\n%s", res.Stderr)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Fatalf("run did not refuse promptly: %v", took)
	}
	return res
}

// TestConfigRefusals: every bad value stops the start with exit code 2 and one line naming
// the variable.
func TestConfigRefusals(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("this is not a PEM file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ecKey, err := auth.GeneratePrivateKeyPEM("ES256")
	if err != nil {
		t.Fatal(err)
	}
	ecFile := filepath.Join(dir, "es256.pem")
	if err := os.WriteFile(ecFile, ecKey, 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		env      map[string]string
		variable string
	}{
		{"unknown JWT_ALG", map[string]string{"JWT_ALG": "HS512"}, "JWT_ALG"},
		{"JWT_ALG none", map[string]string{"JWT_ALG": "none"}, "JWT_ALG"},
		{"ACCESS_TOKEN_TTL words", map[string]string{"ACCESS_TOKEN_TTL": "fifteen minutes"}, "ACCESS_TOKEN_TTL"},
		{"ACCESS_TOKEN_TTL without unit", map[string]string{"ACCESS_TOKEN_TTL": "900"}, "ACCESS_TOKEN_TTL"},
		{"ACCESS_TOKEN_TTL zero", map[string]string{"ACCESS_TOKEN_TTL": "0s"}, "ACCESS_TOKEN_TTL"},
		{"ACCESS_TOKEN_TTL negative", map[string]string{"ACCESS_TOKEN_TTL": "-5m"}, "ACCESS_TOKEN_TTL"},
		{"REFRESH_TOKEN_TTL words", map[string]string{"REFRESH_TOKEN_TTL": "30 days"}, "REFRESH_TOKEN_TTL"},
		{"REFRESH_TOKEN_TTL zero", map[string]string{"REFRESH_TOKEN_TTL": "0"}, "REFRESH_TOKEN_TTL"},
		{"REFRESH_TOKEN_TTL negative", map[string]string{"REFRESH_TOKEN_TTL": "-1h"}, "REFRESH_TOKEN_TTL"},
		{"BCRYPT_COST 9", map[string]string{"BCRYPT_COST": "9"}, "BCRYPT_COST"},
		{"BCRYPT_COST 15", map[string]string{"BCRYPT_COST": "15"}, "BCRYPT_COST"},
		{"BCRYPT_COST abc", map[string]string{"BCRYPT_COST": "abc"}, "BCRYPT_COST"},
		{"BCRYPT_COST fraction", map[string]string{"BCRYPT_COST": "12.5"}, "BCRYPT_COST"},
		{"ADMIN_MFA maybe", map[string]string{"ADMIN_MFA": "maybe"}, "ADMIN_MFA"},
		{"BCRYPT_PRIORITY high", map[string]string{"BCRYPT_PRIORITY": "high"}, "BCRYPT_PRIORITY"},
		{"JWT_PRIVATE_KEY_FILE missing", map[string]string{"JWT_ALG": "EdDSA", "JWT_PRIVATE_KEY_FILE": filepath.Join(dir, "nope.pem")}, "JWT_PRIVATE_KEY_FILE"},
		{"JWT_PRIVATE_KEY_FILE a directory", map[string]string{"JWT_ALG": "ES256", "JWT_PRIVATE_KEY_FILE": dir}, "JWT_PRIVATE_KEY_FILE"},
		{"JWT_PRIVATE_KEY_FILE not PEM", map[string]string{"JWT_ALG": "RS256", "JWT_PRIVATE_KEY_FILE": garbage}, "JWT_PRIVATE_KEY_FILE"},
		{"JWT_PRIVATE_KEY_FILE of another algorithm", map[string]string{"JWT_ALG": "EdDSA", "JWT_PRIVATE_KEY_FILE": ecFile}, "JWT_PRIVATE_KEY_FILE"},
		{"JWT_SECRET short", map[string]string{"JWT_SECRET": "tooshort"}, "JWT_SECRET"},
		{"JWT_SECRET 31 bytes", map[string]string{"JWT_SECRET": strings.Repeat("k", 31)}, "JWT_SECRET"},
		{"PORT letters", map[string]string{"PORT": "http"}, "PORT"},
		{"PORT too large", map[string]string{"PORT": "70000"}, "PORT"},
		{"PORT negative", map[string]string{"PORT": "-1"}, "PORT"},
		{"APP_ENV staging", map[string]string{"APP_ENV": "staging"}, "APP_ENV"},
		{"APP_ENV test", map[string]string{"APP_ENV": "test"}, "APP_ENV"},
		{"HOST with a port", map[string]string{"HOST": "127.0.0.1:8080"}, "HOST"},
		{"HOST not a name", map[string]string{"HOST": "not a host!"}, "HOST"},
		{"HOST a bad address", map[string]string{"HOST": "999.1.1.1"}, "HOST"},
		{"METRICS_ADDR without a port", map[string]string{"METRICS_ADDR": "127.0.0.1"}, "METRICS_ADDR"},
		{"METRICS_ADDR a bare port", map[string]string{"METRICS_ADDR": "9090"}, "METRICS_ADDR"},
		{"METRICS_ADDR port too large", map[string]string{"METRICS_ADDR": "localhost:99999"}, "METRICS_ADDR"},
		{"METRICS_ADDR bad host", map[string]string{"METRICS_ADDR": "not a host!:9090"}, "METRICS_ADDR"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, loadErr := config.Load(servertest.Getenv(tc.env))
			res := runRefused(t, tc.env)
			expectConfigExit(t, res, tc.variable)
			if res.Stderr != res.ErrorLine() {
				t.Errorf("nothing should be logged before the refusal, got %q", res.Stderr)
			}
			// Values checkable without touching the disk are refused by config.Load itself.
			if !strings.HasPrefix(tc.variable, "JWT_PRIVATE_KEY_FILE") && loadErr == nil {
				t.Errorf("config.Load accepted %v", tc.env)
			}
		})
	}

	t.Run("PORT in use", func(t *testing.T) {
		ln, err := net.Listen("tcp", ":0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
		res := runRefused(t, map[string]string{"PORT": port})
		expectConfigExit(t, res, "PORT")
	})

	t.Run("METRICS_ADDR in use", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		res := runRefused(t, map[string]string{"METRICS_ADDR": ln.Addr().String()})
		expectConfigExit(t, res, "METRICS_ADDR")
	})

	t.Run("HOST not of this machine", func(t *testing.T) {
		res := runRefused(t, map[string]string{"HOST": "192.0.2.1"}) // TEST-NET-1
		expectConfigExit(t, res, "HOST")
	})

	t.Run("several bad values still print one line", func(t *testing.T) {
		res := runRefused(t, map[string]string{"BCRYPT_COST": "99", "ACCESS_TOKEN_TTL": "soon", "JWT_ALG": "XX"})
		line := expectConfigExit(t, res, "")
		if !strings.Contains(line, "JWT_ALG") && !strings.Contains(line, "ACCESS_TOKEN_TTL") && !strings.Contains(line, "BCRYPT_COST") {
			t.Errorf("the line names none of the bad variables: %q", line)
		}
	})
}

// productionRefusals are the JWT_SECRET values production must refuse ("" = unset).
func productionRefusals() []struct{ name, secret string } {
	return []struct{ name, secret string }{
		{"no JWT_SECRET", ""},
		{"short key", "0123456789abcdef"},
		{"31 bytes", "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1d"},
		{"one repeated character", strings.Repeat("a", 40)},
		{"one repeated multi-byte character", strings.Repeat("é", 32)},
		{"your-secret-key", "your-secret-key"},
		{"secret", "secret"},
		{"changeme", "changeme"},
		{"FastAPI docs key", fastAPIDocsKey},
		{"FastAPI docs key upper case", strings.ToUpper(fastAPIDocsKey)},
		{"placeholder padded to length", "changeme-changeme-changeme-changeme-changeme"},
		{"your-secret-key padded to length", "your-secret-key-your-secret-key-1234"},
		// Low entropy: long enough, no placeholder, still guessable.
		{"a word repeated (36 bytes)", strings.Repeat("secret", 6)},
		{"two characters alternating", strings.Repeat("ab", 20)},
		{"a run of digits repeated", strings.Repeat("1234567890", 4)},
		{"a common password repeated", strings.Repeat("password", 5)},
	}
}

// TestProductionKeyRefusals: APP_ENV=production refuses a missing, short, repeated or
// well-known key with exit code 2 naming JWT_SECRET, without echoing the key.
func TestProductionKeyRefusals(t *testing.T) {
	for _, tc := range productionRefusals() {
		t.Run(tc.name, func(t *testing.T) {
			res := runRefused(t, map[string]string{"APP_ENV": "production", "JWT_SECRET": tc.secret})
			line := expectConfigExit(t, res, "JWT_SECRET")
			if len(tc.secret) >= 16 && strings.Contains(line, tc.secret) {
				t.Errorf("the refusal echoes the key: %q", line)
			}
		})
	}
	// The short form of APP_ENV is as strict.
	res := runRefused(t, map[string]string{"APP_ENV": "prod", "JWT_SECRET": "changeme"})
	expectConfigExit(t, res, "JWT_SECRET")
}

// TestStartWithShortTTLAndProductionKey: ACCESS_TOKEN_TTL=2s is served as such, and a good
// random key starts a production server.
func TestStartWithShortTTLAndProductionKey(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"APP_ENV": "production", "JWT_SECRET": goodProductionKey(t), "ACCESS_TOKEN_TTL": "2s"})
	reg := s.register(t, "short-ttl@example.com")
	if reg.ExpiresIn != 2 {
		t.Fatalf("expiresIn = %d, want 2", reg.ExpiresIn)
	}
	expectOK(t, s.me(t, reg.AccessToken))
	if strings.Contains(s.Log(), "development key") {
		t.Errorf("a production server must not use a development key:\n%s", s.Log())
	}
}

// TestBinaryConfigRefusals runs the real binary: a refused configuration exits with code 2 and
// writes exactly one line to stderr, nothing to stdout; a good production key starts and stops
// with 0 on SIGTERM.
func TestBinaryConfigRefusals(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	cases := productionRefusals()
	for _, tc := range cases {
		t.Run("production/"+tc.name, func(t *testing.T) {
			t.Parallel()
			env := servertest.Env(t, map[string]string{"APP_ENV": "production", "JWT_SECRET": tc.secret})
			res := runBinary(t, bin, env, "", nil)
			expectConfigExit(t, res, "JWT_SECRET")
			expectOnlyErrorLine(t, res)
		})
	}
	for _, tc := range []struct{ name, key, value string }{
		{"BCRYPT_COST", "BCRYPT_COST", "15"},
		{"JWT_ALG", "JWT_ALG", "none"},
		{"ACCESS_TOKEN_TTL", "ACCESS_TOKEN_TTL", "forever"},
		{"JWT_PRIVATE_KEY_FILE", "JWT_PRIVATE_KEY_FILE", "/nonexistent/key.pem"},
	} {
		t.Run("development/"+tc.name, func(t *testing.T) {
			t.Parallel()
			env := servertest.Env(t, map[string]string{tc.key: tc.value})
			if tc.key == "JWT_PRIVATE_KEY_FILE" {
				env["JWT_ALG"] = "EdDSA"
			}
			res := runBinary(t, bin, env, "", nil)
			expectConfigExit(t, res, tc.name)
			expectOnlyErrorLine(t, res)
		})
	}
	t.Run("production/good key starts", func(t *testing.T) {
		t.Parallel()
		p := startBinary(t, bin, servertest.Env(t, map[string]string{"APP_ENV": "production", "JWT_SECRET": goodProductionKey(t)}))
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := p.wait(t, 30*time.Second); code != 0 {
			t.Fatalf("exit code %d after SIGTERM, want 0\n%s", code, p.Log())
		}
	})
}
