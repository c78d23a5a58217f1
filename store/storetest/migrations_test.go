package storetest_test

import (
	"io/fs"
	"slices"
	"testing"

	"github.com/example/gqlauth/auth"

	"github.com/example/gqlauth/store/postgres"
	"github.com/example/gqlauth/store/sqlite"
)

// Both adapters must have the same migration files, so a schema change is made in both.
func TestMigrationNamesMatch(t *testing.T) {
	names := func(fsys fs.FS) []string {
		t.Helper()
		n, err := fs.Glob(fsys, "*.sql")
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(n)
		return n
	}
	lite, pg := names(sqlite.Migrations()), names(postgres.Migrations())
	if len(lite) == 0 {
		t.Fatal("no migrations embedded")
	}
	if !slices.Equal(lite, pg) {
		t.Errorf("migration files differ:\n  sqlite:   %q\n  postgres: %q", lite, pg)
	}
	// And the same steps in Go, under the same names, in the same order.
	lite, pg = sqlite.MigrationNames(), postgres.MigrationNames()
	if !slices.Equal(lite, pg) {
		t.Errorf("migrations differ:\n  sqlite:   %q\n  postgres: %q", lite, pg)
	}
	if !slices.Contains(lite, auth.EmailRefoldMigration) {
		t.Errorf("no %s step: %q", auth.EmailRefoldMigration, lite)
	}
	if !slices.IsSorted(lite) {
		t.Errorf("migrations do not apply in name order: %q", lite)
	}
}
