package keystore

import (
	"bytes"
	"encoding/json"

	bolt "go.etcd.io/bbolt"
)

// putJSON stores v under key in b.
func putJSON(b *bolt.Bucket, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put([]byte(key), data)
}

// getJSON decodes the value under key into v, or returns notFound (nil
// notFound leaves v as it is and returns nil).
// json.Unmarshal copies what it keeps, so nothing refers to bbolt's memory
// after the transaction.
func getJSON(b *bolt.Bucket, key string, v any, notFound error) error {
	data := b.Get([]byte(key))
	if data == nil {
		return notFound
	}
	return json.Unmarshal(data, v)
}

// deletePrefix removes every key of b that starts with prefix.
func deletePrefix(b *bolt.Bucket, prefix string) error {
	p := []byte(prefix)
	c := b.Cursor()
	for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Seek(p) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// forEachPrefix calls fn with the suffix of every key of b that starts with prefix.
func forEachPrefix(b *bolt.Bucket, prefix string, fn func(suffix string) error) error {
	p := []byte(prefix)
	c := b.Cursor()
	for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
		if err := fn(string(k[len(p):])); err != nil {
			return err
		}
	}
	return nil
}

// countPrefix returns how many keys of b start with prefix.
func countPrefix(b *bolt.Bucket, prefix string) int {
	p := []byte(prefix)
	n := 0
	c := b.Cursor()
	for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
		n++
	}
	return n
}
