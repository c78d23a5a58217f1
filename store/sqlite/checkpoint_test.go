package sqlite

import (
	"context"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Under a steady write load with readers always in flight, the checkpointer must start the WAL
// over: PASSIVE checkpoints alone let it grow to the writer's backstop (writerAutoCheckpoint),
// after which every commit ran a checkpoint of its own. The load here writes several times
// restartAfterPages; the WAL, sampled after every commit, must keep coming back below it.
func TestCheckpointerRestartsTheWALUnderLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	if _, err := s.wdb.ExecContext(ctx, `CREATE TABLE scratch (id INTEGER PRIMARY KEY, body BLOB NOT NULL)`); err != nil {
		t.Fatal(err)
	}

	// Readers: short reads back to back, as the request path makes them.
	readCtx, stopReading := context.WithCancel(ctx)
	var readers sync.WaitGroup
	for range 4 {
		readers.Go(func() {
			for readCtx.Err() == nil {
				var n int
				_ = s.rdb.QueryRowContext(readCtx, `SELECT count(*) FROM scratch WHERE id < 10`).Scan(&n)
			}
		})
	}
	defer func() { stopReading(); readers.Wait() }()

	// Each commit writes about two pages, one commit a millisecond or so: some 500 pages per
	// checkpointer tick, and 3,000 commits write 6,000 pages, past the writer's old backstop
	// of 4,000 (where the WAL went on the code before the checkpointer restarted it).
	body := make([]byte, 6000)
	maxFrames, restarts, last := 0, 0, 0
	for range 3000 {
		if _, err := s.wdb.ExecContext(ctx, `INSERT INTO scratch (body) VALUES (?)`, body); err != nil {
			t.Fatal(err)
		}
		frames := walFrames(t, path)
		if frames < last {
			restarts++
		}
		last, maxFrames = frames, max(maxFrames, frames)
		time.Sleep(time.Millisecond)
	}
	if restarts == 0 {
		t.Fatalf("the WAL never started over (largest %d frames)", maxFrames)
	}
	if maxFrames >= 3000 {
		t.Errorf("the WAL reached %d frames; the checkpointer should keep it near %d", maxFrames, restartAfterPages)
	}
	t.Logf("largest WAL %d frames, %d restarts", maxFrames, restarts)
}

// walFrames is the WAL's length in frames: mxFrame of the WAL-index header, the first field
// after 16 bytes of the -shm file (https://sqlite.org/walformat.html), in the machine's native
// byte order. Read from the file rather than asked of SQLite: a
// checkpoint run to ask it would copy the WAL and so help it start over.
func walFrames(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path + "-shm")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var hdr [20]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		t.Fatal(err)
	}
	return int(binary.NativeEndian.Uint32(hdr[16:]))
}
