package auth

import (
	"bufio"
	"context"
	_ "embed"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// MaxPasswordBytes is bcrypt's input limit. Longer passwords are refused, never truncated:
// bcrypt would silently ignore the rest, so two passwords sharing 72 bytes would both work.
const MaxPasswordBytes = 72

// commonPasswords are the 10,000 most common passwords, lower case, most common first, from
// zxcvbn 4.4.2's frequency list (MIT licence, Dropbox), as NIST SP 800-63B §5.1.1.2 advises.
//
//go:embed common-passwords.txt
var commonPasswordsText string

// commonPasswords maps each to its rank (0 = the most common).
var commonPasswords = func() map[string]int {
	ranks := make(map[string]int, 10000)
	sc := bufio.NewScanner(strings.NewReader(commonPasswordsText))
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" {
			if _, dup := ranks[w]; !dup {
				ranks[w] = len(ranks)
			}
		}
	}
	return ranks
}()

// CommonPasswordRank reports whether lower (lower case) is one of the 10,000 most common
// passwords and its rank (0 = the most common): a guesser tries it among the first rank+1.
func CommonPasswordRank(lower string) (rank int, common bool) {
	rank, common = commonPasswords[lower]
	return rank, common
}

// PasswordPolicy follows NIST SP 800-63B: a minimum length, bcrypt's maximum, no common
// passwords, not the email; no composition rules.
type PasswordPolicy struct {
	MinLength int // in characters (runes); 8 when zero
}

// Check returns an *InputError for field when password is not acceptable for the account email.
func (p PasswordPolicy) Check(password, email, field string) error {
	bad := func(msg string) error { return &InputError{Field: field, Message: msg} }
	minLen := p.MinLength
	if minLen <= 0 {
		minLen = 8
	}
	switch {
	case !utf8.ValidString(password):
		return bad("password is not valid UTF-8")
	case len(password) > MaxPasswordBytes:
		return bad("password is longer than 72 bytes")
	case utf8.RuneCountInString(password) < minLen:
		return bad("password is shorter than " + strconv.Itoa(minLen) + " characters")
	}
	lower := strings.ToLower(password)
	if _, common := commonPasswords[lower]; common {
		return bad("password is too common")
	}
	if email != "" && strings.EqualFold(strings.TrimSpace(password), email) {
		return bad("password must not be the email")
	}
	return nil
}

// Hasher hashes and compares passwords with bcrypt, at most `slots` at a time: a flood of logins
// waits in a queue (up to the context's deadline or queueTimeout) instead of starving every
// other request of CPU.
type Hasher struct {
	cost         int
	slots        chan struct{}
	queueTimeout time.Duration
	dummyHash    []byte // compared against for unknown emails, so they cost the same time
	// OnWait, when set, observes how long a caller waited for a slot (metrics).
	OnWait func(time.Duration)
}

// NewHasher makes a Hasher of the given cost allowing `slots` concurrent bcrypt operations.
func NewHasher(cost, slots int, queueTimeout time.Duration) (*Hasher, error) {
	if slots < 1 {
		slots = 1
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte("dummy password for unknown accounts"), cost)
	if err != nil {
		return nil, err
	}
	return &Hasher{cost: cost, slots: make(chan struct{}, slots), queueTimeout: queueTimeout, dummyHash: dummy}, nil
}

func (h *Hasher) acquire(ctx context.Context) error {
	start := time.Now()
	timer := time.NewTimer(h.queueTimeout)
	defer timer.Stop()
	select {
	case h.slots <- struct{}{}:
		if h.OnWait != nil {
			h.OnWait(time.Since(start))
		}
		return nil
	case <-timer.C:
		return ErrBusy
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.slots }

// Hash returns the bcrypt hash of password.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	b, err := bcrypt.GenerateFromPassword([]byte(password), h.cost)
	return string(b), err
}

// Compare reports whether password matches hash. An empty hash (unknown account) is compared
// against a dummy hash of the current cost so the answer takes the same time; it never matches.
// needsRehash is true when the stored hash was made at another cost.
func (h *Hasher) Compare(ctx context.Context, hash, password string) (ok, needsRehash bool, err error) {
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	if hash == "" {
		_ = bcrypt.CompareHashAndPassword(h.dummyHash, []byte(password))
		return false, false, nil
	}
	err = bcrypt.CompareHashAndPassword([]byte(hash), []byte(password))
	if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
		return false, false, nil
	}
	if err != nil {
		return false, false, err
	}
	cost, err := bcrypt.Cost([]byte(hash))
	return true, err == nil && cost != h.cost, nil
}
