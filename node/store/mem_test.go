package store_test

import (
	"testing"

	"respaldo/node/store"
	"respaldo/node/store/storetest"
)

func TestMemStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T, capacity int64) store.Store {
		return store.NewMemStore(capacity)
	})
}
