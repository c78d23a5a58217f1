package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/example/gqlauth/internal/servertest"
)

// TestRestartKeepsDevelopmentKeyAndData: without JWT_SECRET the server makes a key once, keeps
// it in DATA_DIR and says so in a warning; after a restart on the same folder the old access
// token still works and the account and its session survive.
func TestRestartKeepsDevelopmentKeyAndData(t *testing.T) {
	t.Parallel()
	env := servertest.Env(t, map[string]string{"JWT_SECRET": ""})
	s1 := startWithEnv(t, env)
	reg := s1.register(t, "restart@example.com")
	expectOK(t, s1.me(t, reg.AccessToken))
	expectDevKeyWarning(t, s1.Log())
	keyFile := filepath.Join(env["DATA_DIR"], "dev-jwt-secret")
	fi, err := os.Stat(keyFile)
	if err != nil {
		t.Fatalf("no development key in the data folder: %v", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("development key is readable by others: %v", perm)
	}
	s1.Stop()

	s2 := startWithEnv(t, env) // PORT=0: a port of its own, the same issuer
	expectDevKeyWarning(t, s2.Log())
	var me struct{ ID, Email string }
	r := s2.me(t, reg.AccessToken)
	r.decode(t, "me", &me)
	if me.ID != reg.User.ID || me.Email != "restart@example.com" {
		t.Fatalf("me after restart: %+v", me)
	}
	// The session survived: its refresh token rotates on the new process.
	rotated, r := s2.refresh(t, reg.RefreshToken)
	expectOK(t, r)
	expectOK(t, s2.me(t, rotated.AccessToken))
	after, err := os.ReadFile(keyFile)
	if err != nil || len(bytes.TrimSpace(after)) < 32 {
		t.Fatalf("development key changed or vanished: %v", err)
	}
}

func expectDevKeyWarning(t testing.TB, log string) {
	t.Helper()
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "WARN") && strings.Contains(line, "JWT_SECRET") && strings.Contains(line, "data folder") {
			return
		}
	}
	t.Errorf("no warning about the development key kept in the data folder:\n%s", log)
}

// TestKill9Durability: a registration the server acknowledged survives kill -9 of the real
// binary; so does the development key, so the old access token still works.
func TestKill9Durability(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	env := servertest.Env(t, map[string]string{"JWT_SECRET": ""})
	p1 := startBinary(t, bin, env)
	reg := p1.register(t, "durable@example.com")
	// A second write right before the kill: a refresh (rotation) acknowledged.
	rotated, r := p1.refresh(t, reg.RefreshToken)
	expectOK(t, r)
	if err := p1.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code := p1.wait(t, 10*time.Second); code != -1 {
		t.Fatalf("exit code after SIGKILL: %d", code)
	}

	p2 := startBinary(t, bin, env)
	login, r := p2.login(t, "durable@example.com", testPassword)
	expectOK(t, r)
	if login.User.ID != reg.User.ID {
		t.Fatalf("user id changed: %s vs %s", login.User.ID, reg.User.ID)
	}
	expectOK(t, p2.me(t, rotated.AccessToken))
	if _, r := p2.refresh(t, rotated.RefreshToken); len(r.Errors) > 0 {
		t.Fatalf("the rotated refresh token did not survive: %+v", r.Errors)
	}
	_ = p2.cmd.Process.Signal(syscall.SIGTERM)
	if code := p2.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM\n%s", code, p2.Log())
	}
}

// TestGracefulShutdown: SIGTERM while logins are in flight (with fewer CPUs than logins, some
// wait for a bcrypt slot): the listener closes, every request in flight gets its normal answer,
// the process exits 0, and later connections are refused. Cost 13 (about 0.4 s a hash) keeps the
// logins in flight at the signal even where there is a bcrypt slot for each of them.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	env := servertest.Env(t, map[string]string{"BCRYPT_COST": "13"})
	p := startBinary(t, bin, env)
	p.register(t, "slow@example.com")

	const n = 8 // below the 10 failed attempts an account allows, and more than the bcrypt slots
	body, _ := json.Marshal(map[string]any{
		"query":     `mutation($e:String!,$p:String!){ login(input:{email:$e,password:$p}) { accessToken user { email } } }`,
		"variables": map[string]any{"e": "slow@example.com", "p": testPassword},
	})
	type result struct {
		status int
		body   []byte
		err    error
		at     time.Time
	}
	results := make(chan result, n)
	var wrote sync.WaitGroup
	wrote.Add(n)
	for range n {
		go func() {
			var once sync.Once
			trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { once.Do(wrote.Done) }}
			ctx := httptrace.WithClientTrace(context.Background(), trace)
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.URL+"/query", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 60 * time.Second}
			resp, err := client.Do(req)
			if err != nil {
				once.Do(wrote.Done)
				results <- result{err: err, at: time.Now()}
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			results <- result{status: resp.StatusCode, body: b, err: err, at: time.Now()}
		}()
	}
	wrote.Wait()
	time.Sleep(200 * time.Millisecond) // let the server accept and start reading every request
	sigAt := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	// The listener closes promptly, while the logins are still being answered.
	refused := false
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		c, err := net.DialTimeout("tcp", p.Addr, time.Second)
		if err != nil {
			refused = true
			break
		}
		c.Close()
		time.Sleep(10 * time.Millisecond)
	}
	if !refused {
		t.Errorf("new connections were still accepted 5s after SIGTERM")
	}

	afterSignal := 0
	for range n {
		res := <-results
		if res.err != nil {
			t.Errorf("request in flight failed: %v", res.err)
			continue
		}
		var out struct {
			Data struct {
				Login *struct {
					AccessToken string
					User        struct{ Email string }
				}
			}
			Errors []gqlError
		}
		if err := json.Unmarshal(res.body, &out); err != nil || res.status != http.StatusOK || len(out.Errors) > 0 ||
			out.Data.Login == nil || out.Data.Login.AccessToken == "" || out.Data.Login.User.Email != "slow@example.com" {
			t.Errorf("request in flight: status %d, body %s", res.status, res.body)
		}
		if res.at.After(sigAt) {
			afterSignal++
		}
	}
	if afterSignal == 0 {
		t.Errorf("every login finished before SIGTERM: the test did not exercise requests in flight")
	}
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0\n%s", code, p.Log())
	}
	if _, err := net.DialTimeout("tcp", p.Addr, time.Second); err == nil {
		t.Errorf("connection accepted after the process exited")
	}
	if _, err := http.Get(p.URL + "/healthz"); err == nil {
		t.Errorf("request answered after the process exited")
	}
}

// TestUserCreateCLI covers `user create` against a running server's database: the id on
// stdout, the password from stdin's first line, the email and password rules of register, and
// the exit codes.
func TestUserCreateCLI(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	s := startServer(t, nil)
	create := func(email, stdin string, extra ...string) cmdResult {
		t.Helper()
		args := append([]string{"user", "create", "--email", email, "--password-stdin"}, extra...)
		return runBinary(t, bin, s.Env, stdin, args)
	}

	// Created while the server runs; the server accepts the user at once. Only the first line
	// of stdin is the password, without its newline.
	res := create("cli@example.com", "cli passphrase one\nsecond line is not the password\n")
	if res.Code != 0 {
		t.Fatalf("user create: exit %d\n%s", res.Code, res.Stderr)
	}
	id := strings.TrimSuffix(res.Stdout, "\n")
	if id == "" || strings.ContainsAny(id, " \n\t") {
		t.Fatalf("stdout should be the id on one line, got %q", res.Stdout)
	}
	user, r := s.login(t, "cli@example.com", "cli passphrase one")
	expectOK(t, r)
	if user.User.ID != id || !slices.Equal(user.User.Roles, []string{"USER"}) {
		t.Fatalf("login of the created user: %+v (id printed %q)", user.User, id)
	}

	// Refusals, run concurrently: the same email differently cased or padded is taken (exit
	// 1); weak passwords and bad emails are refused as register refuses them (exit 1); usage
	// errors exit 2. Each prints one line on stderr and nothing on stdout.
	userCreate := func(email string) []string { return []string{"user", "create", "--email", email, "--password-stdin"} }
	refusals := []struct {
		name  string
		args  []string
		stdin string
		code  int // 0: any non-zero code
	}{
		{"taken", userCreate("cli@example.com"), "another good passphrase\n", 0},
		{"taken, other case", userCreate("CLI@Example.COM"), "another good passphrase\n", 0},
		{"taken, padded", userCreate("  cli@example.com  "), "another good passphrase\n", 0},
		{"too short", userCreate("weak@example.com"), "short7!\n", 0},
		{"empty", userCreate("weak@example.com"), "\n", 0},
		{"no stdin", userCreate("weak@example.com"), "", 0},
		{"common", userCreate("weak@example.com"), "password123\n", 0},
		{"common, other case", userCreate("weak@example.com"), "Password123\n", 0},
		{"common digits", userCreate("weak@example.com"), "12345678\n", 0},
		{"equal to the email", userCreate("weak@example.com"), "weak@example.com\n", 0},
		{"equal to the email, other case", userCreate("weak@example.com"), "WEAK@Example.com\n", 0},
		{"73 bytes", userCreate("weak@example.com"), strings.Repeat("Ab3", 24) + "x\n", 0},
		{"invalid email", userCreate("not-an-email"), "a fine passphrase\n", 0},
		{"email with a space", userCreate("we ak@example.com"), "a fine passphrase\n", 0},
		{"no --password-stdin", []string{"user", "create", "--email", "usage@example.com"}, "a fine passphrase\n", 2},
		{"no --email", []string{"user", "create", "--password-stdin"}, "a fine passphrase\n", 2},
		{"unknown role", append(userCreate("usage@example.com"), "--role", "ROOT"), "a fine passphrase\n", 2},
		{"unknown command", []string{"user", "frobnicate", "--email", "usage@example.com"}, "a fine passphrase\n", 2},
	}
	results := make([]cmdResult, len(refusals))
	var wg sync.WaitGroup
	for i, tc := range refusals {
		wg.Go(func() { results[i] = runBinary(t, bin, s.Env, tc.stdin, tc.args) })
	}
	wg.Wait()
	for i, tc := range refusals {
		res := results[i]
		if res.Code == 0 || (tc.code != 0 && res.Code != tc.code) || res.Stdout != "" {
			t.Errorf("%s: exit %d (want %d, 0 = any refusal), stdout %q, stderr %q", tc.name, res.Code, tc.code, res.Stdout, res.Stderr)
		}
		if tc.code == 0 && strings.Count(res.Stderr, "\n") != 1 {
			t.Errorf("%s: want a one-line error, got %q", tc.name, res.Stderr)
		}
	}
	// 72 bytes is the longest password; the weak attempts above created nothing, so the email
	// is still free. CRLF line ends are not part of the password either.
	long := strings.Repeat("Zq7", 24)
	if res := create("weak@example.com", long+"\r\nignored\n"); res.Code != 0 {
		t.Fatalf("72-byte password: exit %d\n%s", res.Code, res.Stderr)
	}
	_, r = s.login(t, "weak@example.com", long)
	expectOK(t, r)

	// --role ADMIN (in process, through run): the admin may query users at once; a USER may not.
	adminID := s.CreateUser(t, "Admin@Example.com", "ADMIN", "admin passphrase 1")
	admin, r := s.login(t, "admin@example.com", "admin passphrase 1")
	expectOK(t, r)
	if admin.User.ID != adminID || !slices.Contains(admin.User.Roles, "ADMIN") || !slices.Contains(admin.User.Roles, "USER") {
		t.Fatalf("admin: %+v (id printed %q)", admin.User, adminID)
	}
	var conn struct {
		Edges []struct{ Node struct{ Email string } }
	}
	s.gql(t, admin.AccessToken, `{ users(first: 10) { edges { node { email } } } }`, nil).decode(t, "users", &conn)
	var emails []string
	for _, e := range conn.Edges {
		emails = append(emails, e.Node.Email)
	}
	if !slices.Equal(emails, []string{"cli@example.com", "weak@example.com", "admin@example.com"}) {
		t.Errorf("users: %v", emails)
	}
	expectError(t, s.gql(t, user.AccessToken, `{ users { edges { node { id } } } }`, nil), "FORBIDDEN", "")

	// In process too, a taken email is an error with a non-zero exit code and one line.
	res = servertest.Run(t, s.Env, "yet another passphrase\n", "user", "create", "--email", " ADMIN@example.com", "--password-stdin")
	if res.Code == 0 || res.Stdout != "" {
		t.Fatalf("duplicate in process: exit %d, stdout %q", res.Code, res.Stdout)
	}
	if line := res.ErrorLine(); strings.Count(line, "\n") != 1 || !strings.Contains(line, "email") {
		t.Errorf("duplicate in process: exit %d, %q", res.Code, res.Stderr)
	}
}
