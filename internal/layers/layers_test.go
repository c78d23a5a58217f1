// Package layers holds the test that keeps the import graph pointing one way.
package layers

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportDirection keeps the house's shape (docs/design.md): imports point one way,
// main → adapters → auth, and auth imports nothing of ours but the token rules it shares with
// package verify (no GraphQL, no SQL drivers, no Redis).
func TestImportDirection(t *testing.T) {
	const module = "github.com/example/gqlauth"
	allowed := map[string][]string{ // package → the project packages it may import
		"auth":                     {"internal/tokenrules", "internal/refreshcookie"},
		"graph":                    {"auth", "graph/model", "internal/bytelru", "internal/reqmeta", "internal/refreshcookie"},
		"graph/model":              {},
		"oauth":                    {"auth"},
		"metrics":                  {"auth"},
		"web":                      {},
		"mail":                     {"auth"},         // renders outbox mails; the development mailbox
		"mail/smtp":                {"auth", "mail"}, // the SMTP transport (go-mail)
		"internal/smtptest":        {},               // an SMTP server for tests (go-smtp): no project code
		"store/sqlite":             {"auth", "internal/migration", "store/internal/sqlshared"},
		"store/postgres":           {"auth", "internal/migration", "store/internal/sqlshared"},
		"store/internal/sqlshared": {"auth"}, // the SQL stores' shared row reading: no driver
		"store/redis":              {"auth"},
		"store/storetest":          {"auth", "internal/itest"},
		"internal/itest":           {},                                           // test helpers: drivers only
		"internal/authtest":        {"auth", "auth/limitertest", "store/sqlite"}, // adapters' tests: the real service on SQLite
		"internal/bytelru":         {},                                           // a byte-bounded cache: stdlib only
		"internal/migration":       {},                                           // the one ordering of SQL files and Go steps: stdlib only
		"internal/tokenrules":      {},                                           // the access-token rules, shared by auth and verify: jwt only
		"verify":                   {"internal/tokenrules"},                      // for other services: never gqlgen, never a store
		"verify/verifytest":        {"internal/tokenrules"},
		"internal/servertest":      {"internal/app", "internal/itest"}, // runs the real server in a test process
		"internal/totptest":        {},                                 // RFC 6238 codes for tests: stdlib only
		// The example resource server: trusts our tokens through package verify only.
		"examples/notes":             {"verify", "examples/notes/graph"},
		"examples/notes/graph":       {"verify", "examples/notes/graph/model"},
		"examples/notes/graph/model": {},
		"docs":                       {},       // documentation checks (tests only)
		"passkey":                    {"auth"}, // the WebAuthn adapter (go-webauthn)
		"passkey/passkeytest":        {},       // a software authenticator for tests: stdlib and go-webauthn's CBOR
		// The program: main only starts internal/app, which wires everything; the admin
		// commands and the stores' opening are beside it, never imported by the adapters.
		"":                       {"internal/app"},
		"internal/app":           {"auth", "graph", "metrics", "oauth", "passkey", "web", "mail", "mail/smtp", "internal/cli", "internal/config", "internal/httpx", "internal/logline", "internal/stores", "internal/refreshcookie"},
		"internal/cli":           {"auth", "internal/config", "internal/stores"},
		"internal/config":        {"auth", "mail", "mail/smtp"}, // mail: MAIL_FROM and SMTP_URL are parsed where they are defined
		"internal/httpx":         {"internal/reqmeta"},          // HTTP middleware
		"internal/stores":        {"auth", "internal/config", "store/sqlite", "store/postgres", "store/redis"},
		"e2e":                    {}, // the end-to-end suite: tests only, through internal/app
		"internal/fakeclock":     {}, // the tests' manual clock: stdlib only
		"auth/limitertest":       {"auth", "internal/fakeclock"},
		"internal/refreshcookie": {}, // the refresh and device cookies: stdlib only
		"internal/reqmeta":       {}, // a request's id and operation: stdlib only
		"internal/logline":       {}, // the log handler (slog's, with a fast path): stdlib only
		"internal/layers":        {}, // this test
		"internal/cmd/storewrap": {}, // writes the Store wrappers of auth and metrics from auth's source: stdlib only
		"scripts/load":           {}, // the load driver: a client of the HTTP API, stdlib only
	}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}:{{join .Imports " "}}`, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ":")
		rel := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
		ok, known := allowed[rel]
		if !known {
			if strings.HasPrefix(rel, "store/") || strings.HasPrefix(rel, "auth/") {
				ok = []string{"auth"}
			} else {
				t.Errorf("package %s has no rule here; add one", rel)
				continue
			}
		}
		for _, imp := range strings.Fields(imports) {
			if !strings.HasPrefix(imp, module+"/") {
				if (rel == "auth" || rel == "verify" || rel == "internal/tokenrules") && (strings.Contains(imp, "gqlgen") || strings.Contains(imp, "gqlparser") ||
					strings.Contains(imp, "sql") || strings.Contains(imp, "redis") || strings.Contains(imp, "pgx")) {
					t.Errorf("%s imports %s: it must know nothing of GraphQL or storage drivers", rel, imp)
				}
				continue
			}
			target := strings.TrimPrefix(imp, module+"/")
			if !contains(ok, target) {
				t.Errorf("%s imports %s, against the layering", rel, target)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
