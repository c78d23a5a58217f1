// Package verifytest helps test code that verifies this service's access tokens: an in-process
// issuer that mints tokens with the service's format, serves its key set (counting requests) and
// rotates keys, and the hostile-token table every verifier of ours must judge alike.
package verifytest

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	"github.com/example/gqlauth/internal/tokenrules"
	"github.com/golang-jwt/jwt/v5"
)

// Issuer mints access tokens the way the service does and serves its JWKS.
type Issuer struct {
	Issuer   string
	Audience string
	TTL      time.Duration
	Now      func() time.Time

	alg string
	mu  sync.Mutex
	cur Key
	old []Key
	jwk map[string]map[string]string // kid → public JWK members

	// CacheControl is sent with the JWKS (default "max-age=300").
	CacheControl string
	jwksRequests atomic.Int64
}

// NewIssuer makes an issuer of alg (HS256, EdDSA, ES256 or RS256) with a fresh key.
func NewIssuer(alg, issuer, audience string) *Issuer {
	i := &Issuer{Issuer: issuer, Audience: audience, TTL: 15 * time.Minute, Now: time.Now, alg: alg,
		jwk: map[string]map[string]string{}, CacheControl: "max-age=300"}
	i.cur = i.newKey()
	return i
}

// Alg is the issuer's algorithm.
func (i *Issuer) Alg() string { return i.alg }

// Key is the current signing key.
func (i *Issuer) Key() Key {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.cur
}

// Secret is the HS256 secret (nil for other algorithms).
func (i *Issuer) Secret() []byte {
	b, _ := i.Key().Private.([]byte)
	return b
}

// Rotate makes a new current key; the old one stays in the JWKS when keepOld is true.
func (i *Issuer) Rotate(keepOld bool) Key {
	k := i.newKey()
	i.mu.Lock()
	defer i.mu.Unlock()
	if keepOld {
		i.old = append(i.old, i.cur)
	} else {
		delete(i.jwk, i.cur.KID)
	}
	i.cur = k
	return k
}

func (i *Issuer) newKey() Key {
	var k Key
	var jwk map[string]string
	var members []string
	b64 := base64.RawURLEncoding.EncodeToString
	switch i.alg {
	case "HS256":
		secret := make([]byte, 32)
		rand.Read(secret)
		k = Key{Method: jwt.SigningMethodHS256, Private: secret}
		k.KID = tokenrules.HMACKeyID(secret)
		return k // a shared secret is never published
	case "EdDSA":
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		k = Key{Method: jwt.SigningMethodEdDSA, Private: priv, Public: pub}
		jwk, members = map[string]string{"kty": "OKP", "crv": "Ed25519", "x": b64(pub)}, []string{"crv", "kty", "x"}
	case "ES256":
		priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		pub, _ := priv.PublicKey.ECDH()
		raw := pub.Bytes()
		k = Key{Method: jwt.SigningMethodES256, Private: priv, Public: &priv.PublicKey}
		jwk, members = map[string]string{"kty": "EC", "crv": "P-256", "x": b64(raw[1:33]), "y": b64(raw[33:])}, []string{"crv", "kty", "x", "y"}
	case "RS256":
		priv, _ := rsa.GenerateKey(rand.Reader, 2048)
		k = Key{Method: jwt.SigningMethodRS256, Private: priv, Public: &priv.PublicKey}
		jwk = map[string]string{"kty": "RSA", "n": b64(priv.N.Bytes()), "e": b64(big.NewInt(int64(priv.E)).Bytes())}
		members = []string{"e", "kty", "n"}
	default:
		panic(fmt.Sprintf("verifytest: unsupported algorithm %q", i.alg))
	}
	k.KID = tokenrules.Thumbprint(jwk, members...)
	i.mu.Lock()
	i.jwk[k.KID] = jwk
	i.mu.Unlock()
	return k
}

// Claims is the control claims of the hostile table at the issuer's clock.
func (i *Issuer) Claims(sub, sid string) Claims {
	return Claims{Issuer: i.Issuer, Audience: i.Audience, Subject: sub, Session: sid, Now: i.Now(), TTL: i.TTL}
}

// Mint signs a valid access token for sub's session sid, with the given roles.
func (i *Issuer) Mint(sub, sid string, roles ...string) string {
	c := i.Claims(sub, sid).Map()
	c["jti"] = randomID()
	if roles == nil {
		roles = []string{"USER"}
	}
	c["roles"] = roles
	return i.Sign(nil, c)
}

// Sign signs claims with the current key under its control header changed by header.
func (i *Issuer) Sign(header, claims map[string]any) string {
	k := i.Key()
	h := k.Header()
	for name, v := range header {
		h[name] = v
	}
	return Sign(k.Method, k.Private, h, claims)
}

// Hostile is the hostile table for this issuer's current key at its clock.
func (i *Issuer) Hostile() []Case { return Hostile(i.Key(), i.Claims("user-1", "sess-1")) }

// JWKS is the issuer's public key set, current key first.
func (i *Issuer) JWKS() []byte {
	i.mu.Lock()
	defer i.mu.Unlock()
	keys := []map[string]string{}
	for _, k := range append([]Key{i.cur}, i.old...) {
		j, ok := i.jwk[k.KID]
		if !ok {
			continue
		}
		m := map[string]string{"kid": k.KID, "alg": i.alg, "use": "sig"}
		for n, v := range j {
			m[n] = v
		}
		keys = append(keys, m)
	}
	b, _ := json.Marshal(map[string]any{"keys": keys})
	return b
}

// JWKSRequests counts the requests ServeHTTP answered.
func (i *Issuer) JWKSRequests() int64 { return i.jwksRequests.Load() }

// ServeHTTP serves the JWKS at /.well-known/jwks.json and RFC 8414 metadata at
// /.well-known/oauth-authorization-server.
func (i *Issuer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/.well-known/jwks.json":
		i.jwksRequests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", i.CacheControl)
		w.Write(i.JWKS())
	case "/.well-known/oauth-authorization-server":
		base := "http://" + r.Host
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"issuer": i.Issuer, "jwks_uri": base + "/.well-known/jwks.json"})
	default:
		http.NotFound(w, r)
	}
}

// Serve starts an httptest server for the issuer; close it when done.
func (i *Issuer) Serve() *httptest.Server { return httptest.NewServer(i) }

func randomID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
