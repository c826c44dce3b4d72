package perf

import (
	"strings"
	"testing"
)

func TestParseLabel(t *testing.T) {
	bin := mustSpec(t, Spec{Kind: Binary})
	named := mustSpec(t, Spec{Kind: Binary, Classes: []string{"ham", "spam"}})
	cat := mustSpec(t, Spec{Kind: Categorical, Classes: []string{"cat", "dog", "a\"b"}})
	num := mustSpec(t, Spec{Kind: Numeric})
	for _, tc := range []struct {
		spec    *Spec
		raw     string
		want    float64
		wantErr string // a part of the error; "" for none
	}{
		{bin, "1", 1, ""},
		{bin, " 0 ", 0, ""},
		{bin, "1.0", 1, ""},
		{bin, "true", 1, ""},
		{bin, "false", 0, ""},
		{bin, `"1"`, 1, ""},
		{bin, `"0"`, 0, ""},
		{bin, "2", 0, `bad binary label 2: want 0, 1, true, false, "0" or "1"`},
		{bin, `"yes"`, 0, `bad binary label "yes"`},
		{bin, "null", 0, "bad binary label null"},
		{bin, "", 0, "empty label"},
		{bin, "01", 0, "bad binary label 01"},
		{bin, "tru", 0, "bad binary label tru"},
		{named, `"spam"`, 1, ""},
		{named, `"ham"`, 0, ""},
		{named, "1", 1, ""},
		{named, `"1"`, 0, `want 0, 1, true, false, "ham" or "spam"`},
		{cat, `"dog"`, 1, ""},
		{cat, `"a\"b"`, 2, ""},
		{cat, `"\u0063at"`, 0, ""},
		{cat, "2", 2, ""},
		{cat, "3", 0, "bad categorical label 3: want a class name or an index below 3"},
		{cat, "1.5", 0, "bad categorical label 1.5"},
		{cat, `"bird"`, 0, `unknown class "bird"`},
		{cat, "true", 0, "bad categorical label true"},
		{cat, `"unterminated`, 0, "cannot read label"},
		{num, "-3.25e2", -325, ""},
		{num, "0", 0, ""},
		{num, "1e400", 0, "not a finite number"},
		{num, `"3"`, 0, `bad numeric label "3": want a finite number`},
		{num, "NaN", 0, "bad numeric label NaN"},
		{num, "0x10", 0, "bad numeric label 0x10"},
		{num, "1.", 0, "bad numeric label 1."},
		{num, "[1]", 0, "bad numeric label [1]"},
		{num, strings.Repeat("9", 100) + "x", 0, "…"},
	} {
		t.Run(tc.spec.Kind.String()+" "+tc.raw, func(t *testing.T) {
			got, err := tc.spec.ParseLabel([]byte(tc.raw))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("error %v; want %v", err, tc.want)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("got %v, %v; want an error with %q", got, err, tc.wantErr)
			case tc.wantErr == "" && got != tc.want:
				t.Fatalf("got %v; want %v", got, tc.want)
			}
		})
	}
}
