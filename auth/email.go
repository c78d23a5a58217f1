package auth

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

const (
	maxEmailBytes     = 254
	maxEmailLocalPart = 64
)

// NormalizeEmail trims, NFC-normalises and lower-cases an email and checks it is one
// local@domain address without whitespace or control characters, a local part of at most 64
// bytes and at most 254 bytes in all. The result is the form stored and compared, so emails are
// unique regardless of case. The error is an *InputError for field.
func NormalizeEmail(raw, field string) (string, error) {
	bad := func(msg string) (string, error) { return "", &InputError{Field: field, Message: msg} }
	if len(raw) > 4*maxEmailBytes { // refuse absurd input before normalising it
		return bad("email is too long")
	}
	if !utf8.ValidString(raw) {
		return bad("email is not valid UTF-8")
	}
	// NFC again after lowering: lowering can undo NFC (U+0130 İ lowers to a plain i, which then
	// composes with a following combining mark), and the stored form must be NFC and a fixed point.
	e := norm.NFC.String(strings.ToLower(norm.NFC.String(strings.TrimSpace(raw))))
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
