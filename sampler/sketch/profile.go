package sketch

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// ProfileFormat and ProfileVersion identify the reference file format.
const (
	ProfileFormat  = "driftcar-reference"
	ProfileVersion = 1
)

// Limits enforced when a profile is loaded.
const (
	// MaxCategories bounds the dictionary of a categorical feature.
	MaxCategories = 4096
	// MaxEdges bounds the edges of a numeric feature.
	MaxEdges = 1024
	// MaxProfileFeatures bounds the features of a profile.
	MaxProfileFeatures = 10000
)

// Profile is a reference profile: the reference distribution of every
// feature and of the prediction. It is written by BuildReference and
// Learner, read by LoadProfile, and must not be modified once a State
// uses it.
//
// The JSON form is deterministic: the same profile always marshals to the
// same bytes, and Hash is the SHA-256 of the profile marshalled with an
// empty Hash field.
type Profile struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	// Source says how the profile was built: "csv", "jsonl" or "learn".
	Source string `json:"source"`
	// Rows is the number of reference rows read.
	Rows uint64 `json:"rows"`
	// Bins is the number of quantile bins asked for (B).
	Bins       int              `json:"bins"`
	Features   []FeatureProfile `json:"features"`
	Prediction *FeatureProfile  `json:"prediction,omitempty"`
	// Performance, when the training file had labels, is the model's
	// performance on it. Profiles without it keep their hash.
	Performance *PerformanceProfile `json:"performance,omitempty"`
	Hash        string              `json:"hash"`

	index map[string]int    // name -> Features index
	extra map[string]*bloom // decoded tail filters by name
}

// FeatureProfile is the reference distribution of one feature.
//
// Numeric: Edges e_1 < ... < e_m split [Min, Max] into m+1 cells
// [Min, e_1], (e_1, e_2], ..., (e_m, Max] (Prometheus "le" semantics);
// Counts and Proportions give the reference mass of each cell.
// Categorical: Counts and Proportions cover the dictionary Categories
// followed by OTHER (reference values outside the dictionary) and UNSEEN
// (values not in the reference: zero by construction).
// Missing and invalid values are counted apart from the cells.
type FeatureProfile struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// Count is the number of valid values (the reference size M).
	Count uint64 `json:"count"`
	// Missing counts absent values; MissingRate = Missing/Rows.
	Missing     uint64  `json:"missing"`
	MissingRate float64 `json:"missing_rate"`
	// Invalid counts values that could not be parsed.
	Invalid uint64 `json:"invalid"`

	// Numeric.
	Mean float64 `json:"mean"`
	// Std is the population standard deviation (ddof=0, as numpy.std).
	Std float64 `json:"std"`
	Min float64 `json:"min"`
	Max float64 `json:"max"`
	// Quantiles are the raw reference quantiles at i/Bins, i=1..Bins-1,
	// numpy's default "linear" method.
	Quantiles []float64 `json:"quantiles,omitempty"`
	// PointMasses are values holding at least 1/Bins of the mass; each
	// got a cell of its own.
	PointMasses []float64 `json:"point_masses,omitempty"`
	Edges       []float64 `json:"edges,omitempty"`
	// Method is "exact" or "sketch"; RankError bounds the normalised rank
	// error of the quantiles (0 when exact).
	Method    string  `json:"method,omitempty"`
	RankError float64 `json:"rank_error,omitempty"`

	// Categorical.
	Categories []Category `json:"categories,omitempty"`
	// Distinct is the number of distinct reference values seen (a lower
	// bound when DistinctCapped).
	Distinct       uint64 `json:"distinct,omitempty"`
	DistinctCapped bool   `json:"distinct_capped,omitempty"`
	// UnseenRate is the share of hold-out rows (every 10th valid value)
	// whose value does not occur in the other rows: the rate of UNSEEN
	// to expect live without drift.
	UnseenRate float64 `json:"unseen_rate,omitempty"`
	// Tail is a Bloom filter over the reference values outside the
	// dictionary, to tell OTHER from UNSEEN.
	Tail *TailFilter `json:"tail,omitempty"`

	// Counts and Proportions per cell: numeric len(Edges)+1 bins;
	// categorical len(Categories) dictionary cells plus OTHER and UNSEEN.
	// Proportions[i] = Counts[i]/Count.
	Counts      []uint64  `json:"counts"`
	Proportions []float64 `json:"proportions"`
}

// Category is one dictionary entry of a categorical feature.
type Category struct {
	Value string `json:"value"`
	Count uint64 `json:"count"`
}

// TailFilter is a Bloom filter over xxhash64 of the tail values.
type TailFilter struct {
	Bits   int    `json:"bits"`
	Hashes int    `json:"hashes"`
	Values uint64 `json:"values"`
	Data   string `json:"data"` // base64 of the little-endian uint64 words
}

func (tf *TailFilter) decode() (*bloom, error) {
	if tf.Bits <= 0 || tf.Bits%64 != 0 || tf.Bits > 1<<24 {
		return nil, fmt.Errorf("bits %d: want a positive multiple of 64 up to %d", tf.Bits, 1<<24)
	}
	if tf.Hashes < 1 || tf.Hashes > 32 {
		return nil, fmt.Errorf("hashes %d: want 1..32", tf.Hashes)
	}
	raw, err := base64.StdEncoding.DecodeString(tf.Data)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	if len(raw) != tf.Bits/8 {
		return nil, fmt.Errorf("data: %d bytes, want %d", len(raw), tf.Bits/8)
	}
	b := newBloom(tf.Bits, uint32(tf.Hashes))
	for i := range b.bits {
		for j := 0; j < 8; j++ {
			b.bits[i] |= uint64(raw[i*8+j]) << (8 * j)
		}
	}
	return b, nil
}

func encodeTail(b *bloom, values uint64) *TailFilter {
	raw := make([]byte, len(b.bits)*8)
	for i, w := range b.bits {
		for j := 0; j < 8; j++ {
			raw[i*8+j] = byte(w >> (8 * j))
		}
	}
	return &TailFilter{Bits: len(b.bits) * 64, Hashes: int(b.k), Values: values, Data: base64.StdEncoding.EncodeToString(raw)}
}

// Category cell names used in exports, after the dictionary cells.
const (
	CellOther   = "__other__"
	CellUnseen  = "__unseen__"
	CellMissing = "__missing__"
	CellInvalid = "__invalid__"
)

// Feature returns the profile of the named feature, or nil.
func (p *Profile) Feature(name string) *FeatureProfile {
	if p.index == nil {
		for i := range p.Features {
			if p.Features[i].Name == name {
				return &p.Features[i]
			}
		}
		return nil
	}
	if i, ok := p.index[name]; ok {
		return &p.Features[i]
	}
	return nil
}

// Marshal returns the JSON form of p with its hash filled in.
func (p *Profile) Marshal() ([]byte, error) {
	if err := p.computeHash(); err != nil {
		return nil, err
	}
	out, err := json.MarshalIndent(p, "", " ")
	if err != nil {
		return nil, fmt.Errorf("cannot marshal reference: %w", err)
	}
	return append(out, '\n'), nil
}

// WriteFile writes p to path atomically (temporary file and rename).
func (p *Profile) WriteFile(path string) error {
	data, err := p.Marshal()
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("cannot write reference: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("cannot write reference: %w", err)
	}
	return nil
}

func (p *Profile) computeHash() error {
	h, err := p.contentHash()
	if err != nil {
		return err
	}
	p.Hash = h
	return nil
}

func (p *Profile) contentHash() (string, error) {
	c := *p
	c.Hash = ""
	data, err := json.Marshal(&c)
	if err != nil {
		return "", fmt.Errorf("cannot hash reference: %w", err)
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// LoadProfileFile reads and validates a reference file.
func LoadProfileFile(path string) (*Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read reference: %w", err)
	}
	return LoadProfile(data)
}

// LoadProfile parses and validates a reference profile. Errors name the
// problem with a field path, e.g.
// "reference: features[2].edges: not sorted at index 5".
func LoadProfile(data []byte) (*Profile, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("reference: malformed json: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("reference: malformed json: data after the profile")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if p.Hash == "" {
		return nil, errors.New("reference: hash: missing")
	}
	want, err := p.contentHash()
	if err != nil {
		return nil, err
	}
	if p.Hash != want {
		return nil, fmt.Errorf("reference: hash: file says %s, content is %s (edited by hand?)", p.Hash, want)
	}
	return &p, nil
}

// Validate checks the internal consistency of p and prepares its lookup
// tables. LoadProfile calls it; call it on a profile built in memory
// before sharing it.
func (p *Profile) Validate() error {
	if p.Format != ProfileFormat {
		return fmt.Errorf("reference: format: %q, want %q", p.Format, ProfileFormat)
	}
	if p.Version != ProfileVersion {
		return fmt.Errorf("reference: version: %d not supported (want %d)", p.Version, ProfileVersion)
	}
	if p.Bins < 2 || p.Bins > MaxEdges {
		return fmt.Errorf("reference: bins: %d, want 2..%d", p.Bins, MaxEdges)
	}
	if len(p.Features) > MaxProfileFeatures {
		return fmt.Errorf("reference: features: %d, more than %d", len(p.Features), MaxProfileFeatures)
	}
	p.index = make(map[string]int, len(p.Features))
	p.extra = make(map[string]*bloom)
	for i := range p.Features {
		f := &p.Features[i]
		if err := p.validateFeature(f, fmt.Sprintf("features[%d]", i)); err != nil {
			return err
		}
		if _, dup := p.index[f.Name]; dup {
			return fmt.Errorf("reference: features[%d].name: duplicate %q", i, f.Name)
		}
		p.index[f.Name] = i
	}
	if p.Prediction != nil {
		if err := p.validateFeature(p.Prediction, "prediction"); err != nil {
			return err
		}
	}
	if p.Performance != nil {
		if p.Prediction == nil {
			return errors.New("reference: performance: set without a prediction profile")
		}
		return p.Performance.Validate()
	}
	return nil
}

func isFinite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func (p *Profile) validateFeature(f *FeatureProfile, at string) error {
	fail := func(field, format string, args ...any) error {
		return fmt.Errorf("reference: %s.%s: %s", at, field, fmt.Sprintf(format, args...))
	}
	if f.Name == "" {
		return fail("name", "empty")
	}
	if f.Count+f.Missing+f.Invalid > p.Rows {
		return fail("count", "count %d + missing %d + invalid %d exceeds rows %d", f.Count, f.Missing, f.Invalid, p.Rows)
	}
	if !(f.MissingRate >= 0 && f.MissingRate <= 1) {
		return fail("missing_rate", "%v is outside [0, 1]", f.MissingRate)
	}
	var cells int
	switch f.Type {
	case "numeric":
		if len(f.Categories) > 0 || f.Tail != nil {
			return fail("categories", "set on a numeric feature")
		}
		if len(f.Edges) > MaxEdges {
			return fail("edges", "%d edges, more than %d", len(f.Edges), MaxEdges)
		}
		if f.Count > 0 && f.Min > f.Max {
			return fail("min", "%v is above max %v", f.Min, f.Max)
		}
		for j, e := range f.Edges {
			if !isFinite(e) {
				return fail("edges", "not finite at index %d", j)
			}
			if j > 0 && e <= f.Edges[j-1] {
				return fail("edges", "not sorted at index %d", j)
			}
			if e < f.Min || e >= f.Max {
				return fail("edges", "index %d (%v) outside [min %v, max %v)", j, e, f.Min, f.Max)
			}
		}
		for j := 1; j < len(f.Quantiles); j++ {
			if f.Quantiles[j] < f.Quantiles[j-1] {
				return fail("quantiles", "not sorted at index %d", j)
			}
		}
		if !(f.Std >= 0) {
			return fail("std", "%v is negative", f.Std)
		}
		if f.Method != "exact" && f.Method != "sketch" {
			return fail("method", "%q, want exact or sketch", f.Method)
		}
		cells = len(f.Edges) + 1
	case "categorical":
		if len(f.Edges) > 0 || len(f.Quantiles) > 0 {
			return fail("edges", "set on a categorical feature")
		}
		if len(f.Categories) > MaxCategories {
			return fail("categories", "%d categories, more than %d", len(f.Categories), MaxCategories)
		}
		seen := make(map[string]bool, len(f.Categories))
		for j, c := range f.Categories {
			if seen[c.Value] {
				return fail("categories", "duplicate value %q at index %d", c.Value, j)
			}
			seen[c.Value] = true
			if j < len(f.Counts) && c.Count != f.Counts[j] {
				return fail("categories", "index %d count %d differs from counts[%d] %d", j, c.Count, j, f.Counts[j])
			}
		}
		if f.Tail != nil {
			b, err := f.Tail.decode()
			if err != nil {
				return fail("tail", "%v", err)
			}
			p.extra[f.Name] = b
		}
		if !(f.UnseenRate >= 0 && f.UnseenRate <= 1) {
			return fail("unseen_rate", "%v is outside [0, 1]", f.UnseenRate)
		}
		cells = len(f.Categories) + 2
	default:
		return fail("type", "%q, want numeric or categorical", f.Type)
	}
	if len(f.Counts) != cells {
		return fail("counts", "%d cells, want %d", len(f.Counts), cells)
	}
	if len(f.Proportions) != cells {
		return fail("proportions", "%d cells, want %d", len(f.Proportions), cells)
	}
	var sum uint64
	for _, c := range f.Counts {
		sum += c
	}
	if sum != f.Count {
		return fail("counts", "sum %d differs from count %d", sum, f.Count)
	}
	for j, q := range f.Proportions {
		want := 0.0
		if f.Count > 0 {
			want = float64(f.Counts[j]) / float64(f.Count)
		}
		if !(math.Abs(q-want) <= 1e-9) {
			return fail("proportions", "index %d is %v, counts give %v", j, q, want)
		}
	}
	return nil
}

// tail returns the decoded tail filter of a categorical feature.
func (p *Profile) tail(name string) *bloom {
	if p.extra == nil {
		return nil
	}
	return p.extra[name]
}
