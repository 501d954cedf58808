package proxy

import (
	"sync"

	"github.com/sdproxy/sdproxy/fieldcrypt"
)

// fieldsCache keeps parsed X-Qanapi-Fields values: apps send the same few
// lists again and again, and parsing one allocates. It holds at most
// maxCachedFields lists of at most 1 KiB each and starts afresh when full.
type fieldsCache struct {
	mu sync.RWMutex
	m  map[string]fieldcrypt.Fields
}

const maxCachedFields = 1024

// parse returns the parsed list for header h.
func (c *fieldsCache) parse(h []byte) (fieldcrypt.Fields, error) {
	c.mu.RLock()
	f, ok := c.m[string(h)]
	c.mu.RUnlock()
	if ok {
		return f, nil
	}
	f, err := fieldcrypt.ParseFields(string(h))
	if err != nil || len(h) > 1024 {
		return f, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedFields {
		c.m = make(map[string]fieldcrypt.Fields)
	}
	c.m[string(h)] = f
	c.mu.Unlock()
	return f, nil
}
