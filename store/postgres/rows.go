package postgres

import (
	"fmt"

	"github.com/jackc/pgx/v5"
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
