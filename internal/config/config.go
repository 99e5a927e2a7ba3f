// Package config reads trawl.yaml, the file that configures everything
// `trawl run` does: the store, AWS credentials, the sources to collect
// from, ingest limits, retention, logging and metrics. docs/config.md
// documents every key.
//
// Parse is strict: an unknown key, a value of the wrong type or a bad
// value (a duration, size, date, account id, region, URL…) is reported
// with its file, line, column and key path, all problems at once.
// Values (never keys) may use ${VAR} and ${VAR:-default}; $$ is a literal
// $. Relative paths are resolved against the config file's directory.
package config

import (
	_ "embed" // the annotated example
	"fmt"
	"os"
	"time"
)

// Example is the annotated example configuration (trawl.example.yaml),
// printed by `trawl config example`. It parses without error.
//
//go:embed trawl.example.yaml
var Example string

// DefaultFile is the configuration file read when none is named.
const DefaultFile = "trawl.yaml"

// Config is a parsed, validated and normalised trawl.yaml. Later sections
// (rules, notifiers, server) are further top-level keys.
type Config struct {
	// File is the path the configuration was read from.
	File string `yaml:"-"`

	Store     Store                    `yaml:"store"`
	AWS       AWS                      `yaml:"aws"`
	Sources   []Source                 `yaml:"sources"`
	Ingest    Ingest                   `yaml:"ingest"`
	Retention map[string]time.Duration `yaml:"retention"`
	Log       Log                      `yaml:"log"`
	Metrics   Metrics                  `yaml:"metrics"`
	Enrich    Enrich                   `yaml:"enrich"`
	Rules     Rules                    `yaml:"rules"`
	Alerts    Alerts                   `yaml:"alerts"`
	Serve     Serve                    `yaml:"serve"`
	Sinks     []Sink                   `yaml:"sinks,omitempty"`
}

// Serve configures the web UI and HTTP API of trawl serve and trawl run
// --serve (docs/serve.md).
type Serve struct {
	// Listen is host:port (default 127.0.0.1:8080). A non-loopback
	// address requires Token or TokenFile.
	Listen string `yaml:"listen"`
	// Token is the token browsers and API clients must present; redacted
	// when printed.
	Token string `yaml:"token,omitempty" cfg:"secret"`
	// TokenFile is a file holding the token (its first line), instead of
	// Token.
	TokenFile string `yaml:"token_file,omitempty" cfg:"path"`
}

// Enrich configures the enrichment stage (docs/enrich.md): GeoIP data for
// addresses and the classification of user agents.
type Enrich struct {
	// GeoIP names MaxMind-format databases; without any, geo enrichment
	// is off.
	GeoIP GeoIP `yaml:"geoip"`
	// UserAgent classifies CloudTrail user agents (default true).
	UserAgent bool `yaml:"user_agent"`
}

// GeoIP names the GeoIP databases: files, or a directory holding them by
// their usual names (GeoLite2-City.mmdb, GeoLite2-Country.mmdb,
// GeoLite2-ASN.mmdb). A file named here wins over the directory's.
type GeoIP struct {
	Dir     string `yaml:"dir,omitempty" cfg:"path"`
	City    string `yaml:"city,omitempty" cfg:"path"`
	Country string `yaml:"country,omitempty" cfg:"path"`
	ASN     string `yaml:"asn,omitempty" cfg:"path"`
}

// Rules configures the rule engine (docs/rules.md): the built-in pack is
// on unless Enabled is false; Dirs add the user's rule files.
type Rules struct {
	// Enabled turns streaming and scheduled rules on (default true).
	Enabled bool `yaml:"enabled"`
	// Dirs are directories of the user's rule files (.yml), read
	// recursively.
	Dirs []string `yaml:"dirs,omitempty" cfg:"path"`
	// Disable lists rule ids or globs (aws-vpcflow-*) to turn off.
	Disable []string `yaml:"disable,omitempty"`
	// Override changes rules by id.
	Override map[string]RuleOverride `yaml:"override,omitempty"`
	// Watch is the watch list: every action of a principal, user or
	// filter pattern raises an alert.
	Watch []Watch `yaml:"watch,omitempty"`
	// Schedule configures scheduled rules in trawl run.
	Schedule RuleSchedule `yaml:"schedule"`
}

// RuleOverride changes one rule.
type RuleOverride struct {
	Level    string         `yaml:"level,omitempty"`
	Suppress *time.Duration `yaml:"suppress,omitempty"`
	Enabled  *bool          `yaml:"enabled,omitempty"`
	// Params sets a scheduled rule's parameters (allowed_regions…).
	Params map[string][]string `yaml:"params,omitempty"`
}

// Watch is one watch-list entry: exactly one of Principal, UserName and
// Filter selects the CloudTrail events it alerts on.
type Watch struct {
	Name      string `yaml:"name"`
	Principal string `yaml:"principal,omitempty"`
	UserName  string `yaml:"user_name,omitempty"`
	// Filter is a CloudWatch Logs filter pattern matched on the record.
	Filter string `yaml:"filter,omitempty" cfg:"literal"`
	// Severity is info, low, medium, high or critical (default medium).
	Severity string `yaml:"severity,omitempty"`
	// Suppress is the suppression window (default 0: every event alerts).
	Suppress time.Duration `yaml:"suppress,omitempty"`
}

// RuleSchedule configures the scheduler of scheduled rules.
type RuleSchedule struct {
	// Enabled runs scheduled rules in trawl run (default true).
	Enabled bool `yaml:"enabled"`
	// Settle is how long after an event's time trawl waits before a
	// window holding it is evaluated, for late delivery (default 20m).
	Settle time.Duration `yaml:"settle,omitempty"`
}

// Store configures the store: a DuckDB file or a ClickHouse database.
type Store struct {
	// Path is the DuckDB database file, absolute after Parse (a relative
	// path is resolved against the config file's directory), or a
	// ClickHouse database clickhouse://[USER[:PASSWORD]@]HOST[:PORT]/DB
	// (taken as it is). Empty when the store section is left out and a
	// lake sink holds the ingest ledger instead.
	Path string `yaml:"path" cfg:"path"`
	// MemoryLimit is the memory DuckDB may use, in bytes; 0 keeps trawl's
	// default for the mode (384MB while ingesting). ClickHouse ignores it.
	MemoryLimit int64 `yaml:"memory_limit,omitempty" cfg:"size"`
}

// AWS holds how trawl reaches AWS. The top-level block applies to every
// source; a source's own aws block overrides it key by key.
type AWS struct {
	// Region is the AWS region of API calls (us-east-1).
	Region string `yaml:"region,omitempty"`
	// Profile is a named profile of the shared config and credentials files.
	Profile string `yaml:"profile,omitempty"`
	// RoleARN is a role to assume with the base credentials.
	RoleARN string `yaml:"role_arn,omitempty"`
	// ExternalID is passed when assuming RoleARN. It is redacted when
	// printed.
	ExternalID string `yaml:"external_id,omitempty" cfg:"secret"`
	// SessionName names the assumed-role session; empty for
	// DefaultSessionName.
	SessionName string `yaml:"session_name,omitempty"`
	// Endpoint is the base URL of an S3-compatible store or of LocalStack
	// (http://localhost:9000); empty for AWS itself.
	Endpoint string `yaml:"endpoint,omitempty"`
	// MaxAttempts is how often the SDK tries a call; 0 keeps the SDK's
	// default.
	MaxAttempts int `yaml:"max_attempts,omitempty"`
}

// Source is one place to collect from: exactly one of S3, SQS,
// CloudWatchLogs and CloudTrailLookup is set.
type Source struct {
	// Name identifies the source in the ledger, logs and metrics; unique.
	Name string `yaml:"name"`
	// Enabled is false to keep a source in the file without running it.
	Enabled bool `yaml:"enabled"`
	// AWS holds the source's effective AWS settings after Parse: the
	// top-level aws block with the source's own aws block merged over it.
	AWS *AWS `yaml:"aws,omitempty"`

	S3               *S3               `yaml:"s3,omitempty"`
	SQS              *SQS              `yaml:"sqs,omitempty"`
	CloudWatchLogs   *CloudWatchLogs   `yaml:"cloudwatch_logs,omitempty"`
	CloudTrailLookup *CloudTrailLookup `yaml:"cloudtrail_lookup,omitempty"`
}

// Kind returns the key of the source's kind: "s3", "sqs",
// "cloudwatch_logs" or "cloudtrail_lookup".
func (s *Source) Kind() string {
	switch {
	case s.S3 != nil:
		return "s3"
	case s.SQS != nil:
		return "sqs"
	case s.CloudWatchLogs != nil:
		return "cloudwatch_logs"
	case s.CloudTrailLookup != nil:
		return "cloudtrail_lookup"
	}
	return ""
}

// S3 lists a bucket in AWS's delivery layouts
// (AWSLogs/ACCOUNT/SERVICE/REGION/…) and polls it for new objects.
type S3 struct {
	// Bucket is the bucket name (not an s3:// URL).
	Bucket string `yaml:"bucket"`
	// Prefix is the key prefix before AWSLogs/, without a leading slash.
	Prefix string `yaml:"prefix,omitempty"`
	// Since and Until bound the delivery dates listed; zero for no bound.
	Since Moment `yaml:"since,omitempty"`
	Until Moment `yaml:"until,omitempty"`
	// Accounts and Regions restrict the listing; empty for all.
	Accounts []string `yaml:"accounts,omitempty"`
	Regions  []string `yaml:"regions,omitempty"`
	// Kinds restricts what is read: cloudtrail, cloudtrail-digest,
	// vpcflow, guardduty; empty for all.
	Kinds []string `yaml:"kinds,omitempty"`
	// Interval is the time between listings (default 5m).
	Interval time.Duration `yaml:"interval"`
	// Verify runs CloudTrail digest verification continuously.
	Verify bool `yaml:"verify"`
}

// SQS receives S3 event notifications (directly or through SNS or
// EventBridge) from a queue and reads the objects they name.
type SQS struct {
	// QueueURL is the queue's URL.
	QueueURL string `yaml:"queue_url"`
	// Wait is the long-poll wait of a receive, 0–20s (default 20s).
	Wait time.Duration `yaml:"wait"`
	// Visibility is the visibility timeout of received messages; 0 keeps
	// the queue's own.
	Visibility time.Duration `yaml:"visibility,omitempty"`
	// MaxMessages is the number of messages per receive, 1–10 (default 10).
	MaxMessages int `yaml:"max_messages"`
}

// CloudWatchLogs reads log groups with FilterLogEvents.
type CloudWatchLogs struct {
	// LogGroups are the groups' names; at least one.
	LogGroups []string `yaml:"log_groups"`
	// FilterPattern is a CloudWatch Logs filter pattern; empty for all
	// events.
	FilterPattern string `yaml:"filter_pattern,omitempty"`
	// LogFormat is the flow-log format of flow-log groups ("${version}
	// ${account-id} …"); it is taken literally, without ${VAR} expansion.
	LogFormat string `yaml:"log_format,omitempty" cfg:"literal"`
	// Kind is what the groups hold: cloudtrail, vpcflow or guardduty;
	// empty to recognise each event by its content.
	Kind string `yaml:"kind,omitempty"`
	// Start is where reading begins the first time; zero for the oldest
	// event kept.
	Start Moment `yaml:"start,omitempty"`
	// Settle is how far behind now reading stays, so that late events
	// are not missed (default 15m).
	Settle time.Duration `yaml:"settle"`
}

// CloudTrailLookup reads management events with CloudTrail's
// LookupEvents API (the last 90 days, no trail needed).
type CloudTrailLookup struct {
	// Regions to look up; empty for the source's aws region.
	Regions []string `yaml:"regions,omitempty"`
	// Start is where reading begins the first time; zero for 90 days ago.
	Start Moment `yaml:"start,omitempty"`
}

// Ingest tunes decoding.
type Ingest struct {
	// Workers is the number of decoding goroutines; 0 for one per CPU.
	Workers int `yaml:"workers"`
	// MaxRecordSize is the largest record accepted, in bytes; larger
	// ones are quarantined (default 32MiB).
	MaxRecordSize int64 `yaml:"max_record_size" cfg:"size"`
}

// Log configures trawl's own log.
type Log struct {
	// Format is text or json (default text).
	Format string `yaml:"format"`
	// Level is debug, info, warn or error (default info).
	Level string `yaml:"level"`
}

// Metrics configures the Prometheus endpoint.
type Metrics struct {
	// Listen is host:port (default 127.0.0.1:9464). A non-loopback
	// address requires Token.
	Listen string `yaml:"listen"`
	// Token is the bearer token scrapers must send; redacted when printed.
	Token string `yaml:"token,omitempty" cfg:"secret"`
}

// Tables are the tables retention may name: those `trawl prune` can
// prune (the store's duckdb.Prunable; a test keeps the two equal). The
// ingest ledger is never pruned, so that pruned objects are not ingested
// again.
var Tables = []string{
	"cloudtrail", "cloudtrail_digest", "guardduty_finding",
	"guardduty_finding_history", "ingest_warning", "quarantine", "vpcflow",
}

// Kinds of S3 objects an s3 source may be restricted to.
var S3Kinds = []string{"cloudtrail", "cloudtrail-digest", "vpcflow", "guardduty"}

// Default values of keys that have one.
const (
	DefaultStorePath     = "trawl.duckdb"
	DefaultInterval      = 5 * time.Minute
	DefaultSQSWait       = 20 * time.Second
	DefaultMaxMessages   = 10
	DefaultSettle        = 15 * time.Minute
	DefaultMaxRecordSize = 32 << 20
	DefaultMetricsListen = "127.0.0.1:9464"
	DefaultServeListen   = "127.0.0.1:8080"
	// DefaultSessionName is the assumed-role session name when
	// aws.session_name is empty.
	DefaultSessionName = "trawl"
)

func (c *Config) defaults() {
	c.Store.Path = DefaultStorePath
	c.Ingest.MaxRecordSize = DefaultMaxRecordSize
	c.Log = Log{Format: "text", Level: "info"}
	c.Metrics.Listen = DefaultMetricsListen
	c.Serve.Listen = DefaultServeListen
	c.Enrich.UserAgent = true
	c.Rules.Enabled, c.Rules.Schedule.Enabled = true, true
	c.Alerts.defaults()
}

func (s *Source) defaults()         { s.Enabled = true }
func (s *S3) defaults()             { s.Interval = DefaultInterval }
func (s *SQS) defaults()            { s.Wait, s.MaxMessages = DefaultSQSWait, DefaultMaxMessages }
func (s *CloudWatchLogs) defaults() { s.Settle = DefaultSettle }

// Load reads and parses the configuration file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading configuration: %w", err)
	}
	return Parse(path, data)
}
