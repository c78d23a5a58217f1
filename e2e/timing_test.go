package e2e

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"testing"
	"time"

	"github.com/example/gqlauth/internal/servertest"
	"github.com/example/gqlauth/store/sqlite"
	"golang.org/x/crypto/bcrypt"
)

// TestNoEnumerationAfterCostRaise: accounts made at BCRYPT_COST=10 keep their cheaper hashes
// after a restart at 12 until their next successful login; a wrong password for them must still
// cost what an unknown email costs (medians within 20%), and a successful login still upgrades
// the hash to the new cost.
func TestNoEnumerationAfterCostRaise(t *testing.T) {
	if raceDetector {
		// Each sample is a cost-12 comparison: under -race over 3 minutes for the fewest samples
		// that give a meaningful median. The padding's concurrency is covered by the auth
		// package's TestHasherPadsLowerCosts, which runs under -race.
		t.Skip("bcrypt at cost 12 is too slow under the race detector; run without -race")
	}
	// No limits: the test makes many failures per account and address on purpose.
	env := servertest.Env(t, map[string]string{"BCRYPT_COST": "10", "RATE_LIMITS": "off"})
	old := startWithEnv(t, env)
	const accounts = 6
	for i := range accounts {
		old.register(t, fmt.Sprintf("old%d@example.com", i))
	}
	old.Stop()

	env = maps.Clone(env)
	env["BCRYPT_COST"] = "12"
	s := startWithEnv(t, env)
	s.login(t, "warm-up@example.com", "wrong guess 123") // lazy set-up outside the samples

	// Interleaved, alternating which goes first, so load from other processes hits both alike.
	// At least 6 pairs, more while the time allows (a loaded machine).
	var unknown, wrong []time.Duration
	began := time.Now()
	for i := 0; i < 20 && (i < 6 || time.Since(began) < 40*time.Second); i++ {
		unknownAttempt := func() {
			start := time.Now()
			_, r := s.login(t, fmt.Sprintf("nobody%d@example.com", i), "wrong guess 123")
			unknown = append(unknown, time.Since(start))
			expectError(t, r, "UNAUTHENTICATED", "INVALID_CREDENTIALS")
		}
		wrongAttempt := func() {
			start := time.Now()
			_, r := s.login(t, fmt.Sprintf("old%d@example.com", i%accounts), "wrong guess 123")
			wrong = append(wrong, time.Since(start))
			expectError(t, r, "UNAUTHENTICATED", "INVALID_CREDENTIALS")
		}
		if i%2 == 0 {
			unknownAttempt()
			wrongAttempt()
		} else {
			wrongAttempt()
			unknownAttempt()
		}
	}
	mu, mw := median(unknown), median(wrong)
	ratio := float64(mw) / float64(mu)
	t.Logf("after the cost went from 10 to 12, %d pairs: median unknown email %v, wrong password of an old account %v (ratio %.2f)", len(unknown), mu, mw, ratio)
	if ratio < 0.8 || ratio > 1.2 {
		t.Errorf("timing reveals old accounts: unknown %v vs wrong password %v", mu, mw)
	}

	// The right password still signs in and upgrades the stored hash to the new cost.
	_, r := s.login(t, "old0@example.com", testPassword)
	expectOK(t, r)
	s.Stop()
	for i, want := range []int{12, 10} { // old0 upgraded, old1 untouched
		if got := storedCost(t, env["DATA_DIR"], fmt.Sprintf("old%d@example.com", i)); got != want {
			t.Errorf("old%d: hash cost %d, want %d", i, got, want)
		}
	}
}

// storedCost opens the data folder's SQLite database (the server stopped) and returns the bcrypt
// cost of email's stored hash.
func storedCost(t *testing.T, dataDir, email string) int {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(dataDir, "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, err := st.UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	cost, err := bcrypt.Cost([]byte(u.PasswordHash))
	if err != nil {
		t.Fatal(err)
	}
	return cost
}
