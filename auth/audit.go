package auth

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"
)

// The audit trail: every security event is stored (AuditLog), and the stored trail is also the
// source of the securityEvents subscription, on every instance:
//
//	Service.publish ──► auditWriter (bounded channel, one goroutine, batched AppendAudit)
//	                        │ after the commit: a local Wake (and Config.AuditWritten, for a
//	                        ▼ push to other instances; LISTEN/NOTIFY does that by itself)
//	view.run ──► auditFeed.poll: AuditAfter(lastSeq) ──► Config.Deliver (EventBus.Deliver)
//
// So a request never waits for the audit write, and subscribers see the events of every
// instance (and of the command line), each once.

// AuditEntry is one stored security event.
type AuditEntry struct {
	// Seq orders the trail: a later commit has a larger Seq (as in the change log), so a poller
	// that remembers the last Seq it saw misses nothing.
	Seq int64
	Event
}

// AuditLog stores the audit trail. Rows are never changed, only appended and, past the
// retention period, purged.
type AuditLog interface {
	// AppendAudit stores events in one transaction, in order, each with the next Seq. Seq order
	// must be commit order, also across processes, and Seq never goes back after a purge.
	AppendAudit(ctx context.Context, events []Event) error
	// ListAudit returns at most limit entries with Seq < beforeSeq (no bound when beforeSeq <=
	// 0), newest first; only userID's when userID is not empty.
	ListAudit(ctx context.Context, userID string, beforeSeq int64, limit int) ([]AuditEntry, error)
	// AuditAfter returns at most limit entries with Seq > afterSeq, in Seq order (delivery).
	AuditAfter(ctx context.Context, afterSeq int64, limit int) ([]AuditEntry, error)
	// PurgeAudit deletes at most batch entries with At before before, oldest first, and reports
	// how many; the caller repeats until it returns less than batch.
	PurgeAudit(ctx context.Context, before time.Time, batch int) (int64, error)
}

// audited reports whether events of type t are stored. Refreshes (one every few minutes per
// client) and anonymous rate-limit refusals are only counted in metrics.
func audited(t EventType) bool {
	return t != EventRefreshed && t != EventRateLimited
}

// Tuning of the audit writer and feed; variables so tests can change them.
var (
	auditQueueSize  = 4096        // events waiting for the writer
	auditBatchSize  = 200         // events per transaction
	auditQueueWait  = time.Second // longest a request waits for room in a full queue
	auditRetries    = []time.Duration{50 * time.Millisecond, 250 * time.Millisecond, time.Second}
	auditWriteLimit = 5 * time.Second // per attempt
	auditPollLimit  = 500             // entries per AuditAfter call
	// maxDeliveryAge: entries older than this (a poll that failed for a while, another
	// instance's clock) are kept in the trail but not pushed to subscribers as news.
	maxDeliveryAge = 5 * time.Minute
)

// auditWriter stores events off the request path: Publish queues, one goroutine writes
// batches. Close stops it after writing what is queued; later events are written at once.
type auditWriter struct {
	store   AuditLog
	log     *slog.Logger
	written func() // after each committed batch

	queue chan Event
	quit  chan struct{}
	done  chan struct{}

	mu     sync.RWMutex // closed; Publish holds it for reading while it queues
	closed bool
}

func newAuditWriter(store AuditLog, log *slog.Logger, written func()) *auditWriter {
	w := &auditWriter{
		store: store, log: log, written: written,
		queue: make(chan Event, auditQueueSize), quit: make(chan struct{}), done: make(chan struct{}),
	}
	go w.run()
	return w
}

// Publish queues e. When the queue is full (the database is slow or down) it waits up to
// auditQueueWait, then drops the event with an error log rather than hold the request.
func (w *auditWriter) Publish(e Event) {
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		w.write([]Event{e}) // after Close (a request finishing late): synchronously
		return
	}
	defer w.mu.RUnlock()
	select {
	case w.queue <- e:
		return
	default:
	}
	t := time.NewTimer(auditQueueWait)
	defer t.Stop()
	select {
	case w.queue <- e:
	case <-t.C:
		w.log.Error("audit queue full; security event not stored", "event", string(e.Type), "user", e.UserID, "session", e.SessionID)
	}
}

// Close writes the queued events and stops the writer. It is idempotent.
func (w *auditWriter) Close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		<-w.done
		return
	}
	w.closed = true
	w.mu.Unlock() // no Publish is queueing any more
	close(w.quit)
	<-w.done
}

func (w *auditWriter) run() {
	defer close(w.done)
	for {
		select {
		case e := <-w.queue:
			w.drain(e)
		case <-w.quit:
			for {
				select {
				case e := <-w.queue:
					w.drain(e)
				default:
					return
				}
			}
		}
	}
}

// drain writes first and whatever else is queued, in batches.
func (w *auditWriter) drain(first Event) {
	batch := append(make([]Event, 0, auditBatchSize), first)
fill:
	for len(batch) < auditBatchSize {
		select {
		case e := <-w.queue:
			batch = append(batch, e)
		default:
			break fill
		}
	}
	w.write(batch)
}

// write appends batch, retrying a failed attempt a few times.
func (w *auditWriter) write(batch []Event) {
	var err error
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), auditWriteLimit)
		err = w.store.AppendAudit(ctx, batch)
		cancel()
		if err == nil {
			if w.written != nil {
				w.written()
			}
			return
		}
		if attempt >= len(auditRetries) {
			break
		}
		time.Sleep(auditRetries[attempt])
	}
	w.log.Error("audit write failed; security events not stored", "events", len(batch), "err", err)
}

// auditFeed hands new audit entries, from every process, to this instance's subscribers.
type auditFeed struct {
	store   AuditLog
	deliver func(Event)
	now     func() time.Time

	mu      sync.Mutex
	lastSeq int64
}

// start remembers the newest entry: subscribers get what happens from now on.
func (f *auditFeed) start(ctx context.Context) error {
	latest, err := f.store.ListAudit(ctx, "", 0, 1)
	if err != nil {
		return err
	}
	if len(latest) > 0 {
		f.lastSeq = latest[0].Seq
	}
	return nil
}

// poll delivers the entries appended since the last poll.
func (f *auditFeed) poll(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for {
		entries, err := f.store.AuditAfter(ctx, f.lastSeq, auditPollLimit)
		if err != nil {
			return fmt.Errorf("audit poll: %w", err)
		}
		oldest := f.now().Add(-maxDeliveryAge)
		for _, e := range entries {
			if e.At.After(oldest) {
				f.deliver(e.Event)
			}
			f.lastSeq = max(f.lastSeq, e.Seq)
		}
		if len(entries) < auditPollLimit {
			return nil
		}
	}
}

// actorOf names who made an administrative change, for the audit trail.
func actorOf(p Principal) string {
	if p.User.ID == "" {
		return "by command line"
	}
	return "by " + p.User.ID
}

// AuditPage is one page of the audit trail, newest first.
type AuditPage struct {
	Entries     []AuditEntry
	Cursors     []string
	HasNext     bool
	HasPrevious bool
}

// AuditEvents lists stored security events, newest first, of one user when userID is not empty:
// up to first entries after the opaque cursor (Relay pagination; the caller checks the role).
func (s *Service) AuditEvents(ctx context.Context, userID string, first int, after string) (AuditPage, error) {
	p, err := paginate(first, after, "audit:", func(afterSeq string, limit int) ([]AuditEntry, error) {
		var before int64
		if afterSeq != "" {
			seq, err := strconv.ParseInt(afterSeq, 10, 64)
			if err != nil || seq <= 0 {
				return nil, &InputError{Field: "after", Message: "cursor is invalid"}
			}
			before = seq
		}
		entries, err := s.store.ListAudit(ctx, userID, before, limit)
		if err != nil {
			return nil, fmt.Errorf("list audit: %w", err)
		}
		return entries, nil
	}, func(e AuditEntry) string { return strconv.FormatInt(e.Seq, 10) })
	return AuditPage{Entries: p.items, Cursors: p.cursors, HasNext: p.hasNext, HasPrevious: p.hasPrevious}, err
}
