package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
)

var auditTests = []test{
	{"Audit/AppendAndList", testAuditAppendAndList},
	{"Audit/ListPages", testAuditListPages},
	{"Audit/After", testAuditAfter},
	{"Audit/Purge", testAuditPurge},
	{"Audit/PollerMissesNothing", testAuditPollerMissesNothing},
}

func auditEvent(typ auth.EventType, user string, d time.Duration) auth.Event {
	return auth.Event{
		Type: typ, At: at(d), UserID: user, SessionID: "s-" + user,
		IPAddress: "203.0.113.9", UserAgent: "Mozilla/5.0 (storetest)", Reason: "why " + user,
	}
}

func mustAppendAudit(t *testing.T, s auth.Store, events ...auth.Event) {
	t.Helper()
	must(t, s.AppendAudit(ctxOf(t), events))
}

func auditSeqs(es []auth.AuditEntry) []int64 {
	out := make([]int64, len(es))
	for i, e := range es {
		out[i] = e.Seq
	}
	return out
}

// allAudit returns the whole trail, oldest first.
func allAudit(t *testing.T, s auth.Store) []auth.AuditEntry {
	t.Helper()
	es, err := s.AuditAfter(ctxOf(t), 0, 1_000_000)
	must(t, err)
	return es
}

// Every field round-trips (times in UTC, to the microsecond); Seq grows in append order; a list
// is newest first and filters by user; an empty append is a no-op.
func testAuditAppendAndList(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	must(t, s.AppendAudit(ctx, nil))
	want := []auth.Event{
		auditEvent(auth.EventLogin, "u1", time.Second),
		auditEvent(auth.EventLoginFailed, "", 2*time.Second), // unknown email: no user
		auditEvent(auth.EventLogout, "u2", 3*time.Second),
	}
	mustAppendAudit(t, s, want[0], want[1])
	mustAppendAudit(t, s, want[2])

	all := allAudit(t, s)
	if len(all) != len(want) {
		t.Fatalf("trail has %d entries, want %d", len(all), len(want))
	}
	for i, got := range all {
		w := want[i]
		if got.Type != w.Type || got.UserID != w.UserID || got.SessionID != w.SessionID ||
			got.IPAddress != w.IPAddress || got.UserAgent != w.UserAgent || got.Reason != w.Reason {
			t.Errorf("entry %d = %+v, want %+v", i, got, w)
		}
		checkTime(t, "At", got.At, w.At)
		if i > 0 && got.Seq <= all[i-1].Seq {
			t.Errorf("Seq not increasing: %v", auditSeqs(all))
		}
	}

	list, err := s.ListAudit(ctx, "", 0, 10)
	must(t, err)
	if got, want := auditSeqs(list), []int64{all[2].Seq, all[1].Seq, all[0].Seq}; !slices.Equal(got, want) {
		t.Errorf("ListAudit(all) = %v, want newest first %v", got, want)
	}
	list, err = s.ListAudit(ctx, "u2", 0, 10)
	must(t, err)
	if len(list) != 1 || list[0].Seq != all[2].Seq {
		t.Errorf("ListAudit(u2) = %+v, want only %d", list, all[2].Seq)
	}
	if list, err := s.ListAudit(ctx, "nobody", 0, 10); err != nil || len(list) != 0 {
		t.Errorf("ListAudit(unknown user) = %+v, %v; want none", list, err)
	}
	if list, err := s.ListAudit(ctx, "", 0, 0); err != nil || len(list) != 0 {
		t.Errorf("ListAudit(limit 0) = %+v, %v; want none", list, err)
	}
}

// Paging with beforeSeq walks the trail (or one user's part of it) newest first, without gaps
// or repeats.
func testAuditListPages(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	var events []auth.Event
	for i := range 10 {
		events = append(events, auditEvent(auth.EventLogin, []string{"u1", "u2"}[i%2], time.Duration(i)*time.Second))
	}
	mustAppendAudit(t, s, events...)
	all := allAudit(t, s)
	for _, user := range []string{"", "u1"} {
		var want []int64
		for i := len(all) - 1; i >= 0; i-- {
			if user == "" || all[i].UserID == user {
				want = append(want, all[i].Seq)
			}
		}
		var got []int64
		before := int64(0)
		for pages := 0; pages < 20; pages++ {
			page, err := s.ListAudit(ctx, user, before, 3)
			must(t, err)
			if len(page) > 3 {
				t.Fatalf("page of %d entries, limit 3", len(page))
			}
			if len(page) == 0 {
				break
			}
			got = append(got, auditSeqs(page)...)
			before = page[len(page)-1].Seq
		}
		if !slices.Equal(got, want) {
			t.Errorf("pages of user %q = %v, want %v", user, got, want)
		}
	}
}

func testAuditAfter(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	for i := range 5 {
		mustAppendAudit(t, s, auditEvent(auth.EventLogin, "u1", time.Duration(i)*time.Second))
	}
	all := auditSeqs(allAudit(t, s))
	for _, tc := range []struct {
		name     string
		afterSeq int64
		limit    int
		want     []int64
	}{
		{"from the start", 0, 10, all},
		{"after the second", all[1], 10, all[2:]},
		{"limited", 0, 2, all[:2]},
		{"after the last", all[4], 10, nil},
		{"limit 0", 0, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.AuditAfter(ctx, tc.afterSeq, tc.limit)
			must(t, err)
			if !slices.Equal(auditSeqs(got), tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Errorf("AuditAfter(%d, %d) = %v, want %v", tc.afterSeq, tc.limit, auditSeqs(got), tc.want)
			}
		})
	}
}

// PurgeAudit deletes only entries strictly older than before, oldest first, at most batch per
// call; Seq keeps growing after the trail was emptied.
func testAuditPurge(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	// Appended out of time order: purging goes by At, not by Seq.
	mustAppendAudit(t, s,
		auditEvent(auth.EventLogin, "u1", 3*time.Minute),
		auditEvent(auth.EventLogin, "u1", 1*time.Minute),
		auditEvent(auth.EventLogin, "u1", 2*time.Minute),
		auditEvent(auth.EventLogin, "u1", 4*time.Minute),
		auditEvent(auth.EventLogin, "u1", 10*time.Minute),
	)
	all := allAudit(t, s)

	n, err := s.PurgeAudit(ctx, at(4*time.Minute), 2) // due: 1m, 2m, 3m; 4m is not older
	must(t, err)
	if n != 2 {
		t.Fatalf("PurgeAudit(batch 2) = %d, want 2", n)
	}
	left := allAudit(t, s)
	if got, want := auditSeqs(left), []int64{all[0].Seq, all[3].Seq, all[4].Seq}; !slices.Equal(got, want) {
		t.Errorf("after the first batch: %v, want the oldest two (1m, 2m) gone: %v", got, want)
	}
	n, err = s.PurgeAudit(ctx, at(4*time.Minute), 2)
	must(t, err)
	if n != 1 {
		t.Errorf("second batch = %d, want 1", n)
	}
	n, err = s.PurgeAudit(ctx, at(4*time.Minute), 2)
	must(t, err)
	if n != 0 {
		t.Errorf("third batch = %d, want 0", n)
	}
	if got, want := auditSeqs(allAudit(t, s)), []int64{all[3].Seq, all[4].Seq}; !slices.Equal(got, want) {
		t.Errorf("after purging: %v, want %v", got, want)
	}
	if n, err := s.PurgeAudit(ctx, at(time.Hour), 0); err != nil || n != 0 {
		t.Errorf("PurgeAudit(batch 0) = %d, %v; want 0, nil", n, err)
	}

	n, err = s.PurgeAudit(ctx, at(time.Hour), 100)
	must(t, err)
	if n != 2 {
		t.Errorf("PurgeAudit(all) = %d, want 2", n)
	}
	mustAppendAudit(t, s, auditEvent(auth.EventLogin, "u1", 2*time.Hour))
	if next := allAudit(t, s); len(next) != 1 || next[0].Seq <= all[4].Seq {
		t.Errorf("entry after purging all: %+v, want Seq > %d", next, all[4].Seq)
	}
}

// Like the change log: a poller remembering the last Seq sees every entry while writers append
// concurrently (several processes each run one writer).
func testAuditPollerMissesNothing(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	const writers, batches, perBatch = 6, 15, 3
	var wg sync.WaitGroup
	p := &seqPoller{t: t, read: func(after int64) ([]int64, error) {
		es, err := s.AuditAfter(ctx, after, 1000)
		return auditSeqs(es), err
	}}
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				var batch []auth.Event
				for i := range perBatch {
					batch = append(batch, auditEvent(auth.EventLogin, fmt.Sprintf("u%d", w), time.Duration(b*perBatch+i)*time.Millisecond))
				}
				if err := s.AppendAudit(ctx, batch); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	p.untilDone(&wg)
	all := allAudit(t, s)
	if missed := p.missed(auditSeqs(all)); len(all) != writers*batches*perBatch || missed > 0 {
		t.Errorf("%d entries stored (want %d); the poller missed %d", len(all), writers*batches*perBatch, missed)
	}
	// Each batch is contiguous and in order.
	for i := 1; i < len(all); i++ {
		if all[i].UserID == all[i-1].UserID && all[i].At.Before(all[i-1].At) {
			t.Errorf("entries of one writer out of order at %d", i)
		}
	}
}
