package e2e

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/example/gqlauth/internal/servertest"
	"github.com/golang-jwt/jwt/v5"
)

// generateKeyFile runs `keys generate` and returns the file.
func generateKeyFile(t *testing.T, alg string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), strings.ToLower(alg)+".pem")
	if code, _, stderr := runCLI(t, nil, "keys", "generate", "--alg", alg, "--out", path); code != 0 {
		t.Fatalf("keys generate: exit %d %s", code, stderr)
	}
	return path
}

type jwk struct {
	Kid, Kty, Alg, Use, Crv, X, Y, N, E, D string
}

func fetchJWKS(t *testing.T, s *testServer) []jwk {
	t.Helper()
	resp, err := http.Get(s.URL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age") {
		t.Errorf("JWKS Cache-Control = %q", cc)
	}
	var set struct{ Keys []jwk }
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	return set.Keys
}

func b64bytes(t *testing.T, s string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func b64int(t *testing.T, s string) *big.Int { return new(big.Int).SetBytes(b64bytes(t, s)) }

// publicKey turns a published JWK into a Go public key, as an independent verifier would.
func publicKey(t *testing.T, k jwk) any {
	t.Helper()
	if k.D != "" {
		t.Fatalf("JWKS publishes private material: %+v", k)
	}
	switch k.Kty {
	case "OKP":
		x, _ := base64.RawURLEncoding.DecodeString(k.X)
		return ed25519.PublicKey(x)
	case "EC":
		// SEC 1 uncompressed point: 0x04 || x || y (the raw coordinates are deprecated).
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, b64bytes(t, k.X)...), b64bytes(t, k.Y)...))
		if err != nil {
			t.Fatalf("EC JWK: %v", err)
		}
		return pub
	case "RSA":
		return &rsa.PublicKey{N: b64int(t, k.N), E: int(b64int(t, k.E).Int64())}
	}
	t.Fatalf("unknown kty %q", k.Kty)
	return nil
}

// TestAsymmetricKeys: for each algorithm, tokens verify with the key published in the JWKS,
// a previous key keeps verifying during a rotation, and a removed key does not.
func TestAsymmetricKeys(t *testing.T) {
	for _, alg := range []string{"EdDSA", "ES256", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			oldKey := generateKeyFile(t, alg)
			env := servertest.Env(t, map[string]string{"JWT_ALG": alg, "JWT_PRIVATE_KEY_FILE": oldKey, "JWT_SECRET": ""})
			s := startWithEnv(t, env)
			reg := s.register(t, "k@example.com")
			keys := fetchJWKS(t, s)
			if len(keys) != 1 || keys[0].Alg != alg || keys[0].Use != "sig" || keys[0].Kid == "" {
				t.Fatalf("JWKS: %+v", keys)
			}
			tok, err := jwt.Parse(reg.AccessToken, func(tok *jwt.Token) (any, error) {
				if tok.Header["kid"] != keys[0].Kid {
					t.Fatalf("kid %v not in JWKS", tok.Header["kid"])
				}
				return publicKey(t, keys[0]), nil
			}, jwt.WithValidMethods([]string{alg}), jwt.WithAudience("graphql-api"), jwt.WithIssuer(env["JWT_ISSUER"]))
			if err != nil || !tok.Valid {
				t.Fatalf("independent verification failed: %v", err)
			}

			// Algorithm confusion: an HS256 token keyed with the public key is refused.
			forged := jwt.NewWithClaims(jwt.SigningMethodHS256, tok.Claims)
			forged.Header["kid"], forged.Header["typ"] = keys[0].Kid, "at+jwt"
			pub, _ := json.Marshal(keys[0])
			forgedStr, _ := forged.SignedString(pub)
			expectError(t, s.me(t, forgedStr), "UNAUTHENTICATED", "TOKEN_INVALID")
			s.Stop()

			// Rotation: the new key signs, the old one still verifies and is published.
			newKey := generateKeyFile(t, alg)
			env["JWT_PRIVATE_KEY_FILE"], env["JWT_PREVIOUS_KEY_FILES"] = newKey, oldKey
			s = startWithEnv(t, env)
			expectOK(t, s.me(t, reg.AccessToken))
			if keys := fetchJWKS(t, s); len(keys) != 2 {
				t.Fatalf("JWKS during rotation: %+v", keys)
			}
			fresh, r := s.login(t, "k@example.com", testPassword)
			expectOK(t, r)
			s.Stop()

			// The old key removed: its tokens are refused, the new key's still work.
			env["JWT_PREVIOUS_KEY_FILES"] = ""
			s = startWithEnv(t, env)
			expectError(t, s.me(t, reg.AccessToken), "UNAUTHENTICATED", "TOKEN_INVALID")
			expectOK(t, s.me(t, fresh.AccessToken))
		})
	}
}
