package auth

import (
	"strings"
	"testing"
	"unicode"
)

// TestNormalizeEmailFolding: emails compare by Unicode full case folding after NFC. Each row is
// what the stored form of an address is; every spelling in a row names the same account.
func TestNormalizeEmailFolding(t *testing.T) {
	for _, tc := range []struct {
		name      string
		spellings []string
		want      string
	}{
		{"ASCII case", []string{"sam@example.com", "SAM@EXAMPLE.COM", " Sam@Example.Com "}, "sam@example.com"},
		{"long s (U+017F) is s", []string{"ſam@example.com", "\u017fAM@example.com"}, "sam@example.com"},
		{"final sigma, sigma and capital sigma are one", []string{"ς@example.com", "σ@example.com", "Σ@example.com"}, "σ@example.com"},
		{"Kelvin sign (U+212A) is k", []string{"\u212aate@example.com", "kate@example.com", "Kate@example.com"}, "kate@example.com"},
		{"ohm sign (U+2126) is omega", []string{"\u2126@example.com", "Ω@example.com", "ω@example.com"}, "ω@example.com"},
		{"angstrom sign (U+212B) is å", []string{"\u212b@example.com", "Å@example.com", "a\u030a@example.com"}, "å@example.com"},
		// Full folding, not simple: ß and capital ẞ are ss, as "MASSE" and "Maße" match.
		{"sharp s is ss", []string{"straße@example.com", "STRASSE@example.com", "stra\u1e9ee@example.com"}, "strasse@example.com"},
		{"ligature ﬁ is fi", []string{"ﬁle@example.com", "file@example.com", "FILE@example.com"}, "file@example.com"},
		// Dotted capital I folds to i + combining dot above (not to a plain i: that would need
		// the Turkic rules, which are for Turkish text, not for identifiers).
		{"dotted capital I is i + U+0307", []string{"\u0130@example.com", "i\u0307@example.com", "I\u0307@example.com"}, "i\u0307@example.com"},
		{"precomposed and decomposed é are one", []string{"é@example.com", "e\u0301@example.com", "É@example.com", "E\u0301@example.com"}, "é@example.com"},
		{"titlecase ǅ folds to ǆ", []string{"ǅ@example.com", "Ǆ@example.com", "ǆ@example.com"}, "ǆ@example.com"},
		{"ypogegrammeni is iota", []string{"\u0345@example.com", "ι@example.com", "Ι@example.com"}, "ι@example.com"},
		// Cherokee folds to the capitals (x/text gets this wrong on its own; see cherokeeFold).
		{"Cherokee small letters fold to capitals", []string{"\uab70@example.com", "\u13a0@example.com"}, "\u13a0@example.com"},
		{"Cherokee small letter YE folds to YE", []string{"\u13f8@example.com", "\u13f0@example.com"}, "\u13f0@example.com"},
		// Folding folds case; it does not make other variants equal.
		{"fullwidth letters fold within fullwidth", []string{"\uff33am@example.com", "\uff53am@example.com"}, "\uff53am@example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, s := range tc.spellings {
				got, err := NormalizeEmail(s, "email")
				if err != nil || got != tc.want {
					t.Errorf("NormalizeEmail(%+q) = %+q, %v; want %+q", s, got, err, tc.want)
				}
			}
		})
	}

	// Distinct addresses stay distinct.
	for _, pair := range [][2]string{
		{"ı@example.com", "i@example.com"},          // dotless i is its own letter without the Turkic rules
		{"\uff53am@example.com", "sam@example.com"}, // fullwidth is not ASCII (NFKC would merge them; NFC does not)
		{"sam@example.com", "sarn@example.com"},
		{"σ@example.com", "s@example.com"},
	} {
		a, errA := NormalizeEmail(pair[0], "email")
		b, errB := NormalizeEmail(pair[1], "email")
		if errA != nil || errB != nil || a == b {
			t.Errorf("%+q and %+q normalise to %+q, %+q (%v, %v); want two addresses", pair[0], pair[1], a, b, errA, errB)
		}
	}
}

// TestNormalizeEmailFoldIsFixedPoint: for every letter, mark, letter-like number and symbol of
// the planes that have case (0 and 1; above are ideographs and private use), alone and before a combining mark, the
// normal form normalises to itself, and (dotless ı aside, which upper-cases to I) so does its
// upper case: a stored email is found again whichever case the user types.
func TestNormalizeEmailFoldIsFixedPoint(t *testing.T) {
	for r := rune(0); r <= 0x1FFFF; r++ {
		if !unicode.In(r, unicode.L, unicode.M, unicode.Nl, unicode.So) { // the categories with case (Ⅰ, Ⓐ, U+0345 included)
			continue
		}
		for _, local := range []string{string(r), string(r) + "\u0301"} {
			out, err := NormalizeEmail(local+"@x", "email")
			if err != nil {
				continue
			}
			if again, err := NormalizeEmail(out, "email"); err != nil || again != out {
				t.Errorf("U+%04X: %+q -> %+q -> %+q, %v", r, local, out, again, err)
			}
			if strings.ContainsRune(out, 'ı') {
				continue
			}
			if up, err := NormalizeEmail(strings.ToUpper(out), "email"); err != nil || up != out {
				t.Errorf("U+%04X: upper case of %+q normalises to %+q, %v", r, out, up, err)
			}
		}
	}
}
