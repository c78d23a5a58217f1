package auth

import (
	"bufio"
	"context"
	_ "embed"
	"errors"
	"strconv"
	"strings"
	"sync"
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
//
// Every failed comparison costs what one comparison at the current cost costs, so the time of a
// wrong answer says nothing about the account: an unknown email is compared against a dummy hash
// of the current cost, and a wrong password for a hash made at a lower cost (BCRYPT_COST was
// raised since) is followed by dummy comparisons at that lower cost until the total matches.
type Hasher struct {
	cost         int
	pool         *bcryptPool // the hashing threads (bcryptpool.go)
	queueTimeout time.Duration
	dummies      [bcrypt.MaxCost + 1]dummyHash // by cost, each made on first use
	// OnWait, when set, observes how long a caller waited for a slot (metrics).
	OnWait func(time.Duration)
}

const dummyPassword = "dummy password for unknown accounts"

type dummyHash struct {
	once sync.Once
	hash []byte
	err  error
}

// NewHasher makes a Hasher of the given cost allowing `slots` concurrent bcrypt operations.
func NewHasher(cost, slots int, queueTimeout time.Duration) (*Hasher, error) {
	if slots < 1 {
		slots = 1
	}
	h := &Hasher{cost: cost, pool: newBcryptPool(slots), queueTimeout: queueTimeout}
	if _, _, err := h.dummy(cost); err != nil { // the current cost's is needed at once
		return nil, err
	}
	return h, nil
}

// dummy returns the dummy hash of cost, making it on first use (made reports that: making a
// hash costs what comparing against it does). Each cost is made once, without holding up the
// others.
func (h *Hasher) dummy(cost int) (hash []byte, made bool, err error) {
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return nil, false, bcrypt.InvalidCostError(cost)
	}
	d := &h.dummies[cost]
	d.once.Do(func() {
		d.hash, d.err = bcrypt.GenerateFromPassword([]byte(dummyPassword), cost)
		made = true
	})
	return d.hash, made, d.err
}

// Hash returns the bcrypt hash of password.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	var (
		b   []byte
		err error
	)
	if perr := h.pool.do(ctx, h.queueTimeout, h.OnWait, func() {
		b, err = bcrypt.GenerateFromPassword([]byte(password), h.cost)
	}); perr != nil {
		return "", perr
	}
	return string(b), err
}

// Compare reports whether password matches hash. An empty hash (unknown account) is compared
// against a dummy hash of the current cost so the answer takes the same time; it never matches.
// needsRehash is true when the stored hash was made at another cost.
//
// The whole comparison, padding included, runs as one job on one hashing thread: the slots
// bound the bcrypt work in flight, and padding is bcrypt work.
func (h *Hasher) Compare(ctx context.Context, hash, password string) (ok, needsRehash bool, err error) {
	if perr := h.pool.do(ctx, h.queueTimeout, h.OnWait, func() {
		ok, needsRehash, err = h.compare(hash, password)
	}); perr != nil {
		return false, false, perr
	}
	return ok, needsRehash, err
}

// compare is Compare's work, on a hashing thread.
func (h *Hasher) compare(hash, password string) (ok, needsRehash bool, err error) {
	if hash == "" {
		d, _, err := h.dummy(h.cost)
		if err != nil {
			return false, false, err
		}
		_ = bcrypt.CompareHashAndPassword(d, []byte(password))
		return false, false, nil
	}
	err = bcrypt.CompareHashAndPassword([]byte(hash), []byte(password))
	if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
		h.padFailure([]byte(hash), password)
		return false, false, nil
	}
	if err != nil {
		return false, false, err
	}
	cost, err := bcrypt.Cost([]byte(hash))
	return true, err == nil && cost != h.cost, nil
}

// padFailure follows a failed comparison against a hash of cost c below the current cost C
// with 2^(C-c) − 1 comparisons against a dummy hash of cost c: bcrypt's work doubles with each
// cost step, so the total is one comparison at cost C, what an unknown email costs.
//
// A hash of a cost above the current one (BCRYPT_COST was lowered) is not padded and cannot be
// made cheaper: a wrong password for such an account takes longer than an unknown email until
// the account's next successful login re-hashes it at the new cost. Padding every failure up to
// the highest cost still stored would take back the CPU the operator lowered the cost to save,
// and this instance cannot know that cost before it meets such a hash.
func (h *Hasher) padFailure(hash []byte, password string) {
	cost, err := bcrypt.Cost(hash)
	if err != nil || cost >= h.cost {
		return
	}
	d, made, err := h.dummy(cost)
	if err != nil {
		return
	}
	rounds := 1<<(h.cost-cost) - 1
	if made {
		rounds--
	}
	for range rounds {
		_ = bcrypt.CompareHashAndPassword(d, []byte(password))
	}
}
