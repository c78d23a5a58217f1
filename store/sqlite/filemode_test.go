package sqlite_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/store/sqlite"
)

// checkModes fails unless the database, its -wal and -shm files exist with mode 0600.
func checkModes(t *testing.T, path string) {
	t.Helper()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(p), err)
			continue
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want -rw-------", filepath.Base(p), fi.Mode().Perm())
		}
	}
}

func createUser(t *testing.T, s *sqlite.Store, id string) {
	t.Helper()
	if err := s.CreateUser(t.Context(), auth.User{ID: id, Email: id + "@example.com", PasswordHash: "h", CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
}

// TestFileModes: the database holds password hashes, so a new database, its write-ahead log
// and shared-memory file are 0600 and a new data directory 0700, though the usual umask (022,
// set here) lets group and others read what is created.
func TestFileModes(t *testing.T) {
	defer syscall.Umask(syscall.Umask(0o022))
	path := dbPath(t) // in a directory that does not exist yet
	s := open(t, path)
	createUser(t, s, "u1") // a write: the WAL and SHM files exist now
	checkModes(t, path)
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data directory: %v, %v; want drwx------", fi.Mode(), err)
	}
}

// TestFileModesTightened: a database made readable by others before (0644, say by an older
// version or by hand), -wal and -shm included, is restricted to its owner when opened.
func TestFileModesTightened(t *testing.T) {
	path := dbPath(t)
	s := open(t, path)
	createUser(t, s, "u1")
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Another process opens it while the first still has it open (the WAL and SHM files stay).
	s2, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	createUser(t, s2, "u2")
	checkModes(t, path)
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}

	// And a 0644 database that nothing has open (closing is idempotent; the cleanup closes s
	// again).
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	s3 := open(t, path)
	createUser(t, s3, "u3")
	checkModes(t, path)
}
