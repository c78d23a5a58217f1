package auth

import (
	"encoding/base64"
	"errors"
	"maps"
)

// A prepared mail waits in the outbox with its link, and the link carries a live token: stored
// as it is, a copy of the database (a backup, a replica, a read-only SQL injection) would hold
// working reset links, though the tokens themselves are stored only as hashes. So the outbox
// keeps the link sealed, under the keys that seal TOTP secrets (MFAKeys, AES-GCM), bound to the
// mail's id; only the sender opens it, in memory, to deliver. The store clears it when the mail
// is finished.
const sealedLinkKey = "sealedLink"

// errLinkUnreadable: a queued mail's sealed link opens under none of the keys (they were
// rotated without keeping the old one); the mail can never be sent, so it is given up at once
// (ErrMailRejected) rather than retried for a day.
var errLinkUnreadable = errors.Join(ErrMailRejected, errors.New("the mail's sealed link opens under none of the keys"))

// sealedLink returns data for the store: data without its link, and the link sealed.
func (s *Service) sealedLink(mailID string, data map[string]string) map[string]string {
	link, ok := data["link"]
	if !ok || s.mfaKeys == nil {
		return data
	}
	stored := maps.Clone(data)
	delete(stored, "link")
	stored[sealedLinkKey] = base64.RawURLEncoding.EncodeToString(s.mfaKeys.seal(linkAAD(mailID), []byte(link)))
	return stored
}

// openLink is m with its sealed link opened into Data["link"], for delivery.
func (s *Service) openLink(m OutboxMail) (OutboxMail, error) {
	raw, ok := m.Data[sealedLinkKey]
	if !ok {
		return m, nil
	}
	sealed, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || s.mfaKeys == nil {
		return m, errLinkUnreadable
	}
	link, _, err := s.mfaKeys.open(linkAAD(m.ID), sealed)
	if err != nil {
		return m, errLinkUnreadable
	}
	data := maps.Clone(m.Data)
	delete(data, sealedLinkKey)
	data["link"] = string(link)
	m.Data = data
	return m, nil
}

// linkAAD binds a sealed link to its mail (and apart from any user's TOTP secret).
func linkAAD(mailID string) string { return "mail-link:" + mailID }
