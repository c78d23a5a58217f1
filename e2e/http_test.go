package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// sizedBody is a valid GraphQL JSON request of exactly n bytes.
func sizedBody(n int) []byte {
	const prefix, suffix = `{"query":"{ __typename }","variables":{"pad":"`, `"}}`
	return []byte(prefix + strings.Repeat("x", n-len(prefix)-len(suffix)) + suffix)
}

// nestedQuery is an introspection query whose selection is depth field levels deep:
// __type, then depth-2 ofType, then name.
func nestedQuery(depth int) string {
	return `{ __type(name: "User") { ` + strings.Repeat("ofType { ", depth-2) + "name" + strings.Repeat(" }", depth-2) + ` } }`
}

// nestedFragments is the same depth, every ofType level in its own named fragment.
func nestedFragments(depth int) string {
	var b strings.Builder
	b.WriteString(`{ __type(name: "User") { ...F0 } }`)
	levels := depth - 2
	for i := range levels {
		fmt.Fprintf(&b, "\nfragment F%d on __Type { ofType { ", i)
		if i == levels-1 {
			b.WriteString("name")
		} else {
			fmt.Fprintf(&b, "...F%d", i+1)
		}
		b.WriteString(" } }")
	}
	return b.String()
}

// nestedInline hides the levels in inline fragments.
func nestedInline(depth int) string {
	return `{ __type(name: "User") { ` + strings.Repeat("... on __Type { ofType { ", depth-2) + "name" +
		strings.Repeat(" } }", depth-2) + ` } }`
}

func registerQuery(email string) string {
	return fmt.Sprintf(`mutation { register(input: {email: %q, password: %q}) { accessToken } }`, email, testPassword)
}

// TestHTTPBodyAndTransportLimits: the 1 MiB body limit (declared and chunked), JSON-only POST
// (CSRF), queries only over GET, and the token and depth limits.
func TestHTTPBodyAndTransportLimits(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	q := s.URL + "/query"

	t.Run("body limit", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			size    int
			chunked bool
			want    int
		}{
			{"1 MiB with Content-Length", 1 << 20, false, http.StatusOK},
			{"1 MiB chunked", 1 << 20, true, http.StatusOK},
			{"1 MiB + 1 with Content-Length", 1<<20 + 1, false, http.StatusRequestEntityTooLarge},
			{"1 MiB + 1 chunked", 1<<20 + 1, true, http.StatusRequestEntityTooLarge},
			{"4 MiB chunked", 4 << 20, true, http.StatusRequestEntityTooLarge},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := doRequest(t, http.MethodPost, q, jsonHeader, sizedBody(tc.size), tc.chunked)
				if r.status != tc.want {
					t.Fatalf("status %d, want %d: %.200s", r.status, tc.want, r.body)
				}
				if tc.want == http.StatusOK {
					expectOK(t, asGQL(t, r))
				}
			})
		}
		// The other endpoints too.
		big := []byte("grant_type=password&username=a%40b.c&password=" + strings.Repeat("x", 1<<20))
		for _, path := range []string{"/token", "/revoke"} {
			r := doRequest(t, http.MethodPost, s.URL+path, headerOf("Content-Type", "application/x-www-form-urlencoded"), big, false)
			if r.status != http.StatusRequestEntityTooLarge {
				t.Errorf("%s: status %d, want 413", path, r.status)
			}
		}
	})

	t.Run("only JSON POSTs execute; GET runs queries only", func(t *testing.T) {
		form := url.Values{"query": {registerQuery("csrf@example.com")}}.Encode()
		var mp bytes.Buffer
		mw := multipart.NewWriter(&mp)
		_ = mw.WriteField("operations", string(queryBody(registerQuery("csrf@example.com"), nil)))
		_ = mw.WriteField("map", "{}")
		_ = mw.WriteField("query", registerQuery("csrf@example.com"))
		_ = mw.Close()
		for _, tc := range []struct{ name, contentType, body string }{
			{"text/plain", "text/plain", string(queryBody(registerQuery("csrf@example.com"), nil))},
			{"text/plain charset", "text/plain;charset=UTF-8", string(queryBody(registerQuery("csrf@example.com"), nil))},
			{"form", "application/x-www-form-urlencoded", form},
			{"multipart", mw.FormDataContentType(), mp.String()},
			{"no content type", "", string(queryBody(registerQuery("csrf@example.com"), nil))},
		} {
			r := doRequest(t, http.MethodPost, q, headerOf("Content-Type", tc.contentType), []byte(tc.body), false)
			if r.status < 400 || r.status >= 500 {
				t.Errorf("%s: status %d, want a 4xx refusal: %s", tc.name, r.status, r.body)
			}
			if bytes.Contains(r.body, []byte("accessToken")) {
				t.Errorf("%s: the mutation ran: %s", tc.name, r.body)
			}
		}

		// GET: a query works; a mutation, even named among queries, is refused.
		r := doRequest(t, http.MethodGet, q+"?query="+url.QueryEscape("{ __typename }"), nil, nil, false)
		if g := asGQL(t, r); r.status != http.StatusOK || string(g.Data["__typename"]) != `"Query"` {
			t.Fatalf("GET query: %d %s", r.status, r.body)
		}
		for _, v := range []url.Values{
			{"query": {registerQuery("csrf@example.com")}},
			{"query": {"query Q { __typename } mutation M " + strings.TrimPrefix(registerQuery("csrf@example.com"), "mutation ")}, "operationName": {"M"}},
		} {
			r := doRequest(t, http.MethodGet, q+"?"+v.Encode(), nil, nil, false)
			if r.status == http.StatusOK && !bytes.Contains(r.body, []byte(`"errors"`)) || r.status >= 500 ||
				bytes.Contains(r.body, []byte("accessToken")) {
				t.Errorf("GET mutation %v: status %d %s", v, r.status, r.body)
			}
		}

		// Every attempt above tried to register the same account: it does not exist.
		_, res := s.login(t, "csrf@example.com", testPassword)
		expectError(t, res, "UNAUTHENTICATED", "INVALID_CREDENTIALS")
	})

	t.Run("token limit", func(t *testing.T) {
		// Exactly at the limit: 400 operations of 5 tokens each (2,000 tokens), one selected so
		// that neither the complexity nor the alias limit applies. One token more is refused.
		ops := func(extra string) []byte {
			var b strings.Builder
			for i := range 400 {
				fmt.Fprintf(&b, "query Q%d { __typename } ", i)
			}
			doc := strings.Replace(b.String(), "query Q0 { __typename }", "query Q0 { __typename"+extra+" }", 1)
			body, _ := json.Marshal(map[string]any{"query": doc, "operationName": "Q399"})
			return body
		}
		r := asGQL(t, doRequest(t, http.MethodPost, q, jsonHeader, ops(""), false))
		if len(r.Errors) > 0 || string(r.Data["__typename"]) != `"Query"` {
			t.Fatalf("2,000 tokens refused: %d %+v", r.Status, r.Errors)
		}
		r = asGQL(t, doRequest(t, http.MethodPost, q, jsonHeader, ops(" __typename"), false))
		if len(r.Errors) == 0 || !strings.Contains(r.Errors[0].Message, "token") || r.Status >= 500 {
			t.Fatalf("2,001 tokens not refused by the token limit: %d %+v", r.Status, r.Errors)
		}
		// { + fields + } is 2,001 tokens, and far more; refused before validation (the
		// complexity limit would have said so after it). 5,000 fields are 55 KB, under the
		// document size limit; 50,000 fields are over it, and refused by it, before parsing.
		doc := func(fields int) string { return "{" + strings.Repeat(" __typename", fields) + " }" }
		for _, fields := range []int{1999, 5000, 50000} {
			r := s.gql(t, "", doc(fields), nil)
			if len(r.Errors) == 0 || r.Data["__typename"] != nil || r.Status >= 500 {
				t.Errorf("%d fields: not refused: %d %+v", fields, r.Status, r.Errors)
			} else if fields == 50000 && r.code() != "DOCUMENT_TOO_LARGE" {
				t.Errorf("%d fields: %+v, want DOCUMENT_TOO_LARGE", fields, r.Errors)
			} else if fields < 50000 && !strings.Contains(r.Errors[0].Message, "token") {
				t.Errorf("%d fields: %q does not say the token limit was hit", fields, r.Errors[0].Message)
			}
		}
		// Deep nesting is stopped by the token limit too, long before the parser's stack is.
		r = s.gql(t, "", strings.Repeat("{ me ", 100000), nil)
		if len(r.Errors) == 0 || r.Status >= 500 {
			t.Errorf("100,000 nested braces: %d %+v", r.Status, r.Errors)
		}
	})

	t.Run("depth limit", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			query string
			ok    bool
		}{
			{"20 levels", nestedQuery(20), true},
			{"21 levels", nestedQuery(21), false},
			{"40 levels", nestedQuery(40), false},
			{"20 levels in fragments", nestedFragments(20), true},
			{"21 levels in fragments", nestedFragments(21), false},
			{"21 levels in inline fragments", nestedInline(21), false},
			{"21 levels through __schema", `{ __schema { types { fields { type { ` + strings.Repeat("ofType { ", 16) + "name" + strings.Repeat(" }", 16) + ` } } } } }`, false},
			{"one fragment spread twice", `{ __type(name: "User") { ...A ofType { ...A } } } fragment A on __Type { ` +
				strings.Repeat("ofType { ", 18) + "name" + strings.Repeat(" }", 18) + ` }`, false},
		} {
			r := s.gql(t, "", tc.query, nil)
			if r.Status >= 500 {
				t.Errorf("%s: status %d", tc.name, r.Status)
			}
			if tc.ok {
				if len(r.Errors) > 0 || r.Data["__type"] == nil || string(r.Data["__type"]) == "null" {
					t.Errorf("%s: refused: %+v", tc.name, r.Errors)
				}
				continue
			}
			if len(r.Errors) == 0 || (r.Data["__type"] != nil && string(r.Data["__type"]) != "null") {
				t.Errorf("%s: not refused: %s", tc.name, r.Data["__type"])
			} else if c := r.code(); c == "INTERNAL_SERVER_ERROR" {
				t.Errorf("%s: %+v", tc.name, r.Errors)
			}
		}
	})
}

// TestHTTPEndpoints: CORS, health, JWKS, metadata, /token and /revoke.
func TestHTTPEndpoints(t *testing.T) {
	t.Parallel()
	const allowed = "https://app.example.com"
	// The metadata's URLs are followed: the issuer is the server's own address.
	s := startServer(t, reachableIssuer(t, map[string]string{"CORS_ALLOWED_ORIGINS": allowed + ", https://admin.example.com"}))

	t.Run("CORS", func(t *testing.T) {
		body := queryBody("{ __typename }", nil)
		for _, tc := range []struct {
			origin string
			echo   bool
		}{
			{allowed, true},
			{"https://admin.example.com", true},
			{"https://evil.example.com", false},
			{"https://app.example.com.evil.com", false},
			{"http://app.example.com", false},
			{"null", false},
			{"*", false},
		} {
			post := doRequest(t, http.MethodPost, s.URL+"/query", headerOf("Content-Type", "application/json", "Origin", tc.origin), body, false)
			pre := doRequest(t, http.MethodOptions, s.URL+"/query", headerOf("Origin", tc.origin,
				"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization, content-type"), nil, false)
			for name, r := range map[string]httpResult{"POST": post, "preflight": pre} {
				acao := r.header.Values("Access-Control-Allow-Origin")
				if r.status >= 500 {
					t.Errorf("%s from %s: status %d", name, tc.origin, r.status)
				}
				if tc.echo && (len(acao) != 1 || acao[0] != tc.origin) {
					t.Errorf("%s from listed %s: Access-Control-Allow-Origin %q", name, tc.origin, acao)
				}
				if !tc.echo && (len(acao) != 0 || r.header.Get("Access-Control-Allow-Credentials") != "") {
					t.Errorf("%s from unlisted %s: Access-Control-Allow-Origin %q, credentials %q", name, tc.origin, acao, r.header.Get("Access-Control-Allow-Credentials"))
				}
			}
			if tc.echo && pre.status >= 300 {
				t.Errorf("preflight from %s: status %d", tc.origin, pre.status)
			}
		}
		// Without an Origin nothing is added either.
		r := doRequest(t, http.MethodPost, s.URL+"/query", jsonHeader, body, false)
		if v := r.header.Get("Access-Control-Allow-Origin"); v != "" {
			t.Errorf("no Origin: Access-Control-Allow-Origin %q", v)
		}
	})

	t.Run("health", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/readyz"} {
			if r := doRequest(t, http.MethodGet, s.URL+path, nil, nil, false); r.status != http.StatusOK {
				t.Errorf("%s: %d %s", path, r.status, r.body)
			}
		}
	})

	// Metadata names the other endpoints; the rest of this test follows its URLs.
	var md struct {
		Issuer             string `json:"issuer"`
		TokenEndpoint      string `json:"token_endpoint"`
		JWKSURI            string `json:"jwks_uri"`
		RevocationEndpoint string `json:"revocation_endpoint"`
	}
	r := doRequest(t, http.MethodGet, s.URL+"/.well-known/oauth-authorization-server", nil, nil, false)
	if r.status != http.StatusOK || json.Unmarshal(r.body, &md) != nil {
		t.Fatalf("metadata: %d %s", r.status, r.body)
	}
	if md.Issuer != s.Env["JWT_ISSUER"] || md.TokenEndpoint != md.Issuer+"/token" ||
		md.JWKSURI != md.Issuer+"/.well-known/jwks.json" || md.RevocationEndpoint != md.Issuer+"/revoke" {
		t.Fatalf("metadata: %s", r.body)
	}

	t.Run("JWKS is empty under HS256", func(t *testing.T) {
		r := doRequest(t, http.MethodGet, md.JWKSURI, nil, nil, false)
		var set map[string]json.RawMessage
		if r.status != http.StatusOK || json.Unmarshal(r.body, &set) != nil || string(set["keys"]) != "[]" || len(set) != 1 {
			t.Fatalf("jwks: %d %s", r.status, r.body)
		}
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") && !strings.HasPrefix(ct, "application/jwk-set+json") {
			t.Errorf("jwks Content-Type %q", ct)
		}
	})

	type tokenBody struct {
		AccessToken  string `json:"access_token"`
		TokenType    string `json:"token_type"`
		ExpiresIn    int    `json:"expires_in"`
		RefreshToken string `json:"refresh_token"`
	}
	decodeGrant := func(t *testing.T, r httpResult) tokenBody {
		t.Helper()
		var tb tokenBody
		if r.status != http.StatusOK || json.Unmarshal(r.body, &tb) != nil {
			t.Fatalf("token endpoint: %d %s", r.status, r.body)
		}
		if tb.AccessToken == "" || !strings.EqualFold(tb.TokenType, "Bearer") || tb.ExpiresIn != 900 || len(tb.RefreshToken) < 43 {
			t.Fatalf("token response: %s", r.body)
		}
		if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("Cache-Control %q, want no-store", cc)
		}
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("Content-Type %q", ct)
		}
		return tb
	}
	expectOAuthError := func(t *testing.T, r httpResult, status int, code string) {
		t.Helper()
		var e map[string]any
		if err := json.Unmarshal(r.body, &e); err != nil || r.status != status || e["error"] != code {
			t.Errorf("want %d %s, got %d %s", status, code, r.status, r.body)
		}
		if _, ok := e["error"].(string); !ok {
			t.Errorf("error is not a string: %s", r.body)
		}
	}

	s.register(t, "oauth@example.com")
	var grant tokenBody
	t.Run("token endpoint", func(t *testing.T) {
		grant = decodeGrant(t, postForm(t, md.TokenEndpoint, url.Values{
			"grant_type": {"password"}, "username": {" OAuth@Example.com"}, "password": {testPassword},
		}))
		expectOK(t, s.me(t, grant.AccessToken))

		wrong := postForm(t, md.TokenEndpoint, url.Values{"grant_type": {"password"}, "username": {"oauth@example.com"}, "password": {"not the password"}})
		unknown := postForm(t, md.TokenEndpoint, url.Values{"grant_type": {"password"}, "username": {"nobody@example.com"}, "password": {"not the password"}})
		expectOAuthError(t, wrong, http.StatusBadRequest, "invalid_grant")
		if !bytes.Equal(wrong.body, unknown.body) || wrong.status != unknown.status ||
			wrong.header.Get("Content-Type") != unknown.header.Get("Content-Type") {
			t.Errorf("wrong password and unknown user differ:\n%d %q\n%d %q", wrong.status, wrong.body, unknown.status, unknown.body)
		}

		expectOAuthError(t, postForm(t, md.TokenEndpoint, url.Values{"username": {"oauth@example.com"}, "password": {testPassword}}),
			http.StatusBadRequest, "invalid_request")
		expectOAuthError(t, postForm(t, md.TokenEndpoint, url.Values{"grant_type": {"client_credentials"}}), http.StatusUnauthorized, "invalid_client") // no client authentication
		expectOAuthError(t, postForm(t, md.TokenEndpoint, url.Values{"grant_type": {"authorization_code"}, "code": {"x"}}), http.StatusBadRequest, "unsupported_grant_type")
		expectOAuthError(t, postForm(t, md.TokenEndpoint, url.Values{"grant_type": {"password"}, "username": {"oauth@example.com"}}), http.StatusBadRequest, "invalid_request")
		expectOAuthError(t, postForm(t, md.TokenEndpoint, url.Values{"grant_type": {"refresh_token"}}), http.StatusBadRequest, "invalid_request")
		expectOAuthError(t, postForm(t, md.TokenEndpoint, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"not-a-token"}}), http.StatusBadRequest, "invalid_grant")
		expectOAuthError(t, doRequest(t, http.MethodPost, md.TokenEndpoint, jsonHeader, []byte(`{"grant_type":"password"}`), false), http.StatusBadRequest, "invalid_request")

		// refresh_token grant rotates.
		rotated := decodeGrant(t, postForm(t, md.TokenEndpoint, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {grant.RefreshToken}}))
		if rotated.RefreshToken == grant.RefreshToken || rotated.AccessToken == grant.AccessToken {
			t.Fatalf("refresh_token grant did not rotate")
		}
		expectOK(t, s.me(t, rotated.AccessToken))
		grant = rotated
	})

	t.Run("revoke", func(t *testing.T) {
		if grant.RefreshToken == "" {
			t.Skip("no grant")
		}
		r := postForm(t, md.RevocationEndpoint, url.Values{"token": {grant.RefreshToken}, "token_type_hint": {"refresh_token"}})
		if r.status != http.StatusOK {
			t.Fatalf("revoke: %d %s", r.status, r.body)
		}
		expectError(t, s.me(t, grant.AccessToken), "UNAUTHENTICATED", "TOKEN_REVOKED")
		expectOAuthError(t, postForm(t, md.TokenEndpoint, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {grant.RefreshToken}}),
			http.StatusBadRequest, "invalid_grant")
		// Again, and an unknown token: 200 all the same.
		for _, tok := range []string{grant.RefreshToken, "unknown-token", strings.Repeat("A", 43)} {
			if r := postForm(t, md.RevocationEndpoint, url.Values{"token": {tok}}); r.status != http.StatusOK {
				t.Errorf("revoke %q: %d %s", tok, r.status, r.body)
			}
		}
		expectOAuthError(t, postForm(t, md.RevocationEndpoint, url.Values{}), http.StatusBadRequest, "invalid_request")
		expectOAuthError(t, postForm(t, md.RevocationEndpoint, url.Values{"token_type_hint": {"refresh_token"}}), http.StatusBadRequest, "invalid_request")
	})
}

// TestProductionSurface: production turns off introspection, suggestions and the playground
// (unless PLAYGROUND=true); development has all three.
func TestProductionSurface(t *testing.T) {
	t.Parallel()
	key := goodProductionKey(t)
	dev := startServer(t, nil)
	prod := startServer(t, map[string]string{"APP_ENV": "production", "JWT_SECRET": key})
	prodPG := startServer(t, map[string]string{"APP_ENV": "production", "JWT_SECRET": key, "PLAYGROUND": "true"})

	const introspection = `{ __schema { queryType { name } } }`
	const typeQuery = `{ __type(name: "User") { name fields { name } } }`
	const misspelt = `{ mee { id } }`

	expectOK(t, dev.gql(t, "", introspection, nil))
	expectOK(t, dev.gql(t, "", typeQuery, nil))
	if r := dev.gql(t, "", misspelt, nil); len(r.Errors) == 0 || !strings.Contains(r.Errors[0].Message, "Did you mean") {
		t.Errorf("development should suggest fields: %+v", r.Errors)
	}
	for _, s := range []*testServer{prod, prodPG} {
		for _, q := range []string{introspection, typeQuery, `{ me { id } __schema { types { name } } }`} {
			r := s.gql(t, "", q, nil)
			if len(r.Errors) == 0 || r.Status >= 500 || bytes.Contains(mustJSON(r.Data), []byte(`"queryType"`)) ||
				bytes.Contains(mustJSON(r.Data), []byte(`"fields"`)) {
				t.Errorf("production introspection %q: %d %s %+v", q, r.Status, mustJSON(r.Data), r.Errors)
			}
		}
		r := s.gql(t, "", misspelt, nil)
		if len(r.Errors) == 0 || r.Status >= 500 {
			t.Errorf("misspelt field: %d %+v", r.Status, r.Errors)
		}
		for _, e := range r.Errors {
			if strings.Contains(e.Message, "Did you mean") || strings.Contains(e.Message, `"me"`) {
				t.Errorf("production suggests: %q", e.Message)
			}
		}
		expectOK(t, s.gql(t, "", `{ __typename }`, nil))
	}

	for _, tc := range []struct {
		name string
		s    *testServer
		want int
	}{{"development", dev, http.StatusOK}, {"production", prod, http.StatusNotFound}, {"production PLAYGROUND=true", prodPG, http.StatusOK}} {
		r := doRequest(t, http.MethodGet, tc.s.URL+"/", nil, nil, false)
		if r.status != tc.want {
			t.Errorf("%s: GET / = %d, want %d", tc.name, r.status, tc.want)
		}
		if tc.want == http.StatusOK && !bytes.Contains(bytes.ToLower(r.body), []byte("<html")) {
			t.Errorf("%s: GET / is not a page: %.200s", tc.name, r.body)
		}
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// TestHostileHTTPInputs: no hostile request makes the server answer 5xx or leak internals.
func TestHostileHTTPInputs(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	user := s.register(t, "hostile@example.com")
	form := headerOf("Content-Type", "application/x-www-form-urlencoded")
	deepJSON := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)

	tests := []struct {
		name   string
		method string
		path   string
		header http.Header
		body   string
	}{
		{"invalid JSON", "POST", "/query", jsonHeader, `{"query":`},
		{"empty body", "POST", "/query", jsonHeader, ``},
		{"JSON null", "POST", "/query", jsonHeader, `null`},
		{"JSON string", "POST", "/query", jsonHeader, `"{ __typename }"`},
		{"empty batch", "POST", "/query", jsonHeader, `[]`},
		{"batch", "POST", "/query", jsonHeader, `[{"query":"{ __typename }"},{"query":"{ __typename }"}]`},
		{"query is a number", "POST", "/query", jsonHeader, `{"query": 5}`},
		{"query is empty", "POST", "/query", jsonHeader, `{"query": ""}`},
		{"variables a string", "POST", "/query", jsonHeader, `{"query":"{ __typename }","variables":"x"}`},
		{"variables a list", "POST", "/query", jsonHeader, `{"query":"{ __typename }","variables":[1]}`},
		{"variable of the wrong type", "POST", "/query", jsonHeader, `{"query":"query($f:Int){ users(first:$f){ pageInfo { hasNextPage } } }","variables":{"f":"many"}}`},
		{"huge number", "POST", "/query", jsonHeader, `{"query":"query($f:Int){ users(first:$f){ pageInfo { hasNextPage } } }","variables":{"f":1e400}}`},
		{"int overflow literal", "POST", "/query", jsonHeader, `{"query":"{ users(first: 99999999999999999999) { pageInfo { hasNextPage } } }"}`},
		{"input object of wrong types", "POST", "/query", jsonHeader, `{"query":"mutation($i: LoginInput!){ login(input:$i){ accessToken } }","variables":{"i":{"email":5,"password":null}}}`},
		{"input object with extra field", "POST", "/query", jsonHeader, `{"query":"mutation($i: LoginInput!){ login(input:$i){ accessToken } }","variables":{"i":{"email":"a@b.c","password":"x","admin":true}}}`},
		{"deeply nested JSON variables", "POST", "/query", jsonHeader, `{"query":"{ __typename }","variables":{"a":` + deepJSON + `}}`},
		{"deeply nested JSON extensions", "POST", "/query", jsonHeader, `{"query":"{ __typename }","extensions":{"a":` + deepJSON + `}}`},
		{"invalid UTF-8", "POST", "/query", jsonHeader, "{\"query\":\"{ __type(name: \\\"\xff\xfe\\\") { name } }\"}"},
		{"NUL in the document", "POST", "/query", jsonHeader, `{"query":"{ __typ\u0000ename }"}`},
		{"unterminated string", "POST", "/query", jsonHeader, `{"query":"{ __type(name: \"User) { name } }"}`},
		{"unknown operationName", "POST", "/query", jsonHeader, `{"query":"{ __typename }","operationName":"Nope"}`},
		{"two operations, no name", "POST", "/query", jsonHeader, `{"query":"query A { __typename } query B { __typename }"}`},
		{"duplicate operation names", "POST", "/query", jsonHeader, `{"query":"query A { __typename } query A { __typename }"}`},
		{"fragment cycle", "POST", "/query", jsonHeader, `{"query":"{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"}`},
		{"self-spreading fragment", "POST", "/query", jsonHeader, `{"query":"{ __type(name: \"User\") { ...A } } fragment A on __Type { ofType { ...A } }"}`},
		{"undefined variable", "POST", "/query", jsonHeader, `{"query":"{ __typename @skip(if: $nope) }"}`},
		{"subscription over POST", "POST", "/query", jsonHeader, `{"query":"subscription { securityEvents { __typename } }"}`},
		{"persisted query unknown", "POST", "/query", jsonHeader, `{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"` + strings.Repeat("0", 64) + `"}}}`},
		{"persisted query hash mismatch", "POST", "/query", jsonHeader, `{"query":"{ __typename }","extensions":{"persistedQuery":{"version":1,"sha256Hash":"abc"}}}`},
		{"persisted query wrong version", "POST", "/query", jsonHeader, `{"extensions":{"persistedQuery":{"version":"x","sha256Hash":5}}}`},
		{"many aliases", "POST", "/query", jsonHeader, string(queryBody("{"+strings.Repeat(" a: __typename", 300)+strings.Repeat(" b: __typename", 300)+" }", nil))},
		{"long string argument", "POST", "/query", jsonHeader, string(queryBody(`{ __type(name: "`+strings.Repeat("U", 900_000)+`") { name } }`, nil))},
		{"bearer garbage", "POST", "/query", headerOf("Content-Type", "application/json", "Authorization", "Bearer a.b.c"), `{"query":"{ me { id } }"}`},
		{"bearer empty", "POST", "/query", headerOf("Content-Type", "application/json", "Authorization", "Bearer "), `{"query":"{ me { id } }"}`},
		{"bearer huge", "POST", "/query", headerOf("Content-Type", "application/json", "Authorization", "Bearer "+strings.Repeat("x.", 20000)), `{"query":"{ me { id } }"}`},
		{"basic scheme", "POST", "/query", headerOf("Content-Type", "application/json", "Authorization", "Basic dXNlcjpwYXNz"), `{"query":"{ me { id } }"}`},
		{"two Authorization headers", "POST", "/query", headerOf("Content-Type", "application/json", "Authorization", "Bearer "+user.AccessToken, "Authorization", "Bearer "+user.AccessToken), `{"query":"{ me { id } }"}`},
		{"X-Forwarded-For garbage", "POST", "/query", headerOf("Content-Type", "application/json", "X-Forwarded-For", "not-an-ip, ::::, 999.1.1.1", "X-Real-Ip", "garbage value"), `{"query":"mutation { login(input:{email:\"hostile@example.com\", password:\"wrong password\"}) { accessToken } }"}`},
		{"refresh cookie garbage", "POST", "/query", headerOf("Content-Type", "application/json", "Cookie", "refresh_token=%%%; other="+strings.Repeat("c", 4000)), `{"query":"mutation { refresh { accessToken } }"}`},
		{"charset utf-16", "POST", "/query", headerOf("Content-Type", "application/json; charset=utf-16"), `{"query":"{ __typename }"}`},
		{"GET without query", "GET", "/query", nil, ""},
		{"GET with bad escapes", "GET", "/query?query=%zz%ff", nil, ""},
		{"GET with bad variables", "GET", "/query?query=" + url.QueryEscape("query($f:Int){ __typename }") + "&variables=%7Bnot", nil, ""},
		{"GET with bad extensions", "GET", "/query?query=" + url.QueryEscape("{ __typename }") + "&extensions=[[[", nil, ""},
		{"GET subscription", "GET", "/query?query=" + url.QueryEscape("subscription { securityEvents { __typename } }"), nil, ""},
		{"WebSocket upgrade without key", "GET", "/query", headerOf("Connection", "Upgrade", "Upgrade", "websocket"), ""},
		{"WebSocket upgrade bad protocol", "GET", "/query", headerOf("Connection", "Upgrade", "Upgrade", "websocket", "Sec-WebSocket-Version", "13",
			"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Protocol", "nonsense"), ""},
		{"PUT /query", "PUT", "/query", jsonHeader, `{"query":"{ __typename }"}`},
		{"DELETE /query", "DELETE", "/query", nil, ""},
		{"PATCH /token", "PATCH", "/token", form, "grant_type=password"},
		{"GET /token", "GET", "/token?grant_type=password&username=hostile%40example.com&password=x", nil, ""},
		{"unknown path", "GET", "/admin", nil, ""},
		{"path traversal", "GET", "/../../etc/passwd", nil, ""},
		{"token: JSON body", "POST", "/token", jsonHeader, `{"grant_type":"password"}`},
		{"token: bad form", "POST", "/token", form, "grant_type=%zz&username=%"},
		{"token: repeated grant_type", "POST", "/token", form, "grant_type=password&grant_type=refresh_token"},
		{"token: long username", "POST", "/token", form, "grant_type=password&password=xxxxxxxx&username=" + strings.Repeat("a", 10000) + "%40example.com"},
		{"token: username with NUL", "POST", "/token", form, "grant_type=password&password=xxxxxxxx&username=a%00b%40example.com"},
		{"token: long password", "POST", "/token", form, "grant_type=password&username=hostile%40example.com&password=" + strings.Repeat("p", 10000)},
		{"token: refresh token garbage", "POST", "/token", form, "grant_type=refresh_token&refresh_token=" + strings.Repeat("%ff", 100)},
		{"token: no content type", "POST", "/token", nil, "grant_type=password"},
		{"revoke: bad hint", "POST", "/revoke", form, "token=abc&token_type_hint=id_token"},
		{"revoke: an access token", "POST", "/revoke", form, "token=" + user.AccessToken + "&token_type_hint=access_token"},
		{"revoke: garbage", "POST", "/revoke", form, "token=" + strings.Repeat("%00", 50)},
		{"revoke: JSON body", "POST", "/revoke", jsonHeader, `{"token":"x"}`},
		{"metadata with a body", "GET", "/.well-known/oauth-authorization-server", jsonHeader, `{"x":1}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body []byte
			if tc.body != "" || tc.method == "POST" {
				body = []byte(tc.body)
			}
			r := doRequest(t, tc.method, s.URL+tc.path, tc.header, body, false)
			if r.status >= 500 {
				t.Fatalf("status %d: %.300s", r.status, r.body)
			}
			low := bytes.ToLower(r.body)
			for _, leak := range []string{"goroutine", "panic", "runtime error", ".go:", "sqlite", "sql:"} {
				if bytes.Contains(low, []byte(leak)) {
					t.Errorf("answer leaks %q: %.300s", leak, r.body)
				}
			}
			if acao := r.header.Get("Access-Control-Allow-Origin"); acao != "" {
				t.Errorf("Access-Control-Allow-Origin %q without CORS_ALLOWED_ORIGINS", acao)
			}
		})
	}

	// Still healthy, and the user's token still works (the revoke of an access token ended
	// nothing it should not have, or ended the session: both are acceptable, but not a 5xx).
	if r := doRequest(t, http.MethodGet, s.URL+"/readyz", nil, nil, false); r.status != http.StatusOK {
		t.Fatalf("readyz after hostile inputs: %d", r.status)
	}
	if r := s.me(t, user.AccessToken); r.Status >= 500 {
		t.Fatalf("me: %d", r.Status)
	}
}
