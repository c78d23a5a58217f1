package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
)

var housekeepingTests = []test{
	{"Housekeeping/PurgeSessions", testPurgeSessions},
	{"Housekeeping/PurgeSessionsInBatches", testPurgeSessionsInBatches},
	{"Housekeeping/PurgeChangesInBatches", testPurgeChangesInBatches},
	{"Housekeeping/CountLiveSessions", testCountLiveSessions},
}

// purgeFixture creates sessions in every state relative to before = at(5 days) and returns
// the ids that are due (ended or expired before it) and those that must stay.
func purgeFixture(t *testing.T, s auth.Store) (before time.Time, due, kept []string, dueRows int64) {
	t.Helper()
	ctx := ctxOf(t)
	day := 24 * time.Hour
	before = at(5 * day)
	mustCreateUser(t, s, newUser("u1"))
	mustCreateUser(t, s, newUser("u2"))
	for _, x := range []struct {
		id, user string
		expires  time.Duration // from t0
		ended    time.Duration // from t0; 0: never
		rotate   int           // rotations before anything else
		due      bool
	}{
		{"live", "u1", ttl, 0, 3, false},
		{"ended-old", "u1", ttl, time.Hour, 1, true},
		{"ended-old-u2", "u2", ttl, 2 * time.Hour, 0, true},
		{"ended-recent", "u1", ttl, 6 * day, 1, false},
		{"expired-old", "u1", 2 * time.Hour, 0, 0, true},
		{"expired-recent", "u2", 6 * day, 0, 0, false},
		{"expires-at-before", "u2", 5 * day, 0, 0, false}, // not strictly before
	} {
		sess := newSession(x.id, x.user)
		sess.ExpiresAt = at(x.expires)
		mustCreateSession(t, s, sess)
		for i := range x.rotate {
			_, err := s.RotateRefreshToken(ctx, tok(x.id+"/"+itoa(i)), tok(x.id+"/"+itoa(i+1)), at(time.Duration(i+1)*time.Minute))
			must(t, err)
		}
		if x.ended > 0 {
			_, err := s.EndSession(ctx, x.id, auth.EndLogout, at(x.ended))
			must(t, err)
		}
		if x.due {
			due = append(due, x.id)
			dueRows += int64(1 + x.rotate + 1) // the session, its first token, one per rotation
		} else {
			kept = append(kept, x.id)
		}
	}
	return before, due, kept, dueRows
}

func itoa(i int) string { return string(rune('0' + i)) }

// checkPurged: due sessions and every token of theirs are gone; the others are untouched, and
// a live session's rotated tokens are still recognised as rotated (reuse, not unknown).
func checkPurged(t *testing.T, s auth.Store, due, kept []string) {
	t.Helper()
	ctx := ctxOf(t)
	for _, id := range due {
		if _, err := s.SessionByID(ctx, id); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("due session %s: SessionByID = %v, want ErrNotFound", id, err)
		}
		if _, err := s.SessionByRefreshHash(ctx, hashOf(id+"/0")); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("due session %s: its first token is still found (%v)", id, err)
		}
	}
	for _, id := range kept {
		if _, err := s.SessionByID(ctx, id); err != nil {
			t.Errorf("session %s was purged too early: %v", id, err)
		}
		if _, err := s.SessionByRefreshHash(ctx, hashOf(id+"/0")); err != nil {
			t.Errorf("session %s lost its first token: %v", id, err)
		}
	}
	_, err := s.RotateRefreshToken(ctx, tok("live/1"), tok("live/x"), at(time.Hour))
	var rotated *auth.AlreadyRotatedError
	if !errors.As(err, &rotated) || rotated.SessionID != "live" {
		t.Errorf("reusing a rotated token of a live session after the purge = %v, want AlreadyRotatedError", err)
	}
	live, err := s.ListLiveSessions(ctx, "u1", at(time.Hour))
	must(t, err)
	if !slices.Contains(sessionIDs(live), "live") {
		t.Errorf("live sessions after purge: %v", sessionIDs(live))
	}
}

func testPurgeSessions(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	before, due, kept, rows := purgeFixture(t, s)
	changes := len(allChanges(t, s))
	n, err := s.PurgeSessions(ctx, before, 1000)
	must(t, err)
	if n != rows {
		t.Errorf("PurgeSessions = %d rows, want %d (sessions %v and their tokens)", n, rows, due)
	}
	checkPurged(t, s, due, kept)
	if n, err := s.PurgeSessions(ctx, before, 1000); err != nil || n != 0 {
		t.Errorf("second PurgeSessions = %d, %v; want 0 (idempotent)", n, err)
	}
	if n, err := s.PurgeSessions(ctx, before, 0); err != nil || n != 0 {
		t.Errorf("PurgeSessions(batch 0) = %d, %v; want 0", n, err)
	}
	if got := len(allChanges(t, s)); got != changes {
		t.Errorf("purging logged changes: %d entries, want %d", got, changes)
	}
}

// A small batch bounds every call; repeating until a short batch purges the same rows.
func testPurgeSessionsInBatches(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	before, due, kept, rows := purgeFixture(t, s)
	const batch = 2
	var total int64
	for calls := 0; ; calls++ {
		if calls > 20 {
			t.Fatal("PurgeSessions never returned a short batch")
		}
		n, err := s.PurgeSessions(ctx, before, batch)
		must(t, err)
		if n > batch {
			t.Fatalf("PurgeSessions(batch %d) deleted %d rows", batch, n)
		}
		total += n
		if n < batch {
			break
		}
	}
	if total != rows {
		t.Errorf("batches deleted %d rows in all, want %d", total, rows)
	}
	checkPurged(t, s, due, kept)
}

func testPurgeChangesInBatches(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	cs := appendChanges(t, s, at(5*time.Minute), at(1*time.Minute), at(3*time.Minute), at(2*time.Minute), at(10*time.Minute))
	n, err := s.PurgeChanges(ctx, at(4*time.Minute), 2) // due: 1m, 2m, 3m; oldest first
	must(t, err)
	if n != 2 {
		t.Fatalf("PurgeChanges(batch 2) = %d, want 2", n)
	}
	if got, want := seqs(allChanges(t, s)), []int64{cs[0].Seq, cs[2].Seq, cs[4].Seq}; !slices.Equal(got, want) {
		t.Errorf("after one batch: %v, want %v", got, want)
	}
	n, err = s.PurgeChanges(ctx, at(4*time.Minute), 2)
	must(t, err)
	if n != 1 {
		t.Errorf("second batch = %d, want 1", n)
	}
	if n, err := s.PurgeChanges(ctx, at(time.Hour), 0); err != nil || n != 0 {
		t.Errorf("PurgeChanges(batch 0) = %d, %v; want 0", n, err)
	}
}

func testCountLiveSessions(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	count := func(now time.Time) int64 {
		t.Helper()
		n, err := s.CountLiveSessions(ctx, now)
		must(t, err)
		return n
	}
	if n := count(t0); n != 0 {
		t.Errorf("empty store counts %d live sessions", n)
	}
	_, _, _, _ = purgeFixture(t, s)
	// Only sessions never ended and not expired at now count (an ended session counts as ended
	// whatever its ended_at: the fixture ended them already).
	if n, want := count(at(time.Minute)), int64(4); n != want { // live, expired-old, expired-recent, expires-at-before
		t.Errorf("CountLiveSessions(t0+1m) = %d, want %d", n, want)
	}
	if n, want := count(at(3*time.Hour)), int64(3); n != want { // expired-old is over
		t.Errorf("CountLiveSessions(t0+3h) = %d, want %d", n, want)
	}
	if n, want := count(at(5*24*time.Hour)), int64(2); n != want { // expires-at-before is over (not before now)
		t.Errorf("CountLiveSessions(t0+5d) = %d, want %d", n, want)
	}
}
