package payload

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
)

// Redactor drops or hashes the fields of a JSON body that its paths
// select, before the body is stored. It is read-only after NewRedactor
// and safe for concurrent use.
type Redactor struct {
	drop, hash []*jsonPath
}

// NewRedactor compiles the paths to drop and to hash (the FeatureSpec.Path
// dialect; [*] ranges over every element).
func NewRedactor(drop, hash []string) (*Redactor, error) {
	r := &Redactor{}
	for _, set := range []struct {
		paths []string
		into  *[]*jsonPath
	}{{drop, &r.drop}, {hash, &r.hash}} {
		for _, s := range set.paths {
			p, err := parsePath(s)
			if err != nil {
				return nil, err
			}
			*set.into = append(*set.into, p)
		}
	}
	return r, nil
}

// Empty reports whether r changes nothing.
func (r *Redactor) Empty() bool { return r == nil || len(r.drop)+len(r.hash) == 0 }

// ErrNotRedactable is returned for a body that is not one JSON document:
// such a body must not be stored.
var ErrNotRedactable = errors.New("body is not JSON, so it cannot be redacted")

// Apply returns body with the selected fields dropped or replaced by the
// hex SHA-256 of their JSON text. Object keys come out sorted.
func (r *Redactor) Apply(body []byte) ([]byte, error) {
	if r.Empty() {
		return body, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil || dec.More() {
		return nil, ErrNotRedactable
	}
	for _, p := range r.drop {
		doc = redactPath(doc, p.segments(), dropValue)
	}
	for _, p := range r.hash {
		doc = redactPath(doc, p.segments(), hashValue)
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("cannot encode the redacted body: %w", err)
	}
	return out, nil
}

// segments is the path as one list, [*] included.
func (p *jsonPath) segments() []pathSeg {
	if !p.wild {
		return p.pre
	}
	segs := append(append([]pathSeg{}, p.pre...), pathSeg{kind: segWild})
	return append(segs, p.post...)
}

type redaction func(v any) (any, bool) // the new value, or false to drop

func dropValue(any) (any, bool) { return nil, false }

func hashValue(v any) (any, bool) {
	text, _ := json.Marshal(v)
	sum := sha256.Sum256(text)
	return "sha256:" + hex.EncodeToString(sum[:]), true
}

// redactPath applies fn to what segs select under v and returns v.
func redactPath(v any, segs []pathSeg, fn redaction) any {
	if len(segs) == 0 {
		return v
	}
	sg, last := segs[0], len(segs) == 1
	switch sg.kind {
	case segKey:
		obj, ok := v.(map[string]any)
		if !ok {
			return v
		}
		child, ok := obj[sg.key]
		if !ok {
			return v
		}
		if !last {
			obj[sg.key] = redactPath(child, segs[1:], fn)
		} else if nv, keep := fn(child); keep {
			obj[sg.key] = nv
		} else {
			delete(obj, sg.key)
		}
	case segIndex, segWild:
		arr, ok := v.([]any)
		if !ok {
			return v
		}
		lo, hi := 0, len(arr)
		if sg.kind == segIndex {
			if sg.idx >= len(arr) {
				return v
			}
			lo, hi = sg.idx, sg.idx+1
		}
		for i := lo; i < hi; i++ {
			if !last {
				arr[i] = redactPath(arr[i], segs[1:], fn)
			} else if nv, keep := fn(arr[i]); keep {
				arr[i] = nv
			} else {
				arr[i] = nil // an element's position carries meaning
			}
		}
	}
	return v
}
