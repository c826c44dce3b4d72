package config

import (
	"encoding/json"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// decodeScalar decodes the YAML value in into v and returns the error text
// or "".
func decodeScalar(t *testing.T, in string, v any) string {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte("v: "+in), &n); err != nil {
		t.Fatalf("yaml.Unmarshal(%q): %v", in, err)
	}
	if err := n.Content[0].Content[1].Decode(v); err != nil {
		return err.Error()
	}
	return ""
}

func TestDurationUnmarshal(t *testing.T) {
	tests := []struct {
		in      string
		want    Duration
		wantErr string
	}{
		{in: "1s", want: Duration(time.Second)},
		{in: "250ms", want: Duration(250 * time.Millisecond)},
		{in: "2m", want: Duration(2 * time.Minute)},
		{in: "1h30m", want: Duration(90 * time.Minute)},
		{in: "0s", want: 0},
		{in: `"5s"`, want: Duration(5 * time.Second)},
		{in: "30", wantErr: `must have a unit such as "s" or "ms", got "30"`},
		{in: "0", wantErr: `must have a unit such as "s" or "ms", got "0"`},
		{in: "1.5", wantErr: `must have a unit such as "s" or "ms", got "1.5"`},
		{in: `"30"`, wantErr: `must have a unit such as "s" or "ms", got "30"`},
		{in: "-1s", wantErr: `must not be negative, got "-1s"`},
		{in: "fast", wantErr: `must be a duration such as "1s" or "250ms", got "fast"`},
		{in: "1 s", wantErr: `must be a duration such as "1s" or "250ms", got "1 s"`},
		{in: "1d", wantErr: `must be a duration such as "1s" or "250ms", got "1d"`},
		{in: "{a: 1}", wantErr: `must be a duration such as "1s", got a mapping`},
		{in: "[1s]", wantErr: `must be a duration such as "1s", got a list`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			var d Duration
			if got := decodeScalar(t, tc.in, &d); got != tc.wantErr {
				t.Fatalf("error: got %q; want %q", got, tc.wantErr)
			}
			if d != tc.want {
				t.Errorf("got %v; want %v", d, tc.want)
			}
		})
	}
}

func TestDurationMarshal(t *testing.T) {
	tests := []struct {
		in   Duration
		want string
	}{
		{in: 0, want: "0s"},
		{in: Duration(250 * time.Millisecond), want: "250ms"},
		{in: Duration(time.Second), want: "1s"},
		{in: Duration(time.Minute), want: "1m"},
		{in: Duration(90 * time.Second), want: "1m30s"},
		{in: Duration(time.Hour), want: "1h"},
		{in: Duration(time.Hour + time.Second), want: "1h0m1s"},
		{in: Duration(1500 * time.Microsecond), want: "1.5ms"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.in.String(); got != tc.want {
				t.Errorf("String: got %q; want %q", got, tc.want)
			}
			j, err := json.Marshal(tc.in)
			if err != nil || string(j) != `"`+tc.want+`"` {
				t.Errorf("MarshalJSON: got %s, %v; want %q", j, err, tc.want)
			}
			y, err := yaml.Marshal(tc.in)
			if err != nil || string(y) != tc.want+"\n" {
				t.Errorf("MarshalYAML: got %q, %v; want %q", y, err, tc.want+"\n")
			}
			var back Duration
			if err := yaml.Unmarshal(y, &back); err != nil || back != tc.in {
				t.Errorf("round trip: got %v, %v; want %v", back, err, tc.in)
			}
		})
	}
}

func TestByteSizeUnmarshal(t *testing.T) {
	tests := []struct {
		in      string
		want    ByteSize
		wantErr string
	}{
		{in: "0", want: 0},
		{in: "1048576", want: 1 << 20},
		{in: "100B", want: 100},
		{in: "512KiB", want: 512 << 10},
		{in: "1MiB", want: 1 << 20},
		{in: "16MiB", want: 16 << 20},
		{in: "1GiB", want: 1 << 30},
		{in: "2TiB", want: 2 << 40},
		{in: "1KB", want: 1000},
		{in: "1MB", want: 1_000_000},
		{in: "3GB", want: 3_000_000_000},
		{in: "16 MiB", want: 16 << 20},
		{in: `"4096"`, want: 4096},
		{in: "8388607TiB", want: 8388607 << 40},
		{in: "8388608TiB", wantErr: `must be less than 8EiB, got "8388608TiB"`},
		{in: "99999999999999999999", wantErr: `must be less than 8EiB, got "99999999999999999999"`},
		{in: "-1", wantErr: `must not be negative, got "-1"`},
		{in: "-1MiB", wantErr: `must not be negative, got "-1MiB"`},
		{in: "1.5MiB", wantErr: `must be a size such as "16MiB" or 1048576, got "1.5MiB"`},
		{in: "MiB", wantErr: `must be a size such as "16MiB" or 1048576, got "MiB"`},
		{in: "0x10", wantErr: `must be a size such as "16MiB" or 1048576, got "0x10"`},
		{in: "16mib", wantErr: `unknown size unit "mib", want one of B, KB, MB, GB, TB, KiB, MiB, GiB, TiB`},
		{in: "16M", wantErr: `unknown size unit "M", want one of B, KB, MB, GB, TB, KiB, MiB, GiB, TiB`},
		{in: "[1]", wantErr: `must be a size such as "16MiB" or 1048576, got a list`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			var b ByteSize
			if got := decodeScalar(t, tc.in, &b); got != tc.wantErr {
				t.Fatalf("error: got %q; want %q", got, tc.wantErr)
			}
			if b != tc.want {
				t.Errorf("got %d; want %d", b, tc.want)
			}
		})
	}
}

func TestByteSizeMarshal(t *testing.T) {
	tests := []struct {
		in       ByteSize
		str      string
		json     string
		yamlText string
	}{
		{in: 0, str: "0B", json: "0", yamlText: "0\n"},
		{in: 1, str: "1B", json: "1", yamlText: "1\n"},
		{in: 1023, str: "1023B", json: "1023", yamlText: "1023\n"},
		{in: 1024, str: "1KiB", json: `"1KiB"`, yamlText: "1KiB\n"},
		{in: 16 << 20, str: "16MiB", json: `"16MiB"`, yamlText: "16MiB\n"},
		{in: 1 << 30, str: "1GiB", json: `"1GiB"`, yamlText: "1GiB\n"},
		{in: 1_000_000, str: "1MB", json: `"1MB"`, yamlText: "1MB\n"},
		{in: 2000, str: "2KB", json: `"2KB"`, yamlText: "2KB\n"},
		{in: 1_024_000, str: "1000KiB", json: `"1000KiB"`, yamlText: "1000KiB\n"},
		{in: 1e12, str: "1TB", json: `"1TB"`, yamlText: "1TB\n"},
		{in: 1_000_001, str: "1000001B", json: "1000001", yamlText: "1000001\n"},
	}
	for _, tc := range tests {
		t.Run(tc.str, func(t *testing.T) {
			if got := tc.in.String(); got != tc.str {
				t.Errorf("String: got %q; want %q", got, tc.str)
			}
			j, err := json.Marshal(tc.in)
			if err != nil || string(j) != tc.json {
				t.Errorf("MarshalJSON: got %s, %v; want %s", j, err, tc.json)
			}
			y, err := yaml.Marshal(tc.in)
			if err != nil || string(y) != tc.yamlText {
				t.Errorf("MarshalYAML: got %q, %v; want %q", y, err, tc.yamlText)
			}
			var back ByteSize
			if err := yaml.Unmarshal(y, &back); err != nil || back != tc.in {
				t.Errorf("round trip: got %d, %v; want %d", back, err, tc.in)
			}
			var fromString ByteSize
			if got := decodeScalar(t, tc.str, &fromString); got != "" || fromString != tc.in {
				t.Errorf("parse String(): got %d, %q; want %d", fromString, got, tc.in)
			}
		})
	}
}
