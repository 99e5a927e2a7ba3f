package textindex

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"regexp"
	"strings"
	"testing"
)

func tokens(s string) map[uint64]bool {
	m := map[uint64]bool{}
	Tokens(s, func(h uint64) { m[h] = true })
	return m
}

func TestTokensWordsAndWindows(t *testing.T) {
	got := tokens(`{"sourceIPAddress":"10.1.2.3","userAgent":"aws-cli/2.13.0 Python/3.11.4","x":"a.b.c.d.e","y":"u_v"}`)
	for _, w := range []string{"sourceipaddress", "SourceIPAddress", "10", "3", "aws", "cli", "python", "13", "u", "v"} {
		if !got[wordHash(w)] {
			t.Errorf("word %q not a token", w)
		}
	}
	pair := func(a, b string) uint64 { return pairHash(wordHash(a), wordHash(b)) }
	for _, ws := range [][2]string{{"10", "1"}, {"1", "2"}, {"2", "3"}, {"2", "13"}, {"13", "0"}, {"d", "e"}, {"a", "b"}, {"aws", "cli"}, {"u", "v"}} {
		if !got[pair(ws[0], ws[1])] {
			t.Errorf("pair %v not a token", ws)
		}
	}
	for _, ws := range [][2]string{{"a", "c"}, {"3", "useragent"}, {"cli", "2"}, {"b", "a"}} {
		if got[pair(ws[0], ws[1])] {
			t.Errorf("pair %v is a token", ws)
		}
	}
	if got[wordHash("sourceip")] || got[wordHash("10.1")] || got[wordHash("u_v")] || got[wordHash("aws-cli")] {
		t.Error("a part of a word is a token")
	}
}

// B and E are the word boundaries at the start and end of a term.
const (
	B = `(?:^|[^0-9A-Za-z])`
	E = `(?:[^0-9A-Za-z]|$)`
)

func TestLikeTerm(t *testing.T) {
	for _, tc := range []struct {
		like, re string
		tokens   int
	}{
		{`AKIAIOSFODNN7EXAMPLE`, B + `AKIAIOSFODNN7EXAMPLE` + E, 1},
		{`10.1.2.3`, B + `10\.1\.2\.3` + E, 7}, // 4 words + 3 pairs
		{`a.b.c.d.e`, B + `a\.b\.c\.d\.e` + E, 9},
		{`admin%`, B + `admin.*`, 0},
		{`%user/alice%`, `.*user/alice.*`, 0},
		{`%user/alice/%`, `.*user/alice/.*`, 1},
		{`3f2a9c1e-4b1d-4e57-9a0b-1c2d3e4f5a6b`, B + `3f2a9c1e-4b1d-4e57-9a0b-1c2d3e4f5a6b` + E, 9}, // 5 words, 4 pairs
		{`"x"`, `"x"`, 1},
		{`access denied`, B + `access denied` + E, 2},
		{`a\%b`, B + `a%b` + E, 2},
		{`user\_name`, B + `user_name` + E, 3},
		{`Create____`, B + `Create....`, 0},
	} {
		got := LikeTerm(tc.like)
		if got.Regexp != tc.re || len(got.Tokens) != tc.tokens {
			t.Errorf("LikeTerm(%q) = %q with %d tokens, want %q with %d", tc.like, got.Regexp, len(got.Tokens), tc.re, tc.tokens)
		}
	}
}

// TestTermTokensNeverLoseAMatch is the index's promise: whenever a term's
// regular expression matches a text, every token of the term is a token
// of the text.
func TestTermTokensNeverLoseAMatch(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := "aAbB09._-:/ \"%\\"
	gen := func(n int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteByte(alphabet[r.IntN(len(alphabet))])
		}
		return b.String()
	}
	matched := 0
	for i := 0; i < 200000; i++ {
		text := gen(5 + r.IntN(30))
		// Terms are pieces of the text (so that many match), sometimes
		// with a wildcard.
		a := r.IntN(len(text))
		b := a + 1 + r.IntN(min(8, len(text)-a))
		like := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(text[a:b])
		if r.IntN(4) == 0 {
			like = "%" + like
		}
		term := LikeTerm(like)
		if !regexp.MustCompile("(?i)" + term.Regexp).MatchString(text) {
			continue
		}
		matched++
		if term.Prefilter != "" && !regexp.MustCompile("(?i)"+term.Prefilter).MatchString(text) {
			t.Fatalf("term %q: %s matches %q but its prefilter %s does not", like, term.Regexp, text, term.Prefilter)
		}
		have := tokens(text)
		for _, h := range term.Tokens {
			if !have[h] {
				t.Fatalf("term %q (regexp %s) matches %q but its token %x is not in the text", like, term.Regexp, text, h)
			}
		}
	}
	if matched < 10000 {
		t.Errorf("only %d terms matched", matched)
	}
}

// TestAddTextIsTokens: AddText sets the bits of exactly the tokens Tokens
// lists.
func TestAddTextIsTokens(t *testing.T) {
	for _, s := range []string{`{"a":"10.1.2.3","b":"user_2","c":"3f2a9c1e-4b1d","d":"x..y--z"}`, "", "a", ".a.", "AKIA1234 a-b_c.d"} {
		var direct, via Bloom
		direct.AddText(s)
		Tokens(s, via.Add)
		if direct.words != via.words {
			t.Errorf("%q: AddText and Tokens differ", s)
		}
	}
}

func TestBloom(t *testing.T) {
	var b Bloom
	b.AddText(`{"eventID":"3f2a9c1e-4b1d-4e57-9a0b-1c2d3e4f5a6b","sourceIPAddress":"10.1.2.3"}`)
	for _, like := range []string{"3f2a9c1e-4b1d-4e57-9a0b-1c2d3e4f5a6b", "10.1.2.3", "eventid"} {
		for _, h := range LikeTerm(like).Tokens {
			if !b.Has(h) {
				t.Errorf("%q: a token is not in the filter", like)
			}
		}
	}
	miss := 0
	for i := 0; i < 10000; i++ {
		if !b.Has(wordHash(strings.Repeat("z", i%50+1) + string(rune('a'+i%26)) + "q")) {
			miss++
		}
	}
	if miss < 9900 {
		t.Errorf("%d of 10000 absent words found in a filter of a few words", 10000-miss)
	}
	for i := 0; i < Parts; i++ {
		p := b.Part(i)
		if len(p) != PartBits/8 {
			t.Fatalf("part %d is %d bytes", i, len(p))
		}
		// Every bit set in the words is set in the bytes, MSB first.
		for bit := 0; bit < PartBits; bit++ {
			inWord := b.words[i][bit/64]&(1<<(63-bit%64)) != 0
			inByte := p[bit/8]&(0x80>>(bit%8)) != 0
			if inWord != inByte {
				t.Fatalf("part %d bit %d: word %v, byte %v", i, bit, inWord, inByte)
			}
		}
	}
}

func BenchmarkAddText(b *testing.B) {
	raw := `{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:alice","arn":"arn:aws:sts::111122223333:assumed-role/Admin/alice","accountId":"111122223333","accessKeyId":"ASIAEXAMPLE1234567","sessionContext":{"attributes":{"creationDate":"2026-11-30T12:00:00Z","mfaAuthenticated":"false"}}},"eventTime":"2026-11-30T12:01:02Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"10.1.2.3","userAgent":"aws-cli/2.13.0 Python/3.11.4 Linux/5.10","requestParameters":{"bucketName":"prod-data","key":"reports/2026/11/30/report.csv"},"responseElements":null,"requestID":"ABCDEF1234567890","eventID":"3f2a9c1e-4b1d-4e57-9a0b-1c2d3e4f5a6b","readOnly":true,"eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"111122223333"}`
	var bl Bloom
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		bl.AddText(raw)
	}
}

func BenchmarkTokens(b *testing.B) {
	raw := strings.Repeat(`{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:alice","arn":"arn:aws:sts::111122223333:assumed-role/Admin/alice"},"sourceIPAddress":"10.1.2.3","eventID":"3f2a9c1e-4b1d-4e57-9a0b-1c2d3e4f5a6b"}`, 4)
	b.SetBytes(int64(len(raw)))
	n := 0
	for b.Loop() {
		Tokens(raw, func(uint64) { n++ })
	}
}

// BenchmarkAddRecords adds real records from $TRAWL_RAWS (JSON lines of
// {"raw": …}, e.g. COPY (SELECT raw FROM cloudtrail_base USING SAMPLE 3000
// ROWS) TO 'raws.jsonl' (FORMAT json)), as a writer does for a block.
func BenchmarkAddRecords(b *testing.B) {
	path := os.Getenv("TRAWL_RAWS")
	if path == "" {
		b.Skip("TRAWL_RAWS not set")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	var raws []string
	size := 0
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var r struct{ Raw string }
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			b.Fatal(err)
		}
		raws = append(raws, r.Raw)
		size += len(r.Raw)
	}
	var bl Bloom
	b.SetBytes(int64(size))
	for b.Loop() {
		bl.Reset()
		for _, r := range raws {
			bl.AddText(r)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(raws)), "ns/record")
}
