package graph

import (
	"net/http"
	"strings"
)

// Codes of the answers written before a request reaches GraphQL (docs/api.md, Errors).
const (
	// CodePayloadTooLarge: the body is over the server's limit. Status 413.
	CodePayloadTooLarge = "PAYLOAD_TOO_LARGE"
	// CodeUnsupportedMediaType: a POST whose body is not application/json. Status 415.
	CodeUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE"
)

// requireJSONPost refuses a POST whose content type a browser form could send (CSRF): only
// application/json executes; anything else gets 415 before the body is read.
func requireJSONPost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
			if !strings.EqualFold(strings.TrimSpace(ct), mediaJSON) {
				writeNotGraphQL(w, mediaJSON, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType, "POST /query needs Content-Type: application/json")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// WriteTooLarge answers a body over limitText ("1 MiB") in the shape GraphQL clients read: 413
// with one error, and the connection closed (the rest of the body is not read).
func WriteTooLarge(w http.ResponseWriter, limitText string) {
	w.Header().Set("Connection", "close")
	writeNotGraphQL(w, mediaJSON, http.StatusRequestEntityTooLarge, CodePayloadTooLarge, "request body is larger than "+limitText)
}

// WriteInternalError answers a request whose handler panicked: 500 with one error that says
// nothing of the panic.
func WriteInternalError(w http.ResponseWriter) {
	writeNotGraphQL(w, mediaJSON, http.StatusInternalServerError, CodeInternal, "internal server error")
}
