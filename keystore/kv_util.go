package keystore

import "encoding/json"

// putJSON stores v under key in b.
func putJSON(b kvBucket, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put([]byte(key), data)
}

// getJSON decodes the value under key into v, or returns notFound (nil
// notFound leaves v as it is and returns nil).
// json.Unmarshal copies what it keeps, so nothing refers to the engine's
// memory after the transaction.
func getJSON(b kvBucket, key string, v any, notFound error) error {
	data := b.Get([]byte(key))
	if data == nil {
		return notFound
	}
	return json.Unmarshal(data, v)
}

// deletePrefix removes every key of b that starts with prefix.
func deletePrefix(b kvBucket, prefix string) error {
	return b.DeletePrefix([]byte(prefix))
}

// forEachPrefix calls fn with the suffix of every key of b that starts with prefix.
func forEachPrefix(b kvBucket, prefix string, fn func(suffix string) error) error {
	return b.ForEachPrefix([]byte(prefix), func(k, _ []byte) error { return fn(string(k[len(prefix):])) })
}

// countPrefix returns how many keys of b start with prefix.
func countPrefix(b kvBucket, prefix string) int {
	n := 0
	b.ForEachPrefix([]byte(prefix), func(_, _ []byte) error { n++; return nil })
	return n
}
