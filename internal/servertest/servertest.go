// Package servertest runs the real gqlauth server inside a test process (internal/app.Exec on a
// free port, its own data folder) and speaks to it as a client would: the command line, /token,
// /revoke. Tests outside the root package use it (the example resource server's, the verifier's
// feed tests).
package servertest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/example/gqlauth/internal/app"
	"github.com/example/gqlauth/internal/itest"
)

// Server is a running gqlauth.
type Server struct {
	URL string
	Env map[string]string

	t      testing.TB
	log    *lockedBuffer
	cancel context.CancelFunc
	done   chan error
}

// Env is the environment of a test server on a free port: EdDSA keys made for it (so the JWKS
// is not empty), SQLite in a temporary folder, bcrypt at cost 10, rate limits off. overrides
// win; "" deletes a variable.
func Env(t testing.TB, overrides map[string]string) map[string]string {
	t.Helper()
	port := itest.FreePort(t)
	dir := t.TempDir()
	env := map[string]string{
		"PORT": port, "HOST": "127.0.0.1", "DATA_DIR": dir, "BCRYPT_COST": "10", "RATE_LIMITS": "off",
		"JWT_ALG": "EdDSA", "JWT_PRIVATE_KEY_FILE": writeEd25519Key(t, dir),
		"JWT_ISSUER": "http://127.0.0.1:" + port, "JWT_AUDIENCE": "graphql-api",
	}
	for k, v := range overrides {
		if v == "" {
			delete(env, k)
		} else {
			env[k] = v
		}
	}
	return env
}

// Start runs a server with Env(t, overrides) and waits until it is healthy; it stops at the
// test's end.
func Start(t testing.TB, overrides map[string]string) *Server {
	t.Helper()
	return StartEnv(t, Env(t, overrides))
}

// StartEnv runs a server with exactly env (a restart passes the old server's Env).
func StartEnv(t testing.TB, env map[string]string) *Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{URL: "http://127.0.0.1:" + env["PORT"], Env: env, t: t, log: &lockedBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() {
		s.done <- app.Exec(ctx, []string{"gqlauth"}, s.getenv, strings.NewReader(""), io.Discard, s.log)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if resp, err := http.Get(s.URL + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-s.done:
			t.Fatalf("server exited during start: %v\n%s", err, s.log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not become healthy\n%s", s.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) getenv(k string) string { return s.Env[k] }

// Stop shuts the server down as SIGTERM would and waits for it (idempotent).
func (s *Server) Stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.done:
		if err != nil {
			s.t.Errorf("server exited with %v\n%s", err, s.log)
		}
	case <-time.After(30 * time.Second):
		s.t.Errorf("server did not stop")
	}
}

// Log is what the server logged so far.
func (s *Server) Log() string { return s.log.String() }

// Command runs a command-line command (args after the program name) on the server's
// environment and returns its stdout.
func (s *Server) Command(stdin string, args ...string) (string, error) {
	var out, errOut lockedBuffer
	err := app.Exec(context.Background(), append([]string{"gqlauth"}, args...), s.getenv, strings.NewReader(stdin), &out, &errOut)
	if err != nil {
		return out.String(), fmt.Errorf("%v: %w: %s", args, err, errOut.String())
	}
	return out.String(), nil
}

// CreateUser makes a user with `user create` and returns its id.
func (s *Server) CreateUser(email, password string, admin bool) string {
	s.t.Helper()
	args := []string{"user", "create", "--email", email, "--password-stdin"}
	if admin {
		args = append(args, "--role", "ADMIN")
	}
	out, err := s.Command(password+"\n", args...)
	if err != nil {
		s.t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

// CreateClient registers an OAuth client with `clients create` and returns its id and secret.
func (s *Server) CreateClient(name string) (id, secret string) {
	s.t.Helper()
	out, err := s.Command("", "clients", "create", "--name", name)
	if err != nil {
		s.t.Fatal(err)
	}
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "client_id: "); ok {
			id = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "client_secret: "); ok {
			secret = strings.TrimSpace(v)
		}
	}
	if id == "" || secret == "" {
		s.t.Fatalf("clients create printed %q", out)
	}
	return id, secret
}

// Grant is a /token answer.
type Grant struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int    `json:"expires_in"`
}

// Login signs in at /token with the password grant.
func (s *Server) Login(email, password string) Grant {
	s.t.Helper()
	return s.token(url.Values{"grant_type": {"password"}, "username": {email}, "password": {password}})
}

// ClientToken gets a client_credentials token with HTTP Basic.
func (s *Server) ClientToken(id, secret string) Grant {
	s.t.Helper()
	return s.token(url.Values{"grant_type": {"client_credentials"}}, id, secret)
}

func (s *Server) token(form url.Values, basic ...string) Grant {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(basic) == 2 {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var g Grant
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&g) != nil || g.AccessToken == "" {
		s.t.Fatalf("/token %s: %s", form.Get("grant_type"), resp.Status)
	}
	return g
}

// Logout ends the session of a refresh token at /revoke.
func (s *Server) Logout(refreshToken string) {
	s.t.Helper()
	resp, err := http.PostForm(s.URL+"/revoke", url.Values{"token": {refreshToken}})
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("/revoke: %s", resp.Status)
	}
}

func writeEd25519Key(t testing.TB, dir string) string {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "signing-key.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// FreePort returns a TCP port free at the moment (itest.FreePort, kept here for the callers
// that already hold a servertest import).
func FreePort(t testing.TB) string { t.Helper(); return itest.FreePort(t) }
