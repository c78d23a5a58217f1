package storetest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
)

var changeLogTests = []test{
	{"ChangeLog/Appends", testChangeLogAppends},
	{"ChangeLog/ChangesAfter", testChangesAfter},
	{"ChangeLog/Purge", testPurgeChanges},
	{"ChangeLog/LatestSeq", testLatestChangeSeq},
	{"ChangeLog/ConcurrentAppends", testConcurrentAppends},
	{"ChangeLog/PollerMissesNothing", testPollerMissesNothing},
}

// Each changing method appends its entries in order, with increasing Seq. The entries of one
// call may come in any order among themselves.
func testChangeLogAppends(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	mustCreateUser(t, s, newUser("u1"))
	for _, id := range []string{"s1", "s2", "s3"} {
		mustCreateSession(t, s, newSession(id, "u1"))
	}
	mustLogNothing(t, s, "creating users and sessions")

	var (
		want  []auth.Change
		steps [][2]int // each step's entries: want[from:to]
	)
	for i, step := range []struct {
		name string
		do   func(now time.Time) error
		logs []auth.Change // without Seq and At
	}{
		{"SetUserRoles", func(now time.Time) error {
			_, err := s.SetUserRoles(ctx, "u1", []auth.Role{auth.RoleAdmin}, now)
			return err
		}, []auth.Change{{Kind: auth.ChangeUser, UserID: "u1"}}},
		{"ChangeUserSecurity enabling, ending nothing", func(now time.Time) error {
			_, _, err := s.ChangeUserSecurity(ctx, "u1", auth.SecurityChange{Disabled: ptr(false)}, now)
			return err
		}, []auth.Change{{Kind: auth.ChangeUser, UserID: "u1"}}},
		{"UpgradePasswordHash", func(now time.Time) error {
			u, err := s.UserByID(ctx, "u1")
			must(t, err)
			return s.UpgradePasswordHash(ctx, "u1", u.SecurityStamp, "h2", now)
		}, []auth.Change{{Kind: auth.ChangeUser, UserID: "u1"}}},
		{"EndSession", func(now time.Time) error { _, err := s.EndSession(ctx, "s1", auth.EndLogout, now); return err },
			[]auth.Change{{Kind: auth.ChangeSessionEnded, UserID: "u1", SessionID: "s1"}}},
		{"EndSession again", func(now time.Time) error { _, err := s.EndSession(ctx, "s1", auth.EndLogout, now); return err },
			nil},
		{"EndUserSessions", func(now time.Time) error {
			_, err := s.EndUserSessions(ctx, "u1", "", auth.EndLogoutAll, now)
			return err
		}, []auth.Change{
			{Kind: auth.ChangeSessionEnded, UserID: "u1", SessionID: "s2"},
			{Kind: auth.ChangeSessionEnded, UserID: "u1", SessionID: "s3"},
		}},
		{"RotateRefreshToken", func(now time.Time) error {
			mustCreateSession(t, s, newSession("s4", "u1"))
			_, err := s.RotateRefreshToken(ctx, tok("s4/0"), tok("s4/1"), now)
			return err
		}, nil},
		{"ChangeUserSecurity ending sessions but the kept one", func(now time.Time) error {
			mustCreateSession(t, s, newSession("s5", "u1"))
			mustCreateSession(t, s, newSession("s6", "u1"))
			_, _, err := s.ChangeUserSecurity(ctx, "u1", auth.SecurityChange{
				PasswordHash: "h3", EndReason: auth.EndPasswordChange, Keep: "s4", KeepRefresh: tok("s4/2"),
			}, now)
			return err
		}, []auth.Change{
			{Kind: auth.ChangeUser, UserID: "u1"},
			{Kind: auth.ChangeSessionEnded, UserID: "u1", SessionID: "s5"},
			{Kind: auth.ChangeSessionEnded, UserID: "u1", SessionID: "s6"},
		}},
	} {
		now := at(time.Duration(i+1) * time.Minute)
		must(t, step.do(now))
		from := len(want)
		for _, c := range step.logs {
			c.At = now
			want = append(want, c)
		}
		steps = append(steps, [2]int{from, len(want)})
		got := allChanges(t, s)
		if len(got) != len(want) {
			t.Fatalf("after %s: %d changes %+v, want %d", step.name, len(got), got, len(want))
		}
	}

	got := allChanges(t, s)
	for i, c := range got {
		if i > 0 && c.Seq <= got[i-1].Seq {
			t.Errorf("Seq not increasing: %d after %d", c.Seq, got[i-1].Seq)
		}
	}
	byKindAndSession := func(a, b auth.Change) int {
		return strings.Compare(string(a.Kind)+"/"+a.SessionID, string(b.Kind)+"/"+b.SessionID)
	}
	for _, st := range steps {
		slices.SortStableFunc(got[st[0]:st[1]], byKindAndSession)
		slices.SortStableFunc(want[st[0]:st[1]], byKindAndSession)
	}
	for i, c := range got {
		w := want[i]
		if c.Kind != w.Kind || c.UserID != w.UserID || c.SessionID != w.SessionID {
			t.Errorf("change %d = %+v, want %+v", i, c, w)
		}
		checkTime(t, fmt.Sprintf("change %d At", i), c.At, w.At)
	}
}

// appendChanges logs one ChangeUser entry per time and returns the entries.
func appendChanges(t *testing.T, s auth.Store, times ...time.Time) []auth.Change {
	t.Helper()
	if _, err := s.UserByID(ctxOf(t), "u1"); err != nil {
		mustCreateUser(t, s, newUser("u1"))
	}
	before := len(allChanges(t, s))
	for _, at := range times {
		_, err := s.SetUserRoles(ctxOf(t), "u1", []auth.Role{auth.RoleUser}, at)
		must(t, err)
	}
	return allChanges(t, s)[before:]
}

func seqs(cs []auth.Change) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = c.Seq
	}
	return out
}

func testChangesAfter(t *testing.T, s auth.Store) {
	// Entry times are deliberately not monotonic in Seq: At comes from the caller's clock.
	cs := appendChanges(t, s, at(1*time.Minute), at(3*time.Minute), at(2*time.Minute), at(4*time.Minute), at(5*time.Minute))
	all := seqs(cs)
	for _, tc := range []struct {
		name      string
		afterSeq  int64
		notBefore time.Time
		limit     int
		want      []int64
	}{
		{"everything", 0, time.Time{}, 100, all},
		{"after seq", all[1], time.Time{}, 100, all[2:]},
		{"after last", all[4], time.Time{}, 100, nil},
		{"limit", 0, time.Time{}, 2, all[:2]},
		{"after seq and limit", all[0], time.Time{}, 2, all[1:3]},
		{"not before (inclusive)", 0, at(3 * time.Minute), 100, []int64{all[1], all[3], all[4]}},
		{"not before, sub-second", 0, at(3*time.Minute - time.Microsecond), 100, []int64{all[1], all[3], all[4]}},
		{"all filters", all[1], at(2 * time.Minute), 1, all[2:3]},
		{"not before in the future", 0, at(time.Hour), 100, nil},
		{"zero limit", 0, time.Time{}, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ChangesAfter(ctxOf(t), tc.afterSeq, tc.notBefore, tc.limit)
			must(t, err)
			if !slices.Equal(seqs(got), tc.want) {
				t.Errorf("ChangesAfter(%d, %v, %d) = %v, want %v", tc.afterSeq, tc.notBefore, tc.limit, seqs(got), tc.want)
			}
		})
	}
}

func testPurgeChanges(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	cs := appendChanges(t, s, at(1*time.Minute), at(2*time.Minute), at(3*time.Minute))

	n, err := s.PurgeChanges(ctx, at(2*time.Minute), 100) // strictly older than before
	must(t, err)
	if n != 1 {
		t.Errorf("PurgeChanges = %d, want 1", n)
	}
	if got := seqs(allChanges(t, s)); !slices.Equal(got, seqs(cs[1:])) {
		t.Errorf("after purge: %v, want %v", got, seqs(cs[1:]))
	}

	n, err = s.PurgeChanges(ctx, at(time.Hour), 100)
	must(t, err)
	if n != 2 {
		t.Errorf("PurgeChanges(all) = %d, want 2", n)
	}
	// Pollers remember the last Seq they saw: Seq must keep growing after the log was emptied.
	next := appendChanges(t, s, at(2*time.Hour))
	if len(next) != 1 || next[0].Seq <= cs[2].Seq {
		t.Errorf("entry after purging all: %+v, want Seq > %d", next, cs[2].Seq)
	}
	n, err = s.PurgeChanges(ctx, at(2*time.Hour), 100)
	must(t, err)
	if n != 0 {
		t.Errorf("PurgeChanges(nothing old) = %d, want 0", n)
	}
}

// Concurrent writers get distinct Seqs and every entry is logged.
func testConcurrentAppends(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	const n = 20
	for i := range n {
		mustCreateUser(t, s, newUser(fmt.Sprintf("u%02d", i)))
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, err := s.SetUserRoles(ctx, fmt.Sprintf("u%02d", i), []auth.Role{auth.RoleAdmin}, at(time.Minute)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got := allChanges(t, s)
	users := map[string]bool{}
	for i, c := range got {
		if i > 0 && c.Seq <= got[i-1].Seq {
			t.Errorf("Seq not increasing: %d after %d", c.Seq, got[i-1].Seq)
		}
		users[c.UserID] = true
	}
	if len(got) != n || len(users) != n {
		t.Errorf("%d changes for %d users, want %d each", len(got), len(users), n)
	}
}

// A poller that remembers the last Seq it saw must see every entry even while writers commit
// concurrently: an entry may never become visible after one with a higher Seq.
func testPollerMissesNothing(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	const writers, perWriter = 8, 40
	for i := range writers {
		mustCreateUser(t, s, newUser(fmt.Sprintf("u%02d", i)))
	}
	var wg sync.WaitGroup
	p := &seqPoller{t: t, read: func(after int64) ([]int64, error) {
		cs, err := s.ChangesAfter(ctx, after, time.Time{}, 1000)
		return seqs(cs), err
	}}
	for i := range writers {
		wg.Go(func() {
			for j := range perWriter {
				if _, _, err := s.ChangeUserSecurity(ctx, fmt.Sprintf("u%02d", i), auth.SecurityChange{Disabled: ptr(j%2 == 0)}, at(time.Minute)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	p.untilDone(&wg)
	all := allChanges(t, s)
	if missed := p.missed(seqs(all)); len(all) != writers*perWriter || missed > 0 {
		t.Errorf("%d entries logged (want %d); the poller missed %d", len(all), writers*perWriter, missed)
	}
}

// seqPoller reads a log as its pollers do: each time the entries after the last Seq it saw.
type seqPoller struct {
	t    *testing.T
	read func(after int64) ([]int64, error) // the Seqs after after, in order
	seen map[int64]bool
	last int64
}

func (p *seqPoller) poll() {
	seqs, err := p.read(p.last)
	if err != nil {
		p.t.Error(err) // not Fatal: the writers are still running
		return
	}
	if p.seen == nil {
		p.seen = map[int64]bool{}
	}
	for _, seq := range seqs {
		p.seen[seq] = true
		p.last = seq
	}
}

// untilDone polls over and over while the writers of wg run, then once more after they
// finish: a poller racing concurrent writers, as every instance's change-log poll does.
func (p *seqPoller) untilDone(wg *sync.WaitGroup) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for {
		select {
		case <-done:
			p.poll()
			return
		default:
			p.poll()
		}
	}
}

// missed counts the Seqs of all that no poll returned.
func (p *seqPoller) missed(all []int64) int {
	n := 0
	for _, seq := range all {
		if !p.seen[seq] {
			n++
		}
	}
	return n
}

// LatestChangeSeq names the last committed entry: 0 for an empty log, then each new entry's
// Seq, and never less than a Seq that ChangesAfter returned.
func testLatestChangeSeq(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	latest, err := s.LatestChangeSeq(ctx)
	must(t, err)
	if latest != 0 {
		t.Fatalf("LatestChangeSeq of an empty log = %d", latest)
	}
	for i := range 3 {
		cs := appendChanges(t, s, at(time.Duration(i)*time.Minute))
		latest, err = s.LatestChangeSeq(ctx)
		must(t, err)
		if latest != cs[len(cs)-1].Seq {
			t.Fatalf("LatestChangeSeq = %d after appending %d", latest, cs[len(cs)-1].Seq)
		}
	}
	_, err = s.PurgeChanges(ctx, at(time.Hour), 100)
	must(t, err)
	after, err := s.LatestChangeSeq(ctx)
	must(t, err)
	if after != 0 && after != latest {
		t.Fatalf("LatestChangeSeq after emptying the log = %d, want 0 or %d", after, latest)
	}
	next := appendChanges(t, s, at(2*time.Hour))
	if got, _ := s.LatestChangeSeq(ctx); got != next[0].Seq {
		t.Fatalf("LatestChangeSeq = %d, want %d", got, next[0].Seq)
	}
}
