package auth

import (
	"slices"
	"strings"
)

// Scopes a token may carry.
const (
	ScopeRead  = "audit:read"
	ScopeWrite = "audit:write"
	ScopeAdmin = "admin"
)

// Roles a user may have.
var Roles = []string{"auditor", "writer", "admin"}

// RoleScopes are the scopes each role may be granted.
var RoleScopes = map[string][]string{
	"auditor": {ScopeRead},
	"writer":  {ScopeWrite},
	"admin":   {ScopeAdmin, ScopeRead, ScopeWrite},
}

// grantScope returns the scopes to grant to role for the space-separated
// request: all of the role's when requested is empty, else the ones asked
// for. ok is false when one asked for is not the role's.
func grantScope(role, requested string) (scope string, ok bool) {
	allowed := RoleScopes[role]
	asked := strings.Fields(requested)
	if len(asked) == 0 {
		return strings.Join(allowed, " "), len(allowed) > 0
	}
	var granted []string
	for _, s := range asked {
		if !slices.Contains(allowed, s) {
			return "", false
		}
		if !slices.Contains(granted, s) {
			granted = append(granted, s)
		}
	}
	slices.Sort(granted)
	return strings.Join(granted, " "), true
}
