package config

import (
	"fmt"
	"math"
	"strings"
	"unicode"

	"github.com/example/gqlauth/auth"
)

// minSecretBits is the entropy production asks of JWT_SECRET. Anyone holding one token can
// guess the key offline, as fast as they can compute HMACs; at 10^12 guesses a second, 2^96
// guesses take two and a half billion years. A key of 16 random bytes in hex (128 bits, the
// shortest that is 32 bytes long) clears it with room to spare, so real random keys never fail.
const minSecretBits = 96

// knownPlaceholderKeys are example keys copied from tutorials and templates; a production
// service must not sign with them.
var knownPlaceholderKeys = []string{
	"09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7", // FastAPI's docs
	"your-secret-key", "your_secret_key", "secret", "changeme", "change-me", "change_me",
	"supersecret", "super-secret", "mysecret", "my-secret", "jwt-secret", "jwt_secret",
	"secret-key", "secretkey", "your-256-bit-secret", "replace-me", "placeholder",
}

var placeholderRunes = func() [][]rune {
	out := make([][]rune, len(knownPlaceholderKeys))
	for i, p := range knownPlaceholderKeys {
		out[i] = []rune(p)
	}
	return out
}()

func hasRunePrefix(s, prefix []rune) bool {
	if len(prefix) > len(s) {
		return false
	}
	for i, r := range prefix {
		if s[i] != r {
			return false
		}
	}
	return true
}

// secretAnalysisRunes bounds the work on a long secret: if its first 256 characters hold
// enough entropy, the rest can only add to it.
const secretAnalysisRunes = 256

// weakSecretReason says why a production JWT_SECRET is guessable, or "" when it is not: its
// estimated entropy is below minSecretBits. The estimate reads the secret as a guesser would
// try it, piece by piece, each piece the cheapest of: a well-known placeholder key (the
// FastAPI example key, changeme, …), a repeat of something earlier (secretsecret…, abab…), a
// run of sequential characters (1234…, abcd…, qwerty…), one of the 10,000 most common
// passwords (so a word repeated is the word, then its repeat), or else one character from the
// classes the secret uses (lower case, upper case, digits, symbols, other). And it is never
// more than a string of its length over its own distinct characters can hold (too few
// distinct bytes for the length). The reason never contains the secret.
func weakSecretReason(secret string) string {
	bits, why := secretEntropy([]rune(secret))
	if bits < minSecretBits {
		return fmt.Sprintf("is guessable: about %d bits of entropy (%s), at least %d are required; "+
			"generate a random one (openssl rand -base64 48)", int(bits), why, minSecretBits)
	}
	return ""
}

// secretEntropy estimates the bits of entropy in s and names what costs it the most.
func secretEntropy(s []rune) (float64, string) {
	if len(s) > secretAnalysisRunes {
		s = s[:secretAnalysisRunes]
	}
	lower := make([]rune, len(s))
	for i, r := range s {
		lower[i] = unicode.ToLower(r)
	}
	text := newRuneText(lower)
	charBits := math.Log2(float64(charClassSize(s)))

	saved := map[string]float64{} // bits a pattern saved over random characters, by pattern
	var bits float64
	for i := 0; i < len(lower); {
		n, cost, kind := cheapestPattern(text, i, charBits)
		if n == 0 { // a character of its own
			bits += charBits
			i++
			continue
		}
		bits += cost
		saved[kind] += float64(n)*charBits - cost
		i += n
	}
	why, most := "", 0.0
	for kind, b := range saved {
		if b > most || (b == most && kind < why) {
			why, most = kind, b
		}
	}
	// A string over d distinct characters holds at most len·log2(d) bits, however it looks.
	if bound := float64(len(s)) * math.Log2(float64(distinctRunes(s))); bound < bits {
		bits, why = bound, "few distinct characters for its length"
	}
	if why == "" {
		why = "too short for its characters"
	}
	return bits, why
}

// cheapestPattern is the pattern at s[i:] that saves the most bits over random characters of
// charBits each: its length in characters, its cost in bits and its kind; length 0 when none
// saves anything.
func cheapestPattern(text runeText, i int, charBits float64) (int, float64, string) {
	s := text.runes
	best, bestCost, bestKind, bestSaving := 0, 0.0, "", 0.0
	try := func(n int, cost float64, kind string) {
		if saving := float64(n)*charBits - cost; n > 0 && saving > bestSaving {
			best, bestCost, bestKind, bestSaving = n, cost, kind, saving
		}
	}
	// A placeholder: which one.
	for _, p := range placeholderRunes {
		if hasRunePrefix(s[i:], p) {
			try(len(p), math.Log2(float64(len(placeholderRunes))), "a well-known placeholder key")
		}
	}
	// A repeat: which earlier position it copies, and how long it is.
	if n := longestRepeat(s, i); n >= 3 {
		try(n, math.Log2(float64(i+1))+math.Log2(float64(n)), "a repeated pattern")
	}
	// A sequential run: its first character, its direction and its length.
	if n := sequentialRun(s, i); n >= 3 {
		try(n, charBits+1+math.Log2(float64(n)), "a run of sequential characters")
	}
	// A common password: its rank in the list.
	for n := min(len(s)-i, maxCommonPasswordRunes); n >= 4; n-- {
		if rank, common := auth.CommonPasswordRank(text.slice(i, i+n)); common {
			try(n, math.Log2(float64(rank+2)), "common words")
			break // the longest; shorter words inside it save less
		}
	}
	return best, bestCost, bestKind
}

// runeText is a string with the byte offset of each rune, so that a slice of runes is a
// substring (no copy) for map lookups.
type runeText struct {
	runes []rune
	str   string
	off   []int // off[i] is where rune i starts; off[len(runes)] = len(str)
}

func newRuneText(runes []rune) runeText {
	t := runeText{runes: runes, str: string(runes), off: make([]int, 0, len(runes)+1)}
	for i := range t.str {
		t.off = append(t.off, i)
	}
	t.off = append(t.off, len(t.str))
	return t
}

func (t runeText) slice(i, j int) string { return t.str[t.off[i]:t.off[j]] }

// maxCommonPasswordRunes is the length of the longest common password (auth's list) worth
// looking up.
const maxCommonPasswordRunes = 20

// longestRepeat is the length of the longest s[i:i+n] that also starts at an earlier position
// (the copy may overlap it: abababab is ab, then a repeat of 6).
func longestRepeat(s []rune, i int) int {
	best := 0
	for j := 0; j < i; j++ {
		n := 0
		for i+n < len(s) && s[j+n] == s[i+n] {
			n++
		}
		best = max(best, n)
	}
	return best
}

// sequences are the orders a person types characters in: the alphabet, the digits, and the
// rows of a QWERTY keyboard.
var sequences = []string{"abcdefghijklmnopqrstuvwxyz", "0123456789", "1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm"}

// sequentialRun is the length of the longest run at s[i:] that steps through one of the
// sequences by one place in one direction (cba and 9876 count too).
func sequentialRun(s []rune, i int) int {
	best := 0
	for _, seq := range sequences {
		pos := func(r rune) int { return strings.IndexRune(seq, r) }
		if i+1 >= len(s) || pos(s[i]) < 0 || pos(s[i+1]) < 0 {
			continue
		}
		step := pos(s[i+1]) - pos(s[i])
		if step != 1 && step != -1 {
			continue
		}
		n := 2
		for i+n < len(s) && pos(s[i+n]) >= 0 && pos(s[i+n])-pos(s[i+n-1]) == step {
			n++
		}
		best = max(best, n)
	}
	return best
}

// charClassSize is how many characters a guesser tries at each position of s: the sizes of
// the classes s draws from.
func charClassSize(s []rune) int {
	var lower, upper, digit, symbol, other bool
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= '0' && r <= '9':
			digit = true
		case r < 0x80:
			symbol = true
		default:
			other = true
		}
	}
	size := 0
	for _, c := range []struct {
		has  bool
		size int
	}{{lower, 26}, {upper, 26}, {digit, 10}, {symbol, 33}, {other, 100}} {
		if c.has {
			size += c.size
		}
	}
	return max(size, 1)
}

func distinctRunes(s []rune) int {
	seen := map[rune]bool{}
	for _, r := range s {
		seen[r] = true
	}
	return max(len(seen), 1)
}
