package config

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

var (
	_ yaml.Unmarshaler = (*Duration)(nil)
	_ yaml.Marshaler   = Duration(0)
	_ json.Marshaler   = Duration(0)
	_ yaml.Unmarshaler = (*ByteSize)(nil)
	_ yaml.Marshaler   = ByteSize(0)
	_ json.Marshaler   = ByteSize(0)
)

// bareNumber matches numbers written without a unit.
var bareNumber = regexp.MustCompile(`^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$`)

// UnmarshalYAML accepts a non-negative Go duration string such as "1s",
// "250ms" or "2m". A number without a unit is an error.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf(`must be a duration such as "1s", got %s`, describe(n))
	}
	v, err := parseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

func parseDuration(s string) (Duration, error) {
	if bareNumber.MatchString(s) {
		return 0, fmt.Errorf(`must have a unit such as "s" or "ms", got %q`, s)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf(`must be a duration such as "1s" or "250ms", got %q`, s)
	}
	if v < 0 {
		return 0, fmt.Errorf("must not be negative, got %q", s)
	}
	return Duration(v), nil
}

// String returns the duration in Go syntax without zero tails: "1m" rather
// than "1m0s".
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// MarshalYAML returns the string form, which UnmarshalYAML accepts.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// MarshalJSON returns the string form as a JSON string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// byteUnits lists the accepted size suffixes. The binary units come first,
// so that String prefers them when two units give the same count.
var byteUnits = []struct {
	name string
	size int64
}{
	{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3},
	{"B", 1},
}

// sizeSyntax splits "16 MiB" into count and unit.
var sizeSyntax = regexp.MustCompile(`^(\d+) ?([A-Za-z]*)$`)

// UnmarshalYAML accepts a non-negative integer of bytes or a string such as
// "512KiB", "16MiB", "1GiB" (powers of 1024), "1KB", "1MB", "1GB" (powers of
// 1000) or "100B".
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf(`must be a size such as "16MiB" or 1048576, got %s`, describe(n))
	}
	v, err := parseByteSize(n.Value)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

func parseByteSize(s string) (ByteSize, error) {
	if strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("must not be negative, got %q", s)
	}
	m := sizeSyntax.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf(`must be a size such as "16MiB" or 1048576, got %q`, s)
	}
	unit := int64(-1)
	for _, u := range byteUnits {
		if u.name == m[2] || m[2] == "" && u.name == "B" {
			unit = u.size
			break
		}
	}
	if unit < 0 {
		return 0, fmt.Errorf(`unknown size unit %q, want one of B, KB, MB, GB, TB, KiB, MiB, GiB, TiB`, m[2])
	}
	count, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || count > math.MaxInt64/unit {
		return 0, fmt.Errorf("must be less than 8EiB, got %q", s)
	}
	return ByteSize(count * unit), nil
}

// String returns the size with the unit that divides it exactly and gives
// the smallest count, such as "16MiB" or "2KB", or else in bytes: "1023B".
func (b ByteSize) String() string {
	if s, ok := b.human(); ok {
		return s
	}
	return strconv.FormatInt(int64(b), 10) + "B"
}

// human returns b with a unit larger than a byte, if one divides b exactly.
func (b ByteSize) human() (string, bool) {
	if b <= 0 {
		return "", false
	}
	best, name := int64(b), ""
	for _, u := range byteUnits {
		if u.size > 1 && int64(b)%u.size == 0 && int64(b)/u.size < best {
			best, name = int64(b)/u.size, u.name
		}
	}
	if name == "" {
		return "", false
	}
	return strconv.FormatInt(best, 10) + name, true
}

// MarshalYAML returns the string form when a unit divides the size exactly,
// and else the number of bytes.
func (b ByteSize) MarshalYAML() (any, error) {
	if s, ok := b.human(); ok {
		return s, nil
	}
	return int64(b), nil
}

// MarshalJSON returns the string form, such as "16MiB", when a unit divides
// the size exactly, and else the number of bytes.
func (b ByteSize) MarshalJSON() ([]byte, error) {
	if s, ok := b.human(); ok {
		return json.Marshal(s)
	}
	return strconv.AppendInt(nil, int64(b), 10), nil
}
