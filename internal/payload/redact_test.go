package payload

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
)

func TestRedactor(t *testing.T) {
	sum := sha256.Sum256([]byte(`"a@b.c"`))
	hashed := "sha256:" + hex.EncodeToString(sum[:])
	tests := []struct {
		name       string
		drop, hash []string
		in, want   string
		err        error
	}{
		{"drop per row", []string{"instances[*].ssn"}, nil,
			`{"instances":[{"ssn":"1","age":3},{"ssn":"2","age":4}]}`, `{"instances":[{"age":3},{"age":4}]}`, nil},
		{"hash a field", nil, []string{"$.user.email"},
			`{"user":{"email":"a@b.c","id":7}}`, `{"user":{"email":"` + hashed + `","id":7}}`, nil},
		{"drop an element keeps positions", []string{"inputs[0]"}, nil, `{"inputs":[1,2]}`, `{"inputs":[null,2]}`, nil},
		{"absent paths change nothing", []string{"x.y", "z[3]"}, nil, `{"z":[1],"big":12345678901234567890}`, `{"big":12345678901234567890,"z":[1]}`, nil},
		{"not JSON", []string{"x"}, nil, "\x00\x01binary", "", ErrNotRedactable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewRedactor(tc.drop, tc.hash)
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.Apply([]byte(tc.in))
			if !errors.Is(err, tc.err) || string(got) != tc.want {
				t.Errorf("got %s, %v; want %s, %v", got, err, tc.want, tc.err)
			}
		})
	}
	if _, err := NewRedactor([]string{"a["}, nil); err == nil {
		t.Error("a bad path compiled")
	}
}
