package sqlite

import (
	"context"
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

// writeOne runs one conditional write in its own write transaction and reports whether it
// matched a row; what names it in the wrapped error ("use recovery code").
func (s *Store) writeOne(ctx context.Context, what, query string, args ...any) (bool, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return n == 1, nil
}

// exists is nil when query, a SELECT 1, finds a row inside tx; auth.ErrNotFound when it finds
// none; else the error, wrapped with what names the row ("api key").
func exists(ctx context.Context, tx *sql.Tx, what, query string, args ...any) error {
	var one int
	if err := tx.QueryRowContext(ctx, query, args...).Scan(&one); err != nil {
		return rowErr(err, what)
	}
	return nil
}

// rowErr is the error of a one-row read: auth.ErrNotFound for no row, else err wrapped with
// what names the read ("refresh token").
func rowErr(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return auth.ErrNotFound
	}
	return fmt.Errorf("sqlite: %s: %w", what, err)
}
