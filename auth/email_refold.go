package auth

import (
	"cmp"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// EmailRefoldMigration is the name under which each store records that it brought its stored
// emails to NormalizeEmail's current form (full case folding; before, emails were only
// lower-cased). SQL cannot fold Unicode, so it is a step in Go, run once after the SQL
// migrations that precede it by name, and recorded like them.
const EmailRefoldMigration = "0006_fold_emails"

// StoredEmail is an account's email as a store holds it.
type StoredEmail struct {
	UserID    string
	Email     string
	CreatedAt time.Time
}

// needsRefold reports whether a stored email is not in today's normal form, and that form
// (target); an email today's rules refuse needs it too (target is then empty).
func needsRefold(stored string) (target string, needs bool) {
	n, err := NormalizeEmail(stored, "email")
	if err != nil {
		return "", true
	}
	return n, n != stored
}

// EmailRefoldScan collects what PlanEmailRefold needs while a store reads every account once,
// keeping only the few that matter (only non-ASCII emails can change).
type EmailRefoldScan struct {
	accounts []StoredEmail
	targets  map[string]bool
}

// Add takes one account; it is kept if its email is not in today's normal form.
func (s *EmailRefoldScan) Add(a StoredEmail) {
	target, needs := needsRefold(a.Email)
	if !needs {
		return
	}
	s.accounts = append(s.accounts, a)
	if target != "" {
		if s.targets == nil {
			s.targets = map[string]bool{}
		}
		s.targets[target] = true
	}
}

// Targets are the addresses the kept accounts now fold to, sorted. The store looks each up by
// exact email and passes the account holding it, if any, to AddHolder.
func (s *EmailRefoldScan) Targets() []string {
	out := make([]string, 0, len(s.targets))
	for t := range s.targets {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// AddHolder takes the account that already stores one of the Targets.
func (s *EmailRefoldScan) AddHolder(a StoredEmail) { s.accounts = append(s.accounts, a) }

// Plan decides (PlanEmailRefold).
func (s *EmailRefoldScan) Plan() EmailRefold { return PlanEmailRefold(s.accounts) }

// EmailRefold is what a store does to bring its stored emails to today's normal form.
type EmailRefold struct {
	// Updates set an account's email. No update takes an address another account holds, at
	// any point, so they may be applied in any order under the unique constraint.
	Updates []EmailUpdate
	// Collisions are groups of accounts whose stored emails now name one address.
	Collisions []EmailCollision
	// Invalid are accounts whose stored email today's rules refuse; they are left as they are.
	Invalid []string
}

// EmailUpdate sets UserID's stored email to Email.
type EmailUpdate struct{ UserID, Email string }

// EmailCollision is a group of accounts whose stored emails are different spellings of one
// address (such as sam@… and ſam@…, registered before folding). Holder has the address (it
// signs in with any spelling of it); Others keep their stored spellings, still unique, and
// cannot sign in by email until an administrator resolves the collision. Nothing is merged or
// deleted.
type EmailCollision struct {
	Email  string
	Holder string
	Others []string
}

// PlanEmailRefold decides the stored email of each account in accounts, which must hold every
// account whose email is not in today's normal form and every account whose stored email is
// the normal form of one of those (EmailRefoldScan collects them). In a group of accounts that now name one address, the
// account already storing that address keeps it; if none does, the oldest account (CreatedAt,
// then ID) gets it. Either way the others keep what they store, so stored emails stay unique
// and the account that signed in with the address before still does.
func PlanEmailRefold(accounts []StoredEmail) EmailRefold {
	var plan EmailRefold
	groups := map[string][]StoredEmail{}
	for _, a := range accounts {
		target, needs := needsRefold(a.Email)
		if needs && target == "" {
			plan.Invalid = append(plan.Invalid, a.UserID)
			continue
		}
		groups[target] = append(groups[target], a)
	}
	targets := make([]string, 0, len(groups))
	for t := range groups {
		targets = append(targets, t)
	}
	slices.Sort(targets) // deterministic output
	for _, target := range targets {
		group := groups[target]
		// Oldest first; an account already storing the address is the holder wherever it is.
		slices.SortFunc(group, func(a, b StoredEmail) int {
			return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.UserID, b.UserID))
		})
		h := max(0, slices.IndexFunc(group, func(a StoredEmail) bool { return a.Email == target }))
		holder := group[h]
		if holder.Email != target {
			plan.Updates = append(plan.Updates, EmailUpdate{UserID: holder.UserID, Email: target})
		}
		if len(group) > 1 {
			c := EmailCollision{Email: target, Holder: holder.UserID}
			for i, a := range group {
				if i != h {
					c.Others = append(c.Others, a.UserID)
				}
			}
			plan.Collisions = append(plan.Collisions, c)
		}
	}
	slices.Sort(plan.Invalid)
	return plan
}

// Warn logs one warning naming the accounts of every collision (holder first) and one naming
// the accounts left invalid, by user id only (logs are no place for emails), so that an
// administrator can resolve them. It logs nothing when there is nothing to resolve.
func (p EmailRefold) Warn(log *slog.Logger) {
	if log == nil {
		return
	}
	if len(p.Collisions) > 0 {
		groups := make([][]string, len(p.Collisions))
		for i, c := range p.Collisions {
			groups[i] = append([]string{c.Holder}, c.Others...)
		}
		log.Warn("accounts whose emails differ only in case now name one address: in each group the first account keeps it, "+
			"the others keep their old spelling and cannot sign in by email until an administrator resolves it",
			"migration", EmailRefoldMigration, "collisions", len(groups), "accounts", groups)
	}
	if len(p.Invalid) > 0 {
		log.Warn("accounts whose stored email the current email rules refuse were left unchanged",
			"migration", EmailRefoldMigration, "accounts", p.Invalid)
	}
}
