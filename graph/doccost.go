package graph

import "github.com/vektah/gqlparser/v2/ast"

// Heap bytes one node of a parsed and validated document keeps alive: its struct, its
// *ast.Position (48 bytes) and its slot in the parent's list. Measured with gqlparser v2.5.64
// (see TestDocCostCoversHeap) and rounded up.
const (
	selectionCost = 256 // *ast.Field (144 B), FragmentSpread, InlineFragment, operation, fragment
	typenameCost  = 256 // validation gives every __typename field its own *ast.FieldDefinition
	argumentCost  = 128 // *ast.Argument, *ast.Directive
	variableCost  = 256 // *ast.VariableDefinition
	valueCost     = 160 // *ast.Value (112 B)
	childCost     = 96  // *ast.ChildValue: an element of a list or a field of an input object
	typeCost      = 96  // *ast.Type of a variable definition
	commentCost   = 96  // *ast.Comment (a comment line), or its group
)

// docCost estimates the heap a cached document holds: its source (the cache key, which the
// document's positions also point to), every node, and every string value as if the lexer had
// copied it (it does for strings with escapes and for block strings). Counting nodes, not
// only source bytes: a document of short names holds ~80 times its source, one big string
// literal about its source.
func docCost(query string, doc *ast.QueryDocument) int {
	w := costWalker{bytes: len(query)}
	for _, op := range doc.Operations {
		w.bytes += selectionCost
		w.comment(op.Comment)
		for _, v := range op.VariableDefinitions {
			w.bytes += variableCost
			for t := v.Type; t != nil; t = t.Elem {
				w.bytes += typeCost
			}
			w.value(v.DefaultValue)
			w.directives(v.Directives)
			w.comment(v.Comment)
		}
		w.directives(op.Directives)
		w.selections(op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		w.bytes += selectionCost
		w.comment(f.Comment)
		w.directives(f.Directives)
		w.selections(f.SelectionSet)
	}
	return w.bytes
}

type costWalker struct{ bytes int }

func (w *costWalker) comment(c *ast.CommentGroup) {
	if c != nil {
		w.bytes += commentCost * (1 + len(c.List))
	}
}

func (w *costWalker) value(v *ast.Value) {
	if v == nil {
		return
	}
	w.bytes += valueCost
	w.comment(v.Comment)
	switch v.Kind {
	case ast.StringValue: // counted as a copy, whether or not the lexer made one (escapes)
		w.bytes += len(v.Raw)
	case ast.BlockValue: // built in a growing buffer
		w.bytes += len(v.Raw) + len(v.Raw)/4
	}
	for _, c := range v.Children {
		w.bytes += childCost
		w.comment(c.Comment)
		w.value(c.Value)
	}
}

func (w *costWalker) arguments(args ast.ArgumentList) {
	for _, a := range args {
		w.bytes += argumentCost
		w.comment(a.Comment)
		w.value(a.Value)
	}
}

func (w *costWalker) directives(ds ast.DirectiveList) {
	for _, d := range ds {
		w.bytes += argumentCost
		w.arguments(d.Arguments)
	}
}

func (w *costWalker) selections(set ast.SelectionSet) {
	for _, sel := range set {
		w.bytes += selectionCost
		switch s := sel.(type) {
		case *ast.Field:
			if s.Name == "__typename" {
				w.bytes += typenameCost
			}
			w.comment(s.Comment)
			w.arguments(s.Arguments)
			w.directives(s.Directives)
			w.selections(s.SelectionSet)
		case *ast.InlineFragment:
			w.comment(s.Comment)
			w.directives(s.Directives)
			w.selections(s.SelectionSet)
		case *ast.FragmentSpread:
			w.comment(s.Comment)
			w.directives(s.Directives)
		}
	}
}
