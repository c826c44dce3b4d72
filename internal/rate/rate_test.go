package rate

import (
	"errors"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	const day = 24 * time.Hour
	for _, tc := range []struct {
		in   string
		want Rate
		str  string
	}{
		{"1/30d", Rate{1, 30 * day}, "1/30d"},
		{"1/7d", Rate{1, 7 * day}, "1/7d"},
		{"1/24h", Rate{1, 24 * time.Hour}, "1/1d"},
		{"2/1h30m", Rate{2, 90 * time.Minute}, "2/1h30m0s"},
		{" 1 / 1w ", Rate{1, 7 * day}, "1/7d"},
		{"1/1d12h", Rate{1, 36 * time.Hour}, "1/36h0m0s"},
		{"0.5/d", Rate{0.5, day}, "0.5/1d"},
		{"1/h", Rate{1, time.Hour}, "1/1h0m0s"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Parse(tc.in)
			if err != nil {
				t.Fatalf("got error %v", err)
			}
			if got != tc.want {
				t.Fatalf("got %+v; want %+v", got, tc.want)
			}
			if got.String() != tc.str {
				t.Fatalf("got string %q; want %q", got.String(), tc.str)
			}
		})
	}
	if got, _ := Parse("1/30d"); got.PerSecond() != 1/(30*86400.0) {
		t.Errorf("got %v per second", got.PerSecond())
	}
	for _, in := range []string{"", "1", "x/1d", "0/1d", "-1/1d", "1/", "1/0s", "1/xd", "1/2d1w", "1/5q", "NaN/1d"} {
		t.Run("bad "+in, func(t *testing.T) {
			if _, err := Parse(in); !errors.Is(err, ErrBadRate) {
				t.Fatalf("got %v; want ErrBadRate", err)
			}
		})
	}
}
