// Package migration orders a store's migrations, its SQL files and its steps in Go, in one
// list by name, and applies them, so that both SQL stores apply (and name) them the same way.
package migration

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"
)

// Step is one migration, run inside the transaction (of type Tx) that records it by Name.
type Step[Tx any] struct {
	Name string
	Run  func(ctx context.Context, tx Tx) error
}

// Ordered returns a step for each *.sql file of files (execSQL runs its text) and the goSteps,
// sorted by name: the order they apply in. A step in Go sees the schema of the files named
// before it, whatever files come later.
func Ordered[Tx any](files fs.FS, execSQL func(ctx context.Context, tx Tx, body string) error, goSteps ...Step[Tx]) []Step[Tx] {
	names, err := fs.Glob(files, "*.sql")
	if err != nil {
		panic(err) // only a malformed pattern fails
	}
	steps := slices.Clone(goSteps)
	for _, name := range names {
		steps = append(steps, Step[Tx]{Name: name, Run: func(ctx context.Context, tx Tx) error {
			body, err := fs.ReadFile(files, name)
			if err != nil {
				return err
			}
			return execSQL(ctx, tx, string(body))
		}})
	}
	slices.SortFunc(steps, func(a, b Step[Tx]) int { return strings.Compare(a.Name, b.Name) })
	return steps
}

// Dir is the directory dir of an embedded file system: a store's migration files.
func Dir(embedded fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(embedded, dir)
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	return sub
}

// Record is a store's record of applied steps (its schema_migrations table), read and written
// inside a step's transaction.
type Record[Tx any] interface {
	// InTx runs fn in one transaction that commits when fn returns nil.
	InTx(ctx context.Context, fn func(tx Tx) error) error
	// Applied reports whether the step name is recorded.
	Applied(ctx context.Context, tx Tx, name string) (bool, error)
	// Add records the step name.
	Add(ctx context.Context, tx Tx, name string) error
}

// Apply runs, in order, each step the record does not name yet. Each runs in its own
// transaction that checks the record first and adds to it last, so a step that fails leaves no
// trace, and of several processes migrating at once (serialised by the store's lock) each step
// is applied by one only.
func Apply[Tx any](ctx context.Context, steps []Step[Tx], rec Record[Tx]) error {
	for _, st := range steps {
		err := rec.InTx(ctx, func(tx Tx) error {
			done, err := rec.Applied(ctx, tx, st.Name)
			if err != nil || done {
				return err // done: applied earlier or by another process
			}
			if err := st.Run(ctx, tx); err != nil {
				return err
			}
			return rec.Add(ctx, tx, st.Name)
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", st.Name, err)
		}
	}
	return nil
}

// Names are the steps' names, in order.
func Names[Tx any](steps []Step[Tx]) []string {
	names := make([]string, len(steps))
	for i, s := range steps {
		names[i] = s.Name
	}
	return names
}
