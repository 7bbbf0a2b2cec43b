package auth

import (
	"slices"
	"testing"
)

func TestGrantScope(t *testing.T) {
	for _, tc := range []struct {
		role, requested string
		want            string
		ok              bool
	}{
		// auditor: audit:read only
		{"auditor", "", "audit:read", true},
		{"auditor", "   ", "audit:read", true},
		{"auditor", "audit:read", "audit:read", true},
		{"auditor", "audit:read audit:read", "audit:read", true},
		{"auditor", "audit:write", "", false},
		{"auditor", "admin", "", false},
		{"auditor", "audit:read audit:write", "", false},
		{"auditor", "audit:delete", "", false},
		{"auditor", "AUDIT:READ", "", false}, // scopes are case-sensitive (RFC 6749 3.3)

		// writer: audit:write only
		{"writer", "", "audit:write", true},
		{"writer", "audit:write", "audit:write", true},
		{"writer", "audit:write\taudit:write", "audit:write", true},
		{"writer", "audit:read", "", false},
		{"writer", "admin", "", false},
		{"writer", "openid", "", false},

		// admin: everything
		{"admin", "", "admin audit:read audit:write", true},
		{"admin", "audit:read", "audit:read", true},
		{"admin", "audit:write", "audit:write", true},
		{"admin", "admin", "admin", true},
		{"admin", "audit:write audit:read", "audit:read audit:write", true},
		{"admin", "audit:read  audit:read", "audit:read", true},
		{"admin", "audit:write admin audit:write audit:read", "admin audit:read audit:write", true},
		{"admin", "audit:read audit:delete", "", false},
		{"admin", "audit:*", "", false},

		// a role that does not exist gets nothing
		{"", "", "", false},
		{"root", "", "", false},
		{"root", "audit:read", "", false},
	} {
		got, ok := grantScope(tc.role, tc.requested)
		if got != tc.want || ok != tc.ok {
			t.Errorf("grantScope(%q, %q) = %q, %v; want %q, %v", tc.role, tc.requested, got, ok, tc.want, tc.ok)
		}
	}
}

func TestEveryRoleHasScopes(t *testing.T) {
	for _, role := range Roles {
		scopes := RoleScopes[role]
		if len(scopes) == 0 {
			t.Errorf("role %q has no scopes", role)
		}
		for _, s := range scopes {
			if !slices.Contains([]string{ScopeRead, ScopeWrite, ScopeAdmin}, s) {
				t.Errorf("role %q has unknown scope %q", role, s)
			}
		}
	}
	for role := range RoleScopes {
		if !slices.Contains(Roles, role) {
			t.Errorf("RoleScopes has %q, which is not in Roles", role)
		}
	}
}
