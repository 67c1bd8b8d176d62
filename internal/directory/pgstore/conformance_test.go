package pgstore

import (
	"context"
	"testing"
	"time"

	"p2p/internal/directory"
	"p2p/internal/directory/storetest"
	"p2p/internal/testenv"
)

// TestConformance runs the store suite against the PostgreSQL store: a new
// database per case, several stores (servers) on it at once.
func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{Shared: true, Fresh: func(t *testing.T) storetest.Opener {
		dsn := testenv.Postgres(t)
		return func() (directory.Store, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			return Open(ctx, dsn, Options{MaxConns: 4})
		}
	}})
}
