package store_test

import (
	"context"
	"testing"

	"github.com/auditgraph/auditgraph/internal/pgtest"
	"github.com/auditgraph/auditgraph/migrations"
	"github.com/auditgraph/auditgraph/store"
)

func TestMigrateTwiceIsHarmless(t *testing.T) {
	s := store.New(pgtest.Pool(t))
	// The template is migrated already: nothing is left to apply.
	applied, err := s.Migrate(context.Background(), migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 0 {
		t.Errorf("second migrate applied %v, want none", applied)
	}
}
