// Package migration orders a store's migrations, its SQL files and its steps in Go, in one
// list by name, so that both SQL stores apply (and name) them the same way.
package migration

import (
	"context"
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

// Names are the steps' names, in order.
func Names[Tx any](steps []Step[Tx]) []string {
	names := make([]string, len(steps))
	for i, s := range steps {
		names[i] = s.Name
	}
	return names
}
