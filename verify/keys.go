package verify

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/example/gqlauth/internal/tokenrules"
)

// keySource is where verification keys come from: a shared secret or the service's JWKS.
type keySource interface {
	lookup(kid string) (tokenrules.Key, bool)
	// refresh reloads the keys for a kid they do not name; it reports whether a reload happened
	// and found it.
	refresh(ctx context.Context, kid string) bool
	loaded() bool
	count() int
}

// secretKeys is the one HS256 key; its kid is the thumbprint of the secret, as the service's.
type secretKeys struct {
	kid string
	key tokenrules.Key
}

func newSecretKeys(secret []byte) *secretKeys {
	s := append([]byte(nil), secret...)
	return &secretKeys{kid: tokenrules.HMACKeyID(s), key: tokenrules.Key{Alg: "HS256", Verify: s}}
}

func (s *secretKeys) lookup(kid string) (tokenrules.Key, bool) { return s.key, kid == s.kid }
func (s *secretKeys) refresh(context.Context, string) bool     { return false }
func (s *secretKeys) loaded() bool                             { return true }
func (s *secretKeys) count() int                               { return 1 }

// Limits of the key set's loading.
const (
	refetchEvery    = 10 * time.Second // at most one refetch per unknown-kid burst
	minKeysMaxAge   = 10 * time.Second
	defaultKeysAge  = 5 * time.Minute // without a usable Cache-Control
	maxKeysMaxAge   = 24 * time.Hour
	maxJWKSBytes    = 1 << 20
	maxJWKSKeys     = 100
	keysHTTPTimeout = 10 * time.Second
)

// jwksKeys is the service's key set, cached as its Cache-Control says.
type jwksKeys struct {
	jwksURL     string // "" until the metadata named it
	metadataURL string
	issuer      string
	alg         string // pinned: keys of another algorithm are ignored
	client      *http.Client
	now         func() time.Time
	hooks       Hooks

	keys      atomic.Pointer[map[string]tokenrules.Key]
	expires   atomic.Int64 // unix nanoseconds
	fetchMu   sync.Mutex   // one fetch at a time; waiters then find its result
	lastFetch time.Time    // under fetchMu
	kick      chan struct{}
	onLoad    func() // after each successful load (the verifier's cache is cleared)
}

func newJWKSKeys(o Options) *jwksKeys {
	return &jwksKeys{jwksURL: o.JWKSURL, metadataURL: o.MetadataURL, issuer: o.Issuer, alg: o.Algorithm,
		client: o.HTTPClient, now: o.Clock, hooks: o.Hooks, kick: make(chan struct{}, 1)}
}

func (j *jwksKeys) current() map[string]tokenrules.Key {
	if m := j.keys.Load(); m != nil {
		return *m
	}
	return nil
}

func (j *jwksKeys) lookup(kid string) (tokenrules.Key, bool) {
	if j.now().UnixNano() > j.expires.Load() {
		select { // stale: refresh in the background, keep answering with what is known
		case j.kick <- struct{}{}:
		default:
		}
	}
	k, ok := j.current()[kid]
	return k, ok
}

func (j *jwksKeys) loaded() bool { return j.keys.Load() != nil }
func (j *jwksKeys) count() int   { return len(j.current()) }

func (j *jwksKeys) refresh(ctx context.Context, kid string) bool {
	j.fetchMu.Lock()
	defer j.fetchMu.Unlock()
	if _, ok := j.current()[kid]; ok {
		return true // fetched by another request meanwhile
	}
	if !j.lastFetch.IsZero() && j.now().Sub(j.lastFetch) < refetchEvery {
		return false
	}
	if j.fetchLocked(ctx) != nil {
		return false
	}
	_, ok := j.current()[kid]
	return ok
}

// run loads the keys until they are loaded, then refreshes them when they go stale.
func (j *jwksKeys) run(ctx context.Context) {
	backoff := 200 * time.Millisecond
	for {
		wait := time.Duration(j.expires.Load() - j.now().UnixNano())
		if !j.loaded() {
			j.fetchMu.Lock()
			err := j.fetchLocked(ctx)
			j.fetchMu.Unlock()
			if err == nil {
				continue
			}
			wait = backoff/2 + rand.N(backoff/2+1) //nolint:gosec // G404: jitter, not a secret
			backoff = min(2*backoff, 10*time.Second)
		} else {
			backoff = 200 * time.Millisecond
		}
		t := time.NewTimer(max(wait, time.Second))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-j.kick:
			t.Stop()
		}
		if j.loaded() && j.now().UnixNano() > j.expires.Load() {
			j.fetchMu.Lock()
			if j.now().Sub(j.lastFetch) >= refetchEvery {
				_ = j.fetchLocked(ctx) // a failure keeps the keys known; retried at the next kick
			}
			j.fetchMu.Unlock()
		}
	}
}

func (j *jwksKeys) fetch(ctx context.Context) error {
	j.fetchMu.Lock()
	defer j.fetchMu.Unlock()
	return j.fetchLocked(ctx)
}

func (j *jwksKeys) fetchLocked(ctx context.Context) error {
	j.lastFetch = j.now()
	err := j.fetchKeys(ctx)
	if j.hooks.JWKSFetched != nil {
		j.hooks.JWKSFetched(err)
	}
	return err
}

func (j *jwksKeys) fetchKeys(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, keysHTTPTimeout)
	defer cancel()
	if j.jwksURL == "" {
		u, err := j.fromMetadata(ctx)
		if err != nil {
			return err
		}
		j.jwksURL = u
	}
	body, header, err := getJSON(ctx, j.client, j.jwksURL, maxJWKSBytes)
	if err != nil {
		return err
	}
	keys, alg, err := parseJWKS(body, j.alg)
	if err != nil {
		return err
	}
	if j.alg == "" {
		j.alg = alg
	}
	j.keys.Store(&keys)
	j.expires.Store(j.now().Add(maxAge(header.Get("Cache-Control"))).UnixNano())
	if j.onLoad != nil {
		j.onLoad() // a key removed from the set must stop verifying at once
	}
	return nil
}

// fromMetadata reads jwks_uri from the RFC 8414 metadata, whose issuer must be ours (§3.3).
func (j *jwksKeys) fromMetadata(ctx context.Context) (string, error) {
	body, _, err := getJSON(ctx, j.client, j.metadataURL, maxJWKSBytes)
	if err != nil {
		return "", err
	}
	var md struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &md); err != nil {
		return "", fmt.Errorf("metadata: %w", err)
	}
	if md.Issuer != j.issuer {
		return "", fmt.Errorf("metadata names issuer %q, not %q", md.Issuer, j.issuer)
	}
	u, err := url.Parse(md.JWKSURI)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("metadata: jwks_uri %q is not an http(s) URL", md.JWKSURI)
	}
	return u.String(), nil
}

// getJSON GETs a JSON document of at most limit bytes.
func getJSON(ctx context.Context, c *http.Client, u string, limit int64) ([]byte, http.Header, error) {
	// G704 (SSRF): u is the issuer's metadata, JWKS or feed URL, which the operator configured.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil) //nolint:gosec // see above
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req) //nolint:gosec // G704, as above
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // drained for reuse; the status is the error
		return nil, nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "" && mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return nil, nil, fmt.Errorf("GET %s: Content-Type %s is not JSON", u, mt)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, nil, err
	}
	if int64(len(body)) > limit {
		return nil, nil, fmt.Errorf("GET %s: more than %d bytes", u, limit)
	}
	return body, resp.Header, nil
}

// maxAge reads Cache-Control's max-age, bounded; no-store and no-cache mean "refetch soon".
func maxAge(cc string) time.Duration {
	age := defaultKeysAge
	for _, d := range strings.Split(cc, ",") {
		name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
		switch strings.ToLower(name) {
		case "no-store", "no-cache":
			return minKeysMaxAge
		case "max-age":
			if n, err := strconv.ParseInt(strings.Trim(val, `"`), 10, 64); err == nil && n >= 0 {
				age = time.Duration(min(n, int64(maxKeysMaxAge/time.Second))) * time.Second
			}
		}
	}
	return min(max(age, minKeysMaxAge), maxKeysMaxAge)
}

type jwk struct {
	KID string `json:"kid"`
	Kty string `json:"kty"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// parseJWKS reads an RFC 7517 key set. Only signature keys of alg are kept (with alg empty: of
// the algorithm all keys share); symmetric keys are never taken from the network. A key that
// does not parse is skipped, so one odd key does not hide the others.
func parseJWKS(body []byte, alg string) (map[string]tokenrules.Key, string, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, "", fmt.Errorf("JWKS: %w", err)
	}
	if set.Keys == nil {
		return nil, "", errors.New(`JWKS: no "keys" member`)
	}
	if len(set.Keys) > maxJWKSKeys {
		return nil, "", fmt.Errorf("JWKS: more than %d keys", maxJWKSKeys)
	}
	keys := map[string]tokenrules.Key{}
	for _, raw := range set.Keys {
		var k jwk
		if json.Unmarshal(raw, &k) != nil || k.KID == "" || (k.Use != "" && k.Use != "sig") {
			continue
		}
		key, err := k.public()
		if err != nil {
			continue
		}
		if alg == "" {
			alg = key.Alg
		}
		if key.Alg != alg {
			continue
		}
		keys[k.KID] = key
	}
	if len(keys) == 0 {
		return nil, "", fmt.Errorf("JWKS: no usable %s signature key", alg)
	}
	return keys, alg, nil
}

// public parses the key; its algorithm follows from its type (and must match "alg" if given).
func (k jwk) public() (tokenrules.Key, error) {
	dec := base64.RawURLEncoding.Strict().DecodeString
	var key tokenrules.Key
	switch {
	case k.Kty == "OKP" && k.Crv == "Ed25519":
		x, err := dec(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return key, errors.New("bad Ed25519 key")
		}
		key = tokenrules.Key{Alg: "EdDSA", Verify: ed25519.PublicKey(x)}
	case k.Kty == "EC" && k.Crv == "P-256":
		x, errX := dec(k.X)
		y, errY := dec(k.Y)
		if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
			return key, errors.New("bad P-256 key")
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil { // not on the curve
			return key, err
		}
		key = tokenrules.Key{Alg: "ES256", Verify: pub}
	case k.Kty == "RSA":
		n, errN := dec(k.N)
		e, errE := dec(k.E)
		if errN != nil || errE != nil || len(n) == 0 || n[0] == 0 || len(e) == 0 || len(e) > 4 {
			return key, errors.New("bad RSA key")
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if pub.N.BitLen() < 2048 || pub.N.BitLen() > 8192 || pub.E < 3 || pub.E%2 == 0 {
			return key, errors.New("RSA key too small, too large, or with a bad exponent")
		}
		key = tokenrules.Key{Alg: "RS256", Verify: pub}
	default:
		return key, fmt.Errorf("key type %q not accepted", k.Kty)
	}
	if k.Alg != "" && k.Alg != key.Alg {
		return tokenrules.Key{}, fmt.Errorf("alg %q does not fit a %s key", k.Alg, k.Kty)
	}
	return key, nil
}
