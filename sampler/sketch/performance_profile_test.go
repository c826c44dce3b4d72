package sketch

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/driftcar/driftcar/internal/payload"
)

// fixtureCSV is the input of testdata/profile_v1.json, which the builder
// wrote before profiles had performance.
const fixtureCSV = "x,color,pred\n1,red,0.2\n2,blue,0.9\n3,red,0.4\n4,green,0.7\n5,red,0.1\n6,blue,0.8\n"

func buildFixture(t *testing.T, label *LabelSpec, data string) *Profile {
	t.Helper()
	p, err := BuildReference(strings.NewReader(data), CSV,
		[]payload.FeatureSpec{{Name: "x", Type: payload.Numeric}, {Name: "color", Type: payload.Categorical}},
		BuildOptions{Bins: 4, Prediction: &payload.PredictionSpec{Name: "pred", Type: payload.Numeric}, Label: label})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestProfileWithoutPerformanceUnchanged: a version-1 profile written
// before performance existed still loads, and the builder still writes
// the same bytes (and so the same hash) without a label.
func TestProfileWithoutPerformanceUnchanged(t *testing.T) {
	old, err := os.ReadFile("testdata/profile_v1.json")
	if err != nil {
		t.Fatal(err)
	}
	p, err := LoadProfile(old)
	if err != nil {
		t.Fatalf("LoadProfile(profile_v1.json): %v", err)
	}
	if p.Performance != nil {
		t.Errorf("performance: got %+v; want nil", p.Performance)
	}
	now, err := buildFixture(t, nil, fixtureCSV).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(now, old) {
		t.Errorf("a profile without a label changed:\ngot\n%s\nwant\n%s", now, old)
	}
}

func TestProfilePerformanceRoundTrip(t *testing.T) {
	// The fixture's rows with labels; the score 0.7 of row 4 is wrong.
	const labelled = "x,color,pred,y\n1,red,0.2,0\n2,blue,0.9,1\n3,red,0.4,0\n4,green,0.7,0\n5,red,0.1,0\n6,blue,0.8,1\n"
	p := buildFixture(t, &LabelSpec{Column: "y", Type: LabelBinary}, labelled)
	if got := p.Performance; got == nil || got.Rows != 6 || got.Errors != 1 {
		t.Fatalf("performance: got %+v; want 1 error in 6 rows", got)
	}
	data, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := LoadProfile(data)
	if err != nil {
		t.Fatalf("LoadProfile: %v", err)
	}
	if !reflect.DeepEqual(back.Performance, p.Performance) || back.Hash != p.Hash {
		t.Errorf("round trip: got %+v %s; want %+v %s", back.Performance, back.Hash, p.Performance, p.Hash)
	}
	old, _ := os.ReadFile("testdata/profile_v1.json")
	var oldP Profile
	_ = json.Unmarshal(old, &oldP)
	if p.Hash == oldP.Hash {
		t.Error("the performance is not part of the hash")
	}
}

func TestLoadProfilePerformanceErrors(t *testing.T) {
	good, err := buildFixture(t, nil, fixtureCSV).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	with := func(perf string) []byte {
		var p Profile
		if err := json.Unmarshal(good, &p); err != nil {
			t.Fatal(err)
		}
		p.Performance = new(PerformanceProfile)
		dec := json.NewDecoder(strings.NewReader(perf))
		dec.DisallowUnknownFields()
		if err := dec.Decode(p.Performance); err != nil {
			t.Fatal(err)
		}
		out, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	tests := []struct{ name, perf, want string }{
		{"no rows", `{"type":"binary","threshold":0.5}`, "reference: performance.rows: 0, want at least one labelled row"},
		{"type", `{"type":"ordinal","rows":3}`, `reference: performance.type: "ordinal", want binary, categorical or numeric`},
		{"errors above rows", `{"type":"binary","rows":3,"errors":4,"threshold":0.5}`, "reference: performance.errors: 4 exceeds rows 3"},
		{"binary threshold", `{"type":"binary","rows":3}`, "reference: performance.threshold: 0, want in (0, 1)"},
		{"threshold on categorical", `{"type":"categorical","rows":3,"threshold":0.5}`, "reference: performance.threshold: set on a categorical label"},
		{"duplicate class", `{"type":"categorical","rows":3,"classes":["a","a"]}`, `reference: performance.classes: duplicate "a" at index 1`},
		{"mae on binary", `{"type":"binary","rows":3,"threshold":0.5,"mae":1}`, "reference: performance.mae: error statistics set on a binary label"},
		{"negative mae", `{"type":"numeric","rows":3,"mae":-1,"abs_error_counts":[3]}`, "reference: performance.mae: mae -1"},
		{"edges not sorted", `{"type":"numeric","rows":3,"abs_error_edges":[2,1],"abs_error_counts":[1,1,1]}`, "reference: performance.abs_error_edges: not sorted at index 1"},
		{"negative edge", `{"type":"numeric","rows":3,"abs_error_edges":[-1],"abs_error_counts":[1,2]}`, "reference: performance.abs_error_edges: index 0 (-1) is not a finite number >= 0"},
		{"counts length", `{"type":"numeric","rows":3,"abs_error_edges":[1],"abs_error_counts":[3]}`, "reference: performance.abs_error_counts: 1 cells, want 2"},
		{"counts sum", `{"type":"numeric","rows":3,"abs_error_edges":[1],"abs_error_counts":[1,1]}`, "reference: performance.abs_error_counts: sum 2 differs from rows 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadProfile(with(tc.perf))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("got %v; want an error starting %q", err, tc.want)
			}
		})
	}
	unknown := bytes.Replace(with(`{"type":"numeric","rows":3,"abs_error_counts":[3]}`), []byte(`"skipped"`), []byte(`"skipt"`), 1)
	if _, err := LoadProfile(unknown); err == nil || !strings.Contains(err.Error(), `unknown field "skipt"`) {
		t.Errorf("unknown performance field: got %v", err)
	}
	if _, err := LoadProfile(with(`{"type":"numeric","rows":3,"abs_error_counts":[3]}`)); err != nil {
		t.Errorf("valid performance: %v", err)
	}
}
