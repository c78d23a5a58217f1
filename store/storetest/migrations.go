package storetest

import (
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/internal/itest"
)

// Database is one database that an adapter's test opens several times, to test migrations.
type Database struct {
	// Open opens it (the same database on every call), applying pending migrations and logging
	// to log. The test closes the store.
	Open func(t *testing.T, log *slog.Logger) auth.Store
	// Unrecord deletes the record of the named migration, so that the next Open applies it
	// again: the state of a database written before that migration existed.
	Unrecord func(t *testing.T, name string)
}

// RunMigrations runs the tests of the data migrations; fresh returns a new, empty database on
// each call. An adapter's tests call it from a one-line TestMigrations.
func RunMigrations(t *testing.T, fresh func(t *testing.T) Database) {
	t.Run("email refold", func(t *testing.T) { testEmailRefold(t, fresh(t)) })
}

// testEmailRefold: on a database holding emails normalised the old way (lower-cased only),
// the refold migration folds them; where two accounts now name one address, the account
// already storing it keeps it (else the oldest gets it), the others keep their spelling (no
// account is lost, emails stay unique) and one warning names them; every changed account gets
// a change-log entry; and the step runs once.
func testEmailRefold(t *testing.T, db Database) {
	s := db.Open(t, slog.New(slog.DiscardHandler))
	legacy := func(id, email string, age time.Duration) auth.User {
		u := newUser(id)
		u.Email, u.CreatedAt, u.UpdatedAt = email, at(age), at(age)
		return mustCreateUser(t, s, u)
	}
	// Stored as the old NormalizeEmail stored them; each is unique as a string.
	invalid := strings.Repeat("ŉ", 32) + "@example.com" // 96 bytes before @ once folded
	original := map[string]auth.User{}
	for _, u := range []auth.User{
		legacy("u1", "ſam@example.com", 0),              // older, but u2 already stores the address
		legacy("u2", "sam@example.com", time.Hour),      // keeps it
		legacy("u3", "straße@example.com", 3*time.Hour), // keeps its spelling
		legacy("u4", "straſſe@example.com", time.Hour),  // the oldest without a holder: gets strasse@
		legacy("u5", "ς@example.com", 0),                // alone: folded
		legacy("u6", "plain@example.com", 0),            // untouched
		legacy("u7", invalid, 0),                        // today's rules refuse it: untouched
		legacy("u8", "ﬁle@example.com", 2*time.Hour),    // alone: folded
	} {
		original[u.ID] = u
	}
	before := allChanges(t, s)
	must(t, s.Close())

	db.Unrecord(t, auth.EmailRefoldMigration)
	var logs itest.Buffer
	s = db.Open(t, slog.New(slog.NewTextHandler(&logs, nil)))

	want := map[string]string{
		"u1": "ſam@example.com", "u2": "sam@example.com", "u3": "straße@example.com", "u4": "strasse@example.com",
		"u5": "σ@example.com", "u6": "plain@example.com", "u7": invalid, "u8": "file@example.com",
	}
	changed := map[string]bool{"u4": true, "u5": true, "u8": true}
	for id, email := range want {
		u, err := s.UserByID(ctxOf(t), id)
		must(t, err)
		if u.Email != email {
			t.Errorf("%s: email %+q, want %+q", id, u.Email, email)
		}
		if bumped := !u.UpdatedAt.Equal(micro(original[id].UpdatedAt)); bumped != changed[id] {
			t.Errorf("%s: UpdatedAt %v; changed %v", id, u.UpdatedAt, changed[id])
		}
	}
	for _, login := range []struct{ email, id string }{
		{"sam@example.com", "u2"}, {"strasse@example.com", "u4"}, {"σ@example.com", "u5"},
	} {
		if u, err := s.UserByEmail(ctxOf(t), login.email); err != nil || u.ID != login.id {
			t.Errorf("UserByEmail(%q) = %s, %v; want %s", login.email, u.ID, err, login.id)
		}
	}
	if err := s.CreateUser(ctxOf(t), newUser("u9")); err != nil {
		t.Errorf("the store does not take new users after the migration: %v", err)
	}

	// One change-log entry for each changed account, so running instances drop cached copies.
	after := allChanges(t, s)[len(before):]
	var ids []string
	for _, c := range after {
		if c.Kind != auth.ChangeUser {
			t.Errorf("change %+v, want %s", c, auth.ChangeUser)
		}
		ids = append(ids, c.UserID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"u4", "u5", "u8"}) {
		t.Errorf("change log after the migration names %q, want u4, u5, u8", ids)
	}

	// The warning names the accounts, holder first, and never an email.
	text := logs.String()
	if n := strings.Count(text, "level=WARN"); n != 2 { // collisions; accounts left invalid
		t.Errorf("%d warnings, want 2:\n%s", n, text)
	}
	for _, part := range []string{"[[u2 u1] [u4 u3]]", "accounts=[u7]", auth.EmailRefoldMigration} {
		if !strings.Contains(text, part) {
			t.Errorf("the log lacks %q:\n%s", part, text)
		}
	}
	if strings.Contains(text, "@example.com") {
		t.Errorf("the log shows emails:\n%s", text)
	}
	must(t, s.Close())

	// Recorded: opening again runs nothing, even with an unfolded email present.
	s = db.Open(t, slog.New(slog.NewTextHandler(&logs, nil)))
	u := newUser("u10")
	u.Email = "ſ@example.com"
	mustCreateUser(t, s, u)
	must(t, s.Close())
	s = db.Open(t, slog.New(slog.NewTextHandler(&logs, nil)))
	if got, err := s.UserByID(ctxOf(t), "u10"); err != nil || got.Email != "ſ@example.com" {
		t.Errorf("the migration ran again: %+v, %v", got, err)
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 2 {
		t.Errorf("reopening logged again:\n%s", logs.String())
	}
	must(t, s.Close())
}
