package graph

import (
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

// productionRules is the validation rule set in production: the default rules, each rule
// that suggests names replaced by its variant that does not (gqlgen's SetDisableSuggestion
// swaps only two of the five), and introspection refused.
//
// The error presenter strips any suggestion left over (withoutSuggestion): this rule set
// spares the work of computing them, the presenter is what guarantees none is shown.
func productionRules() *rules.Rules {
	r := rules.NewDefaultRules()
	for _, swap := range []struct {
		name string
		rule core.Rule
	}{
		{rules.FieldsOnCorrectTypeRule.Name, rules.FieldsOnCorrectTypeRuleWithoutSuggestions},
		{rules.KnownArgumentNamesRule.Name, rules.KnownArgumentNamesRuleWithoutSuggestions},
		{rules.KnownTypeNamesRule.Name, rules.KnownTypeNamesRuleWithoutSuggestions},
		{rules.ScalarLeafsRule.Name, rules.ScalarLeafsRuleWithoutSuggestions},
		{rules.ValuesOfCorrectTypeRule.Name, rules.ValuesOfCorrectTypeRuleWithoutSuggestions},
	} {
		r.RemoveRule(swap.name)
		r.AddRule(swap.rule.Name, swap.rule.RuleFunc)
	}
	r.AddRule(noIntrospection.Name, noIntrospection.RuleFunc)
	return r
}

// noIntrospection refuses __schema and __type wherever they are selected (under an alias, in
// a fragment); __typename stays allowed. Refused during validation, the document is never
// cached or executed, and the refusal is an ordinary validation error, not the internal error
// gqlgen's resolvers return for introspection they were told is disabled.
var noIntrospection = core.Rule{
	Name: "NoIntrospection",
	RuleFunc: func(observers *core.Events, addError core.AddErrFunc) {
		seen := map[*ast.Field]bool{} // a fragment's fields are walked for each spread and once alone
		observers.OnField(func(_ *core.Walker, f *ast.Field) {
			if (f.Name == "__schema" || f.Name == "__type") && !seen[f] {
				seen[f] = true
				addError(core.Message("GraphQL introspection is not allowed on this server"), core.At(f.Position))
			}
		})
	},
}

// withoutSuggestion cuts a "Did you mean …?" suggestion off a message: gqlparser appends its
// suggestions at the end of a message, always starting with those words.
func withoutSuggestion(msg string) string {
	if i := strings.Index(msg, "Did you mean"); i >= 0 {
		return strings.TrimRight(msg[:i], " ")
	}
	return msg
}
