package stat

import (
	"fmt"
	"time"
)

// WindowLabel names a window for labels and views: "5m", "1h", else the
// duration.
func WindowLabel(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}
