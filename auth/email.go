package auth

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

const (
	maxEmailBytes     = 254
	maxEmailLocalPart = 64
)

// NormalizeEmail trims an email, brings it to its case-folded form (foldEmail) and checks it is
// one local@domain address without whitespace or control characters, a local part of at most
// 64 bytes and at most 254 bytes in all (of the folded form, which is what is stored). The
// result is the form stored and compared, so two spellings that differ only in case (in the
// Unicode sense: ſ and s, ς and σ, the Kelvin sign and k, ß and ss) are one account. The error
// is an *InputError for field.
func NormalizeEmail(raw, field string) (string, error) {
	bad := func(msg string) (string, error) { return "", &InputError{Field: field, Message: msg} }
	if len(raw) > 4*maxEmailBytes { // refuse absurd input before normalising it
		return bad("email is too long")
	}
	if !utf8.ValidString(raw) {
		return bad("email is not valid UTF-8")
	}
	e := foldEmail(strings.TrimSpace(raw))
	if e == "" {
		return bad("email is required")
	}
	if len(e) > maxEmailBytes {
		return bad("email is longer than 254 bytes")
	}
	for _, r := range e {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError {
			return bad("email must not contain whitespace or control characters")
		}
	}
	at := strings.IndexByte(e, '@')
	if at <= 0 || at != strings.LastIndexByte(e, '@') || at == len(e)-1 {
		return bad("email must be one address of the form local@domain")
	}
	if at > maxEmailLocalPart {
		return bad("the part before @ is longer than 64 bytes")
	}
	domain := e[at+1:]
	if strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return bad("email domain is malformed")
	}
	if strings.ContainsAny(e, "<>(),;:\\\"[]") {
		return bad("email contains characters not allowed in an address")
	}
	return e, nil
}

// foldEmail is NFC, then Unicode full case folding (CaseFolding.txt, statuses C and F, without
// the Turkic special cases), then NFC again. Lower-casing is not enough: it leaves ſ, ς, ß and
// others as they are, which would let `ſam@…` register beside `sam@…`. The second NFC is
// needed because folding can undo NFC (İ folds to i + U+0307; ǰ to j + U+030C), and the stored
// form must be NFC and a fixed point: folding it again changes nothing.
func foldEmail(s string) string {
	// A Caser keeps state, so each call takes its own.
	s = cases.Fold().String(norm.NFC.String(s))
	s = strings.Map(cherokeeFold, s)
	return norm.NFC.String(s)
}

// cherokeeFold corrects golang.org/x/text's folding of Cherokee. Unicode folds the small letters
// (U+AB70–U+ABBF, U+13F8–U+13FD, added in Unicode 8) to the capitals (U+13A0–U+13F5), which
// fold to themselves; x/text does the first but also folds the capitals to the small letters,
// so its result is not a fixed point (U+13A0 → U+AB70 → U+13A0). Mapping the small letters to
// the capitals after x/text's fold gives Unicode's answer for both. (Found by comparing every
// code point with Python's str.casefold; Cherokee was the only difference.)
func cherokeeFold(r rune) rune {
	switch {
	case r >= 0xAB70 && r <= 0xABBF:
		return r - 0xAB70 + 0x13A0
	case r >= 0x13F8 && r <= 0x13FD:
		return r - 0x13F8 + 0x13F0
	}
	return r
}
