package perf

// Ring holds Counts per time slice: the current slice and the slices before
// it, up to the number it was built with. Window k sums the current slice
// and the k−1 before it. Ring and PairRing share one generic ring.
type Ring struct{ r sliceRing[Counts, *Counts] }

// NewRing returns a ring of slices (at least 1) empty Counts shaped for s.
func NewRing(s *Spec, slices int) *Ring {
	r := &Ring{r: newSliceRing[Counts](slices)}
	for i := range r.r.slices {
		r.r.slices[i] = *NewCounts(s)
	}
	return r
}

// Add counts o into the current slice.
func (r *Ring) Add(o Outcome) { r.r.current().Add(o) }

// Current is the current slice, for adding in bulk with Merge.
func (r *Ring) Current() *Counts { return r.r.current() }

// Rotate starts a new, empty current slice, dropping the oldest.
func (r *Ring) Rotate() { r.r.rotate() }

// Window sets into (built for the same Spec) to the sum of the current
// slice and the k−1 before it; k is clamped to [0, Slices()].
func (r *Ring) Window(k int, into *Counts) { r.r.window(k, into) }

// Slices is the number of slices the ring keeps.
func (r *Ring) Slices() int { return len(r.r.slices) }

// Reset empties every slice.
func (r *Ring) Reset() { r.r.reset() }

// PairRing holds PairCounts per time slice, with Ring's Rotate and Window.
type PairRing struct {
	r sliceRing[PairCounts, *PairCounts]
}

// NewPairRing returns a ring of slices (at least 1) empty PairCounts.
func NewPairRing(slices int) *PairRing {
	return &PairRing{r: newSliceRing[PairCounts](slices)}
}

// Add counts a champion's and a challenger's outcome on the same request
// into the current slice.
func (r *PairRing) Add(s *Spec, champion, challenger Outcome) {
	r.r.current().Add(s, champion, challenger)
}

// Current is the current slice.
func (r *PairRing) Current() *PairCounts { return r.r.current() }

// Rotate starts a new, empty current slice, dropping the oldest.
func (r *PairRing) Rotate() { r.r.rotate() }

// Window sets into to the sum of the current slice and the k−1 before it;
// k is clamped to [0, Slices()].
func (r *PairRing) Window(k int, into *PairCounts) { r.r.window(k, into) }

// Slices is the number of slices the ring keeps.
func (r *PairRing) Slices() int { return len(r.r.slices) }

// Reset empties every slice.
func (r *PairRing) Reset() { r.r.reset() }

// additive is what a ring slice must do.
type additive[T any] interface {
	*T
	Merge(*T)
	Reset()
}

// sliceRing keeps the last len(slices) slices; cur is the current one.
type sliceRing[T any, P additive[T]] struct {
	slices []T
	cur    int
}

func newSliceRing[T any, P additive[T]](n int) sliceRing[T, P] {
	return sliceRing[T, P]{slices: make([]T, max(n, 1))}
}

func (r *sliceRing[T, P]) current() P { return &r.slices[r.cur] }

func (r *sliceRing[T, P]) rotate() {
	r.cur = (r.cur + 1) % len(r.slices)
	P(&r.slices[r.cur]).Reset()
}

func (r *sliceRing[T, P]) window(k int, into P) {
	into.Reset()
	k = min(max(k, 0), len(r.slices))
	for i := range k {
		into.Merge(&r.slices[(r.cur-i+len(r.slices))%len(r.slices)])
	}
}

func (r *sliceRing[T, P]) reset() {
	for i := range r.slices {
		P(&r.slices[i]).Reset()
	}
}
