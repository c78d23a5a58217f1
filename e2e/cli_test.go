package e2e

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/example/gqlauth/internal/itest"
	"github.com/example/gqlauth/internal/servertest"
)

// TestAdminCLIUsage: every admin command has --help (exit 0, usage on stdout), and mistakes in
// the command line exit 2 with the usage on stderr, before touching any database.
func TestAdminCLIUsage(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATA_DIR": t.TempDir()}
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  string // in stdout (code 0) or stderr
	}{
		{"set-role help", []string{"user", "set-role", "--help"}, 0, "usage: gqlauth user set-role --email E --role"},
		{"disable help", []string{"user", "disable", "-h"}, 0, "usage: gqlauth user disable --email E"},
		{"enable help", []string{"user", "enable", "--help"}, 0, "usage: gqlauth user enable --email E"},
		{"revoke help", []string{"sessions", "revoke", "--help"}, 0, "usage: gqlauth sessions revoke --user E"},
		{"create help", []string{"user", "create", "--help"}, 0, "usage: gqlauth user create"},
		{"top-level help", []string{"--help"}, 0, "gqlauth sessions revoke --user E"},
		{"set-role without role", []string{"user", "set-role", "--email", "a@example.com"}, 2, "needs --email and --role"},
		{"set-role unknown role", []string{"user", "set-role", "--email", "a@example.com", "--role", "ROOT"}, 2, "unknown role"},
		{"disable without email", []string{"user", "disable"}, 2, "needs --email"},
		{"unknown flag", []string{"user", "enable", "--mail", "a@example.com"}, 2, "flag provided but not defined"},
		{"stray argument", []string{"sessions", "revoke", "--user", "a@example.com", "now"}, 2, `unexpected argument "now"`},
		{"revoke without user", []string{"sessions", "revoke"}, 2, "needs --user"},
		{"apikeys revoke help", []string{"apikeys", "revoke", "--help"}, 0, "usage: gqlauth apikeys revoke --user E"},
		{"apikeys revoke without user", []string{"apikeys", "revoke"}, 2, "needs --user"},
		{"clients create help", []string{"clients", "create", "--help"}, 0, "usage: gqlauth clients create --name N"},
		{"clients list help", []string{"clients", "list", "--help"}, 0, "never secrets"},
		{"clients revoke help", []string{"clients", "revoke", "-h"}, 0, "usage: gqlauth clients revoke --id ID"},
		{"clients create without name", []string{"clients", "create", "--scope", "x"}, 2, "needs --name"},
		{"clients create with a bad scope", []string{"clients", "create", "--name", "n", "--scope", "a b"}, 2, "not a scope token"},
		{"clients revoke without id", []string{"clients", "revoke"}, 2, "needs --id"},
		{"clients unknown", []string{"clients", "delete"}, 2, "unknown command"},
		{"unknown subcommand", []string{"sessions", "list"}, 2, "unknown command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, env, tc.args...)
			where := errOut
			if tc.code == 0 {
				where = out
			}
			if code != tc.code || !strings.Contains(where, tc.out) {
				t.Errorf("exit %d (want %d)\nstdout: %s\nstderr: %s\nwant %q", code, tc.code, out, errOut, tc.out)
			}
		})
	}
	if entries, _ := filepath.Glob(filepath.Join(env["DATA_DIR"], "*")); len(entries) != 0 {
		t.Errorf("usage errors created files: %v", entries)
	}
}

// TestAdminCLI runs each admin command against a temporary database (SQLite and PostgreSQL)
// while a server runs on it: the server applies each change within about a second.
func TestAdminCLI(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			overrides := map[string]string{}
			if backend == "postgres" {
				overrides["DATABASE_URL"] = itest.PostgresURL(t)
			} else {
				overrides["DATABASE_URL"] = "sqlite://" + filepath.Join(t.TempDir(), "admin.db")
			}
			s := startServer(t, overrides)
			cli := func(wantCode int, args ...string) string {
				t.Helper()
				code, out, errOut := runCLI(t, s.Env, args...)
				if code != wantCode {
					t.Fatalf("gqlauth %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, wantCode, out, errOut)
				}
				if code != 0 {
					return errOut
				}
				return out
			}
			s.CreateUser(t, "root@example.com", "ADMIN", "admin passphrase 1")
			admin, _ := s.login(t, "root@example.com", "admin passphrase 1")
			alice := s.register(t, "alice@example.com")
			const users = `{ users(first: 5) { edges { node { id } } } }`
			const within = 3 * time.Second

			// Unknown users and malformed emails.
			if msg := cli(1, "user", "disable", "--email", "nobody@example.com"); !strings.Contains(msg, `no user with email "nobody@example.com"`) {
				t.Errorf("unknown user message: %q", msg)
			}
			cli(1, "sessions", "revoke", "--user", "nobody@example.com")
			cli(1, "user", "set-role", "--email", "nobody@example.com", "--role", "ADMIN")
			cli(2, "user", "enable", "--email", "not an email")

			// set-role: promotion, then demotion, apply to the token already issued.
			expectError(t, s.gql(t, alice.AccessToken, users, nil), "FORBIDDEN", "")
			if out := cli(0, "user", "set-role", "--email", "Alice@Example.com", "--role", "ADMIN"); !strings.Contains(out, "roles USER,ADMIN") {
				t.Errorf("set-role output: %q", out)
			}
			took := itest.Eventually(t, within, "promotion", func() bool { return len(s.gql(t, alice.AccessToken, users, nil).Errors) == 0 })
			t.Logf("promotion applied after %v", took)
			cli(0, "user", "set-role", "--email", "alice@example.com", "--role", "USER")
			itest.Eventually(t, within, "demotion", func() bool { return s.gql(t, alice.AccessToken, users, nil).code() == "FORBIDDEN" })

			// sessions revoke: every session of the user ends; the account stays usable.
			second, _ := s.login(t, "alice@example.com", testPassword)
			if out := cli(0, "sessions", "revoke", "--user", "alice@example.com"); !strings.Contains(out, "2 sessions ended") {
				t.Errorf("sessions revoke output: %q", out)
			}
			took = itest.Eventually(t, within, "revocation", func() bool {
				return s.me(t, alice.AccessToken).reason() == "TOKEN_REVOKED" && s.me(t, second.AccessToken).reason() == "TOKEN_REVOKED"
			})
			t.Logf("revocation applied after %v", took)
			_, r := s.refresh(t, second.RefreshToken)
			expectError(t, r, "UNAUTHENTICATED", "REFRESH_TOKEN_INVALID")
			third, r := s.login(t, "alice@example.com", testPassword)
			expectOK(t, r)
			expectOK(t, s.me(t, third.AccessToken))
			if out := cli(0, "sessions", "revoke", "--user", "alice@example.com"); !strings.Contains(out, "1 sessions ended") {
				t.Errorf("second revoke output: %q", out)
			}

			// disable and enable.
			fourth, _ := s.login(t, "alice@example.com", testPassword)
			if out := cli(0, "user", "disable", "--email", "alice@example.com"); !strings.Contains(out, "disabled") {
				t.Errorf("disable output: %q", out)
			}
			itest.Eventually(t, within, "disable", func() bool { return s.me(t, fourth.AccessToken).reason() == "ACCOUNT_DISABLED" })
			_, r = s.login(t, "alice@example.com", testPassword)
			expectError(t, r, "UNAUTHENTICATED", "ACCOUNT_DISABLED")
			if out := cli(0, "user", "enable", "--email", "alice@example.com"); !strings.Contains(out, "enabled") {
				t.Errorf("enable output: %q", out)
			}
			itest.Eventually(t, within, "enable", func() bool { _, r := s.login(t, "alice@example.com", testPassword); return len(r.Errors) == 0 })

			// The audit trail records each change as made from the command line.
			var types []string
			itest.Eventually(t, within, "audit rows", func() bool {
				types = auditTypes(t, s, admin.AccessToken, alice.User.ID)
				return strings.Contains(strings.Join(types, " "), "USER_ENABLED")
			})
			page := queryAudit(t, s, admin.AccessToken, map[string]any{"u": alice.User.ID, "f": 100})
			fromCLI := map[string]int{}
			for _, e := range page.Edges {
				if e.Node.UserAgent != nil && *e.Node.UserAgent == "gqlauth command line" {
					reason := ""
					if e.Node.Reason != nil {
						reason = *e.Node.Reason
					}
					// The sessions a disable ends say why; the changes themselves say who.
					if !strings.HasSuffix(reason, "by command line") && reason != "user_disabled" {
						t.Errorf("%s from the command line: reason %q", e.Node.Type, reason)
					}
					fromCLI[e.Node.Type]++
				}
			}
			for typ, n := range map[string]int{"ROLES_CHANGED": 2, "SESSION_REVOKED": 4, "USER_DISABLED": 1, "USER_ENABLED": 1} {
				if fromCLI[typ] != n {
					t.Errorf("%d %s rows from the command line, want %d (all: %v)", fromCLI[typ], typ, n, fromCLI)
				}
			}
		})
	}
}

// The commands also work with no server running, on a database they create.
func TestAdminCLIWithoutServer(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATA_DIR": t.TempDir(), "BCRYPT_COST": "10"}
	if res := servertest.Run(t, env, testPassword+"\n", "user", "create", "--email", "x@example.com", "--password-stdin"); res.Code != 0 {
		t.Fatalf("user create: exit %d\n%s", res.Code, res.Stderr)
	}
	for _, args := range [][]string{
		{"user", "set-role", "--email", "x@example.com", "--role", "ADMIN,USER"},
		{"user", "disable", "--email", "x@example.com"},
		{"user", "enable", "--email", "x@example.com"},
		{"sessions", "revoke", "--user", "x@example.com"},
	} {
		if code, stdout, stderr := runCLI(t, env, args...); code != 0 || !strings.Contains(stdout, "x@example.com") {
			t.Errorf("%v: exit %d\n%s%s", args, code, stdout, stderr)
		}
	}
}

// TestVersion: `gqlauth version` of the built binary prints the version, the commit and the Go
// version on one line and exits 0, with no configuration and no database.
func TestVersion(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	res := runBinary(t, buildBinary(t), map[string]string{"DATA_DIR": dir}, "", []string{"version"})
	fields := strings.Fields(res.Stdout)
	if res.Code != 0 || strings.Count(res.Stdout, "\n") != 1 || len(fields) != 5 || fields[0] != "gqlauth" ||
		fields[2] != "commit" || fields[4] != runtime.Version() || res.Stderr != "" {
		t.Fatalf("version: exit %d, stdout %q, stderr %q", res.Code, res.Stdout, res.Stderr)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("version touched the data folder: %v", entries)
	}
}
