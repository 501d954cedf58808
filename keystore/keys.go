package keystore

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"
)

// MaxSlugLen is the longest classification slug.
const MaxSlugLen = 64

// Permissions a key may carry. A key created without any gets
// PermEncrypt and PermDecrypt.
const (
	PermEncrypt = "encrypt"
	PermDecrypt = "decrypt"
	// PermDecryptMasked lets a key read decrypted values only masked (by
	// the classification's mask), where a response rule decrypts. With
	// PermDecrypt as well, the key sees plaintext.
	PermDecryptMasked = "decrypt_masked"
)

// Permissions lists every permission, in the order lists show them.
var Permissions = []string{PermDecrypt, PermDecryptMasked, PermEncrypt}

// Key statuses.
const (
	StatusActive  = "active"
	StatusRevoked = "revoked"
	StatusExpired = "expired"
)

// Key is an API key's public record. It never holds the secret or its hash.
type Key struct {
	ID          string
	ProjectID   string
	Name        string
	Permissions []string
	// Classifications limits the key to these slugs; empty means any.
	Classifications []string
	CreatedAt       time.Time
	LastUsedAt      *time.Time
	RevokedAt       *time.Time
	ExpiresAt       *time.Time
	// RotatedTo is the key that replaced this one by a rotation; a rotated
	// key no longer counts against the cap while its grace period runs.
	RotatedTo string
	// DecryptBudget caps the values the key decrypts per window; nil
	// means no cap.
	DecryptBudget *Budget
	// BudgetUsage is the budget's current window, set by Keys and GetKey;
	// nil without a budget.
	BudgetUsage *BudgetUsage
}

// Status is active, revoked or expired at now.
func (k *Key) Status(now time.Time) string {
	switch {
	case k.RevokedAt != nil:
		return StatusRevoked
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return StatusExpired
	}
	return StatusActive
}

// countsAgainstCap reports whether k takes one of the project's active slots.
func (k *Key) countsAgainstCap(now time.Time) bool {
	return k.Status(now) == StatusActive && k.RotatedTo == ""
}

// keyRecord is what is stored: the public record plus the keyed hash.
type keyRecord struct {
	Key
	Hash []byte
}

// LogValue keeps the secret out of logs.
func (k NewKey) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", k.ID), slog.String("project_id", k.ProjectID), slog.String("secret", "[REDACTED]"))
}

// KeyInput describes a key to create.
type KeyInput struct {
	Name            string
	Permissions     []string
	Classifications []string
	ExpiresAt       *time.Time
	// DecryptBudget caps the values the key decrypts per window (see
	// Budget.Validate); nil means no cap.
	DecryptBudget *Budget
}

// NewKey is a key just created: the record, and the full key text, which
// exists only here and is never stored.
type NewKey struct {
	Key
	Secret string
}

// CreateKey creates an API key in project. The project's cap of active keys
// is checked inside the write transaction, so concurrent creates never
// exceed it (ErrKeyLimit). The key's classifications must be defined in
// the project (a *FieldError naming "classifications[i]" otherwise).
func (s *Store) CreateKey(projectID string, in KeyInput) (NewKey, error) {
	rec, secret, err := s.newKeyRecord(projectID, in)
	if err != nil {
		return NewKey{}, err
	}
	err = s.update(func(tx kvTx) error {
		if err := requireProject(tx, projectID); err != nil {
			return err
		}
		if err := checkDefined(tx, projectID, "classifications", in.Classifications); err != nil {
			return err
		}
		return s.insertKey(tx, rec)
	}, func() { s.cache.putKey(rec) })
	// ErrNotCaughtUp: the key exists; its secret is shown here or never.
	if err != nil && !errors.Is(err, ErrNotCaughtUp) {
		return NewKey{}, fmt.Errorf("keystore.CreateKey %s: %w", projectID, err)
	}
	rec.BudgetUsage = unusedBudget(rec.DecryptBudget, s.now())
	return NewKey{Key: rec.Key, Secret: secret}, nil
}

// newKeyRecord validates in and draws a fresh id and secret.
func (s *Store) newKeyRecord(projectID string, in KeyInput) (*keyRecord, string, error) {
	now := s.now()
	name := strings.TrimSpace(in.Name)
	if len(name) > maxNameLen {
		return nil, "", invalid("name", "must be at most %d characters", maxNameLen)
	}
	perms, err := normalizePermissions(in.Permissions)
	if err != nil {
		return nil, "", err
	}
	classes, err := normalizeSlugs(in.Classifications)
	if err != nil {
		return nil, "", err
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		return nil, "", invalid("expires_at", "must be in the future")
	}
	var budget *Budget
	if in.DecryptBudget != nil {
		if err := in.DecryptBudget.Validate(); err != nil {
			return nil, "", err
		}
		b := *in.DecryptBudget
		budget = &b
	}
	id, secret, err := newAPIKey(s.opts.Rand)
	if err != nil {
		return nil, "", err
	}
	rec := &keyRecord{
		Key: Key{
			ID: id, ProjectID: projectID, Name: name, Permissions: perms,
			Classifications: classes, CreatedAt: now, ExpiresAt: utcPtr(in.ExpiresAt),
			DecryptBudget: budget,
		},
		Hash: s.hashSecret([]byte(secret)),
	}
	return rec, secret, nil
}

// insertKey checks the project and its cap, then stores rec.
func (s *Store) insertKey(tx kvTx, rec *keyRecord) error {
	var p Project
	if err := getProject(tx.Bucket(bucketProjects), rec.ProjectID, &p); err != nil {
		return err
	}
	keys, err := projectKeys(tx, rec.ProjectID)
	if err != nil {
		return err
	}
	now := s.now()
	active := 0
	for _, k := range keys {
		if k.countsAgainstCap(now) {
			active++
		}
	}
	if active >= p.MaxActiveKeys {
		return ErrKeyLimit
	}
	if tx.Bucket(bucketKeys).Get([]byte(rec.ID)) != nil {
		return fmt.Errorf("keystore: key id collision %s", rec.ID)
	}
	if err := putJSON(tx.Bucket(bucketKeys), rec.ID, rec); err != nil {
		return err
	}
	return tx.Bucket(bucketProjectKeys).Put([]byte(rec.ProjectID+"/"+rec.ID), nil)
}

// Keys returns the keys of project, oldest first, with their last use as
// known in memory.
func (s *Store) Keys(projectID string) ([]Key, error) {
	var recs []*keyRecord
	err := s.kv.View(func(tx kvTx) error {
		if tx.Bucket(bucketProjects).Get([]byte(projectID)) == nil {
			return ErrProjectNotFound
		}
		var err error
		recs, err = projectKeys(tx, projectID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("keystore.Keys %s: %w", projectID, err)
	}
	out := make([]Key, len(recs))
	for i, r := range recs {
		out[i] = s.withLastUsed(r.Key)
	}
	if err := s.withBudgetUsage(out); err != nil {
		return nil, fmt.Errorf("keystore.Keys %s: %w", projectID, err)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// GetKey returns one key of project.
func (s *Store) GetKey(projectID, keyID string) (Key, error) {
	var rec keyRecord
	err := s.kv.View(func(tx kvTx) error { return getProjectKey(tx, projectID, keyID, &rec) })
	if err != nil {
		return Key{}, fmt.Errorf("keystore.GetKey %s: %w", keyID, err)
	}
	out := []Key{s.withLastUsed(rec.Key)}
	if err := s.withBudgetUsage(out); err != nil {
		return Key{}, fmt.Errorf("keystore.GetKey %s: %w", keyID, err)
	}
	return out[0], nil
}

// RevokeKey revokes a key. The key stops authenticating before RevokeKey
// returns. Revoking a revoked key is not an error; it keeps its first
// revocation time.
func (s *Store) RevokeKey(projectID, keyID string) (Key, error) {
	var rec keyRecord
	err := s.update(func(tx kvTx) error {
		if err := getProjectKey(tx, projectID, keyID, &rec); err != nil {
			return err
		}
		if rec.RevokedAt == nil {
			now := s.now()
			rec.RevokedAt = &now
		}
		return putJSON(tx.Bucket(bucketKeys), keyID, &rec)
	}, func() { s.cache.putKey(&rec) })
	if err != nil {
		return Key{}, fmt.Errorf("keystore.RevokeKey %s: %w", keyID, err)
	}
	return s.withLastUsed(rec.Key), nil
}

// RotateKey creates a replacement for an active key with the same name,
// permissions and classifications, and makes the old key expire after
// grace (at once when grace is 0). The old key stops counting against the
// cap, so a project at its cap can still rotate.
func (s *Store) RotateKey(projectID, keyID string, grace time.Duration) (NewKey, Key, error) {
	if grace < 0 {
		return NewKey{}, Key{}, invalid("grace_period", "must not be negative")
	}
	if grace > MaxGracePeriod {
		return NewKey{}, Key{}, invalid("grace_period", "must be at most %s (30 days)", MaxGracePeriod)
	}
	var old keyRecord
	var fresh *keyRecord
	var secret string
	err := s.update(func(tx kvTx) error {
		if err := getProjectKey(tx, projectID, keyID, &old); err != nil {
			return err
		}
		now := s.now()
		if old.Status(now) != StatusActive || old.RotatedTo != "" {
			return invalid("key", "only an active key that has not been rotated can be rotated")
		}
		if grace > 0 { // with none the old key ends at once: no key is added
			if err := s.graceRoom(tx, projectID, now); err != nil {
				return err
			}
		}
		var err error
		fresh, secret, err = s.newKeyRecord(projectID, KeyInput{
			Name: old.Name, Permissions: old.Permissions,
			Classifications: old.Classifications, ExpiresAt: old.ExpiresAt,
			DecryptBudget: old.DecryptBudget,
		})
		if err != nil {
			return err
		}
		end := now.Add(grace)
		if old.ExpiresAt == nil || end.Before(*old.ExpiresAt) {
			old.ExpiresAt = &end
		}
		old.RotatedTo = fresh.ID
		if err := putJSON(tx.Bucket(bucketKeys), keyID, &old); err != nil {
			return err
		}
		return s.insertKey(tx, fresh)
	}, func() {
		s.cache.putKey(&old)
		s.cache.putKey(fresh)
	})
	// ErrNotCaughtUp: the new key exists; its secret is shown here or never.
	if err != nil && !errors.Is(err, ErrNotCaughtUp) {
		return NewKey{}, Key{}, fmt.Errorf("keystore.RotateKey %s: %w", keyID, err)
	}
	fresh.BudgetUsage = unusedBudget(fresh.DecryptBudget, s.now())
	return NewKey{Key: fresh.Key, Secret: secret}, s.withLastUsed(old.Key), nil
}

// MaxGracePeriod is the longest a rotated key may keep working.
const MaxGracePeriod = 30 * 24 * time.Hour

// graceRoom refuses a rotation when the project already holds as many
// rotated keys still in their grace period as its cap of active keys: a
// rotated key leaves the cap but keeps working, and rotating the new key
// again and again would otherwise give any number of working keys. So at
// most twice the cap ever work at once.
func (s *Store) graceRoom(tx kvTx, projectID string, now time.Time) error {
	var p Project
	if err := getProject(tx.Bucket(bucketProjects), projectID, &p); err != nil {
		return err
	}
	keys, err := projectKeys(tx, projectID)
	if err != nil {
		return err
	}
	graced := 0
	for _, k := range keys {
		if k.RotatedTo != "" && k.Status(now) == StatusActive {
			graced++
		}
	}
	if graced >= p.MaxActiveKeys {
		return ErrGraceLimit
	}
	return nil
}

// hashSecret is the keyed hash stored for a key.
func (s *Store) hashSecret(key []byte) []byte {
	m := hmac.New(sha256.New, s.hashKey)
	m.Write(key)
	return m.Sum(nil)
}

func getProjectKey(tx kvTx, projectID, keyID string, rec *keyRecord) error {
	if err := getJSON(tx.Bucket(bucketKeys), keyID, rec, ErrKeyNotFound); err != nil {
		return err
	}
	if rec.ProjectID != projectID {
		return ErrKeyNotFound
	}
	return nil
}

func projectKeys(tx kvTx, projectID string) ([]*keyRecord, error) {
	var out []*keyRecord
	keys := tx.Bucket(bucketKeys)
	err := forEachPrefix(tx.Bucket(bucketProjectKeys), projectID+"/", func(id string) error {
		rec := new(keyRecord)
		if err := getJSON(keys, id, rec, ErrKeyNotFound); err != nil {
			return err
		}
		out = append(out, rec)
		return nil
	})
	return out, err
}

func deleteProjectKeys(tx kvTx, projectID string) ([]string, error) {
	var ids []string
	err := forEachPrefix(tx.Bucket(bucketProjectKeys), projectID+"/", func(id string) error {
		ids = append(ids, id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if err := tx.Bucket(bucketKeys).Delete([]byte(id)); err != nil {
			return nil, err
		}
		if err := tx.Bucket(bucketBudgets).Delete([]byte(id)); err != nil {
			return nil, err
		}
	}
	return ids, deletePrefix(tx.Bucket(bucketProjectKeys), projectID+"/")
}

func normalizePermissions(in []string) ([]string, error) {
	if len(in) == 0 {
		return []string{PermDecrypt, PermEncrypt}, nil // sorted, like explicit lists
	}
	var out []string
	for _, p := range in {
		p = strings.ToLower(strings.TrimSpace(p))
		if !slices.Contains(Permissions, p) {
			return nil, invalid("permissions", "unknown permission %q (want encrypt, decrypt or decrypt_masked)", p)
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out, nil
}

func normalizeSlugs(in []string) ([]string, error) {
	out := []string{}
	for i, c := range in {
		if !ValidSlug(c) {
			return nil, invalid(fmt.Sprintf("classifications[%d]", i), "%q is not a slug (a-z, 0-9, - and _, at most 64)", c)
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// ValidSlug reports whether s is a classification slug: 1 to 64 characters
// of a-z, 0-9, '-' and '_'.
func ValidSlug(s string) bool {
	if s == "" || len(s) > MaxSlugLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isBase36(c) && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
