package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trawl-project/trawl/internal/decode/vpcflow"
)

var (
	regionRE      = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}$`)
	accountRE     = regexp.MustCompile(`^[0-9]{12}$`)
	roleARNRE     = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$`)
	sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	bucketRE      = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	sourceNameRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
)

// minMemoryLimit matches the smallest memory limit the store accepts.
const minMemoryLimit = 16 << 20

// check validates values that parsed and fills in derived ones.
func (d *decoder) check(c *Config) {
	if c.Store.MemoryLimit != 0 && c.Store.MemoryLimit < minMemoryLimit {
		d.errPath("store.memory_limit", "must be at least 16MiB")
	}
	d.checkSinks(c)
	switch {
	case !d.has("store") && !d.has("store.path") && c.Lake() != nil:
		c.Store.Path = "" // the lake holds the ledger
	case c.Store.Path == "":
		d.errPath("store.path", "must not be empty")
	case IsURL(c.Store.Path):
		d.checkStorePath(c.Store.Path)
	case !filepath.IsAbs(c.Store.Path):
		c.Store.Path = filepath.Join(d.dir, c.Store.Path) // the default
	}
	d.checkAWS(&c.AWS, "aws")

	names := map[string]string{}
	for i := range c.Sources {
		d.checkSource(c, &c.Sources[i], fmt.Sprintf("sources[%d]", i), names)
	}

	if c.Ingest.Workers < 0 {
		d.errPath("ingest.workers", "must be 0 (one per CPU) or more")
	}
	if c.Ingest.MaxRecordSize < 1 {
		d.errPath("ingest.max_record_size", "must be at least 1 byte")
	}
	for table, dur := range c.Retention {
		p := "retention." + table
		if !slices.Contains(Tables, table) {
			if s := suggest(table, Tables); s != "" {
				d.errKey(p, "not a table; did you mean %q?", s)
			} else {
				d.errKey(p, "not a table; tables are %s", strings.Join(Tables, ", "))
			}
			continue
		}
		if dur < time.Hour {
			d.errPath(p, "must be at least 1h")
		}
	}
	d.enum("log.format", c.Log.Format, "text", "json")
	d.enum("log.level", c.Log.Level, "debug", "info", "warn", "error")
	d.checkMetrics(&c.Metrics)
	d.checkServe(&c.Serve)
	d.checkAlerts(c)
	d.checkEnrich(&c.Enrich)
}

// checkEnrich checks that the GeoIP files and directory named exist (that
// they are readable databases is checked when they are opened).
func (d *decoder) checkEnrich(e *Enrich) {
	for _, f := range []struct{ key, path string }{
		{"enrich.geoip.dir", e.GeoIP.Dir}, {"enrich.geoip.city", e.GeoIP.City},
		{"enrich.geoip.country", e.GeoIP.Country}, {"enrich.geoip.asn", e.GeoIP.ASN},
	} {
		if f.path == "" {
			continue
		}
		fi, err := os.Stat(f.path)
		switch {
		case err != nil:
			d.errPath(f.key, "%v", err)
		case f.key == "enrich.geoip.dir" && !fi.IsDir():
			d.errPath(f.key, "%s is not a directory", f.path)
		case f.key != "enrich.geoip.dir" && fi.IsDir():
			d.errPath(f.key, "%s is a directory, not a .mmdb file", f.path)
		}
	}
}

func (d *decoder) enum(path, v string, allowed ...string) bool {
	if slices.Contains(allowed, v) {
		return true
	}
	if s := suggest(v, allowed); s != "" && v != "" {
		d.errPath(path, "%q is not one of %s; did you mean %q?", v, strings.Join(allowed, ", "), s)
	} else {
		d.errPath(path, "%q is not one of %s", v, strings.Join(allowed, ", "))
	}
	return false
}

func (d *decoder) checkAWS(a *AWS, path string) {
	if a.Region != "" && a.Endpoint == "" && !regionRE.MatchString(a.Region) {
		d.errPath(path+".region", "%q is not an AWS region name (such as us-east-1)", a.Region)
	}
	if a.RoleARN != "" && !roleARNRE.MatchString(a.RoleARN) {
		d.errPath(path+".role_arn", "%q is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)", a.RoleARN)
	}
	if a.ExternalID != "" && a.RoleARN == "" {
		d.errPath(path+".external_id", "needs role_arn: an external id is sent when assuming a role")
	}
	if a.SessionName != "" && !sessionNameRE.MatchString(a.SessionName) {
		d.errPath(path+".session_name", "%q is not a session name (2–64 letters, digits or +=,.@_-)", a.SessionName)
	}
	if a.Endpoint != "" {
		d.checkURL(path+".endpoint", a.Endpoint)
	}
	if a.MaxAttempts < 0 {
		d.errPath(path+".max_attempts", "must be 0 (the SDK's default) or more")
	}
}

func (d *decoder) checkURL(path, s string) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		d.errPath(path, "%q is not an http or https URL", s)
	}
}

// merge returns global with every key set in override replacing it.
func merge(global AWS, override *AWS) AWS {
	if override == nil {
		return global
	}
	m := global
	for _, p := range []struct{ dst, src *string }{
		{&m.Region, &override.Region}, {&m.Profile, &override.Profile},
		{&m.RoleARN, &override.RoleARN}, {&m.ExternalID, &override.ExternalID},
		{&m.SessionName, &override.SessionName}, {&m.Endpoint, &override.Endpoint},
	} {
		if *p.src != "" {
			*p.dst = *p.src
		}
	}
	if override.RoleARN != "" && override.ExternalID == "" {
		// A role of the source's own does not inherit the global role's
		// external id.
		m.ExternalID = ""
	}
	if override.MaxAttempts != 0 {
		m.MaxAttempts = override.MaxAttempts
	}
	return m
}

func (d *decoder) checkSource(c *Config, s *Source, path string, names map[string]string) {
	if d.bad[path] {
		return // not a mapping: reported
	}
	switch {
	case s.Name == "":
		d.errPath(path+".name", "required: every source needs a name")
	case !sourceNameRE.MatchString(s.Name):
		d.errPath(path+".name", "%q: use letters, digits, '.', '_' and '-'", s.Name)
	case names[s.Name] != "":
		d.errPath(path+".name", "duplicate source name %q (also %s)", s.Name, names[s.Name])
	default:
		names[s.Name] = path
	}
	if s.AWS != nil {
		d.checkAWS(s.AWS, path+".aws")
	}
	eff := merge(c.AWS, s.AWS)
	s.AWS = &eff

	var kinds []string
	for _, k := range []string{"s3", "sqs", "cloudwatch_logs", "cloudtrail_lookup"} {
		if d.has(path + "." + k) {
			kinds = append(kinds, k)
		}
	}
	switch len(kinds) {
	case 0:
		d.errPath(path, "needs one of s3, sqs, cloudwatch_logs or cloudtrail_lookup")
	case 1:
	default:
		d.errKey(path+"."+kinds[1], "a source has one kind, and this one already has %s; make another source", kinds[0])
		return
	}
	switch {
	case s.S3 != nil:
		d.checkS3(s.S3, path+".s3")
	case s.SQS != nil:
		d.checkSQS(s.SQS, path+".sqs")
	case s.CloudWatchLogs != nil:
		d.checkCWLogs(s.CloudWatchLogs, path+".cloudwatch_logs")
	case s.CloudTrailLookup != nil:
		l, p := s.CloudTrailLookup, path+".cloudtrail_lookup"
		d.regions(p+".regions", l.Regions)
		if l.Start.Ago > 90*24*time.Hour {
			d.errPath(p+".start", "LookupEvents keeps only the last 90 days")
		}
		if len(l.Regions) == 0 && eff.Region == "" {
			d.errPath(p+".regions", "required when no aws.region is set")
		}
	case len(kinds) == 1:
		d.errPath(path+"."+kinds[0], "must not be empty")
	}
}

func (d *decoder) regions(path string, rs []string) {
	for i, r := range rs {
		if !regionRE.MatchString(r) {
			d.errPath(fmt.Sprintf("%s[%d]", path, i), "%q is not an AWS region name (such as us-east-1)", r)
		}
	}
}

func (d *decoder) checkS3(s *S3, p string) {
	switch {
	case s.Bucket == "":
		d.errPath(p+".bucket", "required")
	case strings.HasPrefix(s.Bucket, "s3://"):
		d.errPath(p+".bucket", "%q: give the bucket's name without s3:// (and the rest as prefix)", s.Bucket)
	case !bucketRE.MatchString(s.Bucket):
		d.errPath(p+".bucket", "%q is not a bucket name (3–63 lowercase letters, digits, '.' and '-')", s.Bucket)
	}
	if strings.HasPrefix(s.Prefix, "/") {
		d.errPath(p+".prefix", "%q: S3 keys do not start with /", s.Prefix)
	}
	if !s.Since.Time.IsZero() && !s.Until.Time.IsZero() && !s.Until.Time.After(s.Since.Time) {
		d.errPath(p+".until", "must be after since")
	}
	for i, a := range s.Accounts {
		if !accountRE.MatchString(a) {
			d.errPath(fmt.Sprintf("%s.accounts[%d]", p, i), "%q is not an AWS account id (12 digits)", a)
		}
	}
	d.regions(p+".regions", s.Regions)
	for i, k := range s.Kinds {
		d.enum(fmt.Sprintf("%s.kinds[%d]", p, i), k, S3Kinds...)
	}
	if s.Verify && len(s.Kinds) > 0 && !slices.Contains(s.Kinds, "cloudtrail-digest") {
		d.errPath(p+".verify", "needs cloudtrail-digest in kinds")
	}
	if s.Interval < 10*time.Second {
		d.errPath(p+".interval", "must be at least 10s")
	}
}

func (d *decoder) checkSQS(s *SQS, p string) {
	if s.QueueURL == "" {
		d.errPath(p+".queue_url", "required")
	} else {
		d.checkURL(p+".queue_url", s.QueueURL)
	}
	if s.Wait > 20*time.Second {
		d.errPath(p+".wait", "must be at most 20s (SQS's longest long poll)")
	}
	if s.Visibility > 12*time.Hour {
		d.errPath(p+".visibility", "must be at most 12h (SQS's longest visibility timeout)")
	}
	if s.MaxMessages < 1 || s.MaxMessages > 10 {
		d.errPath(p+".max_messages", "must be 1 to 10")
	}
}

func (d *decoder) checkCWLogs(s *CloudWatchLogs, p string) {
	if len(s.LogGroups) == 0 {
		d.errPath(p+".log_groups", "required: at least one log group")
	}
	for i, g := range s.LogGroups {
		if g == "" {
			d.errPath(fmt.Sprintf("%s.log_groups[%d]", p, i), "must not be empty")
		}
	}
	if s.Kind != "" {
		d.enum(p+".kind", s.Kind, "cloudtrail", "vpcflow", "guardduty")
	}
	if s.LogFormat != "" {
		if s.Kind != "" && s.Kind != "vpcflow" {
			d.errPath(p+".log_format", "only for kind vpcflow")
		} else if f, err := vpcflow.ParseFormat(s.LogFormat); err != nil {
			d.errPath(p+".log_format", "%v", err)
		} else {
			s.LogFormat = f.String()
		}
	}
	if s.Settle < 0 {
		d.errPath(p+".settle", "must not be negative")
	}
}

func (d *decoder) checkMetrics(m *Metrics) {
	host, port, err := net.SplitHostPort(m.Listen)
	if err != nil {
		d.errPath("metrics.listen", "%q is not host:port (such as 127.0.0.1:9464)", m.Listen)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		d.errPath("metrics.listen", "%q: bad port %q", m.Listen, port)
		return
	}
	if !isLoopback(host) && m.Token == "" {
		d.errPath("metrics.listen", "%q is reachable from other hosts; set metrics.token, or listen on 127.0.0.1", m.Listen)
	}
}

func (d *decoder) checkServe(s *Serve) {
	host, port, err := net.SplitHostPort(s.Listen)
	if err != nil {
		d.errPath("serve.listen", "%q is not host:port (such as 127.0.0.1:8080)", s.Listen)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		d.errPath("serve.listen", "%q: bad port %q", s.Listen, port)
		return
	}
	if s.Token != "" && s.TokenFile != "" {
		d.errPath("serve.token_file", "set serve.token or serve.token_file, not both")
	}
	if !isLoopback(host) && s.Token == "" && s.TokenFile == "" {
		d.errPath("serve.listen", "%q is reachable from other hosts; set serve.token or serve.token_file, or listen on 127.0.0.1", s.Listen)
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
