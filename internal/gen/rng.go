package gen

import (
	"math"
	"math/rand/v2"
	"sort"
)

// Stream labels: every generator draws from its own PCG stream, derived from
// Config.Seed and a label, so that one generator's draws never shift
// another's.
const (
	streamWorld uint64 = iota + 1
	streamStory
	streamCTPlan
	streamCTFile
	streamCTDigest
	streamCTInsight
	streamVPCPlan
	streamVPCFile
	streamGD
	streamGDRender
)

// mix64 is the SplitMix64 finaliser, a good 64-bit mixing function.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// hashOf mixes a seed with labels into one value.
func hashOf(seed uint64, labels ...uint64) uint64 {
	h := mix64(seed ^ 0x6a09e667f3bcc908)
	for _, l := range labels {
		h = mix64(h ^ l)
	}
	return h
}

// strHash is FNV-1a of s, to use strings as labels.
func strHash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// rng is a reseedable PCG-backed random source.
type rng struct {
	pcg *rand.PCG
	*rand.Rand
}

func newRng(seed uint64, labels ...uint64) *rng {
	pcg := rand.NewPCG(0, 0)
	r := &rng{pcg: pcg, Rand: rand.New(pcg)}
	r.reseed(seed, labels...)
	return r
}

// reseed restarts the stream at a position derived from seed and labels.
func (r *rng) reseed(seed uint64, labels ...uint64) {
	h := hashOf(seed, labels...)
	r.pcg.Seed(h, mix64(h^0xbb67ae8584caa73b))
}

// between returns an integer in [lo, hi].
func (r *rng) between(lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + r.IntN(hi-lo+1)
}

// logUniform returns a value in [lo, hi] spread evenly on a log scale, the
// shape of object sizes and byte counts.
func (r *rng) logUniform(lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	return int64(float64(lo) * math.Pow(float64(hi)/float64(lo), r.Float64()))
}

// pick returns a random element.
func pick[T any](r *rng, s []T) T { return s[r.IntN(len(s))] }

const (
	hexDigits   = "0123456789abcdef"
	upperAlnum  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	mixedAlnum  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	base32Chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	base64Chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

// appendChars appends n characters drawn from set.
func appendChars(b []byte, r *rng, set string, n int) []byte {
	var x uint64
	left := 0
	for i := 0; i < n; i++ {
		if left == 0 {
			x = r.Uint64()
			left = 8
		}
		b = append(b, set[int(x&0xff)%len(set)])
		x >>= 8
		left--
	}
	return b
}

func appendHex(b []byte, r *rng, n int) []byte {
	var x uint64
	left := 0
	for i := 0; i < n; i++ {
		if left == 0 {
			x = r.Uint64()
			left = 16
		}
		b = append(b, hexDigits[x&15])
		x >>= 4
		left--
	}
	return b
}

func hexStr(r *rng, n int) string { return string(appendHex(make([]byte, 0, n), r, n)) }

func charsStr(r *rng, set string, n int) string {
	return string(appendChars(make([]byte, 0, n), r, set, n))
}

// appendUUID appends a version-4 UUID.
func appendUUID(b []byte, r *rng) []byte {
	hi, lo := r.Uint64(), r.Uint64()
	hi = hi&^(0xf<<12) | 4<<12   // version 4
	lo = lo&^(0x3<<62) | 0x2<<62 // RFC 4122 variant
	var u [16]byte
	for i := 0; i < 8; i++ {
		u[i] = byte(hi >> (56 - 8*i))
		u[8+i] = byte(lo >> (56 - 8*i))
	}
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hexDigits[c>>4], hexDigits[c&15])
	}
	return b
}

func uuidStr(r *rng) string { return string(appendUUID(make([]byte, 0, 36), r)) }

// appendKeyChars appends n base32 characters derived from h (no draws from
// a stream), for identifiers that must be a function of other values.
func appendKeyChars(b []byte, h uint64, n int) []byte {
	for i := 0; i < n; i++ {
		if i%12 == 0 && i > 0 {
			h = mix64(h)
		}
		b = append(b, base32Chars[h&31])
		h >>= 5
	}
	return b
}

// wtable picks indexes with given weights.
type wtable struct {
	cum []float64
	idx []int
}

func newWTable(weights []float64) wtable {
	var t wtable
	sum := 0.0
	for i, w := range weights {
		if w <= 0 {
			continue
		}
		sum += w
		t.cum = append(t.cum, sum)
		t.idx = append(t.idx, i)
	}
	return t
}

func (t *wtable) empty() bool { return len(t.cum) == 0 }

func (t *wtable) pick(r *rng) int {
	if len(t.cum) == 1 {
		return t.idx[0]
	}
	x := r.Float64() * t.cum[len(t.cum)-1]
	i := sort.SearchFloat64s(t.cum, x)
	if i >= len(t.cum) {
		i = len(t.cum) - 1
	}
	return t.idx[i]
}
