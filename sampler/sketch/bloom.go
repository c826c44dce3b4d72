package sketch

import "github.com/cespare/xxhash/v2"

// bloom is a fixed-size Bloom filter over xxhash64 with double hashing:
// probe i tests bit (h1 + i*h2) mod m, where h1 and h2 are the halves of
// the 64-bit hash. A categorical profile stores one over its tail
// categories (reference values outside the dictionary) so that the live
// state can tell OTHER (seen in the reference) from UNSEEN. The false
// positive rate for n values is about (1 - e^(-k*n/m))^k.
type bloom struct {
	bits []uint64
	k    uint32
}

func newBloom(mbits int, k uint32) *bloom {
	return &bloom{bits: make([]uint64, mbits/64), k: k}
}

func (b *bloom) m() uint64 { return uint64(len(b.bits)) * 64 }

func (b *bloom) add(h uint64) {
	h1, h2 := h&0xffffffff, h>>32|1
	m := b.m()
	for i := uint64(0); i < uint64(b.k); i++ {
		p := (h1 + i*h2) % m
		b.bits[p/64] |= 1 << (p % 64)
	}
}

func (b *bloom) has(h uint64) bool {
	if b == nil || len(b.bits) == 0 {
		return false
	}
	h1, h2 := h&0xffffffff, h>>32|1
	m := b.m()
	for i := uint64(0); i < uint64(b.k); i++ {
		p := (h1 + i*h2) % m
		if b.bits[p/64]&(1<<(p%64)) == 0 {
			return false
		}
	}
	return true
}

func hashBytes(b []byte) uint64 { return xxhash.Sum64(b) }
