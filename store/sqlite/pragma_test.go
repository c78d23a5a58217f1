package sqlite

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
)

// The connection settings are what make the store safe across processes; check they took.
func TestConnectionPragmas(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tc := range []struct {
		pool   string
		db     *sql.DB
		pragma string
		want   string
	}{
		{"write", s.wdb, "journal_mode", "wal"},
		{"write", s.wdb, "busy_timeout", fmt.Sprint(busyTimeoutMS)},
		{"write", s.wdb, "foreign_keys", "1"},
		{"write", s.wdb, "synchronous", "1"}, // NORMAL
		{"write", s.wdb, "query_only", "0"},
		{"read", s.rdb, "journal_mode", "wal"},
		{"read", s.rdb, "busy_timeout", fmt.Sprint(busyTimeoutMS)},
		{"read", s.rdb, "foreign_keys", "1"},
		{"read", s.rdb, "query_only", "1"},
	} {
		var got string
		if err := tc.db.QueryRowContext(t.Context(), "PRAGMA "+tc.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("%s pool: PRAGMA %s = %s, want %s", tc.pool, tc.pragma, got, tc.want)
		}
	}

	// BEGIN IMMEDIATE: once the store's writer has begun, another writer cannot begin (its
	// busy_timeout is 0 here), although the first transaction has not written anything yet.
	tx, err := s.wdb.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	other, err := sql.Open("sqlite", path+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if tx2, err := other.BeginTx(t.Context(), nil); err == nil {
		tx2.Rollback()
		t.Error("a second writer could begin: write transactions are not IMMEDIATE")
	}
}
