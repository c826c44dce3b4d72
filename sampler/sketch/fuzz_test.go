package sketch

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/driftcar/driftcar/internal/payload"
)

// FuzzObserve decodes arbitrary KServe v1 bodies and adds whatever they
// hold to a live State: no decoded batch may break it.
func FuzzObserve(f *testing.F) {
	for _, s := range [][2]string{
		{`{"instances": [{"f0": 31, "c0": "fr"}, {"c0": "de", "f0": 40.5}]}`, `{"predictions": [0.25, 0.5]}`},
		{`{"columns": ["c0", "f0"], "instances": [["fr", 31], ["de", 40]]}`, `{"predictions": [[0.1, 0.9], [0.2, 0.8]]}`},
		{`{"instances": [{"f0": NaN, "f1": -Infinity, "f2": 1e999, "c0": {"x": 1}}]}`, ``},
		{`{"instances": [{"a\"b": "x\ny\ud83d\ude00"}]}`, `[]`},
	} {
		f.Add([]byte(s[0]), []byte(s[1]))
	}
	specs, pred := benchSpecs()
	p := benchProfile(f)
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	st, err := NewState(p, specs, pred, StateOptions{Now: clk.Now})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, req, resp []byte) {
		d, err := payload.NewDecoder(payload.KServeV1, specs, pred, payload.DecoderOptions{MaxRows: 100})
		if err != nil {
			t.Fatal(err)
		}
		b, err := d.Decode(req, resp)
		if err != nil {
			return
		}
		st.Observe(b)
		_ = st.Snapshot()
	})
}

func FuzzLoadProfile(f *testing.F) {
	if data, err := os.ReadFile(titanicPath); err == nil {
		p, err := BuildReference(bytes.NewReader(data), CSV, titanicSpecs, BuildOptions{Prediction: titanicPred, MaxCategories: 8})
		if err == nil {
			b, _ := p.Marshal()
			f.Add(b)
		}
	}
	p := benchProfile(f)
	b, _ := p.Marshal()
	f.Add(b)
	f.Add([]byte(`{"format": "driftcar-reference", "version": 1, "bins": 2, "features": [], "hash": ""}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := LoadProfile(data)
		if err != nil {
			return
		}
		// A profile that loads must work: marshal it again and build a
		// State over all its features.
		out, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if q, err := LoadProfile(out); err != nil || q.Hash != p.Hash {
			t.Fatalf("reload: %v", err)
		}
		var specs []payload.FeatureSpec
		for _, fp := range p.Features {
			typ, _ := payload.ParseFeatureType(fp.Type)
			specs = append(specs, payload.FeatureSpec{Name: fp.Name, Type: typ})
		}
		st, err := NewState(p, specs, nil, StateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b := &payload.Batch{Rows: 3, Features: len(specs)}
		for r := 0; r < 3; r++ {
			for range specs {
				b.Values = append(b.Values, []payload.Value{num(1), str("x"), missing()}[r])
			}
		}
		st.Observe(b)
		_ = st.Snapshot()
	})
}
