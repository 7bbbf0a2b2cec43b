package store_test

import (
	"testing"

	"github.com/auditgraph/auditgraph/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
