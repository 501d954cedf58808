// Package keystore keeps sdproxy's durable state: projects, their API keys
// (only a keyed hash of each secret), their route rules, their
// classifications and, wrapped by the master key, their data keys. The
// default backend is an embedded bbolt file (Open); several instances can
// share one store in etcd (OpenEtcd), where writes are optimistic
// transactions and every instance's cache follows etcd's watch (see
// kv_etcd.go and feed.go).
//
// Authentication is served from an in-memory cache of every key; a revoke
// updates the cache before it returns, so a revoked key is refused by the
// very next request (on etcd: on the instance that revoked it at once, on
// the others as soon as the watch brings the change). The data plane reads projects, routes and
// classifications from the same cache (CachedProject, CachedRoutes,
// CachedClassification, CachedMask) without allocating. Each write of a
// project, key, route or classification commits and updates the cache
// under one lock, so however concurrent writes interleave, the cache holds
// the newest committed record, never an older one. "Last used" times are
// kept in memory and written in batches by Store.FlushLastUsed.
package keystore
