package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/example/gqlauth/web"
)

// The mail pages are mounted on their paths, and on /assets/ where no playground is: opening a
// page answers the page and uses nothing; its button posts to the GraphQL endpoint.
func ExampleMailPages() {
	pages := web.MailPages("/query")
	mux := http.NewServeMux()
	for _, p := range web.MailPagePaths {
		mux.Handle("GET "+p, pages)
	}
	mux.Handle("GET /assets/", pages)

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/reset-password", nil))
	fmt.Println(rec.Code, rec.Header().Get("Cache-Control"), rec.Header().Get("Referrer-Policy"))
	// Output: 200 no-store no-referrer
}
