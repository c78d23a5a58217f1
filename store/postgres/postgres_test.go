package postgres

import (
	"context"
	"io/fs"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) auth.Store { return openStore(t) })
}

func TestMigrations(t *testing.T) {
	storetest.RunMigrations(t, func(t *testing.T) storetest.Database {
		dsn := freshSchema(t)
		return storetest.Database{
			Open: func(t *testing.T, log *slog.Logger) auth.Store {
				s, err := Open(t.Context(), dsn, WithLogger(log))
				must(t, err)
				return s
			},
			Unrecord: func(t *testing.T, name string) {
				s, err := Open(t.Context(), dsn, WithLogger(slog.New(slog.DiscardHandler)))
				must(t, err)
				defer s.Close()
				tag, err := s.pool.Exec(t.Context(), `DELETE FROM schema_migrations WHERE name = $1`, name)
				must(t, err)
				if tag.RowsAffected() != 1 {
					t.Fatalf("migration %s was not recorded", name)
				}
			},
		}
	})
}

// Instances starting together on a fresh schema apply each migration once, without errors.
func TestConcurrentMigrations(t *testing.T) {
	dsn := freshSchema(t)
	const n = 4
	var (
		wg     sync.WaitGroup
		stores = make([]*Store, n)
		errs   = make([]error, n)
	)
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = Open(t.Context(), dsn) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
		} else {
			t.Cleanup(func() { stores[i].Close() })
		}
	}
	if t.Failed() {
		return
	}
	var applied int
	if err := stores[0].pool.QueryRow(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	names := migrationNames(t)
	if applied != len(names) {
		t.Errorf("schema_migrations has %d rows, want %d", applied, len(names))
	}
	// Reopening applies nothing and succeeds.
	s, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

func migrationNames(t *testing.T) []string {
	t.Helper()
	names := MigrationNames()
	if sqlFiles, err := fs.Glob(Migrations(), "*.sql"); err != nil || len(names) <= len(sqlFiles) {
		t.Fatalf("MigrationNames %q lacks the Go steps (SQL files %q, %v)", names, sqlFiles, err)
	}
	return names
}

// Every change-log append notifies ChangesChannel, and ListenChanges survives losing its
// connection: it reconnects, signals (notifications may have been missed) and keeps going.
// NOTIFY channels are per database, not per schema, so this test has a database of its own:
// other tests' appends would notify it.
func TestListenChanges(t *testing.T) {
	s, err := Open(t.Context(), freshDatabase(t))
	must(t, err)
	t.Cleanup(func() { s.Close() })
	defer func(d time.Duration) { listenIdleCheck = d }(listenIdleCheck)
	listenIdleCheck = 100 * time.Millisecond // exercise the idle ping path too

	notified := make(chan struct{}, 100)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		done <- s.ListenChanges(ctx, func() { notified <- struct{}{} })
	}()
	defer func() { cancel(); <-exited }() // before listenIdleCheck is restored, even on failure

	expect := func(what string) {
		t.Helper()
		select {
		case <-notified:
		case <-time.After(10 * time.Second):
			t.Fatalf("no notification after %s", what)
		}
	}
	expectNone := func(what string, d time.Duration) {
		t.Helper()
		select {
		case <-notified:
			t.Fatalf("unexpected notification %s", what)
		case <-time.After(d):
		}
	}

	expect("listening started")
	expectNone("while idle (idle pings must not reconnect)", 500*time.Millisecond)

	now := time.Now()
	must(t, s.CreateUser(t.Context(), auth.User{ID: "u1", Email: "u1@example.com", CreatedAt: now, UpdatedAt: now}))
	setDisabled := func(disabled bool) error {
		_, _, err := s.ChangeUserSecurity(t.Context(), "u1", auth.SecurityChange{Disabled: &disabled}, now)
		return err
	}
	must(t, setDisabled(true))
	expect("ChangeUserSecurity")

	// Kill the listener's connection from the server side.
	var killed int
	err = s.pool.QueryRow(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND datname = current_database()`, listenAppName).Scan(&killed)
	must(t, err)
	if killed == 0 {
		t.Fatal("no listener connection found in pg_stat_activity")
	}
	expect("reconnect")
	must(t, setDisabled(false))
	expect("ChangeUserSecurity after reconnect")

	cancel()
	select {
	case err := <-done:
		if err != context.Canceled {
			t.Errorf("ListenChanges returned %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ListenChanges did not return after ctx ended")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
