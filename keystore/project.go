package keystore

import (
	"fmt"
	"sort"
	"time"
)

// Environments a project may be created in. It cannot change afterwards.
var Environments = []string{"development", "staging", "production"}

// RateLimit is a token bucket per API key.
type RateLimit struct {
	RequestsPerSecond float64
	Burst             int
}

// Project is one tenant of the proxy, with its own keys and data keys.
type Project struct {
	ID          string
	Name        string
	Environment string
	// Upstream is the base URL requests are forwarded to when no
	// X-Qanapi-Destination is given; empty means answer directly.
	Upstream string
	// Destinations are the origins (scheme://host[:port]) that
	// X-Qanapi-Destination may name.
	Destinations  []string
	RateLimit     RateLimit
	MaxActiveKeys int
	// BindFields seals new tokens bound to the field path they sit at: a
	// token moved to another field no longer opens. Tokens sealed before
	// stay as they were.
	BindFields bool
	// UpstreamCA is PEM text of the CA certificates that the upstream's
	// and the destinations' certificates are verified against, instead
	// of the system's roots; "" means the system's roots.
	UpstreamCA string
	// UpstreamClientCert is the PEM certificate chain presented to the
	// upstream and destinations that ask for a client certificate; ""
	// means none. Its private key is held sealed (HasUpstreamClientKey,
	// Store.UpstreamClientCertificate).
	UpstreamClientCert string
	CreatedAt          time.Time
	UpdatedAt          time.Time
	// clientKeySealed is UpstreamClientCert's private key (PEM), sealed
	// under the master key and bound to ID (see project_tls.go).
	clientKeySealed []byte
}

// ProjectInput creates a project or, with nil fields left alone, updates one.
type ProjectInput struct {
	Name          *string
	Environment   *string
	Upstream      *string
	Destinations  *[]string
	RateLimit     *RateLimit
	MaxActiveKeys *int
	BindFields    *bool
	// UpstreamCA replaces the CA certificates (PEM; "" for the system's
	// roots).
	UpstreamCA *string
	// UpstreamClientCert and UpstreamClientKey set a client certificate
	// chain and its private key (PEM), together; both "" remove them.
	UpstreamClientCert *string
	UpstreamClientKey  *PrivateKeyPEM
}

// CreateProject validates in and stores a new project.
func (s *Store) CreateProject(in ProjectInput) (Project, error) {
	now := s.now()
	p := Project{
		Environment:   "development",
		Destinations:  []string{},
		RateLimit:     s.opts.DefaultRateLimit,
		MaxActiveKeys: s.opts.DefaultMaxActiveKeys,
		CreatedAt:     now,
		UpdatedAt:     now,
	}
	if in.Name == nil {
		return Project{}, invalid("name", "is required")
	}
	if err := applyProjectInput(&p, in, true); err != nil {
		return Project{}, err
	}
	clientKey, err := applyUpstreamTLS(&p, in)
	if err != nil {
		return Project{}, err
	}
	suffix, err := randomString(s.opts.Rand, base36, 12)
	if err != nil {
		return Project{}, err
	}
	p.ID = "prj_" + suffix
	if clientKey != nil {
		if err := s.sealClientKey(&p, clientKey); err != nil {
			return Project{}, fmt.Errorf("keystore.CreateProject: %w", err)
		}
	}
	err = s.update(func(tx kvTx) error {
		return putProject(tx.Bucket(bucketProjects), p)
	}, func() { s.cache.putProject(p) })
	if err != nil {
		return Project{}, fmt.Errorf("keystore.CreateProject: %w", err)
	}
	return p, nil
}

// UpdateProject applies the non-nil fields of in to project id.
func (s *Store) UpdateProject(id string, in ProjectInput) (Project, error) {
	var p Project
	err := s.update(func(tx kvTx) error {
		b := tx.Bucket(bucketProjects)
		if err := getProject(b, id, &p); err != nil {
			return err
		}
		if err := applyProjectInput(&p, in, false); err != nil {
			return err
		}
		clientKey, err := applyUpstreamTLS(&p, in)
		if err != nil {
			return err
		}
		if clientKey != nil {
			if err := s.sealClientKey(&p, clientKey); err != nil {
				return err
			}
		}
		p.UpdatedAt = s.now()
		return putProject(b, p)
	}, func() { s.cache.putProject(p) })
	if err != nil {
		return Project{}, fmt.Errorf("keystore.UpdateProject %s: %w", id, err)
	}
	return p, nil
}

// Project returns project id.
func (s *Store) Project(id string) (Project, error) {
	var p Project
	err := s.kv.View(func(tx kvTx) error { return getProject(tx.Bucket(bucketProjects), id, &p) })
	if err != nil {
		return Project{}, fmt.Errorf("keystore.Project %s: %w", id, err)
	}
	return p, nil
}

// Projects returns every project, oldest first.
func (s *Store) Projects() ([]Project, error) {
	var out []Project
	err := s.kv.View(func(tx kvTx) error {
		return tx.Bucket(bucketProjects).ForEach(func(_, v []byte) error {
			var p Project
			if err := decodeProject(v, &p); err != nil {
				return err
			}
			out = append(out, p)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("keystore.Projects: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// DeleteProject removes a project with all its keys, data keys,
// routes and classifications. Its keys stop authenticating before DeleteProject returns.
func (s *Store) DeleteProject(id string) error {
	if s.feed != nil {
		if err := s.deleteKeysInBatches(id); err != nil {
			return fmt.Errorf("keystore.DeleteProject %s: %w", id, err)
		}
	}
	var keyIDs []string
	err := s.update(func(tx kvTx) error {
		if tx.Bucket(bucketProjects).Get([]byte(id)) == nil {
			return ErrProjectNotFound
		}
		var err error
		if keyIDs, err = deleteProjectKeys(tx, id); err != nil {
			return err
		}
		if err := deletePrefix(tx.Bucket(bucketDataKeys), id+"/"); err != nil {
			return err
		}
		if err := deletePrefix(tx.Bucket(bucketRoutes), id+"/"); err != nil {
			return err
		}
		if err := deletePrefix(tx.Bucket(bucketSubjects), id+"/"); err != nil {
			return err
		}
		if err := deletePrefix(tx.Bucket(bucketClassifications), id+"/"); err != nil {
			return err
		}
		return tx.Bucket(bucketProjects).Delete([]byte(id))
	}, func() {
		s.cache.deleteProject(id, keyIDs)
		s.keyringsMu.Lock()
		delete(s.keyrings, id)
		s.keyringsMu.Unlock()
	})
	if err != nil {
		return fmt.Errorf("keystore.DeleteProject %s: %w", id, err)
	}
	return nil
}

// deleteKeysInBatches deletes the keys of project on etcd, a batch per
// transaction (each key takes three writes: the key, its index entry and
// its decrypt budget's count), until fewer than a batch are
// left for the transaction that deletes the project. Keys of a project
// being deleted may stop working before it is gone.
func (s *Store) deleteKeysInBatches(project string) error {
	keyDeleteBatch := s.maxWrites / 3
	for {
		var n int
		err := s.update(func(tx kvTx) error {
			var ids []string
			err := forEachPrefix(tx.Bucket(bucketProjectKeys), project+"/", func(id string) error {
				ids = append(ids, id)
				return nil
			})
			if n = len(ids); err != nil || n < keyDeleteBatch {
				return err
			}
			for _, id := range ids[:keyDeleteBatch] {
				if err := tx.Bucket(bucketKeys).Delete([]byte(id)); err != nil {
					return err
				}
				if err := tx.Bucket(bucketProjectKeys).Delete([]byte(project + "/" + id)); err != nil {
					return err
				}
				if err := tx.Bucket(bucketBudgets).Delete([]byte(id)); err != nil {
					return err
				}
			}
			return nil
		}, func() {})
		if err != nil || n < keyDeleteBatch {
			return err
		}
	}
}
