package postgres

import (
	"testing"

	"github.com/example/gqlauth/internal/itest"
)

// freshSchema creates an empty schema with a random name, dropped when the test ends, and
// returns the test URL with search_path set to it.
func freshSchema(t testing.TB) string { return itest.PostgresURL(t) }

// freshDatabase creates an empty database, dropped when the test ends, and returns its URL.
func freshDatabase(t testing.TB) string { return itest.PostgresDatabaseURL(t) }

// openStore opens a Store on a fresh schema, closed before the schema is dropped.
func openStore(t *testing.T) *Store {
	t.Helper()
	dsn := freshSchema(t)
	s, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
