// Package textindex is trawl's free-text index: a Bloom filter of the
// words of each block of stored records, which lets a search for a rare
// word skip the blocks that cannot hold it.
//
// A word (a token) is a maximal run of ASCII letters and digits,
// lower-cased: '_' separates words, as in Splunk, so that
// AdministratorAccess is a word of AWSReservedSSO_AdministratorAccess_0a1b.
// Words joined by single '.', '-' or '_' form a chain (an IPv4 address, a
// host name, a UUID, a snake_case name); every pair of consecutive words
// of a chain is a token too, so that "10.1.2.3" (10.1, 1.2 and 2.3) or
// "user_2" is found by rarer tokens than its common words. (Longer windows
// were measured: they add tokens, which need more bits per block, for
// little more selectivity.)
//
// A free-text search term matches whole words (its ends are word
// boundaries where they are word characters, see Term), so every run of
// the term that is closed on both sides (by a non-word character of the
// term or by a word boundary) is a token of every record it matches: the
// index may only narrow, never lose a match. The caller still evaluates
// the term on the records of the blocks the index keeps.
//
// The filter of a block is split into Parts parts of PartBits bits; a
// token sets K bits of one part, chosen by its hash. A part is stored as
// one row (store/duckdb), so a look-up reads one part of each block per
// token, not the whole filter.
package textindex

import (
	"encoding/binary"
	"regexp"
	"strings"
)

const (
	// Parts is the number of parts a block's filter is split into.
	Parts = 256
	// PartBits is the size of one part in bits.
	PartBits = 16384
	// K is the number of bits a token sets in its part.
	K = 5
	// partShift selects a token's part from the top bits of its hash.
	partShift = 56

	partWords = PartBits / 64
)

// isWord marks the bytes of a word: ASCII letters and digits.
var isWord = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	return t
}()

// lower folds ASCII upper case.
var lower = func() (t [256]byte) {
	for c := 0; c < 256; c++ {
		t[c] = byte(c)
		if c >= 'A' && c <= 'Z' {
			t[c] = byte(c) + 'a' - 'A'
		}
	}
	return t
}()

// isJoin marks the characters that join words into a chain.
var isJoin = [256]bool{'.': true, '-': true, '_': true}

// fold is the lower-case form of a word byte, 0 for other bytes.
var fold = func() (t [256]byte) {
	for c := 0; c < 256; c++ {
		if isWord[c] {
			t[c] = lower[c]
		}
	}
	return t
}()

// IsWordByte reports whether c is a word character.
func IsWordByte(c byte) bool { return isWord[c] }

const (
	m1       = 0x9E3779B97F4A7C15
	m2       = 0xC2B2AE3D27D4EB4F
	seedWord = 0x243F6A8885A308D3
	seedWin  = 0x13198A2E03707344
)

func mix(h uint64) uint64 {
	h ^= h >> 31
	h *= m2
	h ^= h >> 29
	return h
}

// wordHash is the hash of a word (already lower-cased or not: it folds).
// The ingest tokenizer computes the same value byte by byte.
func wordHash(w string) uint64 {
	h, acc, n := uint64(seedWord), uint64(0), 0
	for i := 0; i < len(w); i++ {
		acc = acc<<8 | uint64(lower[w[i]])
		if n++; n == 8 {
			h = (h ^ acc) * m1
			acc, n = 0, 0
		}
	}
	return mix((h ^ acc ^ uint64(len(w))<<56) * m1)
}

// pairHash is the hash of two consecutive words of a chain, from their
// hashes.
func pairHash(a, b uint64) uint64 {
	h := (seedWin ^ a) * m1
	h ^= h >> 32
	h = (h ^ b) * m1
	h ^= h >> 32
	return mix(h)
}

// Tokens calls fn with the hash of every token of s: each word, and each
// pair of consecutive words of a chain. A token met twice is passed
// twice.
func Tokens(s string, fn func(uint64)) {
	var prev uint64 // the previous word of the chain
	lastEnd := -2   // where the previous word ended
	for i := 0; i < len(s); {
		if !isWord[s[i]] {
			i++
			continue
		}
		start := i
		h, acc, n := uint64(seedWord), uint64(0), 0
		for ; i < len(s); i++ {
			c := fold[s[i]]
			if c == 0 {
				break
			}
			acc = acc<<8 | uint64(c)
			if n++; n == 8 {
				h = (h ^ acc) * m1
				acc, n = 0, 0
			}
		}
		h = mix((h ^ acc ^ uint64(i-start)<<56) * m1)
		fn(h)
		if lastEnd == start-1 && start > 0 && isJoin[s[start-1]] {
			fn(pairHash(prev, h))
		}
		prev = h
		lastEnd = i
	}
}

// A Probe is where a token's bits are in a block's filter: one part and K
// bit positions in it (0 is the first bit of the part's first byte, its
// most significant bit: DuckDB's BIT order).
type Probe struct {
	Part int
	Bits [K]int
}

// ProbeOf returns where the token with hash h is.
func ProbeOf(h uint64) Probe {
	p := Probe{Part: int(h >> partShift)}
	a, b := uint32(h), uint32(h>>26)|1
	for i := range p.Bits {
		p.Bits[i] = int((a + uint32(i)*b) % PartBits)
	}
	return p
}

// Bloom is the filter of one block. The zero value is empty.
type Bloom struct {
	words [Parts][partWords]uint64
	used  [Parts]bool
	// recent holds tokens added lately, by their low bits: most tokens of
	// a record (JSON keys, service names, account ids) were added by the
	// records before it, and looking them up costs less than setting
	// their bits again.
	recent [recentSize]uint64
}

const recentSize = 1 << 13

// Reset empties the filter.
func (b *Bloom) Reset() { *b = Bloom{} }

// Add adds a token by its hash.
func (b *Bloom) Add(h uint64) {
	r := &b.recent[h&(recentSize-1)]
	if *r == h {
		return
	}
	*r = h
	part := h >> partShift
	w := &b.words[part]
	b.used[part] = true
	a, s := uint32(h), uint32(h>>26)|1
	for i := uint32(0); i < K; i++ {
		bit := (a + i*s) % PartBits
		w[bit/64] |= 1 << (63 - bit%64)
	}
}

// AddText adds every token of s. It is Tokens with b.Add called directly
// (a test checks that they agree): the call through a func value costs a
// tenth of an ingest's indexing time.
func (b *Bloom) AddText(s string) {
	var prev uint64
	lastEnd := -2
	for i := 0; i < len(s); {
		if !isWord[s[i]] {
			i++
			continue
		}
		start := i
		h, acc, n := uint64(seedWord), uint64(0), 0
		for ; i < len(s); i++ {
			c := fold[s[i]]
			if c == 0 {
				break
			}
			acc = acc<<8 | uint64(c)
			if n++; n == 8 {
				h = (h ^ acc) * m1
				acc, n = 0, 0
			}
		}
		h = mix((h ^ acc ^ uint64(i-start)<<56) * m1)
		b.Add(h)
		if lastEnd == start-1 && start > 0 && isJoin[s[start-1]] {
			b.Add(pairHash(prev, h))
		}
		prev = h
		lastEnd = i
	}
}

// Used reports whether part i has any bit set; an unused part need not be
// stored (a token of that part is then in no record of the block).
func (b *Bloom) Used(i int) bool { return b.used[i] }

// Part returns part i as bytes, most significant bit first: the layout of
// DuckDB's BIT type when the bytes are cast from a BLOB.
func (b *Bloom) Part(i int) []byte {
	out := make([]byte, PartBits/8)
	for j, w := range b.words[i] {
		binary.BigEndian.PutUint64(out[j*8:], w)
	}
	return out
}

// Has reports whether the filter may hold the token with hash h.
func (b *Bloom) Has(h uint64) bool {
	p := ProbeOf(h)
	for _, bit := range p.Bits {
		if b.words[p.Part][bit/64]&(1<<(63-bit%64)) == 0 {
			return false
		}
	}
	return true
}

// A Term is a free-text search term compiled for the index: the regular
// expression that decides a match and the tokens every match holds.
type Term struct {
	// Regexp is an unanchored RE2 pattern (to be matched without regard to
	// case): the term's literal text, its wildcards as .* and ., and a word
	// boundary (start or end of text, or a character other than an ASCII
	// letter or digit) at each end that is a word character.
	Regexp string
	// Prefilter, when not empty, is Regexp without its leading word
	// boundary: a pattern that starts with literal text, which RE2 finds
	// about three times faster than Regexp (measured in DuckDB,
	// docs/performance.md). Every text Regexp matches, it matches: testing
	// it first saves time on the records without the term.
	Prefilter string
	// Tokens are the hashes of the tokens a record matching Regexp holds,
	// pairs of chained words first (none when the term has no closed
	// word: then the index cannot help).
	Tokens []uint64
}

// item is a character of a term, or a wildcard.
type item struct {
	c    byte
	wild byte // '%' (any text) or '_' (any character); 0 for a literal
}

// LikeTerm compiles a term given as a LIKE pattern (escape \, % and _ as
// wildcards), as the search language gives it.
func LikeTerm(like string) Term {
	var its []item
	for i := 0; i < len(like); i++ {
		switch c := like[i]; c {
		case '\\':
			if i+1 < len(like) {
				i++
				its = append(its, item{c: like[i]})
			}
		case '%', '_':
			its = append(its, item{wild: c})
		default:
			its = append(its, item{c: c})
		}
	}
	var re strings.Builder
	word := func(k int) bool { return k >= 0 && k < len(its) && its[k].wild == 0 && isWord[its[k].c] }
	for _, it := range its {
		switch it.wild {
		case '%':
			re.WriteString(".*")
		case '_':
			re.WriteString(".")
		default:
			re.WriteString(regexp.QuoteMeta(string([]byte{it.c})))
		}
	}
	if word(len(its) - 1) {
		re.WriteString(`(?:[^0-9A-Za-z]|$)`)
	}
	if word(0) {
		return Term{Regexp: `(?:^|[^0-9A-Za-z])` + re.String(), Prefilter: re.String(), Tokens: termTokens(its)}
	}
	return Term{Regexp: re.String(), Tokens: termTokens(its)}
}

// termTokens returns the tokens of the closed words of a term: runs of
// literal word characters whose neighbours in the term are literal
// non-word characters or the term's ends (which are word boundaries).
func termTokens(its []item) []uint64 {
	var out, pairs []uint64
	var chain []uint64 // closed words joined by single joining characters
	flush := func() {
		for i := 1; i < len(chain); i++ {
			pairs = append(pairs, pairHash(chain[i-1], chain[i]))
		}
		chain = chain[:0]
	}
	for i := 0; i < len(its); {
		if its[i].wild != 0 || !isWord[its[i].c] {
			// A joining character between two closed words continues
			// the chain.
			if !(its[i].wild == 0 && isJoin[its[i].c] && len(chain) > 0 && i+1 < len(its) && its[i+1].wild == 0 && isWord[its[i+1].c]) {
				flush()
			}
			i++
			continue
		}
		start := i
		var w []byte
		for ; i < len(its) && its[i].wild == 0 && isWord[its[i].c]; i++ {
			w = append(w, its[i].c)
		}
		closed := (start == 0 || its[start-1].wild == 0) && (i == len(its) || its[i].wild == 0)
		if !closed {
			flush()
			continue
		}
		h := wordHash(string(w))
		out = append(out, h)
		chain = append(chain, h)
	}
	flush()
	// Pairs first: they are rarer than their words.
	return append(pairs, out...)
}
