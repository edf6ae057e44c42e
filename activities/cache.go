package activities

import (
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"

	"github.com/extole-braze/extole-braze/braze"
)

// identityCacheSize bounds the memory the cache takes: about 100 bytes an
// entry.
const identityCacheSize = 100_000

// identityCache remembers how to address a person found by email. A miss
// is never remembered: the person may be created at any moment.
type identityCache struct {
	lru *expirable.LRU[string, braze.UserRef]
}

func newIdentityCache(ttl time.Duration) *identityCache {
	if ttl <= 0 {
		return &identityCache{}
	}
	return &identityCache{lru: expirable.NewLRU[string, braze.UserRef](identityCacheSize, nil, ttl)}
}

func (c *identityCache) get(email string) (braze.UserRef, bool) {
	if c.lru == nil {
		return braze.UserRef{}, false
	}
	return c.lru.Get(email)
}

func (c *identityCache) put(email string, ref braze.UserRef) {
	if c.lru != nil {
		c.lru.Add(email, ref)
	}
}
