package sketch

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/driftcar/driftcar/internal/payload"
)

const titanicPath = "../../shared/data/titanic_reference.csv"

var (
	titanicSpecs = []payload.FeatureSpec{
		{Name: "Age", Type: payload.Numeric}, {Name: "Fare", Type: payload.Numeric}, {Name: "SibSp", Type: payload.Numeric},
		{Name: "Parch", Type: payload.Numeric}, {Name: "Pclass", Type: payload.Numeric},
		{Name: "Sex", Type: payload.Categorical}, {Name: "Embarked", Type: payload.Categorical},
		{Name: "Cabin", Type: payload.Categorical}, {Name: "Ticket", Type: payload.Categorical},
	}
	titanicPred = &payload.PredictionSpec{Name: "Survived", Type: payload.Categorical}
)

func titanicCSV(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile(titanicPath)
	if err != nil {
		t.Skipf("titanic data not available: %v", err)
	}
	return data
}

func buildTitanic(t testing.TB, data []byte, opts BuildOptions) *Profile {
	t.Helper()
	opts.Prediction = titanicPred
	p, err := BuildReference(bytes.NewReader(data), CSV, titanicSpecs, opts)
	if err != nil {
		t.Fatalf("BuildReference: %v", err)
	}
	return p
}

func TestBuildReferenceTitanic(t *testing.T) {
	data := titanicCSV(t)
	var progress []int64
	p := buildTitanic(t, data, BuildOptions{Progress: func(n int64) { progress = append(progress, n) }})
	if p.Rows != 891 {
		t.Errorf("rows = %d; want 891", p.Rows)
	}
	if len(progress) == 0 || progress[len(progress)-1] != int64(len(data)) {
		t.Errorf("progress = %v; want to end at %d", progress, len(data))
	}
	age := p.Feature("Age")
	if age.Count != 714 || age.Missing != 177 || age.Min != 0.42 || age.Max != 80 {
		t.Errorf("Age: count %d missing %d min %v max %v; want 714, 177, 0.42, 80", age.Count, age.Missing, age.Min, age.Max)
	}
	// Parch is mostly 0, 1, 2: point masses with cells of their own.
	parch := p.Feature("Parch")
	if !slices.Equal(parch.Edges, []float64{0, 1, 2}) || !slices.Equal(parch.Counts, []uint64{678, 118, 80, 15}) {
		t.Errorf("Parch edges %v counts %v; want [0 1 2] [678 118 80 15]", parch.Edges, parch.Counts)
	}
	sex := p.Feature("Sex")
	if len(sex.Categories) != 2 || sex.Categories[0] != (Category{"male", 577}) || sex.Categories[1] != (Category{"female", 314}) {
		t.Errorf("Sex categories = %+v", sex.Categories)
	}
	emb := p.Feature("Embarked")
	if emb.Missing != 2 || len(emb.Categories) != 3 {
		t.Errorf("Embarked: missing %d categories %+v", emb.Missing, emb.Categories)
	}
	// Ticket has 681 distinct values: the dictionary is capped at 64 and
	// the rest go to the tail filter.
	tk := p.Feature("Ticket")
	if len(tk.Categories) != 64 || tk.Tail == nil || tk.Distinct != 681 {
		t.Errorf("Ticket: %d categories, tail %v, distinct %d", len(tk.Categories), tk.Tail != nil, tk.Distinct)
	}
	if p.Prediction == nil || p.Prediction.Name != "Survived" || p.Prediction.Counts[0] != 549 {
		t.Errorf("prediction = %+v", p.Prediction)
	}
	// Names with quoted commas parse: a categorical over Name sees 891
	// distinct values.
	pn, err := BuildReference(bytes.NewReader(data), CSV, []payload.FeatureSpec{{Name: "Name", Type: payload.Categorical}, {Name: "home.dest", Type: payload.Categorical}}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if f := pn.Feature("Name"); f.Distinct != 891 || f.Missing != 0 {
		t.Errorf("Name: distinct %d missing %d; want 891, 0", f.Distinct, f.Missing)
	}
	if f := pn.Feature("home.dest"); !slices.ContainsFunc(f.Categories, func(c Category) bool { return c.Value == "New York, NY" }) {
		t.Errorf("home.dest lacks %q: %+v", "New York, NY", f.Categories[:5])
	}
	// The profile round-trips through its file format.
	out, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := LoadProfile(out)
	if err != nil {
		t.Fatalf("LoadProfile: %v", err)
	}
	if back.Hash != p.Hash || !reflect.DeepEqual(back.Features, p.Features) {
		t.Error("profile changed through Marshal and LoadProfile")
	}
}

func TestBuildReferenceDeterministic(t *testing.T) {
	data := titanicCSV(t)
	a, _ := buildTitanic(t, data, BuildOptions{}).Marshal()
	b, _ := buildTitanic(t, data, BuildOptions{}).Marshal()
	if !bytes.Equal(a, b) {
		t.Fatal("two builds of the same input differ")
	}
	// Sketch mode is deterministic too.
	c, _ := buildTitanic(t, data, BuildOptions{ExactBudget: 8, SketchK: 64}).Marshal()
	d, _ := buildTitanic(t, data, BuildOptions{ExactBudget: 8, SketchK: 64}).Marshal()
	if !bytes.Equal(c, d) {
		t.Fatal("two sketch-mode builds of the same input differ")
	}
	// The same data as JSONL gives the same features.
	pj, err := BuildReference(bytes.NewReader(titanicJSONL(t, data)), JSONL, titanicSpecs, BuildOptions{Prediction: titanicPred})
	if err != nil {
		t.Fatal(err)
	}
	pc := buildTitanic(t, data, BuildOptions{})
	if !reflect.DeepEqual(pj.Features, pc.Features) || !reflect.DeepEqual(pj.Prediction, pc.Prediction) {
		t.Error("JSONL and CSV builds of the same data differ")
	}
}

// titanicJSONL converts the CSV to JSONL: numbers for numeric features,
// strings for categorical ones, null for missing values.
func titanicJSONL(t testing.TB, data []byte) []byte {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(data))
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]payload.FeatureType{"Survived": payload.Numeric}
	for _, s := range titanicSpecs {
		types[s.Name] = s.Type
	}
	var out bytes.Buffer
	for _, rec := range recs[1:] {
		out.WriteString("{")
		first := true
		for i, h := range recs[0] {
			typ, ok := types[h]
			if !ok {
				continue
			}
			if !first {
				out.WriteString(", ")
			}
			first = false
			fmt.Fprintf(&out, "%q: ", h)
			switch {
			case rec[i] == "":
				out.WriteString("null")
			case typ == payload.Numeric:
				out.WriteString(rec[i])
			default:
				b, _ := json.Marshal(rec[i])
				out.Write(b)
			}
		}
		out.WriteString("}\n")
	}
	return out.Bytes()
}

// numpyScript computes, for each numeric column, numpy's default
// (linear, Hyndman-Fan type 7) percentiles at 100*i/B, the moments, the
// point masses (values with count*B >= n) and the counts of the cells
// given by the edges read from stdin.
const numpyScript = `
import csv, json, sys
import numpy as np
path, B = sys.argv[1], int(sys.argv[2])
edges = json.load(sys.stdin)
missing = {"", "NA", "N/A", "NaN", "nan", "null", "NULL", "None"}
cols = {}
with open(path, newline="") as f:
    for row in csv.DictReader(f):
        for name in edges:
            v = row[name]
            if v not in missing:
                cols.setdefault(name, []).append(float(v))
out = {}
for name, e in edges.items():
    x = np.sort(np.array(cols[name], dtype=np.float64))
    vals, cnt = np.unique(x, return_counts=True)
    le = np.searchsorted(x, np.array(e, dtype=np.float64), side="right")
    counts = np.diff(np.concatenate(([0], le, [len(x)])))
    out[name] = {
        "percentiles": np.percentile(x, [100.0 * i / B for i in range(1, B)]).tolist(),
        "mean": float(np.mean(x)), "std": float(np.std(x)),
        "min": float(x[0]), "max": float(x[-1]), "n": int(len(x)),
        "point_masses": vals[cnt * B >= len(x)].tolist(),
        "counts": [int(c) for c in counts],
    }
json.dump(out, sys.stdout)
`

func TestBuildReferenceMatchesNumpy(t *testing.T) {
	data := titanicCSV(t)
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import numpy").Run(); err != nil {
		t.Skipf("%s with numpy not available: %v", python, err)
	}
	const B = 20
	p := buildTitanic(t, data, BuildOptions{Bins: B})
	edges := map[string][]float64{}
	for _, f := range p.Features {
		if f.Type == "numeric" {
			edges[f.Name] = append([]float64{}, f.Edges...)
		}
	}
	in, _ := json.Marshal(edges)
	cmd := exec.Command(python, "-c", numpyScript, titanicPath, fmt.Sprint(B))
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("numpy script: %v\n%s", err, stderr.String())
	}
	var ref map[string]struct {
		Percentiles []float64 `json:"percentiles"`
		Mean, Std   float64
		Min, Max    float64
		N           uint64
		PointMasses []float64 `json:"point_masses"`
		Counts      []uint64
	}
	if err := json.Unmarshal(out, &ref); err != nil {
		t.Fatal(err)
	}
	close := func(a, b, rel float64) bool { return math.Abs(a-b) <= rel*math.Max(1, math.Abs(b)) }
	for name, r := range ref {
		f := p.Feature(name)
		// Quantiles: the same definition, so equal up to rounding.
		for i, q := range r.Percentiles {
			if !close(f.Quantiles[i], q, 1e-12) {
				t.Errorf("%s: quantile %d/%d = %v; numpy %v", name, i+1, B, f.Quantiles[i], q)
			}
		}
		if f.Count != r.N || f.Min != r.Min || f.Max != r.Max || !close(f.Mean, r.Mean, 1e-12) || !close(f.Std, r.Std, 1e-9) {
			t.Errorf("%s: n %d min %v max %v mean %v std %v; numpy %d %v %v %v %v", name, f.Count, f.Min, f.Max, f.Mean, f.Std, r.N, r.Min, r.Max, r.Mean, r.Std)
		}
		if !slices.Equal(f.PointMasses, r.PointMasses) && (len(f.PointMasses) != 0 || len(r.PointMasses) != 0) {
			t.Errorf("%s: point masses %v; numpy %v", name, f.PointMasses, r.PointMasses)
		}
		// Every edge is a numpy percentile, or a point mass, or the float
		// just below a point mass.
		allowed := map[float64]bool{}
		for _, q := range r.Percentiles {
			allowed[q] = true
		}
		for _, v := range r.PointMasses {
			allowed[v] = true
			allowed[math.Nextafter(v, math.Inf(-1))] = true
		}
		for _, e := range f.Edges {
			if !allowed[e] {
				t.Errorf("%s: edge %v is neither a numpy percentile nor a point-mass edge", name, e)
			}
		}
		// Every distinct percentile inside (min, max) that leaves a
		// non-empty cell is an edge.
		if !slices.Equal(f.Counts, r.Counts) {
			t.Errorf("%s: cell counts %v; numpy %v", name, f.Counts, r.Counts)
		}
		for i, c := range f.Counts {
			if c == 0 {
				t.Errorf("%s: cell %d is empty", name, i)
			}
		}
	}
}

func TestBuildReferenceSketchMode(t *testing.T) {
	data := titanicCSV(t)
	exact := buildTitanic(t, data, BuildOptions{})
	for _, seekable := range []bool{true, false} {
		t.Run(fmt.Sprintf("seekable=%v", seekable), func(t *testing.T) {
			var r io.Reader = bytes.NewReader(data)
			if !seekable {
				r = io.MultiReader(r)
			}
			p, err := BuildReference(r, CSV, titanicSpecs, BuildOptions{ExactBudget: 8, SketchK: 64, Prediction: titanicPred})
			if err != nil {
				t.Fatal(err)
			}
			for i, f := range p.Features {
				if f.Type != "numeric" {
					if !reflect.DeepEqual(f, exact.Features[i]) {
						t.Errorf("%s: categorical profile differs in sketch mode", f.Name)
					}
					continue
				}
				e := exact.Features[i]
				if f.Method != "sketch" || f.RankError <= 0 || f.Count != e.Count || f.Mean != e.Mean || f.Min != e.Min || f.Max != e.Max {
					t.Errorf("%s: method %s rank error %v count %d mean %v", f.Name, f.Method, f.RankError, f.Count, f.Mean)
				}
				// Quantiles within the documented rank error.
				vals := columnValues(t, data, f.Name)
				n := float64(len(vals))
				for j, q := range f.Quantiles {
					lt, le := rankOf(vals, q)
					target := (n - 1) * float64(j+1) / float64(p.Bins)
					slack := f.RankError*n + 1
					if float64(le) < target-slack || float64(lt) > target+slack {
						t.Errorf("%s: quantile %d = %v has rank [%d, %d], target %.1f ± %.1f", f.Name, j+1, q, lt, le, target, slack)
					}
				}
				if seekable {
					// Second pass: exact counts for the sketch's edges.
					want := make([]uint64, len(f.Edges)+1)
					for _, v := range vals {
						want[cellOf(f.Edges, v)]++
					}
					if !slices.Equal(f.Counts, want) {
						t.Errorf("%s: counts %v; exact %v", f.Name, f.Counts, want)
					}
				}
			}
		})
	}
}

func columnValues(t testing.TB, data []byte, name string) []float64 {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(data))
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := slices.Index(recs[0], name)
	var out []float64
	for _, rec := range recs[1:] {
		var x float64
		if _, err := fmt.Sscan(rec[col], &x); err == nil {
			out = append(out, x)
		}
	}
	slices.Sort(out)
	return out
}

func rankOf(sorted []float64, q float64) (lt, le int) {
	lt, _ = slices.BinarySearch(sorted, q)
	le, _ = slices.BinarySearch(sorted, math.Nextafter(q, math.Inf(1)))
	return lt, le
}

func TestLearnerMatchesBuild(t *testing.T) {
	data := titanicCSV(t)
	want := buildTitanic(t, data, BuildOptions{})
	l, err := NewLearner(titanicSpecs, 891, BuildOptions{Prediction: titanicPred})
	if err != nil {
		t.Fatal(err)
	}
	d, err := payload.NewDecoder(payload.KServeV1, titanicSpecs, &payload.PredictionSpec{Type: payload.Categorical}, payload.DecoderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Replay the JSONL rows as v1 requests in batches of 10, with the
	// label as the prediction.
	lines := strings.Split(strings.TrimSpace(string(titanicJSONL(t, data))), "\n")
	for i := 0; i < len(lines); i += 10 {
		chunk := lines[i:min(i+10, len(lines))]
		var preds []string
		for _, ln := range chunk {
			var m map[string]any
			_ = json.Unmarshal([]byte(ln), &m)
			preds = append(preds, fmt.Sprint(m["Survived"]))
		}
		req := `{"instances": [` + strings.Join(chunk, ",") + `]}`
		resp := `{"predictions": [` + strings.Join(preds, ",") + `]}`
		b, err := d.Decode([]byte(req), []byte(resp))
		if err != nil {
			t.Fatal(err)
		}
		l.Observe(b)
	}
	if !l.Done() || l.Rows() != 891 {
		t.Fatalf("learner done %v rows %d", l.Done(), l.Rows())
	}
	got, err := l.Profile()
	if err != nil {
		t.Fatal(err)
	}
	if got.Source != "learn" || !reflect.DeepEqual(got.Features, want.Features) || !reflect.DeepEqual(got.Prediction, want.Prediction) {
		t.Error("learned profile differs from the built one")
	}
	// Extra rows after the wanted number are ignored.
	b, _ := d.Decode([]byte(`{"instances": [{"Age": 1}]}`), nil)
	if !l.Observe(b) || l.Rows() != 891 {
		t.Errorf("after extra rows: rows %d; want 891", l.Rows())
	}
}

func TestBuildReferenceBadInput(t *testing.T) {
	specs := []payload.FeatureSpec{{Name: "x", Type: payload.Numeric}, {Name: "c", Type: payload.Categorical}}
	tests := []struct {
		name   string
		format InputFormat
		specs  []payload.FeatureSpec
		input  string
		want   string
	}{
		{"empty", CSV, specs, "", "empty input, want a header row"},
		{"missing column", CSV, specs, "x,y\n1,2\n", `no column "c"`},
		{"ragged row", CSV, specs, "x,c\n1,a\n2\n", "wrong number of fields"},
		{"bad quote", CSV, specs, "x,c\n1,\"a\n", "extraneous or missing"},
		{"jsonl malformed", JSONL, specs, "{\"x\": 1}\n{\"x\": \n", "line 2: malformed json"},
		{"jsonl not object", JSONL, specs, "[1]\n", "line 1: not an object"},
		{"duplicate spec", CSV, []payload.FeatureSpec{{Name: "x", Type: payload.Numeric}, {Name: "x", Type: payload.Numeric}}, "x\n1\n", `duplicate name "x"`},
		{"format", InputFormat(9), specs, "x,c\n", "unknown input format"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := BuildReference(strings.NewReader(tc.input), tc.format, tc.specs, BuildOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v; want error containing %q", err, tc.want)
			}
		})
	}
	// Unparseable numbers are counted, not fatal.
	p, err := BuildReference(strings.NewReader("x,c\n1,a\nabc,b\ninf,\n,c\n"), CSV, specs, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if f := p.Feature("x"); f.Count != 1 || f.Invalid != 2 || f.Missing != 1 {
		t.Errorf("x: count %d invalid %d missing %d; want 1, 2, 1", f.Count, f.Invalid, f.Missing)
	}
}

// TestLoadProfileErrors has one case per problem a reference file can
// have; each error names the field.
func TestLoadProfileErrors(t *testing.T) {
	data := titanicCSV(t)
	good, err := buildTitanic(t, data, BuildOptions{}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// mutate edits the decoded JSON; rehash recomputes the hash so that
	// validation, not the hash check, finds the problem.
	mutate := func(rehash bool, f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		out, _ := json.Marshal(m)
		if rehash {
			var p Profile
			_ = json.Unmarshal(out, &p)
			if err := p.computeHash(); err == nil {
				m["hash"] = p.Hash
			}
			out, _ = json.Marshal(m)
		}
		return out
	}
	feat := func(m map[string]any, i int) map[string]any {
		return m["features"].([]any)[i].(map[string]any)
	}
	tests := []struct {
		name string
		file []byte
		want string
	}{
		{"not json", []byte("not json"), "reference: malformed json"},
		{"trailing data", append(append([]byte{}, good...), []byte("{}")...), "reference: malformed json: data after the profile"},
		{"unknown field", mutate(true, func(m map[string]any) { m["colour"] = "red" }), `unknown field "colour"`},
		{"format", mutate(true, func(m map[string]any) { m["format"] = "other" }), "reference: format"},
		{"version", mutate(true, func(m map[string]any) { m["version"] = 2 }), "reference: version: 2 not supported"},
		{"bins", mutate(true, func(m map[string]any) { m["bins"] = 1 }), "reference: bins: 1"},
		{"edges not sorted", mutate(true, func(m map[string]any) {
			e := feat(m, 0)["edges"].([]any)
			e[4], e[5] = e[5], e[4]
		}), "reference: features[0].edges: not sorted at index 5"},
		{"edge outside range", mutate(true, func(m map[string]any) {
			e := feat(m, 0)["edges"].([]any)
			e[len(e)-1] = 1000.0
		}), "reference: features[0].edges: index 18 (1000) outside [min 0.42, max 80)"},
		{"counts length", mutate(true, func(m map[string]any) {
			f := feat(m, 1)
			f["counts"] = f["counts"].([]any)[1:]
		}), "reference: features[1].counts: 19 cells, want 20"},
		{"counts sum", mutate(true, func(m map[string]any) { feat(m, 1)["counts"].([]any)[0] = 1.0 }), "reference: features[1].counts: sum"},
		{"proportions", mutate(true, func(m map[string]any) { feat(m, 2)["proportions"].([]any)[3] = 0.5 }), "reference: features[2].proportions: index 3 is 0.5"},
		{"missing rate", mutate(true, func(m map[string]any) { feat(m, 0)["missing_rate"] = 1.5 }), "reference: features[0].missing_rate: 1.5 is outside [0, 1]"},
		{"type", mutate(true, func(m map[string]any) { feat(m, 0)["type"] = "text" }), `reference: features[0].type: "text"`},
		{"empty name", mutate(true, func(m map[string]any) { feat(m, 3)["name"] = "" }), "reference: features[3].name: empty"},
		{"duplicate name", mutate(true, func(m map[string]any) { feat(m, 1)["name"] = "Age" }), `reference: features[1].name: duplicate "Age"`},
		{"count above rows", mutate(true, func(m map[string]any) { m["rows"] = 10 }), "reference: features[0].count: count 714 + missing 177 + invalid 0 exceeds rows 10"},
		{"min above max", mutate(true, func(m map[string]any) { feat(m, 0)["min"] = 100.0 }), "reference: features[0].min: 100 is above max 80"},
		{"method", mutate(true, func(m map[string]any) { feat(m, 0)["method"] = "guess" }), `reference: features[0].method: "guess"`},
		{"duplicate category", mutate(true, func(m map[string]any) {
			c := feat(m, 5)["categories"].([]any)
			c[1].(map[string]any)["value"] = "male"
		}), `reference: features[5].categories: duplicate value "male" at index 1`},
		{"category count", mutate(true, func(m map[string]any) {
			feat(m, 5)["categories"].([]any)[0].(map[string]any)["count"] = 3
		}), "reference: features[5].categories: index 0 count 3 differs from counts[0] 577"},
		{"tail base64", mutate(true, func(m map[string]any) { feat(m, 8)["tail"].(map[string]any)["data"] = "!!" }), "reference: features[8].tail: data: illegal base64"},
		{"tail size", mutate(true, func(m map[string]any) { feat(m, 8)["tail"].(map[string]any)["bits"] = 64 }), "reference: features[8].tail: data: 1024 bytes, want 8"},
		{"prediction", mutate(true, func(m map[string]any) { m["prediction"].(map[string]any)["counts"] = []any{} }), "reference: prediction.counts: 0 cells, want 4"},
		{"hash missing", mutate(false, func(m map[string]any) { m["hash"] = "" }), "reference: hash: missing"},
		{"hash mismatch", mutate(false, func(m map[string]any) { feat(m, 0)["mean"] = 30.0 }), "reference: hash: file says sha256:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadProfile(tc.file)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v; want error containing %q", err, tc.want)
			}
		})
	}
	if _, err := LoadProfile(good); err != nil {
		t.Fatalf("good file: %v", err)
	}
}

func TestProfileWriteFile(t *testing.T) {
	data := titanicCSV(t)
	p := buildTitanic(t, data, BuildOptions{})
	path := t.TempDir() + "/reference.json"
	if err := p.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	back, err := LoadProfileFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.Hash != p.Hash {
		t.Errorf("hash %s; want %s", back.Hash, p.Hash)
	}
	if _, err := LoadProfileFile(path + ".nope"); err == nil || !strings.Contains(err.Error(), "cannot read reference") {
		t.Errorf("missing file: %v", err)
	}
}
