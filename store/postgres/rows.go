package postgres

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/example/gqlauth/auth"
)

// listRows collects every row of a query with scan. It takes the query's own error so a list
// method is one call; what names the operation in the wrapped error ("list clients").
func listRows[T any](rows pgx.Rows, err error, what string, scan func(pgx.Row) (T, error)) ([]T, error) {
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	return out, nil
}

// rowErr is the error of a one-row read: auth.ErrNotFound for no row, else err wrapped with
// what names the read ("refresh token").
func rowErr(err error, what string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return auth.ErrNotFound
	}
	return fmt.Errorf("postgres: %s: %w", what, err)
}
