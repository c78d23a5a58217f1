// Package servertest runs the real program inside a test process — internal/app.Run, as main
// runs it, on PORT=0 (the system picks the port, the start's log names it) with its own data
// folder — and speaks to it as a client would: HTTP at the address it logged, its command line,
// /token and /revoke. The end-to-end suite and the tests of what runs beside the service (the
// example resource server) share it.
package servertest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/example/gqlauth/internal/app"
	"github.com/example/gqlauth/internal/itest"
)

// Issuer is the issuer every test server signs with: tokens name it, not the port. It is not
// an address: a client that follows the URLs the metadata derives from it uses Server.Client.
const Issuer = "http://gqlauth.test"

// Env is the environment every test server starts from; overrides win (an empty value unsets).
// PORT=0: the server picks a free port, and says which in its log.
func Env(t testing.TB, overrides map[string]string) map[string]string {
	env := map[string]string{
		"PORT":        "0",
		"DATA_DIR":    t.TempDir(),
		"BCRYPT_COST": "10",
		// Hashing at normal priority: go test runs other packages' test binaries beside this
		// one, and at the lowest priority (the default) they would starve the server's bcrypt
		// threads, turning the tests' timings into the machine's load.
		"BCRYPT_PRIORITY": "normal",
		"JWT_SECRET":      "test-secret-0123456789abcdefghijklmnopqrstuvwxyz",
		"JWT_ISSUER":      Issuer,
		"JWT_AUDIENCE":    "graphql-api",
		// No verification mail at register: its MAIL_SENT event arrives on its own time and
		// would interleave with the events tests wait for. The mail tests ask for "optional".
		"EMAIL_VERIFICATION": "off",
	}
	for k, v := range overrides {
		env[k] = v
	}
	return env
}

// EdDSA is overrides plus an Ed25519 signing key made for the server (JWT_ALG=EdDSA, no
// JWT_SECRET): its JWKS then has a key, which a verifier of its tokens in another service
// needs. overrides win.
func EdDSA(t testing.TB, overrides map[string]string) map[string]string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "signing-key.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"JWT_SECRET": "", "JWT_ALG": "EdDSA", "JWT_PRIVATE_KEY_FILE": path}
	for k, v := range overrides {
		env[k] = v
	}
	return env
}

// Getenv is env as the program reads its environment.
func Getenv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// Server is the real program serving: started in this process (Start), or found listening by
// Await for a program started elsewhere (the built binary).
type Server struct {
	URL  string // http://host:port, the address it logged it listens on
	Addr string // host:port of that listener, to dial
	Env  map[string]string

	t      testing.TB
	log    *itest.Buffer
	cancel context.CancelFunc // nil when started elsewhere: the starter stops it
	done   chan int           // app.Run's exit code
}

// Start runs the program with Env(t, overrides) and waits until it is ready.
func Start(t testing.TB, overrides map[string]string) *Server {
	t.Helper()
	return StartEnv(t, Env(t, overrides))
}

// StartFollowed is Start for a server that a verifier in another service follows: its own
// key in its JWKS (EdDSA), rate limits off (such a test signs in many times from one address),
// on 127.0.0.1. overrides win.
func StartFollowed(t testing.TB, overrides map[string]string) *Server {
	t.Helper()
	env := map[string]string{"RATE_LIMITS": "off", "HOST": "127.0.0.1"}
	for k, v := range overrides {
		env[k] = v
	}
	return Start(t, EdDSA(t, env))
}

// StartEnv runs the program in this process with exactly env, as main would (app.Run, no
// arguments), and waits until it is ready (Await). The test's end stops it.
func StartEnv(t testing.TB, env map[string]string) *Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log, done := &itest.Buffer{}, make(chan int, 1)
	go func() {
		done <- app.Run(ctx, []string{"gqlauth"}, Getenv(env), strings.NewReader(""), io.Discard, log)
	}()
	s, err := Await(t, env, log, 20*time.Second, func() (bool, int) {
		select {
		case code := <-done:
			return true, code
		default:
			return false, 0
		}
	})
	if err != nil {
		cancel()
		t.Fatalf("%v\n%s", err, log.String())
	}
	s.cancel, s.done = cancel, done
	t.Cleanup(s.Stop)
	return s
}

// listeningLine is the start's log line that names the address, in text or JSON.
var listeningLine = regexp.MustCompile(`(?:msg=listening addr=|"msg":"listening","addr":")([^\s"]+)`)

// Await waits for a program started with env and logging to log to name its listener there,
// then for /healthz to answer 200, and returns the Server it is. exited reports whether the
// program has ended (and its exit code). Stop does nothing on it: its starter ends it.
func Await(t testing.TB, env map[string]string, log *itest.Buffer, within time.Duration, exited func() (bool, int)) (*Server, error) {
	s := &Server{Env: env, t: t, log: log}
	deadline := time.Now().Add(within)
	for {
		if s.URL == "" {
			if m := listeningLine.FindStringSubmatch(log.String()); m != nil {
				s.setAddr(m[1])
			}
		}
		if s.URL != "" {
			if resp, err := http.Get(s.URL + "/healthz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return s, nil
				}
			}
		}
		if done, code := exited(); done {
			return nil, fmt.Errorf("the server exited during its start (code %d)", code)
		}
		if time.Now().After(deadline) {
			return nil, errors.New("the server did not become healthy")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// setAddr takes the listener's address from the log: every interface ([::] or 0.0.0.0) is
// reached through loopback.
func (s *Server) setAddr(logged string) {
	host, port, err := net.SplitHostPort(logged)
	if err != nil {
		return
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	s.Addr = net.JoinHostPort(host, port)
	s.URL = "http://" + s.Addr
}

// Port is the port the server listens on.
func (s *Server) Port() string {
	_, port, _ := net.SplitHostPort(s.Addr)
	return port
}

// RestartEnv is the server's environment on the port it listens on now: a restart with it is
// found at the same address (by a verifier following the old one, say).
func (s *Server) RestartEnv() map[string]string {
	env := make(map[string]string, len(s.Env))
	for k, v := range s.Env {
		env[k] = v
	}
	env["PORT"] = s.Port()
	return env
}

// Log is what the server logged so far.
func (s *Server) Log() string { return s.log.String() }

// Stop sends the equivalent of SIGTERM and waits for a clean exit (idempotent).
func (s *Server) Stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case code := <-s.done:
		if code != 0 {
			s.t.Errorf("server exited with code %d\n%s", code, s.log.String())
		}
	case <-time.After(30 * time.Second):
		s.t.Errorf("server did not stop")
	}
}

// Client is an HTTP client that reaches this server whatever host a URL names, as if the
// issuer's name resolved to its listener: a verifier following the metadata's URLs (derived
// from Issuer) uses it.
func (s *Server) Client() *http.Client {
	addr, d := s.Addr, &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}}
	s.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// ---- the command line ----

// Result is what a shell sees of one run of the program.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// ErrorLine is the line a failing run ends with ("error: …\n"), or "" when it printed none.
func (r Result) ErrorLine() string {
	lines := strings.SplitAfter(r.Stderr, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], "error: ") {
			return lines[i]
		}
	}
	return ""
}

// Run runs the program in this process with args (a command; none: serve) under env and stdin,
// to completion (at most a minute), as a shell would run it. A run that does not finish fails
// the test (Errorf, so any goroutine may call Run) with code -2.
func Run(t testing.TB, env map[string]string, stdin string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr itest.Buffer
	code := app.Run(ctx, append([]string{"gqlauth"}, args...), Getenv(env), strings.NewReader(stdin), &stdout, &stderr)
	if ctx.Err() != nil {
		t.Errorf("gqlauth %v did not finish in time; stderr:\n%s", args, stderr.String())
		return Result{Code: -2}
	}
	return Result{Stdout: stdout.String(), Stderr: stderr.String(), Code: code}
}

// Command runs a command (args) against the server's database, failing the test unless it
// succeeds, and returns its stdout.
func (s *Server) Command(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	res := Run(t, s.Env, stdin, args...)
	if res.Code != 0 {
		t.Fatalf("gqlauth %v: exit %d\n%s", args, res.Code, res.Stderr)
	}
	return res.Stdout
}

// CreateUser runs `user create` with role (USER, ADMIN) and returns the new user's id.
func (s *Server) CreateUser(t testing.TB, email, role, password string) string {
	t.Helper()
	return strings.TrimSpace(s.Command(t, password+"\n", "user", "create", "--email", email, "--role", role, "--password-stdin"))
}

// Client is an OAuth client registered with `clients create`.
type Client struct{ ID, Secret string }

// CreateClient runs `clients create` with name and scopes.
func (s *Server) CreateClient(t testing.TB, name string, scopes ...string) Client {
	t.Helper()
	args := []string{"clients", "create", "--name", name}
	for _, sc := range scopes {
		args = append(args, "--scope", sc)
	}
	out := s.Command(t, "", args...)
	var c Client
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "client_id: "); ok {
			c.ID = v
		}
		if v, ok := strings.CutPrefix(line, "client_secret: "); ok {
			c.Secret = v
		}
	}
	if c.ID == "" || c.Secret == "" {
		t.Fatalf("clients create printed %q", out)
	}
	return c
}

// ---- OAuth ----

// Grant is a /token answer.
type Grant struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int    `json:"expires_in"`
}

// Login signs in at /token with the password grant.
func (s *Server) Login(t testing.TB, email, password string) Grant {
	t.Helper()
	return s.token(t, url.Values{"grant_type": {"password"}, "username": {email}, "password": {password}}, nil)
}

// ClientToken gets a client_credentials token for c, authenticated with HTTP Basic.
func (s *Server) ClientToken(t testing.TB, c Client) Grant {
	t.Helper()
	return s.token(t, url.Values{"grant_type": {"client_credentials"}}, &c)
}

func (s *Server) token(t testing.TB, form url.Values, basic *Client) Grant {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic != nil {
		req.SetBasicAuth(url.QueryEscape(basic.ID), url.QueryEscape(basic.Secret))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var g Grant
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&g) != nil || g.AccessToken == "" {
		t.Fatalf("/token %s: %s", form.Get("grant_type"), resp.Status)
	}
	return g
}

// Logout ends the session of a refresh token at /revoke.
func (s *Server) Logout(t testing.TB, refreshToken string) {
	t.Helper()
	resp, err := http.PostForm(s.URL+"/revoke", url.Values{"token": {refreshToken}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/revoke: %s", resp.Status)
	}
}
