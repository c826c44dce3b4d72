package stat

import "github.com/driftcar/driftcar/internal/rate"

// Rate is a wall-clock event rate such as "one false alarm per 30 days".
type Rate = rate.Rate

// ErrBadRate is wrapped by the errors ParseRate returns.
var ErrBadRate = rate.ErrBadRate

// ParseRate parses "EVENTS/PERIOD", for example "1/30d", "1/1w", "1/24h"
// or "2/1h30m". PERIOD is a Go duration that may also use the units d
// (24h) and w (7d), alone or as the first unit ("1d12h"); a bare unit
// means one of it ("1/d").
func ParseRate(s string) (Rate, error) { return rate.Parse(s) }
