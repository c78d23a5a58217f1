package auth

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

var refoldT0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func stored(id, email string, age int) StoredEmail {
	return StoredEmail{UserID: id, Email: email, CreatedAt: refoldT0.Add(time.Duration(age) * time.Hour)}
}

// TestPlanEmailRefold: the collision policy. An account already storing the folded address
// keeps it; otherwise the oldest account gets it; the others keep their stored spelling.
func TestPlanEmailRefold(t *testing.T) {
	for _, tc := range []struct {
		name       string
		accounts   []StoredEmail
		updates    []EmailUpdate
		collisions []EmailCollision
		invalid    []string
	}{
		{"nothing to do", []StoredEmail{stored("u1", "sam@example.com", 0)}, nil, nil, nil},
		{"one account is refolded",
			[]StoredEmail{stored("u1", "ſam@example.com", 0)},
			[]EmailUpdate{{"u1", "sam@example.com"}}, nil, nil},
		{"the account storing the address keeps it, even when newer",
			[]StoredEmail{stored("u1", "ſam@example.com", 0), stored("u2", "sam@example.com", 5)},
			nil, []EmailCollision{{"sam@example.com", "u2", []string{"u1"}}}, nil},
		{"without a holder the oldest gets it",
			[]StoredEmail{stored("u3", "straße@example.com", 3), stored("u1", "straſſe@example.com", 1), stored("u2", "strasſe@example.com", 2)},
			[]EmailUpdate{{"u1", "strasse@example.com"}},
			[]EmailCollision{{"strasse@example.com", "u1", []string{"u2", "u3"}}}, nil},
		{"equal ages: the smaller id",
			[]StoredEmail{stored("u7", "sſ@example.com", 0), stored("u6", "ſſ@example.com", 0), stored("u5", "ſs@example.com", 0), stored("u4", "ς@example.com", 0)},
			[]EmailUpdate{{"u4", "σ@example.com"}, {"u5", "ss@example.com"}},
			[]EmailCollision{{"ss@example.com", "u5", []string{"u6", "u7"}}}, nil},
		{"an email the rules now refuse is left alone",
			// 32 × ŉ is a 64-byte local part; folded (ʼn) it is 96 bytes.
			[]StoredEmail{stored("u1", strings.Repeat("ŉ", 32)+"@example.com", 0), stored("u2", "ſ@example.com", 0)},
			[]EmailUpdate{{"u2", "s@example.com"}}, nil, []string{"u1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := PlanEmailRefold(tc.accounts)
			sortUpdates := func(u []EmailUpdate) []EmailUpdate {
				u = slices.Clone(u)
				slices.SortFunc(u, func(a, b EmailUpdate) int { return strings.Compare(a.UserID, b.UserID) })
				return u
			}
			if !slices.Equal(sortUpdates(plan.Updates), sortUpdates(tc.updates)) {
				t.Errorf("updates = %+q, want %+q", plan.Updates, tc.updates)
			}
			if !slices.EqualFunc(plan.Collisions, tc.collisions, func(a, b EmailCollision) bool {
				return a.Email == b.Email && a.Holder == b.Holder && slices.Equal(a.Others, b.Others)
			}) {
				t.Errorf("collisions = %+q, want %+q", plan.Collisions, tc.collisions)
			}
			if !slices.Equal(plan.Invalid, tc.invalid) {
				t.Errorf("invalid = %q, want %q", plan.Invalid, tc.invalid)
			}
		})
	}
}

// TestPlanEmailRefoldKeepsEmailsUnique: on random sets of accounts spelled with letters that
// fold together, applying the updates one at a time never puts two accounts on one email, and
// afterwards every address has exactly one account storing it.
func TestPlanEmailRefoldKeepsEmailsUnique(t *testing.T) {
	letters := []string{"s", "ſ", "ß", "σ", "ς", "k", "a"}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 2000 {
		byEmail := map[string]string{} // stored email → user id (the unique constraint)
		var accounts []StoredEmail
		for i := range rng.IntN(8) + 1 {
			var local strings.Builder
			for range rng.IntN(3) + 1 {
				local.WriteString(letters[rng.IntN(len(letters))])
			}
			email := local.String() + "@x"
			if _, taken := byEmail[email]; taken {
				continue
			}
			id := "u" + string(rune('a'+i))
			byEmail[email] = id
			accounts = append(accounts, stored(id, email, rng.IntN(3)))
		}
		// What a store does: every account through the scan, then the holders of the targets.
		var scan EmailRefoldScan
		for _, a := range accounts {
			scan.Add(a)
		}
		for _, target := range scan.Targets() {
			for _, a := range accounts {
				if a.Email == target {
					scan.AddHolder(a)
				}
			}
		}
		plan := scan.Plan()
		emailOf := map[string]string{}
		for _, a := range accounts {
			emailOf[a.UserID] = a.Email
		}
		for _, u := range plan.Updates {
			if other, taken := byEmail[u.Email]; taken && other != u.UserID {
				t.Fatalf("round %d: update %+v takes the email of %s (accounts %+q)", round, u, other, accounts)
			}
			delete(byEmail, emailOf[u.UserID])
			byEmail[u.Email], emailOf[u.UserID] = u.UserID, u.Email
		}
		targets := map[string]bool{}
		for _, a := range accounts {
			n, _ := needsRefold(a.Email)
			targets[n] = true
		}
		for target := range targets {
			if _, ok := byEmail[target]; !ok {
				t.Fatalf("round %d: no account stores %q after the plan (accounts %+q, plan %+v)", round, target, accounts, plan)
			}
		}
	}
}
