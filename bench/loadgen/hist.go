package loadgen

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram range: 1 µs to 10 minutes at 3 significant digits (0.1%).
const (
	histMin    = 1
	histMax    = int64(10 * time.Minute / time.Microsecond)
	histDigits = 3
)

// Histogram is an HDR latency histogram in microseconds, from 1 µs to 10
// minutes at 3 significant digits; values outside are clamped. The zero
// value is not usable: use NewHistogram. It is not safe for concurrent use.
type Histogram struct {
	h *hdrhistogram.Histogram
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	return &Histogram{h: hdrhistogram.New(histMin, histMax, histDigits)}
}

// Record adds one observation of d.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d / time.Microsecond)
	v = min(max(v, histMin), histMax)
	_ = h.h.RecordValue(v) // in range by construction
}

// Merge adds every observation of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o != nil {
		h.h.Merge(o.h)
	}
}

// Count is the number of observations.
func (h *Histogram) Count() int64 { return h.h.TotalCount() }

// Quantile returns the value at percentile p (0..100): the smallest
// recorded value (to 3 significant digits) that at least p% of the
// observations are at or below. It is 0 for an empty histogram.
func (h *Histogram) Quantile(p float64) time.Duration {
	return time.Duration(h.h.ValueAtQuantile(p)) * time.Microsecond
}

// CountAbove is the number of observations above d, at the histogram's
// resolution: values within 0.1% of d may count either way.
func (h *Histogram) CountAbove(d time.Duration) int64 {
	v := int64(d / time.Microsecond)
	var n int64
	for _, b := range h.h.Distribution() {
		if b.From > v {
			n += b.Count
		}
	}
	return n
}

// Min is the smallest observation (to 3 significant digits).
func (h *Histogram) Min() time.Duration { return time.Duration(h.h.Min()) * time.Microsecond }

// Max is the largest observation (to 3 significant digits).
func (h *Histogram) Max() time.Duration { return time.Duration(h.h.Max()) * time.Microsecond }

// Mean is the mean observation.
func (h *Histogram) Mean() time.Duration {
	return time.Duration(h.h.Mean() * float64(time.Microsecond))
}

// Percentiles summarize a latency distribution.
type Percentiles struct {
	Count                          int64
	P50, P90, P99, P999, Max, Mean time.Duration
}

// Summary returns the 50th, 90th, 99th and 99.9th percentiles, the maximum
// and the mean.
func (h *Histogram) Summary() Percentiles {
	return Percentiles{
		Count: h.Count(),
		P50:   h.Quantile(50),
		P90:   h.Quantile(90),
		P99:   h.Quantile(99),
		P999:  h.Quantile(99.9),
		Max:   h.Max(),
		Mean:  h.Mean(),
	}
}
