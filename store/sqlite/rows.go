package sqlite

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/example/gqlauth/auth"
)

// listRows reads every row of a query with scan, closing rows. It takes the query's own error so
// a list method is one call; what names the operation in the wrapped error ("list clients").
func listRows[T any](rows *sql.Rows, err error, what string, scan func(scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return out, nil
}

// rowErr is the error of a one-row read: auth.ErrNotFound for no row, else err wrapped with
// what names the read ("refresh token").
func rowErr(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return auth.ErrNotFound
	}
	return fmt.Errorf("sqlite: %s: %w", what, err)
}
