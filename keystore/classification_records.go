package keystore

import (
	"encoding/json"
	"time"
)

// classificationJSON is a classification as stored (see records.go: the
// public type carries no JSON tags). NoClassification is never stored.
type classificationJSON struct {
	Slug        string    `json:"slug"`
	ProjectID   string    `json:"project_id"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Mask        maskJSON  `json:"mask"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

type maskJSON struct {
	ShowFirst int    `json:"show_first"`
	ShowLast  int    `json:"show_last"`
	Char      string `json:"char"`
}

func encodeClassification(c Classification) ([]byte, error) {
	return json.Marshal(classificationJSON{
		Slug: c.Slug, ProjectID: c.ProjectID, Name: c.Name, Description: c.Description,
		Mask:      maskJSON{c.Mask.ShowFirst, c.Mask.ShowLast, c.Mask.Char},
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	})
}

// decodeClassification decodes a stored classification; it copies what it
// keeps.
func decodeClassification(b []byte, c *Classification) error {
	var j classificationJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*c = Classification{
		Slug: j.Slug, ProjectID: j.ProjectID, Name: j.Name, Description: j.Description,
		Mask:      Mask{j.Mask.ShowFirst, j.Mask.ShowLast, j.Mask.Char},
		CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt,
	}
	return nil
}

// putClassification stores c under its project and slug.
func putClassification(b kvBucket, c Classification) error {
	data, err := encodeClassification(c)
	if err != nil {
		return err
	}
	return b.Put([]byte(classKey(c.ProjectID, c.Slug)), data)
}

// getClassification reads classification slug of project: the built-in
// one for NoClassification, ErrProjectNotFound when the project does not
// exist, ErrClassificationNotFound when it defines no such slug.
func getClassification(tx kvTx, projectID, slug string) (Classification, error) {
	var p Project
	if err := getProject(tx.Bucket(bucketProjects), projectID, &p); err != nil {
		return Classification{}, err
	}
	if slug == NoClassification {
		return builtinNone(p), nil
	}
	data := tx.Bucket(bucketClassifications).Get([]byte(classKey(projectID, slug)))
	if data == nil {
		return Classification{}, ErrClassificationNotFound
	}
	var c Classification
	err := decodeClassification(data, &c)
	return c, err
}

// classificationDefined reports whether project defines slug
// (NoClassification always is).
func classificationDefined(tx kvTx, projectID, slug string) bool {
	return slug == NoClassification || tx.Bucket(bucketClassifications).Get([]byte(classKey(projectID, slug))) != nil
}

// projectClassifications reads the stored classifications of project,
// sorted by slug (the bucket's order).
func projectClassifications(tx kvTx, projectID string) ([]Classification, error) {
	out := []Classification{}
	err := tx.Bucket(bucketClassifications).ForEachPrefix([]byte(projectID+"/"), func(_, v []byte) error {
		var cl Classification
		if err := decodeClassification(v, &cl); err != nil {
			return err
		}
		out = append(out, cl)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
