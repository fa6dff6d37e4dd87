package backup

import (
	"sync"

	"respaldo/erasure"
)

// packCache keeps the last few packs opened for metadata.
type packCache struct {
	mu    sync.Mutex
	max   int
	packs []*openedPack // most recent last
}

func (c *packCache) get(id erasure.StripeID) *openedPack {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, p := range c.packs {
		if p.id == id {
			c.packs = append(append(c.packs[:i:i], c.packs[i+1:]...), p)
			return p
		}
	}
	return nil
}

func (c *packCache) put(p *openedPack) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.packs) >= c.max {
		c.packs = c.packs[1:]
	}
	c.packs = append(c.packs, p)
}
