package graph

import (
	"context"
	"fmt"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// shapeLimit refuses operations nested deeper than maxDepth (introspection included) or using
// more than maxAliases aliases. Fragments are expanded, so spreading cannot hide depth.
type shapeLimit struct {
	maxDepth   int
	maxAliases int
}

func (shapeLimit) ExtensionName() string                   { return "ShapeLimit" }
func (shapeLimit) Validate(graphql.ExecutableSchema) error { return nil }

func (l shapeLimit) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	w := shapeWalker{doc: oc.Doc, fragDepth: map[string]int{}}
	if d := w.depth(oc.Operation.SelectionSet, 0); d > l.maxDepth {
		return limitError(fmt.Sprintf("query is nested %d levels deep; the limit is %d", d, l.maxDepth), "DEPTH_LIMIT_EXCEEDED")
	}
	if w.aliases > l.maxAliases {
		return limitError(fmt.Sprintf("query uses %d aliases; the limit is %d", w.aliases, l.maxAliases), "ALIAS_LIMIT_EXCEEDED")
	}
	return nil
}

func limitError(msg, code string) *gqlerror.Error {
	return &gqlerror.Error{Message: msg, Extensions: map[string]any{"code": code}}
}

type shapeWalker struct {
	doc       *ast.QueryDocument
	fragDepth map[string]int // memoised depth of each fragment's selection set
	aliases   int
}

// depth returns the deepest field level below set (a field is one level).
func (w *shapeWalker) depth(set ast.SelectionSet, guard int) int {
	if guard > 1000 { // validation rejects fragment cycles; this only bounds the recursion
		return guard
	}
	deepest := 0
	for _, sel := range set {
		d := 0
		switch s := sel.(type) {
		case *ast.Field:
			if s.Alias != "" && s.Alias != s.Name {
				w.aliases++
			}
			d = 1 + w.depth(s.SelectionSet, guard+1)
		case *ast.InlineFragment:
			d = w.depth(s.SelectionSet, guard+1)
		case *ast.FragmentSpread:
			d = w.spreadDepth(s.Name, guard+1)
		}
		deepest = max(deepest, d)
	}
	return deepest
}

func (w *shapeWalker) spreadDepth(name string, guard int) int {
	if d, ok := w.fragDepth[name]; ok {
		return d
	}
	f := w.doc.Fragments.ForName(name)
	if f == nil {
		return 0
	}
	d := w.depth(f.SelectionSet, guard)
	w.fragDepth[name] = d
	return d
}
