package sketch

import (
	"cmp"
	"math"
	"slices"
	"strings"
)

type catCount struct{ total, train, hold uint64 }

func (b *builder) addCat(a *acc, v string) {
	if b.pass2 {
		return
	}
	a.count++
	hold := a.nvalid%10 == 9
	a.nvalid++
	c := a.cats[v]
	if c == nil {
		if len(a.cats) >= b.opts.MaxDistinct {
			a.capped++
			return
		}
		c = &catCount{}
		a.cats[strings.Clone(v)] = c
	}
	c.total++
	if hold {
		c.hold++
	} else {
		c.train++
	}
}

func (b *builder) finishCat(a *acc, fp *FeatureProfile) {
	type kv struct {
		v string
		c *catCount
	}
	all := make([]kv, 0, len(a.cats))
	for v, c := range a.cats {
		all = append(all, kv{v, c})
	}
	slices.SortFunc(all, func(x, y kv) int {
		if c := cmp.Compare(y.c.total, x.c.total); c != 0 {
			return c
		}
		return strings.Compare(x.v, y.v)
	})
	fp.Distinct = uint64(len(all))
	fp.DistinctCapped = a.capped > 0
	// Smallest top-K covering Coverage of the mass, capped.
	need := uint64(math.Ceil(b.opts.Coverage * float64(a.count)))
	var cum uint64
	k := 0
	for k < len(all) && k < b.opts.MaxCategories && cum < need {
		cum += all[k].c.total
		k++
	}
	other := a.count - cum
	for _, e := range all[:k] {
		fp.Categories = append(fp.Categories, Category{Value: e.v, Count: e.c.total})
		fp.Counts = append(fp.Counts, e.c.total)
	}
	fp.Counts = append(fp.Counts, other, 0)
	if tail := all[k:]; len(tail) > 0 {
		bits := 1024
		for bits < 10*len(tail) && bits < 1<<16 {
			bits <<= 1
		}
		bl := newBloom(bits, 7)
		for _, e := range tail {
			bl.add(hashBytes([]byte(e.v)))
		}
		fp.Tail = encodeTail(bl, uint64(len(tail)))
	}
	// Hold-out unseen rate.
	var hold, unseen uint64
	for _, e := range all {
		hold += e.c.hold
		if e.c.train == 0 {
			unseen += e.c.hold
		}
	}
	if hold > 0 {
		fp.UnseenRate = float64(unseen) / float64(hold)
	}
}
