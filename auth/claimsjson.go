package auth

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// marshalClaims is json.Marshal(c), byte for byte, without its reflection: the claims of
// every access token are written in the order and with the omissions of their struct tags
// (RegisteredClaims first), numeric dates as golang-jwt writes them at its default precision
// (whole seconds), aud as an array. A string that needs escaping, or a changed jwt setting,
// goes through encoding/json. json.Marshal took half of the time of signing a token
// (BenchmarkIssue); TestMarshalClaimsAsEncodingJSON and FuzzMarshalClaims compare the two.
func marshalClaims(c *Claims) ([]byte, error) {
	if jwt.TimePrecision != time.Second || !jwt.MarshalSingleStringAsArray {
		return json.Marshal(c)
	}
	b := make([]byte, 0, 512)
	w := claimsWriter{b: append(b, '{')}
	w.str("iss", c.Issuer)
	w.str("sub", c.Subject)
	if len(c.Audience) > 0 {
		writeStrings(&w, "aud", c.Audience)
	}
	w.date("exp", c.ExpiresAt)
	w.date("nbf", c.NotBefore)
	w.date("iat", c.IssuedAt)
	w.str("jti", c.ID)
	w.str("sid", c.SessionID)
	if len(c.Roles) > 0 {
		writeStrings(&w, "roles", c.Roles)
	}
	if len(c.AMR) > 0 {
		writeStrings(&w, "amr", c.AMR)
	}
	w.date("auth_time", c.AuthTime)
	w.str("client_id", c.ClientID)
	w.str("scope", c.Scope)
	if w.slow {
		return json.Marshal(c)
	}
	return append(w.b, '}'), nil
}

type claimsWriter struct {
	b    []byte
	slow bool // a string needed escaping: encoding/json writes the whole object
}

func (w *claimsWriter) key(k string) {
	if len(w.b) > 1 {
		w.b = append(w.b, ',')
	}
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
}

// quoted appends s as a JSON string when it needs no escaping under encoding/json's rules
// (printable ASCII without the quote, the backslash and its HTML-escaped <, > and &).
func (w *claimsWriter) quoted(s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			w.slow = true
			return
		}
	}
	w.b = append(w.b, '"')
	w.b = append(w.b, s...)
	w.b = append(w.b, '"')
}

func (w *claimsWriter) str(k, v string) {
	if v != "" {
		w.key(k)
		w.quoted(v)
	}
}

// writeStrings writes an array of strings (aud, roles, amr).
func writeStrings[S ~string](w *claimsWriter, k string, vs []S) {
	w.key(k)
	w.b = append(w.b, '[')
	for i, v := range vs {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.quoted(string(v))
	}
	w.b = append(w.b, ']')
}

// date is NumericDate.MarshalJSON at a precision of one second: the Unix seconds of the date
// truncated to the second.
func (w *claimsWriter) date(k string, d *jwt.NumericDate) {
	if d != nil {
		w.key(k)
		w.b = strconv.AppendInt(w.b, d.Truncate(time.Second).Unix(), 10)
	}
}
