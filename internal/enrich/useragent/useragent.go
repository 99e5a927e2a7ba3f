// Package useragent classifies the user agents of CloudTrail events: which
// client made a call (the console, the AWS CLI, an SDK and its language,
// Terraform, CloudFormation, an AWS service, a browser), its version and
// the operating system it ran on.
//
// An AWS-aware classifier reads the user agents AWS's own clients send
// (aws-cli/…, Boto3/…, aws-sdk-go-v2/…, APN/1.0 HashiCorp/1.0 Terraform/…,
// console and service names); everything else goes to uap-go, the
// maintained port of the ua-parser regexes, which recognises browsers. Both
// sit behind a bounded cache, because user agents repeat massively and
// uap-go costs a fraction of a millisecond per new string.
package useragent

import (
	"hash/maphash"
	"strings"
	"sync"

	"github.com/trawl-project/trawl/internal/event"
	"github.com/ua-parser/uap-go/uaparser"
)

// The classes, in docs/enrich.md's words.
const (
	ClassConsole        = "console"        // the AWS Management Console (and its service consoles)
	ClassCLI            = "aws-cli"        // the AWS CLI, v1 or v2
	ClassTerraform      = "terraform"      // Terraform's AWS provider
	ClassCloudFormation = "cloudformation" // calls CloudFormation makes for a stack
	ClassAWSService     = "aws-service"    // an AWS service acting (ec2.amazonaws.com, "AWS Internal")
	ClassBrowser        = "browser"        // a web browser (console sign-in, pre-signed URLs…)
	ClassUnknown        = "unknown"        // anything else
	// SDK classes are "sdk-" and the language: sdk-go, sdk-java, sdk-js,
	// sdk-python, sdk-dotnet, sdk-ruby, sdk-php, sdk-cpp, sdk-rust,
	// sdk-kotlin, sdk-swift, sdk-powershell.
)

// sdks maps the product token of an AWS SDK (the part before "/") to its
// class. Tokens are matched case-insensitively.
var sdks = map[string]string{
	"boto3":                  "sdk-python",
	"botocore":               "sdk-python",
	"aiobotocore":            "sdk-python",
	"aws-sdk-go-v2":          "sdk-go",
	"aws-sdk-go":             "sdk-go",
	"aws-sdk-java":           "sdk-java",
	"aws-sdk-java-v2":        "sdk-java",
	"aws-sdk-js":             "sdk-js",
	"aws-sdk-nodejs":         "sdk-js",
	"aws-sdk-js-v3":          "sdk-js",
	"aws-sdk-dotnet":         "sdk-dotnet",
	"aws-sdk-dotnet-coreclr": "sdk-dotnet",
	"aws-sdk-dotnet-core":    "sdk-dotnet",
	"aws-sdk-dotnet-45":      "sdk-dotnet",
	"aws-sdk-dotnet-35":      "sdk-dotnet",
	"aws-sdk-net":            "sdk-dotnet",
	"aws-sdk-ruby":           "sdk-ruby",
	"aws-sdk-ruby2":          "sdk-ruby",
	"aws-sdk-ruby3":          "sdk-ruby",
	"aws-sdk-php":            "sdk-php",
	"aws-sdk-cpp":            "sdk-cpp",
	"aws-sdk-rust":           "sdk-rust",
	"aws-sdk-kotlin":         "sdk-kotlin",
	"aws-sdk-swift":          "sdk-swift",
	"awspowershell":          "sdk-powershell",
	"awspowershell.common":   "sdk-powershell",
	"aws.tools.common":       "sdk-powershell",
}

// Classifier classifies user agents. It is safe for concurrent use.
type Classifier struct {
	seed   maphash.Seed
	shards [numShards]shard
	uap    func() (*uaparser.Parser, error)
}

const (
	numShards = 16
	shardSize = 2048 // entries per shard; a full shard is emptied
	maxLen    = 1024 // longer user agents are classified but not cached
)

type shard struct {
	mu sync.RWMutex
	m  map[string]*event.UserAgent
}

// New returns a Classifier. uap-go's regexes are compiled the first time a
// user agent needs them (about 0.1–0.25 s).
func New() *Classifier {
	c := &Classifier{seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].m = make(map[string]*event.UserAgent, 64)
	}
	c.uap = sync.OnceValues(func() (*uaparser.Parser, error) {
		return uaparser.New(uaparser.WithMode(uaparser.EOsLookUpMode | uaparser.EUserAgentLookUpMode))
	})
	return c
}

// Classify returns the classification of ua, nil for an empty one. The
// result is shared: do not change it.
func (c *Classifier) Classify(ua string) *event.UserAgent {
	if ua == "" {
		return nil
	}
	if len(ua) > maxLen {
		return c.classify(ua)
	}
	s := &c.shards[maphash.String(c.seed, ua)%numShards]
	s.mu.RLock()
	r, ok := s.m[ua]
	s.mu.RUnlock()
	if ok {
		return r
	}
	r = c.classify(ua)
	if r != nil { // the parts may be substrings of a large record's text
		r.Family, r.Version, r.OS = strings.Clone(r.Family), strings.Clone(r.Version), strings.Clone(r.OS)
	}
	s.mu.Lock()
	if len(s.m) >= shardSize {
		clear(s.m)
	}
	s.m[strings.Clone(ua)] = r // ua may be part of a large record's text
	s.mu.Unlock()
	return r
}

// classify classifies ua without the cache.
func (c *Classifier) classify(ua string) *event.UserAgent {
	if r := AWS(ua); r != nil {
		return r
	}
	return c.parse(ua)
}

// AWS classifies the user agents of AWS's own clients and services, nil
// for others.
func AWS(ua string) *event.UserAgent {
	s := strings.TrimSpace(ua)
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") { // the S3 console and some CLI calls wrap theirs
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	if s == "" {
		return nil
	}
	switch {
	case s == "AWS Internal" || strings.HasPrefix(s, "AWS Internal"):
		return &event.UserAgent{Class: ClassAWSService, Family: "AWS Internal"}
	case strings.HasPrefix(s, "AWS CloudFormation") || s == "cloudformation.amazonaws.com":
		return &event.UserAgent{Class: ClassCloudFormation, Family: "AWS CloudFormation"}
	}
	first, _, _ := strings.Cut(s, " ")
	first = strings.TrimRight(first, ",;")
	name, version, _ := strings.Cut(first, "/")
	switch {
	case first == "signin.amazonaws.com" || strings.HasPrefix(first, "console.") && isServiceHost(first) ||
		strings.Contains(name, "Console") && !strings.Contains(name, "."):
		return &event.UserAgent{Class: ClassConsole, Family: name, Version: cleanVersion(version)}
	case !strings.Contains(s, " ") && isServiceHost(s):
		return &event.UserAgent{Class: ClassAWSService, Family: s}
	}
	toks := strings.Fields(s)
	// Terraform's provider names itself before the SDK it uses.
	for _, t := range toks {
		if v, ok := strings.CutPrefix(t, "Terraform/"); ok {
			return &event.UserAgent{Class: ClassTerraform, Family: "Terraform", Version: cleanVersion(v), OS: osOf(toks, s)}
		}
	}
	for _, t := range toks {
		n, v, ok := strings.Cut(strings.TrimRight(t, ",;"), "/")
		if !ok {
			continue
		}
		if strings.EqualFold(n, "aws-cli") {
			return &event.UserAgent{Class: ClassCLI, Family: "aws-cli", Version: cleanVersion(v), OS: osOf(toks, s)}
		}
	}
	for _, t := range toks {
		n, v, ok := strings.Cut(strings.TrimRight(t, ",;"), "/")
		if !ok {
			continue
		}
		if class, ok := sdks[strings.ToLower(n)]; ok {
			return &event.UserAgent{Class: class, Family: n, Version: cleanVersion(v), OS: osOf(toks, s)}
		}
	}
	return nil
}

// isServiceHost reports whether s is an AWS service's host name, as
// CloudTrail shows services acting: ec2.amazonaws.com,
// lambda.amazonaws.com.cn, internal.amazonaws.com.
func isServiceHost(s string) bool {
	for _, suf := range []string{".amazonaws.com", ".amazonaws.com.cn", ".amazonaws-us-gov.com", ".amazon.com"} {
		if strings.HasSuffix(s, suf) && len(s) > len(suf) && !strings.ContainsAny(s, " /") {
			return true
		}
	}
	return false
}

// cleanVersion keeps the version part of a product token, dropping what
// follows in some SDKs' tokens ("1.2.3#x", "1.2.3,").
func cleanVersion(v string) string {
	if i := strings.IndexAny(v, "#,;()"); i >= 0 {
		v = v[:i]
	}
	if v == "" || !(v[0] >= '0' && v[0] <= '9') {
		return ""
	}
	return v
}

// osOf finds the operating system in an AWS client's user agent: the SDK
// "os/linux#6.1" metadata, an "OS/Linux/5.15" or "Linux/5.10" token, or the
// "(go1.22; linux; amd64)" comment of the Go SDK v1.
func osOf(toks []string, s string) string {
	for _, t := range toks {
		if v, ok := strings.CutPrefix(t, "os/"); ok {
			name, _, _ := strings.Cut(v, "#")
			return osName(name)
		}
		if v, ok := strings.CutPrefix(t, "OS/"); ok {
			name, _, _ := strings.Cut(v, "/")
			return osName(name)
		}
		name, _, ok := strings.Cut(t, "/")
		if ok {
			switch strings.ToLower(name) {
			case "linux", "darwin", "windows", "windows_nt", "macos", "freebsd":
				return osName(name)
			}
		}
	}
	if i := strings.Index(s, "(go"); i >= 0 {
		parts := strings.Split(strings.TrimSuffix(strings.SplitN(s[i+1:], ")", 2)[0], ")"), ";")
		if len(parts) >= 2 {
			return osName(strings.TrimSpace(parts[1]))
		}
	}
	return ""
}

// osName spells operating systems as uap-go does for browsers.
func osName(s string) string {
	switch l := strings.ToLower(s); {
	case l == "linux":
		return "Linux"
	case l == "darwin" || l == "macos" || l == "mac_os_x" || l == "osx":
		return "Mac OS X"
	case strings.HasPrefix(l, "windows") || strings.HasPrefix(l, "microsoft_windows") || l == "win32":
		return "Windows"
	case l == "freebsd":
		return "FreeBSD"
	case l == "android":
		return "Android"
	case l == "ios":
		return "iOS"
	case l == "other" || l == "":
		return ""
	}
	return s
}

// parse classifies a user agent that is not an AWS client's with uap-go.
func (c *Classifier) parse(ua string) *event.UserAgent {
	p, err := c.uap()
	if err != nil { // the embedded regexes did not compile: cannot happen in a released build
		return &event.UserAgent{Class: ClassUnknown}
	}
	u := p.ParseUserAgent(ua)
	o := p.ParseOs(ua)
	r := &event.UserAgent{Class: ClassUnknown}
	if u != nil && u.Family != "Other" {
		r.Family = u.Family
		r.Version = joinVersion(u.Major, u.Minor, u.Patch)
	}
	if o != nil && o.Family != "Other" {
		r.OS = o.Family
	}
	if r.Family != "" && looksLikeBrowser(ua) {
		r.Class = ClassBrowser
	}
	if r.Family == "" { // name the client by its first product token
		first, _, _ := strings.Cut(strings.TrimSpace(ua), " ")
		name, version, _ := strings.Cut(first, "/")
		r.Family, r.Version = name, cleanVersion(version)
	}
	return r
}

// looksLikeBrowser reports whether ua has the form browsers send.
func looksLikeBrowser(ua string) bool {
	return strings.HasPrefix(ua, "Mozilla/") || strings.HasPrefix(ua, "Opera/")
}

func joinVersion(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		if p == "" {
			break
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}
