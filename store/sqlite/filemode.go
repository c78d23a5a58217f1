package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
)

// The database holds password hashes and refresh-token hashes, so only its owner may read it.
const (
	dirMode  fs.FileMode = 0o700
	fileMode fs.FileMode = 0o600
)

// prepareFile makes sure the database file exists with fileMode before the driver opens it,
// creating its directory (dirMode) if needed, and tightens an existing database, write-ahead
// log and shared-memory file (a database from before, or one created by hand) to fileMode.
// SQLite creates the -wal and -shm files with the database file's own permissions, so a
// database created 0600 keeps them 0600 too. An existing directory is left as it is: it may
// be shared (a parent such as /var/lib) and is not ours to change.
func prepareFile(path string, log *slog.Logger) error {
	if err := os.MkdirAll(filepath.Dir(path), dirMode); err != nil {
		return fmt.Errorf("sqlite: create directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, fileMode) //nolint:gosec // G304: the operator names the database file
	switch {
	case err == nil:
		return f.Close()
	case !errors.Is(err, fs.ErrExist):
		return fmt.Errorf("sqlite: create %s: %w", path, err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("sqlite: %w", err)
		}
		if fi.Mode().Perm()&^fileMode == 0 {
			continue
		}
		// Not fatal: a file of another owner that we may use (through its group) still works.
		if err := os.Chmod(p, fi.Mode().Perm()&fileMode); err != nil {
			log.Warn("cannot restrict the database file to its owner", "file", p, "mode", fi.Mode().Perm().String(), "err", err)
			continue
		}
		log.Info("restricted the database file to its owner", "file", p, "was", fi.Mode().Perm().String())
	}
	return nil
}
