package mail

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/example/gqlauth/auth"
)

// MailboxSize is how many mails the development mailbox keeps.
const MailboxSize = 200

// MailboxStore is where the development mailbox lives (the service's database).
type MailboxStore interface {
	AppendMailbox(ctx context.Context, e auth.MailboxEntry, keep int) error
	ListMailbox(ctx context.Context, limit int) ([]auth.MailboxEntry, error)
}

// Mailbox is the Transport of development without SMTP_URL: mails are kept in the database,
// the newest MailboxSize, for GET /dev/mailbox and the playground.
type Mailbox struct{ Store MailboxStore }

// Send keeps m.
func (b Mailbox) Send(ctx context.Context, m Message) error {
	return b.Store.AppendMailbox(ctx, auth.MailboxEntry{
		ID: m.ID, To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML, SentAt: m.Date,
	}, MailboxSize)
}

type mailboxJSON struct {
	ID      string    `json:"id"`
	To      string    `json:"to"`
	Subject string    `json:"subject"`
	Text    string    `json:"text"`
	HTML    string    `json:"html"`
	SentAt  time.Time `json:"sentAt"`
}

// MailboxHandler answers GET /dev/mailbox: the mails, newest first, as JSON. Register it in
// development only.
func MailboxHandler(store MailboxStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list, err := store.ListMailbox(r.Context(), MailboxSize)
		w.Header().Set("Cache-Control", "no-store")
		if err != nil {
			http.Error(w, `{"error":"mailbox unavailable"}`, http.StatusServiceUnavailable)
			return
		}
		out := make([]mailboxJSON, len(list))
		for i, e := range list {
			out[i] = mailboxJSON{ID: e.ID, To: e.To, Subject: e.Subject, Text: e.Text, HTML: e.HTML, SentAt: e.SentAt.UTC()}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
}
