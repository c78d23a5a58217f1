package graph

import (
	"context"
	"fmt"
	"unsafe"

	"github.com/99designs/gqlgen/complexity"
	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/example/gqlauth/internal/bytelru"
)

func init() {
	// The limits refuse a document before anything runs, like a validation rule does: request
	// errors (no data; 400 to application/graphql-response+json, see httptransport.go; an
	// "error" message over WebSocket).
	for _, code := range []string{"COMPLEXITY_LIMIT_EXCEEDED", "DEPTH_LIMIT_EXCEEDED", "ALIAS_LIMIT_EXCEEDED"} {
		errcode.RegisterErrorType(code, errcode.KindProtocol)
	}
}

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
// a repeated query need not be walked again. Depth and aliases depend on the document only;
// complexity also on the variables when a complexity function reads field arguments, so it is
// memoised only for operations without variables (NewHandler sets no complexity functions,
// but this stays right if some are added).
//
// The memo is keyed by the document's text and the operation's name, not by the parsed
// operation: a key pointing into a parsed document would keep every document alive that
// gqlgen's query cache has evicted. It is bounded in bytes like the caches.
type limits struct {
	maxComplexity int
	shape         shapeLimit
	es            graphql.ExecutableSchema
	memo          *bytelru.Cache[memoKey, opShape]
}

type memoKey struct{ query, operation string }

type opShape struct {
	depth, aliases int
	complexity     int // -1: not memoised (the operation has variables)
}

func newLimits(maxComplexity int, shape shapeLimit, memoBytes int) *limits {
	return &limits{maxComplexity: maxComplexity, shape: shape, memo: bytelru.New(memoBytes, memoCost)}
}

// memoCost: the key's strings and the shape. The query string is the one of the request that
// filled the entry, not necessarily the query cache's (each request decodes its own copy), so
// it is counted in full.
func memoCost(k memoKey, _ opShape) int {
	return len(k.query) + len(k.operation) + int(unsafe.Sizeof(k)+unsafe.Sizeof(opShape{}))
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
	key := memoKey{oc.RawQuery, oc.OperationName}
	sh, ok := l.memo.Get(key)
	if !ok {
		w := shapeWalker{doc: oc.Doc, fragDepth: map[string]int{}}
		sh.depth = w.depth(op.SelectionSet, 0)
		sh.aliases = w.aliases
		sh.complexity = -1
		if len(op.VariableDefinitions) == 0 {
			sh.complexity = complexity.Calculate(ctx, l.es, op, nil)
		}
		l.memo.Add(key, sh)
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
