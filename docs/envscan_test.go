package docs_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
)

// envVarName is what an environment variable's name looks like here; other string arguments of
// getenv-like calls (there should be none) are not counted.
var envVarName = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// envReads finds the environment variables the module's Go code reads: string constants passed
// as the name to a getenv-like call, in every non-test .go file under root (a nested module, a
// testdata folder and node_modules excluded). It returns each name with the places it is read.
//
// Getenv-like, so that the detection survives refactoring and files moving between packages:
//   - any function or method called getenv or lookupEnv, in any case (os.Getenv, os.LookupEnv,
//     a `getenv func(string) string` parameter, cfg.Getenv);
//   - a parameter or variable of type func(string) string or func(string) (string, bool),
//     whatever its name;
//   - any function or closure that passes one of its own parameters as the name to a
//     getenv-like call (config helpers such as env(name, def), duration(name, def)), found
//     by repeating the search until nothing new turns up;
//   - struct fields tagged `env:"NAME"`, for configuration libraries that read tags.
//
// A name is a string literal or a string constant (by name, anywhere in the module).
func envReads(root string) (map[string][]string, error) {
	fset := token.NewFileSet()
	var files []*ast.File
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") ||
				name == "testdata" || name == "node_modules" || name == "vendor") {
				return filepath.SkipDir
			}
			if path != root {
				if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
					return filepath.SkipDir // another module
				}
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		return nil, err
	}

	s := &envScan{
		consts:  map[string]string{},
		funcs:   map[string]int{},
		locals:  map[*ast.File]map[string]int{},
		fileSet: fset,
		root:    root,
	}
	for _, f := range files {
		s.locals[f] = map[string]int{}
		s.collectConsts(f)
		s.collectFuncParams(f)
	}
	for changed := true; changed; {
		changed = false
		for _, f := range files {
			if s.findWrappers(f) {
				changed = true
			}
		}
	}
	found := map[string][]string{}
	for _, f := range files {
		s.collectReads(f, found)
	}
	return found, nil
}

type envScan struct {
	consts  map[string]string            // string constants by name
	funcs   map[string]int               // getenv-like functions and methods → index of the name argument
	locals  map[*ast.File]map[string]int // the same for closures and func-typed parameters, per file
	fileSet *token.FileSet
	root    string
}

func (s *envScan) collectConsts(f *ast.File) {
	ast.Inspect(f, func(n ast.Node) bool {
		gd, ok := n.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			return true
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if i < len(vs.Values) {
					if v, ok := stringLit(vs.Values[i]); ok {
						s.consts[name.Name] = v
					}
				}
			}
		}
		return true
	})
}

// collectFuncParams marks parameters and variables typed like os.Getenv or os.LookupEnv.
func (s *envScan) collectFuncParams(f *ast.File) {
	mark := func(fields *ast.FieldList) {
		if fields == nil {
			return
		}
		for _, field := range fields.List {
			if isGetenvType(field.Type) {
				for _, name := range field.Names {
					s.locals[f][name.Name] = 0
				}
			}
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncType:
			mark(n.Params)
		case *ast.StructType:
			mark(n.Fields)
		case *ast.ValueSpec:
			if n.Type != nil && isGetenvType(n.Type) {
				for _, name := range n.Names {
					s.locals[f][name.Name] = 0
				}
			}
		}
		return true
	})
}

// isGetenvType reports whether t is func(string) string or func(string) (string, bool).
func isGetenvType(t ast.Expr) bool {
	ft, ok := t.(*ast.FuncType)
	if !ok || ft.Params == nil || ft.Results == nil {
		return false
	}
	types := func(fl *ast.FieldList) []string {
		var out []string
		for _, f := range fl.List {
			id, _ := f.Type.(*ast.Ident)
			name := ""
			if id != nil {
				name = id.Name
			}
			for range max(1, len(f.Names)) {
				out = append(out, name)
			}
		}
		return out
	}
	params, results := types(ft.Params), types(ft.Results)
	return reflect.DeepEqual(params, []string{"string"}) &&
		(reflect.DeepEqual(results, []string{"string"}) || reflect.DeepEqual(results, []string{"string", "bool"}))
}

// nameArg returns the index of the argument that names the variable when call is getenv-like.
func (s *envScan) nameArg(f *ast.File, call *ast.CallExpr) (int, bool) {
	var name string
	switch fn := call.Fun.(type) {
	case *ast.Ident:
		name = fn.Name
	case *ast.SelectorExpr:
		name = fn.Sel.Name
	default:
		return 0, false
	}
	if i, ok := s.locals[f][name]; ok {
		return i, true
	}
	if strings.EqualFold(name, "getenv") || strings.EqualFold(name, "lookupenv") {
		return 0, true
	}
	i, ok := s.funcs[name]
	return i, ok
}

// findWrappers marks the functions and closures of f that pass one of their parameters as the
// name to a getenv-like call; it reports whether it marked a new one.
func (s *envScan) findWrappers(f *ast.File) bool {
	changed := false
	check := func(name string, ft *ast.FuncType, body *ast.BlockStmt, into map[string]int) {
		if body == nil || ft.Params == nil {
			return
		}
		if _, known := into[name]; known {
			return
		}
		params := map[string]int{}
		i := 0
		for _, field := range ft.Params.List {
			for _, n := range field.Names {
				params[n.Name] = i
				i++
			}
			if len(field.Names) == 0 {
				i++
			}
		}
		ast.Inspect(body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if idx, ok := s.nameArg(f, call); ok && idx < len(call.Args) {
				if id, ok := call.Args[idx].(*ast.Ident); ok {
					if p, ok := params[id.Name]; ok {
						if _, known := into[name]; !known {
							into[name] = p
							changed = true
						}
					}
				}
			}
			return true
		})
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncDecl:
			check(n.Name.Name, n.Type, n.Body, s.funcs)
		case *ast.AssignStmt: // name := func(…) {…}
			for i, rhs := range n.Rhs {
				if lit, ok := rhs.(*ast.FuncLit); ok && i < len(n.Lhs) {
					if id, ok := n.Lhs[i].(*ast.Ident); ok {
						check(id.Name, lit.Type, lit.Body, s.locals[f])
					}
				}
			}
		case *ast.ValueSpec: // var name = func(…) {…}
			for i, v := range n.Values {
				if lit, ok := v.(*ast.FuncLit); ok && i < len(n.Names) {
					check(n.Names[i].Name, lit.Type, lit.Body, s.locals[f])
				}
			}
		}
		return true
	})
	return changed
}

func (s *envScan) collectReads(f *ast.File, found map[string][]string) {
	add := func(name string, pos token.Pos) {
		if envVarName.MatchString(name) {
			p := s.fileSet.Position(pos)
			rel, err := filepath.Rel(s.root, p.Filename)
			if err != nil {
				rel = p.Filename
			}
			found[name] = append(found[name], filepath.ToSlash(rel)+":"+strconv.Itoa(p.Line))
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			idx, ok := s.nameArg(f, n)
			if !ok || idx >= len(n.Args) {
				return true
			}
			if v, ok := s.constant(n.Args[idx]); ok {
				add(v, n.Args[idx].Pos())
			}
		case *ast.Field:
			if n.Tag != nil {
				tag, err := strconv.Unquote(n.Tag.Value)
				if err == nil {
					name, _, _ := strings.Cut(reflect.StructTag(tag).Get("env"), ",")
					add(name, n.Tag.Pos())
				}
			}
		}
		return true
	})
}

// constant is the string value of a literal or a named string constant.
func (s *envScan) constant(e ast.Expr) (string, bool) {
	if v, ok := stringLit(e); ok {
		return v, true
	}
	switch e := e.(type) {
	case *ast.Ident:
		v, ok := s.consts[e.Name]
		return v, ok
	case *ast.SelectorExpr:
		v, ok := s.consts[e.Sel.Name]
		return v, ok
	}
	return "", false
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	v, err := strconv.Unquote(lit.Value)
	return v, err == nil
}
