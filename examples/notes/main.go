// Command notes is an example of another service trusting gqlauth's access tokens: a small
// GraphQL API whose @auth directive is built on package verify (graph/directive.go). It
// follows gqlauth's revocation feed, so a logout there is refused here within a second.
//
//	go run ./examples/notes -issuer http://localhost:8080 -metadata-url http://localhost:8080/.well-known/oauth-authorization-server \
//	    -client-id "$ID" -client-secret-file secret.txt
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"
)

func main() {
	var o serverOptions
	flag.StringVar(&o.listen, "listen", "127.0.0.1:8090", "address to serve on")
	flag.StringVar(&o.verify.Issuer, "issuer", "http://localhost:8080", "gqlauth's JWT_ISSUER")
	flag.StringVar(&o.verify.Audience, "audience", "graphql-api", "gqlauth's JWT_AUDIENCE")
	flag.StringVar(&o.verify.Algorithm, "alg", "", "gqlauth's JWT_ALG (empty: from its key set)")
	flag.StringVar(&o.verify.MetadataURL, "metadata-url", "http://localhost:8080/.well-known/oauth-authorization-server", "gqlauth's RFC 8414 metadata")
	flag.StringVar(&o.verify.ClientID, "client-id", "", "a client of `gqlauth clients create`: follow the revocation feed")
	secretFile := flag.String("client-secret-file", "", "file holding that client's secret")
	flag.Parse()
	if *secretFile != "" {
		b, err := os.ReadFile(*secretFile)
		if err != nil {
			log.Fatal(err)
		}
		o.verify.ClientSecret = strings.TrimSpace(string(b))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := serve(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "notes:", err)
		os.Exit(1)
	}
}

func serve(ctx context.Context, o serverOptions) error {
	h, closeFn, err := newServer(ctx, o.verify)
	if err != nil {
		return err
	}
	defer closeFn()
	srv := &http.Server{Addr: o.listen, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { //nolint:gosec // G118: ctx has ended by then; the shutdown needs a deadline of its own
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Printf("notes: serving on http://%s/query", o.listen)
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		return err
	}
	return nil
}
