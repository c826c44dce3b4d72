// Package rate parses event rates such as "1/30d": the one grammar of
// false_alarm_rate for config validation and the detector. Its functions
// are pure and safe for concurrent use.
package rate

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rate is a wall-clock event rate such as "one false alarm per 30 days".
type Rate struct {
	// Events is the number of events per Per; it is positive.
	Events float64
	// Per is the period; it is positive.
	Per time.Duration
}

// ErrBadRate is wrapped by the errors Parse returns.
var ErrBadRate = errors.New("rate: bad rate")

// Parse parses "EVENTS/PERIOD", for example "1/30d", "1/7d", "1/24h" or
// "2/1h30m". PERIOD is a Go duration that may also use the units d (24h)
// and w (7d), alone or as the first unit ("1d12h"); a bare unit means one
// of it ("1/d").
func Parse(s string) (Rate, error) {
	num, per, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Rate{}, fmt.Errorf("cannot parse rate %q: want EVENTS/PERIOD such as 1/30d: %w", s, ErrBadRate)
	}
	ev, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil {
		return Rate{}, fmt.Errorf("cannot parse events of rate %q: %w", s, errors.Join(ErrBadRate, err))
	}
	if !(ev > 0) || ev > 1e12 {
		return Rate{}, fmt.Errorf("cannot use rate %q: events must be positive: %w", s, ErrBadRate)
	}
	d, err := parsePeriod(strings.TrimSpace(per))
	if err != nil {
		return Rate{}, fmt.Errorf("cannot parse period of rate %q: %w", s, errors.Join(ErrBadRate, err))
	}
	if d <= 0 {
		return Rate{}, fmt.Errorf("cannot use rate %q: period must be positive: %w", s, ErrBadRate)
	}
	return Rate{Events: ev, Per: d}, nil
}

// parsePeriod is time.ParseDuration with leading d (day) and w (week) units.
func parsePeriod(s string) (time.Duration, error) {
	if s == "" {
		return 0, errors.New("empty period")
	}
	var total time.Duration
	rest := s
	for _, u := range []struct {
		suffix string
		d      time.Duration
	}{{"w", 7 * 24 * time.Hour}, {"d", 24 * time.Hour}} {
		i := strings.IndexByte(rest, u.suffix[0])
		if i < 0 {
			continue
		}
		head := rest[:i]
		n := 1.0
		if head != "" {
			v, err := strconv.ParseFloat(head, 64)
			if err != nil {
				return 0, fmt.Errorf("cannot parse %q: %w", s, err)
			}
			n = v
		}
		if n < 0 || n*float64(u.d) > float64(1<<62) {
			return 0, fmt.Errorf("period %q out of range", s)
		}
		total += time.Duration(n * float64(u.d))
		rest = rest[i+1:]
	}
	if rest != "" {
		if rest[0] < '0' || rest[0] > '9' {
			rest = "1" + rest
		}
		d, err := time.ParseDuration(rest)
		if err != nil {
			return 0, err
		}
		total += d
	}
	return total, nil
}

// PerSecond returns the rate in events per second.
func (r Rate) PerSecond() float64 { return r.Events / r.Per.Seconds() }

// String returns the rate as EVENTS/PERIOD, using days when the period is a
// whole number of days.
func (r Rate) String() string {
	ev := strconv.FormatFloat(r.Events, 'g', -1, 64)
	if r.Per >= 24*time.Hour && r.Per%(24*time.Hour) == 0 {
		return ev + "/" + strconv.FormatInt(int64(r.Per/(24*time.Hour)), 10) + "d"
	}
	return ev + "/" + r.Per.String()
}
