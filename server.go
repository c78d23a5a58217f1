// Command gqlauth is a GraphQL authentication service: gqlgen resolvers secured by JWTs.
// See README.md and docs/. The program is internal/app; this package only starts it.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/example/gqlauth/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := app.Main(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
