package config

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/trawl-project/trawl/internal/store/clickhouse"
)

// Sink is a further destination of what trawl run collects, written
// beside the store (or instead of it, for a lake with no store section):
// exactly one of Lake and OpenSearch is set (docs/config.md, "sinks").
type Sink struct {
	// Name identifies the sink in logs; unique among sinks.
	Name string `yaml:"name"`

	Lake       *LakeSink       `yaml:"lake,omitempty"`
	OpenSearch *OpenSearchSink `yaml:"opensearch,omitempty"`
}

// Kind returns the key of the sink's kind: "lake" or "opensearch".
func (s *Sink) Kind() string {
	switch {
	case s.Lake != nil:
		return "lake"
	case s.OpenSearch != nil:
		return "opensearch"
	}
	return ""
}

// LakeSink writes Hive-partitioned Parquet (docs/lake.md) to a directory
// or to S3, with the top-level aws settings (endpoint override included).
type LakeSink struct {
	// Target is a directory (absolute after Parse) or s3://bucket/prefix.
	Target string `yaml:"target" cfg:"path"`
	// FileSize is the target size of a Parquet file; 0 for the lake's
	// default (128MiB).
	FileSize int64 `yaml:"file_size,omitempty" cfg:"size"`
}

// OpenSearchSink indexes into an OpenSearch or Elasticsearch cluster
// (docs/opensearch.md).
type OpenSearchSink struct {
	// URLs are the cluster's nodes (https://search-…:443); at least one.
	URLs []string `yaml:"urls"`
	// Username and Password are basic-auth credentials; Password is
	// redacted when printed. PasswordFile is a file holding the password
	// (its first line), instead of Password.
	Username     string `yaml:"username,omitempty"`
	Password     string `yaml:"password,omitempty" cfg:"secret"`
	PasswordFile string `yaml:"password_file,omitempty" cfg:"path"`
	// SigV4 signs requests for Amazon OpenSearch Service with the
	// top-level aws credentials instead of basic auth.
	SigV4 *SigV4 `yaml:"sigv4,omitempty"`
	// IndexPrefix is put before the daily index names (cloudtrail-…).
	IndexPrefix string `yaml:"index_prefix,omitempty"`
	// Flavor is opensearch, elasticsearch or plain (default opensearch):
	// how free-form objects are mapped (flat_object, flattened, or kept
	// unindexed for clusters with neither).
	Flavor string `yaml:"flavor,omitempty"`
	// FlushBytes is the size of a _bulk request; 0 for the sink's default.
	FlushBytes int64 `yaml:"flush_bytes,omitempty" cfg:"size"`
	// Workers is the number of concurrent _bulk requests; 0 for the
	// sink's default.
	Workers int `yaml:"workers,omitempty"`
	// Insecure skips TLS certificate verification (test clusters only).
	Insecure bool `yaml:"insecure,omitempty"`
}

// SigV4 is AWS request signing for Amazon OpenSearch Service.
type SigV4 struct {
	// Region of the domain; empty for the top-level aws region.
	Region string `yaml:"region,omitempty"`
	// Service is es (a domain) or aoss (Serverless); default es.
	Service string `yaml:"service,omitempty"`
}

func (o *OpenSearchSink) defaults() { o.Flavor = "opensearch" }
func (s *SigV4) defaults()          { s.Service = "es" }

// Lake returns the first lake sink, or nil.
func (c *Config) Lake() *LakeSink {
	for _, s := range c.Sinks {
		if s.Lake != nil {
			return s.Lake
		}
	}
	return nil
}

// HasStore reports whether the configuration names a store: store.path is
// empty only when store is left out and a lake sink holds the ledger.
func (c *Config) HasStore() bool { return c.Store.Path != "" }

// IsURL reports whether a path-valued setting is a URL (clickhouse://…,
// s3://…), which is not resolved against the config file's directory.
func IsURL(s string) bool { return strings.Contains(s, "://") }

func (d *decoder) checkSinks(c *Config) {
	names := map[string]string{}
	for i := range c.Sinks {
		s := &c.Sinks[i]
		path := fmt.Sprintf("sinks[%d]", i)
		if d.bad[path] {
			continue
		}
		switch {
		case s.Name == "":
			d.errPath(path+".name", "required: every sink needs a name")
		case !sourceNameRE.MatchString(s.Name):
			d.errPath(path+".name", "%q: use letters, digits, '.', '_' and '-'", s.Name)
		case names[s.Name] != "":
			d.errPath(path+".name", "duplicate sink name %q (also %s)", s.Name, names[s.Name])
		default:
			names[s.Name] = path
		}
		var kinds []string
		for _, k := range []string{"lake", "opensearch"} {
			if d.has(path + "." + k) {
				kinds = append(kinds, k)
			}
		}
		switch len(kinds) {
		case 0:
			d.errPath(path, "needs one of lake or opensearch")
			continue
		case 1:
		default:
			d.errKey(path+"."+kinds[1], "a sink has one kind, and this one already has %s; make another sink", kinds[0])
			continue
		}
		switch {
		case s.Lake != nil:
			d.checkLake(s.Lake, path+".lake")
		case s.OpenSearch != nil:
			d.checkOpenSearch(s.OpenSearch, path+".opensearch")
		}
	}
}

func (d *decoder) checkLake(l *LakeSink, path string) {
	switch {
	case l.Target == "":
		d.errPath(path+".target", "required: a directory or s3://bucket/prefix")
	case IsURL(l.Target):
		u, err := url.Parse(l.Target)
		if err != nil || u.Scheme != "s3" || !bucketRE.MatchString(u.Host) {
			d.errPath(path+".target", "%q is not a directory or s3://bucket/prefix", l.Target)
		}
	}
	if l.FileSize < 0 || (l.FileSize > 0 && l.FileSize < 1<<20) {
		d.errPath(path+".file_size", "must be at least 1MiB (0 for the default, 128MiB)")
	}
}

func (d *decoder) checkOpenSearch(o *OpenSearchSink, path string) {
	if len(o.URLs) == 0 {
		d.errPath(path+".urls", "required: at least one http(s) URL of the cluster")
	}
	for i, u := range o.URLs {
		d.checkURL(fmt.Sprintf("%s.urls[%d]", path, i), u)
	}
	d.enum(path+".flavor", o.Flavor, "opensearch", "elasticsearch", "plain")
	if o.Password != "" && o.PasswordFile != "" {
		d.errKey(path+".password_file", "give password or password_file, not both")
	}
	if (o.Password != "" || o.PasswordFile != "") && o.Username == "" {
		d.errPath(path+".username", "required with a password")
	}
	if o.SigV4 != nil {
		if o.Username != "" {
			d.errKey(path+".sigv4", "signs requests with AWS credentials: leave out username and password")
		}
		d.enum(path+".sigv4.service", o.SigV4.Service, "es", "aoss")
		if o.SigV4.Region != "" && !regionRE.MatchString(o.SigV4.Region) {
			d.errPath(path+".sigv4.region", "%q is not an AWS region name (such as us-east-1)", o.SigV4.Region)
		}
	}
	if o.FlushBytes < 0 {
		d.errPath(path+".flush_bytes", "must be 0 (the default) or more")
	}
	if o.Workers < 0 {
		d.errPath(path+".workers", "must be 0 (the default) or more")
	}
}

// checkStorePath checks a ClickHouse store URL
// (clickhouse://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE[?secure=true]).
func (d *decoder) checkStorePath(p string) {
	if _, err := clickhouse.ParseDSN(p); err != nil {
		d.errPath("store.path", "not a DuckDB file or a ClickHouse database: %v", err)
	}
}
