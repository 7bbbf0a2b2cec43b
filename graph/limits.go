package graph

import (
	"context"
	"fmt"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Query shape limits: deep enough for the standard introspection query.
const (
	maxDepth   = 15
	maxAliases = 30
)

// queryLimits refuses operations nested deeper than maxDepth or with more
// than maxAliases aliases, which would otherwise multiply the work of one
// request.
type queryLimits struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = queryLimits{}

func (queryLimits) ExtensionName() string                   { return "QueryLimits" }
func (queryLimits) Validate(graphql.ExecutableSchema) error { return nil }
func (queryLimits) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	depth, aliases := measure(oc.Operation.SelectionSet, oc.Doc.Fragments, map[string]bool{})
	switch {
	case depth > maxDepth:
		return limitError(fmt.Sprintf("the query is nested %d fields deep; at most %d are allowed", depth, maxDepth))
	case aliases > maxAliases:
		return limitError(fmt.Sprintf("the query has %d aliases; at most %d are allowed", aliases, maxAliases))
	}
	return nil
}

func limitError(msg string) *gqlerror.Error {
	return &gqlerror.Error{Message: msg, Extensions: map[string]any{"code": "QUERY_TOO_COMPLEX"}}
}

// measure returns the depth of a selection set and the aliases in it.
func measure(set ast.SelectionSet, fragments ast.FragmentDefinitionList, seen map[string]bool) (depth, aliases int) {
	for _, sel := range set {
		var d, a int
		switch s := sel.(type) {
		case *ast.Field:
			d, a = measure(s.SelectionSet, fragments, seen)
			d++
			if s.Alias != "" && s.Alias != s.Name {
				a++
			}
		case *ast.InlineFragment:
			d, a = measure(s.SelectionSet, fragments, seen)
		case *ast.FragmentSpread:
			if f := fragments.ForName(s.Name); f != nil && !seen[s.Name] {
				seen[s.Name] = true
				d, a = measure(f.SelectionSet, fragments, seen)
				delete(seen, s.Name)
			}
		}
		depth = max(depth, d)
		aliases += a
	}
	return depth, aliases
}
