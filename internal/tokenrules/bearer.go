package tokenrules

import "strings"

// Bearer reads the Authorization header values of one request (RFC 6750 §2.1): no value, or
// one that is blank, is no token (missing = true; Apollo Client's documented auth link sends
// `authorization: ""` when signed out). More than one value is refused outright, since proxies
// and frameworks disagree about which one counts; so is any other scheme or a value that is not
// a token68.
func Bearer(values []string) (token string, missing bool, err error) {
	switch len(values) {
	case 0:
		return "", true, nil
	case 1:
		if strings.TrimSpace(values[0]) == "" {
			return "", true, nil
		}
	default:
		return "", false, ErrMalformed
	}
	token, ok := ParseBearer(values[0])
	if !ok {
		return "", false, ErrMalformed
	}
	return token, false, nil
}

// ParseBearer extracts the token of an `Authorization: Bearer <token>` value (the scheme name
// is case-insensitive). It refuses other schemes, a missing token, and anything but the token68
// characters, so a header cannot smuggle spaces or commas into the verifier.
func ParseBearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimLeft(token, " ")
	if token == "" || len(token) > MaxTokenBytes {
		return "", false
	}
	if !all(token, token68Chars) {
		return "", false
	}
	return token, true
}

// The bytes a token may hold, as tables: a loop over a switch costs about a nanosecond a byte,
// and every authenticated request reads its access token (~500 bytes) twice, here and in Shape.
var (
	token68Chars = charset("-._~+/=") // RFC 7235's token68
	jwsChars     = charset("-_.")     // base64url segments and their dots
)

// charset is the letters and digits and extra.
func charset(extra string) *[256]bool {
	var t [256]bool
	for c := range 256 {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(extra, byte(c)) >= 0
	}
	return &t
}

// all reports whether every byte of s is in set.
func all(s string, set *[256]bool) bool {
	for i := 0; i < len(s); i++ {
		if !set[s[i]] {
			return false
		}
	}
	return true
}
