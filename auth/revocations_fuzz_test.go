package auth

import (
	"testing"
)

// FuzzParseCursor: a cursor is accepted only in the one spelling formatCursor gives.
//
//	go test ./auth -run '^$' -fuzz FuzzParseCursor -fuzztime 60s
func FuzzParseCursor(f *testing.F) {
	for _, s := range []string{"c1.0", "c1.1", "c1.9223372036854775807", "c1.9223372036854775808", "c1.01", "c1.-1",
		"c1.+1", "c1.", "c1", "", "C1.1", "c1.1 ", " c1.1", "c1.1e3", "c1.0x10", "c2.5", "c1.١"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		seq, err := parseCursor(s)
		if err != nil {
			if err != ErrInvalidCursor || seq != 0 {
				t.Fatalf("parseCursor(%q) = %d, %v", s, seq, err)
			}
			return
		}
		if seq < 0 || formatCursor(seq) != s {
			t.Fatalf("parseCursor(%q) = %d, which formats as %q", s, seq, formatCursor(seq))
		}
		if again, err := parseCursor(formatCursor(seq)); err != nil || again != seq {
			t.Fatalf("round trip of %d: %d, %v", seq, again, err)
		}
	})
}
