// Package sqlite implements auth.Store on a single SQLite file (modernc.org/sqlite, pure Go).
//
// Several processes may share the file. Writes go through one connection whose transactions
// start with BEGIN IMMEDIATE, so a writer takes the write lock up front (waiting up to
// busy_timeout) and never fails later when upgrading a read lock. Reads use a separate
// read-only pool, which WAL lets run alongside the writer.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/example/gqlauth/auth"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

var _ auth.Store = (*Store)(nil)

// Store is an auth.Store backed by SQLite. It is safe for concurrent use.
type Store struct {
	wdb *sql.DB // one connection; every write transaction
	rdb *sql.DB // read-only pool
	st  stmts   // prepared on wdb, used via tx.StmtContext
	rot rotator // group commit of refresh rotations (sessions.go)

	ckpt               *sql.DB // one connection for the checkpointer
	ckptQuit, ckptDone chan struct{}
	ckptStop           sync.Once
}

// busyTimeoutMS bounds how long a statement waits for another process's write lock.
const busyTimeoutMS = 10000

// Option configures Open.
type Option func(*options)

type options struct{ log *slog.Logger }

// WithLogger is where migrations report what an administrator must resolve (accounts whose
// emails now fold together); slog.Default() otherwise.
func WithLogger(log *slog.Logger) Option { return func(o *options) { o.log = log } }

// Open opens (creating if needed) the database file at path, creating its parent directory,
// and applies pending migrations. The file is its owner's only (filemode.go).
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	o := options{log: slog.Default()}
	for _, opt := range opts {
		opt(&o)
	}
	if path == "" || strings.HasPrefix(path, ":memory:") || strings.HasPrefix(path, "file:") {
		// In-memory databases are not shared between the two pools; URIs would need their own
		// parameter handling. Neither is needed, so refuse rather than misbehave.
		return nil, fmt.Errorf("sqlite: open %q: want a plain file path", path)
	}
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("sqlite: open %q: '?' is not allowed in the path", path)
	}
	if err := prepareFile(path, o.log); err != nil {
		return nil, err
	}

	// WAL + synchronous=NORMAL: a commit survives the process being killed (not a power
	// loss before the next checkpoint), at a fraction of the cost of FULL.
	common := url.Values{}
	common.Set("_busy_timeout", fmt.Sprint(busyTimeoutMS))
	common.Set("_foreign_keys", "1")
	common.Set("_synchronous", "NORMAL")

	wq := cloneValues(common)
	wq.Set("_journal_mode", "WAL")
	wq.Set("_txlock", "immediate")
	// Checkpoints (and their fsyncs) run on their own connection, off the writer's commit
	// path (checkpointer below); the writer's own automatic checkpoint stays as a backstop for
	// a WAL that grows past 4,000 pages (16 MiB) anyway.
	wq.Set("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", writerAutoCheckpoint))
	wdb, err := sql.Open("sqlite", path+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	// One writer connection: SQLite allows one writer anyway, and queuing in database/sql is
	// cheaper than SQLite's busy-wait sleeps. Keep it forever so prepared statements live on.
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)

	s := &Store{wdb: wdb}
	if err := migrate(ctx, wdb, o.log); err != nil {
		wdb.Close()
		return nil, err
	}

	// The read pool is opened after migrating so it never sees a half-created schema, and
	// after the writer switched the file to WAL (a persistent setting).
	rq := cloneValues(common)
	rq.Set("_query_only", "1")
	rdb, err := sql.Open("sqlite", path+"?"+rq.Encode())
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	rdb.SetMaxOpenConns(n)
	rdb.SetMaxIdleConns(n)
	rdb.SetConnMaxLifetime(0)
	rdb.SetConnMaxIdleTime(0)
	s.rdb = rdb

	if err := s.st.prepare(ctx, wdb, rdb); err != nil {
		s.Close()
		return nil, err
	}
	cq := cloneValues(common)
	cq.Set("_busy_timeout", fmt.Sprint(restartWaitMS)) // see startCheckpointer
	ckpt, err := sql.Open("sqlite", path+"?"+cq.Encode())
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	ckpt.SetMaxOpenConns(1)
	s.ckpt = ckpt
	s.startCheckpointer()
	s.startRotator()
	return s, nil
}

// writerAutoCheckpoint is the writer connection's wal_autocheckpoint (pages), a backstop: the
// checkpointer keeps the WAL far below it (restartAfterPages).
const writerAutoCheckpoint = 16000

// restartAfterPages is the WAL size (pages, 4 MiB) past which the checkpointer, after its
// PASSIVE pass, restarts the WAL.
const restartAfterPages = 1000

// restartWaitMS bounds each of a RESTART checkpoint's waits: for the write lock, and for readers
// to leave the WAL. It holds the write lock from the first wait on, while it copies what the
// PASSIVE pass left (little) and syncs the database file, and while it waits for the readers,
// so commits are held up that long. A RESTART that times out is tried again at the next tick.
const restartWaitMS = 20

// checkpointEvery is how often the checkpointer copies the WAL into the database file.
const checkpointEvery = 250 * time.Millisecond

// startCheckpointer runs checkpoints on a connection of their own. A PASSIVE checkpoint takes
// neither the write lock nor waits for readers, so commits go on while it copies pages and
// syncs the database file; on the writer (SQLite's default, every 1,000 pages) that work,
// fsync included, stalled the commit that crossed the threshold and every writer queued behind
// it. Durability of commits is unchanged: a commit is in the WAL either way.
//
// PASSIVE alone does not keep the WAL short under a steady write load: SQLite starts the WAL
// over only when a writer begins while every frame is copied and no reader is on the WAL, and
// with commits every millisecond and reads in flight that moment never comes. The WAL then
// grew past the writer's backstop, and from there the writer checkpointed inside every commit
// (a fifth of its time under the refresh load). So once the WAL is past restartAfterPages, a
// RESTART follows the PASSIVE pass: little is left to copy by then, and it waits at most
// restartWaitMS for readers to move to the database file, after which the next commit
// writes from the WAL's start again.
func (s *Store) startCheckpointer() {
	s.ckptQuit, s.ckptDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(s.ckptDone)
		t := time.NewTicker(checkpointEvery)
		defer t.Stop()
		for {
			select {
			case <-s.ckptQuit:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				s.checkpoint(ctx) // best effort; the writer's backstop remains
				cancel()
			}
		}
	}()
}

// checkpoint is one round of the checkpointer: PASSIVE, then RESTART when the WAL is long.
func (s *Store) checkpoint(ctx context.Context) {
	var busy, logPages, copied int
	err := s.ckpt.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logPages, &copied)
	if err != nil || logPages < restartAfterPages {
		return
	}
	_, _ = s.ckpt.ExecContext(ctx, "PRAGMA wal_checkpoint(RESTART)") // SQLITE_BUSY: next tick
}

// Ping reports whether both pools answer.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.wdb.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	if err := s.rdb.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// Close closes the read pool first and the writer last, so the final connection to close
// checkpoints the WAL into the main file.
func (s *Store) Close() error {
	var errs []error
	if s.ckpt != nil {
		s.ckptStop.Do(func() { close(s.ckptQuit) })
		<-s.ckptDone
		errs = append(errs, s.ckpt.Close())
	}
	s.stopRotator()
	s.st.close()
	if s.rdb != nil {
		errs = append(errs, s.rdb.Close())
	}
	errs = append(errs, s.wdb.Close())
	return errors.Join(errs...)
}

// write runs fn in one write transaction (BEGIN IMMEDIATE via _txlock).
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
