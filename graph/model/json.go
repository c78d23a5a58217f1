// Package model holds the GraphQL types gqlgen generates from the schema (models_gen.go) and
// the marshalling of the JSON scalar.
package model

import (
	"encoding/json"
	"io"

	"github.com/99designs/gqlgen/graphql"
)

// The JSON scalar (gqlgen.yml) is json.RawMessage: options go out as the adapter wrote them,
// credentials come in as the bytes the WebAuthn adapter parses.

// MarshalJSON writes v as it is (it is valid JSON: only the service makes it).
func MarshalJSON(v json.RawMessage) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		if len(v) == 0 {
			_, _ = io.WriteString(w, "null")
			return
		}
		_, _ = w.Write(v)
	})
}

// JSONInputError is a JSON argument that is not a JSON object; the error presenter answers it
// with BAD_USER_INPUT naming the argument.
type JSONInputError struct{ Reason string }

func (e *JSONInputError) Error() string { return e.Reason }

// UnmarshalJSON accepts a JSON object, given as a GraphQL object (or variable) or as a string
// holding its JSON text.
func UnmarshalJSON(v any) (json.RawMessage, error) {
	switch x := v.(type) {
	case string:
		if !json.Valid([]byte(x)) {
			return nil, &JSONInputError{Reason: "not valid JSON text"}
		}
		return json.RawMessage(x), nil
	case map[string]any:
		b, err := json.Marshal(x)
		if err != nil {
			return nil, &JSONInputError{Reason: "not representable as JSON"}
		}
		return b, nil
	}
	return nil, &JSONInputError{Reason: "a JSON object is expected"}
}
