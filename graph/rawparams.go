package graph

import (
	"encoding/json"
	"slices"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
)

// decodeParams decodes a POST body into p exactly as decodeJSON does. Nearly every request is
// an object of a query string, perhaps an operation name, and variables whose values are
// strings, numbers, booleans or null; encoding/json's reflection takes 2 µs for
// `{"query":"{ __typename }"}` and 6 µs for the refresh mutation with its variable, a tenth of
// what the whole request costs. fastParams reads that shape directly and gives up on anything
// else (another key, a key spelled in other case, a nested variable, extensions, a surrogate
// escape, invalid UTF-8, trailing data), which then goes to decodeJSON. FuzzDecodeParams checks
// that whatever fastParams accepts, decodeJSON decodes to the same.
func decodeParams(data []byte, p *graphql.RawParams) error {
	if fp, ok := fastParams(data); ok {
		p.Query, p.OperationName, p.Variables = fp.query, fp.operationName, fp.variables
		return nil
	}
	return decodeJSON(data, p)
}

type fastResult struct {
	query, operationName string
	variables            map[string]any
}

// jsonReader reads JSON from b at i; every method reports false for what it does not take.
type jsonReader struct {
	b []byte
	i int
}

func fastParams(data []byte) (fastResult, bool) {
	r := jsonReader{b: data}
	var out fastResult
	var seen [3]bool // query, operationName, variables: a repeated one goes to encoding/json
	r.space()
	ok := r.object(func(key string) bool {
		i := slices.Index([]string{"query", "operationName", "variables"}, key)
		if i < 0 || seen[i] {
			return false
		}
		seen[i] = true
		var ok bool
		switch i {
		case 0:
			out.query, ok = r.stringOrNull()
		case 1:
			out.operationName, ok = r.stringOrNull()
		default:
			out.variables, ok = r.variables()
		}
		return ok
	})
	return out, ok && r.end()
}

// object reads an object, calling member with each key once its colon is read; member reads the
// value and reports whether it could.
func (r *jsonReader) object(member func(key string) bool) bool {
	if !r.byte('{') {
		return false
	}
	r.space()
	if r.byte('}') {
		return true
	}
	for {
		r.space()
		key, ok := r.string()
		if !ok {
			return false
		}
		r.space()
		if !r.byte(':') {
			return false
		}
		r.space()
		if !member(key) {
			return false
		}
		r.space()
		if !r.byte(',') {
			return r.byte('}')
		}
	}
}

func (r *jsonReader) space() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

func (r *jsonReader) byte(c byte) bool {
	if r.i < len(r.b) && r.b[r.i] == c {
		r.i++
		return true
	}
	return false
}

// end: nothing but white space after the value.
func (r *jsonReader) end() bool {
	r.space()
	return r.i == len(r.b)
}

func (r *jsonReader) literal(s string) bool {
	if len(r.b)-r.i >= len(s) && string(r.b[r.i:r.i+len(s)]) == s {
		r.i += len(s)
		return true
	}
	return false
}

// stringOrNull: null leaves a string field as it is, which here is "".
func (r *jsonReader) stringOrNull() (string, bool) {
	if r.literal("null") {
		return "", true
	}
	return r.string()
}

// variables reads null or an object of scalars.
func (r *jsonReader) variables() (map[string]any, bool) {
	if r.literal("null") {
		return nil, true
	}
	vars := map[string]any{}
	ok := r.object(func(name string) bool {
		v, ok := r.scalar()
		vars[name] = v // a repeated name: the last wins, as in encoding/json
		return ok
	})
	return vars, ok
}

// scalar reads a string, a number (as json.Number, decodeJSON's UseNumber), a boolean or null.
func (r *jsonReader) scalar() (any, bool) {
	if r.i >= len(r.b) {
		return nil, false
	}
	switch c := r.b[r.i]; {
	case c == '"':
		return r.string()
	case c == 't':
		return true, r.literal("true")
	case c == 'f':
		return false, r.literal("false")
	case c == 'n':
		return nil, r.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return r.number()
	}
	return nil, false
}

// number reads RFC 8259's number grammar and returns its text.
func (r *jsonReader) number() (json.Number, bool) {
	start := r.i
	r.byte('-')
	switch {
	case r.byte('0'):
	case r.digits() == 0:
		return "", false
	}
	if r.byte('.') && r.digits() == 0 {
		return "", false
	}
	if r.byte('e') || r.byte('E') {
		if !r.byte('+') {
			r.byte('-')
		}
		if r.digits() == 0 {
			return "", false
		}
	}
	return json.Number(r.b[start:r.i]), true
}

func (r *jsonReader) digits() int {
	n := 0
	for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
		r.i++
		n++
	}
	return n
}

// string reads a string. Escapes are decoded except \u of a surrogate (pairs are left to
// encoding/json); a control character or invalid UTF-8 is not taken.
func (r *jsonReader) string() (string, bool) {
	if !r.byte('"') {
		return "", false
	}
	start := r.i
	for r.i < len(r.b) {
		switch c := r.b[r.i]; {
		case c == '"':
			s := string(r.b[start:r.i])
			r.i++
			return s, true
		case c == '\\':
			return r.escapedString(start)
		case c < 0x20:
			return "", false
		case c < utf8.RuneSelf:
			r.i++
		default:
			ru, size := utf8.DecodeRune(r.b[r.i:])
			if ru == utf8.RuneError && size == 1 {
				return "", false
			}
			r.i += size
		}
	}
	return "", false
}

// escapedString goes on with a string from its first backslash, building its value.
func (r *jsonReader) escapedString(start int) (string, bool) {
	buf := append(make([]byte, 0, len(r.b)-start), r.b[start:r.i]...)
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			r.i++
			return string(buf), true
		case c == '\\':
			if r.i+1 >= len(r.b) {
				return "", false
			}
			r.i += 2
			switch e := r.b[r.i-1]; e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				ru, ok := r.hex4()
				if !ok || ru >= 0xD800 && ru <= 0xDFFF {
					return "", false
				}
				buf = utf8.AppendRune(buf, ru)
			default:
				return "", false
			}
		case c < 0x20:
			return "", false
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			r.i++
		default:
			ru, size := utf8.DecodeRune(r.b[r.i:])
			if ru == utf8.RuneError && size == 1 {
				return "", false
			}
			buf = append(buf, r.b[r.i:r.i+size]...)
			r.i += size
		}
	}
	return "", false
}

func (r *jsonReader) hex4() (rune, bool) {
	if len(r.b)-r.i < 4 {
		return 0, false
	}
	var v rune
	for _, c := range r.b[r.i : r.i+4] {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	r.i += 4
	return v, true
}
