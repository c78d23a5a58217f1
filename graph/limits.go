package graph

import (
	"context"
	"fmt"
	"sync"

	"github.com/99designs/gqlgen/complexity"
	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
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

// limits is one extension for the complexity, depth and alias limits, memoised per operation:
// gqlgen keeps parsed documents in its query cache, so a repeated query arrives with the same
// *ast.OperationDefinition and its shape need not be walked again. Depth and aliases depend on
// the document only; complexity also on the variables when a complexity function reads field
// arguments, so it is memoised only for operations without variables (NewHandler sets no
// complexity functions, but this stays right if some are added).
type limits struct {
	maxComplexity int
	shape         shapeLimit
	es            graphql.ExecutableSchema

	mu   sync.RWMutex
	memo map[*ast.OperationDefinition]opShape
}

type opShape struct {
	depth, aliases int
	complexity     int // -1: not memoised (the operation has variables)
}

// maxMemoOps bounds the memo; it is cleared when full (gqlgen's query cache holds 1000).
const maxMemoOps = 2000

func newLimits(maxComplexity int, shape shapeLimit) *limits {
	return &limits{maxComplexity: maxComplexity, shape: shape, memo: map[*ast.OperationDefinition]opShape{}}
}

func (*limits) ExtensionName() string { return "Limits" }

func (l *limits) Validate(es graphql.ExecutableSchema) error {
	l.es = es
	return nil
}

func (l *limits) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	op := oc.Operation
	if op == nil {
		return nil
	}
	l.mu.RLock()
	sh, ok := l.memo[op]
	l.mu.RUnlock()
	if !ok {
		w := shapeWalker{doc: oc.Doc, fragDepth: map[string]int{}}
		sh.depth = w.depth(op.SelectionSet, 0)
		sh.aliases = w.aliases
		sh.complexity = -1
		if len(op.VariableDefinitions) == 0 {
			sh.complexity = complexity.Calculate(ctx, l.es, op, nil)
		}
		l.mu.Lock()
		if len(l.memo) >= maxMemoOps {
			clear(l.memo)
		}
		l.memo[op] = sh
		l.mu.Unlock()
	}
	c := sh.complexity
	if c < 0 {
		c = complexity.Calculate(ctx, l.es, op, oc.Variables)
	}
	if c > l.maxComplexity { // gqlgen's ComplexityLimit's error, unchanged
		err := gqlerror.Errorf("operation has complexity %d, which exceeds the limit of %d", c, l.maxComplexity)
		errcode.Set(err, "COMPLEXITY_LIMIT_EXCEEDED")
		return err
	}
	if sh.depth > l.shape.maxDepth {
		return limitError(fmt.Sprintf("query is nested %d levels deep; the limit is %d", sh.depth, l.shape.maxDepth), "DEPTH_LIMIT_EXCEEDED")
	}
	if sh.aliases > l.shape.maxAliases {
		return limitError(fmt.Sprintf("query uses %d aliases; the limit is %d", sh.aliases, l.shape.maxAliases), "ALIAS_LIMIT_EXCEEDED")
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
