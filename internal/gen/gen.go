// Package gen writes a synthetic but realistic AWS Organizations security-log
// data set to disk: CloudTrail organization-trail log files with their digest
// and Insight files, VPC Flow Logs delivered to S3 (text, with a header line),
// and GuardDuty findings exported to S3, all in the key layouts and record
// formats AWS uses. Optionally it weaves in an attack story (leaked access
// keys, a backdoor IAM user, a console login without MFA, CloudTrail
// tampering, a port scan and the GuardDuty findings they cause) and reports
// every identifier a test needs to find it again.
//
// The output is deterministic: the same Config, Seed included, gives
// byte-identical files. Nothing depends on the wall clock, map iteration
// order or the global random source; every random choice comes from PCG
// streams seeded from Config.Seed.
//
// Generation streams: each file is built record by record through a gzip
// and bufio writer, a few files at a time (one per worker; each file is
// seeded on its own, so the number of workers does not change a byte), so
// memory stays small (tens of MB) whatever the configured volume.
//
// Layout under the output directory (bucket names are not part of paths):
//
//	AWSLogs/<org-id>/<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz
//	AWSLogs/<org-id>/<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/*.json.gz
//	AWSLogs/<org-id>/<account>/CloudTrail-Insight/<region>/YYYY/MM/DD/*.json.gz
//	AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/*.log.gz
//	AWSLogs/<security-account>/GuardDuty/<region>/YYYY/MM/DD/<uuid>.jsonl.gz
//
// GuardDuty runs with the security account as delegated administrator: its
// export destination receives the findings of every member account, so all
// GuardDuty files sit under the security account while each finding carries
// the member's accountId.
package gen

import (
	"context"
	"crypto/rsa"
	"fmt"
	"os"
	"regexp"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
)

// Config describes the data set to generate. Zero fields take the defaults
// of DefaultConfig, except Attack and LargeParams, whose zero value (false)
// is kept: start from DefaultConfig to get the attack story.
type Config struct {
	// Seed selects the data set; the same Config gives the same bytes.
	Seed uint64
	// Start is the time of the first event (UTC); default
	// 2026-11-02T00:00:00Z. It is truncated to the second.
	Start time.Time
	// Duration is the span of the data; default 72h. The attack story
	// needs at least 3h.
	Duration time.Duration
	// OrgID is the AWS Organizations id used in CloudTrail paths; default
	// "o-a1b2c3d4e5".
	OrgID string
	// Accounts is the number of member accounts, management and security
	// included; default 4 (management, security, prod, dev).
	Accounts int
	// Regions are the regions with activity; default us-east-1, eu-west-1,
	// ap-southeast-2. Global-service events always go to us-east-1.
	Regions []string
	// CloudTrailEvents is the approximate number of background CloudTrail
	// events; default 20000, negative for none.
	CloudTrailEvents int
	// FlowRecords is the approximate number of flow-log records; default
	// 50000, negative for none.
	FlowRecords int
	// Findings is the approximate number of background GuardDuty finding
	// versions (new findings and their updates); default 60, negative for
	// none.
	Findings int
	// Attack includes the attack story (DefaultConfig sets it).
	Attack bool
	// LargeParams gives about 5% of the background events big
	// requestParameters (5–40 KB: bucket policies, IAM policy documents,
	// RunInstances launch specifications, ECS task definitions, Glue
	// partitions), as benchmarks need.
	LargeParams bool
	// Gzip is the gzip compression level; 0 means gzip.DefaultCompression.
	Gzip int
	// DigestKey, if set, signs the CloudTrail digest files as AWS does
	// (SHA256withRSA, PKCS#1 v1.5, over the digest's string to sign);
	// the signatures, which AWS keeps in the objects' metadata
	// (x-amz-meta-signature), are in Manifest.DigestSignatures and in each
	// next digest's previousDigestSignature. Without it digests carry a
	// deterministic stand-in that verifies against no key. The
	// signatures are deterministic too (PKCS#1 v1.5 has no randomness).
	DigestKey *rsa.PrivateKey
}

// Defaults.
var (
	defaultStart   = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	defaultRegions = []string{"us-east-1", "eu-west-1", "ap-southeast-2"}
)

const (
	defaultDuration   = 72 * time.Hour
	defaultOrgID      = "o-a1b2c3d4e5"
	defaultAccounts   = 4
	defaultCTEvents   = 20000
	defaultFlows      = 50000
	defaultFindings   = 60
	minAttackDuration = 3 * time.Hour
)

// DefaultConfig returns the configuration `trawl demo` uses: four accounts,
// three regions, three days, 20k CloudTrail events, 50k flow records, 60
// GuardDuty finding versions and the attack story.
func DefaultConfig() Config {
	return Config{
		Seed:             1,
		Start:            defaultStart,
		Duration:         defaultDuration,
		OrgID:            defaultOrgID,
		Accounts:         defaultAccounts,
		Regions:          append([]string(nil), defaultRegions...),
		CloudTrailEvents: defaultCTEvents,
		FlowRecords:      defaultFlows,
		Findings:         defaultFindings,
		Attack:           true,
		Gzip:             gzip.DefaultCompression,
	}
}

var (
	regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
	orgRE    = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
)

// normalize fills in defaults and checks the configuration.
func (c Config) normalize() (Config, error) {
	if c.Start.IsZero() {
		c.Start = defaultStart
	}
	c.Start = c.Start.UTC().Truncate(time.Second)
	if c.Start.Year() < 2000 || c.Start.Year() > 9000 {
		return c, fmt.Errorf("start %s is out of range", c.Start.Format(time.RFC3339))
	}
	if c.Duration == 0 {
		c.Duration = defaultDuration
	}
	c.Duration = c.Duration.Truncate(time.Second)
	if c.Duration < 5*time.Minute {
		return c, fmt.Errorf("duration %s is shorter than 5m", c.Duration)
	}
	if c.Duration > 366*24*time.Hour {
		return c, fmt.Errorf("duration %s is longer than a year", c.Duration)
	}
	if c.Attack && c.Duration < minAttackDuration {
		return c, fmt.Errorf("duration %s is too short for the attack story (at least %s)", c.Duration, minAttackDuration)
	}
	if c.OrgID == "" {
		c.OrgID = defaultOrgID
	}
	if !orgRE.MatchString(c.OrgID) {
		return c, fmt.Errorf("organization id %q is not of the form o-xxxxxxxxxx", c.OrgID)
	}
	if c.Accounts == 0 {
		c.Accounts = defaultAccounts
	}
	if c.Accounts < 1 || c.Accounts > 500 {
		return c, fmt.Errorf("accounts %d out of range 1–500", c.Accounts)
	}
	if len(c.Regions) == 0 {
		c.Regions = append([]string(nil), defaultRegions...)
	} else {
		c.Regions = append([]string(nil), c.Regions...)
	}
	seen := map[string]bool{}
	for _, r := range c.Regions {
		if !regionRE.MatchString(r) {
			return c, fmt.Errorf("region %q is not an AWS region name", r)
		}
		if seen[r] {
			return c, fmt.Errorf("region %q is listed twice", r)
		}
		seen[r] = true
	}
	if c.CloudTrailEvents == 0 {
		c.CloudTrailEvents = defaultCTEvents
	}
	if c.FlowRecords == 0 {
		c.FlowRecords = defaultFlows
	}
	if c.Findings == 0 {
		c.Findings = defaultFindings
	}
	if c.Gzip == 0 {
		c.Gzip = gzip.DefaultCompression
	}
	if c.Gzip < gzip.HuffmanOnly || c.Gzip > gzip.BestCompression {
		return c, fmt.Errorf("gzip level %d out of range", c.Gzip)
	}
	return c, nil
}

// Manifest reports what Generate wrote.
type Manifest struct {
	// Config is the configuration used, defaults filled in.
	Config Config
	// Files is the number of files written.
	Files int
	// Bytes is the number of (compressed) bytes written.
	Bytes int64
	// RawBytes is the number of bytes before compression.
	RawBytes int64
	// CloudTrailEvents counts the records in CloudTrail log files and
	// CloudTrail-Insight files, attack and scripted events included.
	CloudTrailEvents int
	// DigestFiles counts CloudTrail digest files.
	DigestFiles int
	// DigestSignatures holds the hex signature of every digest file by
	// its key, when Config.DigestKey is set (nil otherwise): what AWS
	// stores in the object's x-amz-meta-signature.
	DigestSignatures map[string]string
	// FlowRecords counts flow-log records (header lines excluded).
	FlowRecords int
	// FindingVersions counts GuardDuty finding lines, updates included.
	FindingVersions int
	// FindingIDs counts distinct GuardDuty finding ids.
	FindingIDs int
	// Accounts lists the accounts in the organization, management first.
	Accounts []Account
	// Attack describes the attack story; nil when Config.Attack is false.
	Attack *Attack
}

// Account is one AWS account of the generated organization.
type Account struct {
	ID   string // 12 digits
	Name string // "management", "security", "prod", "dev", ...
}

// Attack holds everything a test needs to find the attack story in the
// data. IAM, STS and sign-in events of the story are recorded in us-east-1,
// as AWS records global-service events; Region is where its EC2 part (the
// port scan, DeleteFlowLogs and the EC2 finding) takes place.
type Attack struct {
	// Account is the victim account id ("prod" when it exists).
	Account string
	// Region is the region of the EC2 part of the story.
	Region string
	// AttackerIP is the public IPv4 address of the API calls and the
	// console login.
	AttackerIP string
	// CompromisedUser is the existing IAM user whose access key was used.
	CompromisedUser string
	// CompromisedKeyID is that user's access key id.
	CompromisedKeyID string
	// CreatedUser is the backdoor IAM user.
	CreatedUser string
	// AccessKeyID is the access key created for CreatedUser.
	AccessKeyID string
	// ConsoleLoginAt is the time of CreatedUser's console login.
	ConsoleLoginAt time.Time
	// StopLoggingAt is the time of the StopLogging call.
	StopLoggingAt time.Time
	// TrailARN is the organization trail's ARN (StopLogging's
	// requestParameters.name).
	TrailARN string
	// ScannerIP is the source of the port scan in the flow logs.
	ScannerIP string
	// ScanTargetIP is the private IPv4 address of the scanned instance.
	ScanTargetIP string
	// ScanTargetENI is the network interface of the scanned instance.
	ScanTargetENI string
	// ScanTargetInstance is the scanned instance's id.
	ScanTargetInstance string
	// ScanStart and ScanEnd bound the scan's flow records (start/end).
	ScanStart, ScanEnd time.Time
	// ScannedPorts is the number of distinct destination ports probed.
	ScannedPorts int
	// FindingIDs are the GuardDuty finding ids of the story.
	FindingIDs []string
	// FindingTypes maps each finding id to its type.
	FindingTypes map[string]string
	// EventIDs maps the eventName of each key CloudTrail event of the story
	// (GetCallerIdentity, ListUsers, ListAttachedUserPolicies, CreateUser,
	// AttachUserPolicy, CreateAccessKey, CreateLoginProfile, ConsoleLogin,
	// StopLogging, DeleteFlowLogs, StartLogging, ListBuckets, GetObject) to
	// its eventID; for a name that occurs more than once, the first.
	EventIDs map[string]string
}

// Generate writes the data set under dir, creating it, and returns what it
// wrote. Existing files are overwritten but not removed, so use an empty
// directory. CloudTrail, flow logs and GuardDuty are written concurrently
// (three goroutines); the output does not depend on their interleaving.
func Generate(ctx context.Context, dir string, cfg Config) (*Manifest, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, fmt.Errorf("validating config: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	w := newWorld(&cfg)
	st := newStory(w)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		stats    [3]outStats
	)
	run := func(i int, f func(context.Context) (outStats, error)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := f(ctx)
			stats[i] = s
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
					cancel()
				}
				mu.Unlock()
			}
		}()
	}
	var ctStats ctCounts
	var vpcCount, gdVersions, gdIDs int
	run(0, func(ctx context.Context) (outStats, error) {
		g, err := newCTGen(w, st, dir)
		if err != nil {
			return outStats{}, err
		}
		err = g.run(ctx)
		ctStats = g.counts
		return g.stats(), err
	})
	run(1, func(ctx context.Context) (outStats, error) {
		g, err := newVPCGen(w, st, dir)
		if err != nil {
			return outStats{}, err
		}
		err = g.run(ctx)
		vpcCount = g.records
		return g.stats(), err
	})
	run(2, func(ctx context.Context) (outStats, error) {
		g, err := newGDGen(w, st, dir)
		if err != nil {
			return outStats{}, err
		}
		err = g.run(ctx)
		gdVersions, gdIDs = g.versions, g.ids
		return g.out.stats, err
	})
	wg.Wait()
	if firstErr != nil {
		return nil, fmt.Errorf("generating data set in %s: %w", dir, firstErr)
	}
	m := &Manifest{
		Config:           cfg,
		CloudTrailEvents: ctStats.events,
		DigestFiles:      ctStats.digests,
		DigestSignatures: ctStats.sigs,
		FlowRecords:      vpcCount,
		FindingVersions:  gdVersions,
		FindingIDs:       gdIDs,
	}
	for _, s := range stats {
		m.Files += s.files
		m.Bytes += s.bytes
		m.RawBytes += s.raw
	}
	for _, a := range w.accounts {
		m.Accounts = append(m.Accounts, Account{ID: a.id, Name: a.name})
	}
	if st != nil {
		m.Attack = st.manifest()
	}
	return m, nil
}
