package graph

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// docShapes are documents of every kind of node docCost counts, each made distinct by i.
var docShapes = []struct {
	name string
	doc  func(i int) string
}{
	{"string literal", func(i int) string {
		return fmt.Sprintf(`{ __type(name: "%d%s") { name } }`, i, strings.Repeat("U", 60000))
	}},
	{"escaped string", func(i int) string {
		return fmt.Sprintf(`{ __type(name: "%d%s") { name } }`, i, strings.Repeat(`\u0055`, 10000))
	}},
	{"block string", func(i int) string {
		return fmt.Sprintf(`{ __type(name: """%d%s""") { name } }`, i, strings.Repeat("U", 60000))
	}},
	{"fields", func(i int) string {
		return fmt.Sprintf(`{ me { id%s } __type(name: "%d") { name } }`, strings.Repeat(" id", 400), i)
	}},
	{"__typename", func(i int) string {
		return fmt.Sprintf(`{ __type(name: "%d") { name }%s }`, i, strings.Repeat(" __typename", 400))
	}},
	{"comments", func(i int) string {
		return fmt.Sprintf("{ __type(name: \"%d\") { name } %s }", i, strings.Repeat("#\n__typename ", 300))
	}},
	{"inline fragments", func(i int) string {
		return fmt.Sprintf(`{ __type(name: "%d") { name } %s }`, i, strings.Repeat("...on Query{__typename}", 200))
	}},
	{"fragments", func(i int) string {
		var b strings.Builder
		fmt.Fprintf(&b, `{ __type(name: "%d") { name } `, i)
		for j := range 100 {
			fmt.Fprintf(&b, "...F%d ", j)
		}
		b.WriteString("}")
		for j := range 100 {
			fmt.Fprintf(&b, " fragment F%d on Query { __typename }", j)
		}
		return b.String()
	}},
	{"arguments", func(i int) string {
		return fmt.Sprintf(`{ __type(name: "%d") { name } %s }`, i, strings.Repeat("users(first: 1) { pageInfo { hasNextPage } } ", 150))
	}},
	{"directives", func(i int) string {
		return fmt.Sprintf(`{ __type(name: "%d") { name } %s }`, i, strings.Repeat("__typename @skip(if: false) ", 200))
	}},
	{"enum list", func(i int) string {
		return fmt.Sprintf(`mutation { setUserRoles(userId: "%d", roles: [%s]) { id } }`, i, strings.Repeat("USER ", 1900))
	}},
	{"input objects", func(i int) string {
		return fmt.Sprintf(`mutation { %s __typename }`, strings.Repeat(fmt.Sprintf(`login(input: {email: "%d", password: "b"}) { accessToken } `, i), 90))
	}},
	{"variables", func(i int) string {
		var defs, uses strings.Builder
		for k := range 120 {
			fmt.Fprintf(&defs, "$v%d: Boolean = true ", k)
			fmt.Fprintf(&uses, "__typename @include(if: $v%d) ", k)
		}
		return fmt.Sprintf(`query(%s) { __type(name: "%d") { name } %s }`, defs.String(), i, uses.String())
	}},
	{"list variable", func(i int) string {
		return fmt.Sprintf(`mutation($r: [Role!]! = [%s]) { setUserRoles(userId: "%d", roles: $r) { id } }`, strings.Repeat("USER,", 1900), i)
	}},
	{"typical", func(i int) string {
		return fmt.Sprintf(`query Q%d($first: Int, $after: String) { users(first: $first, after: $after) { edges { cursor node { id email roles createdAt disabled } } pageInfo { hasNextPage endCursor } } }`, i)
	}},
}

// TestDocCostCoversHeap: for documents of every kind of node, docCost is at least the heap a
// parsed and validated document keeps alive (its source included), and not far above it. So a
// cache bounded by docCost holds no more than its bound, and about as many documents as fit.
func TestDocCostCoversHeap(t *testing.T) {
	schema := NewExecutableSchema(Config{}).Schema()
	const n = 10
	for _, shape := range docShapes {
		queries := make([]string, n)
		for i := range queries {
			queries[i] = strings.Clone(shape.doc(i))
		}
		before := liveHeap()
		docs := make([]*ast.QueryDocument, n)
		for i, q := range queries {
			doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: q}, 2000)
			if err != nil {
				t.Fatalf("%s: %v", shape.name, err)
			}
			if errs := validator.ValidateWithRules(schema, doc, rules.NewDefaultRules()); len(errs) > 0 {
				t.Fatalf("%s: %v", shape.name, errs)
			}
			docs[i] = doc
		}
		held := float64(liveHeap()-before)/n + float64(len(queries[0])) // the source is held too
		est := float64(docCost(queries[0], docs[0]))
		t.Logf("%-16s source %6d B, held %7.0f B (%4.1f× the source), docCost %7.0f B (%.2f× held)",
			shape.name, len(queries[0]), held, held/float64(len(queries[0])), est, est/held)
		if est < 0.95*held || est > 2.5*held {
			t.Errorf("%s: docCost %.0f B for %.0f B held", shape.name, est, held)
		}
		runtime.KeepAlive(docs)
	}
}
