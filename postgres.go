package main

import (
	"context"
	"errors"

	"github.com/example/gqlauth/auth"
)

// openPostgres is replaced when the PostgreSQL store lands.
func openPostgres(ctx context.Context, url string) (auth.Store, error) {
	return nil, errors.New("not available yet")
}
