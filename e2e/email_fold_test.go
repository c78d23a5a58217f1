package e2e

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/internal/servertest"
	_ "modernc.org/sqlite" // raw SQL on the server's database file
)

// TestEmailsCompareByCaseFolding: emails are one account under Unicode full case folding, not
// only lower-casing: ſam@ (long s) is sam@, ς and Σ are σ, ß is ss. Registering another
// spelling is refused as taken; signing in with any spelling reaches the account.
func TestEmailsCompareByCaseFolding(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	for _, tc := range []struct {
		registered string
		stored     string
		others     []string // other spellings of the same address
	}{
		{"sam@example.com", "sam@example.com", []string{"ſam@example.com", "SAM@EXAMPLE.COM", "ſAM@example.com"}},
		{"Σίσυφος@example.com", "σίσυφοσ@example.com", []string{"σίσυφος@example.com", "ΣΊΣΥΦΟΣ@example.com"}},
		{"straße@example.com", "strasse@example.com", []string{"STRASSE@example.com", "strasse@example.com"}},
		{"\u212aelvin@example.com", "kelvin@example.com", []string{"kelvin@example.com", "KELVIN@example.com"}},
	} {
		reg := s.register(t, tc.registered)
		if reg.User.Email != tc.stored {
			t.Errorf("register(%q): email %q, want %q", tc.registered, reg.User.Email, tc.stored)
		}
		for _, other := range tc.others {
			r := s.gql(t, "", registerMutation, map[string]any{"e": other, "p": testPassword})
			expectError(t, r, "BAD_USER_INPUT", "")
			if r.ext("field") != "email" || !strings.Contains(r.Errors[0].Message, "already registered") {
				t.Errorf("register(%q) after %q: %+v; want the email taken", other, tc.registered, r.Errors)
			}
			p, r := s.login(t, other, testPassword)
			expectOK(t, r)
			if p.User.ID != reg.User.ID {
				t.Errorf("login(%q) reached %s, want %s", other, p.User.ID, reg.User.ID)
			}
		}
	}
}

// TestEmailRefoldOnStart: a database written when emails were only lower-cased is brought to
// the folded form when the server starts. An account alone on its address signs in with any
// spelling; where two accounts now name one address, the one already storing it keeps it, the
// other keeps its old spelling, and the start logs one warning naming both ids.
func TestEmailRefoldOnStart(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	older := s.register(t, "placeholder-1@example.com").User.ID
	holder := s.register(t, "sam@example.com").User.ID
	alone := s.register(t, "placeholder-2@example.com").User.ID
	s.Stop()

	// What the old normalisation stored for ſam@ and ſue@, and a database from before the
	// migration existed.
	db, err := sql.Open("sqlite", filepath.Join(s.Env["DATA_DIR"], "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE users SET email = ? WHERE id = ?`, []any{"ſam@example.com", older}},
		{`UPDATE users SET email = ? WHERE id = ?`, []any{"ſue@example.com", alone}},
		{`DELETE FROM schema_migrations WHERE name = ?`, []any{auth.EmailRefoldMigration}},
	} {
		if _, err := db.Exec(q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	env := servertest.Env(t, map[string]string{"DATA_DIR": s.Env["DATA_DIR"]})
	s = startWithEnv(t, env)
	for _, tc := range []struct{ email, id string }{
		{"sue@example.com", alone}, {"SUE@example.com", alone}, {"ſue@example.com", alone},
		{"sam@example.com", holder}, {"ſam@example.com", holder},
	} {
		p, r := s.login(t, tc.email, testPassword)
		expectOK(t, r)
		if p.User.ID != tc.id {
			t.Errorf("login(%q) reached %s, want %s", tc.email, p.User.ID, tc.id)
		}
	}
	var warnings []string
	for _, line := range strings.Split(s.Log(), "\n") {
		if strings.Contains(line, "level=WARN") && strings.Contains(line, auth.EmailRefoldMigration) {
			warnings = append(warnings, line)
		}
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "[["+holder+" "+older+"]]") {
		t.Errorf("want one warning naming %s (keeps the address) and %s; got %q", holder, older, warnings)
	}
}
