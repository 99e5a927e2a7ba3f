package lake

import (
	"fmt"
	"strings"

	"github.com/trawl-project/trawl/internal/schema"
)

// Regions are the AWS regions Athena's partition projection enumerates
// for the region key (commercial, GovCloud and China partitions), plus
// DefaultPartition so that rows without a region (flow logs in the default
// format carry none) stay reachable. A region missing here is invisible to
// Athena until it is added (DDLOptions.Regions, or ALTER TABLE … SET
// TBLPROPERTIES).
var Regions = []string{
	"af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
	"ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
	"ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-central-1", "ca-west-1",
	"cn-north-1", "cn-northwest-1", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1",
	"eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3", "il-central-1", "me-central-1", "me-south-1",
	"mx-central-1", "sa-east-1", "us-east-1", "us-east-2", "us-gov-east-1", "us-gov-west-1",
	"us-west-1", "us-west-2",
	DefaultPartition,
}

// DDLOptions tune AthenaDDLWith.
type DDLOptions struct {
	// Accounts, if set, makes the account key an enum projection of these
	// account IDs: queries need not name an account, but a new account is
	// invisible until the DDL is run again. Empty (the default) makes it an
	// injected projection: no DDL change for new accounts, but every
	// query must name the account(s) in its WHERE clause
	// (account = '…' or account IN (…)).
	Accounts []string
	// Regions replaces Regions as the region key's enum.
	Regions []string
	// FirstDay is the first day of the dt projection's range (YYYY-MM-DD;
	// default 2013-11-01, before CloudTrail's first logs); it ends at NOW.
	FirstDay string
}

// AthenaType is the Athena (Hive DDL) type of a schema type.
func AthenaType(t schema.Type) string {
	switch t {
	case schema.Timestamp:
		return "timestamp"
	case schema.Bool:
		return "boolean"
	case schema.Int32:
		return "int"
	case schema.Int64:
		return "bigint"
	case schema.Float64:
		return "double"
	}
	return "string"
}

// AthenaDDL returns the Athena (Glue catalog) statements that make the lake
// at location (s3://bucket/prefix) queryable: CREATE DATABASE when database
// is not empty, then one CREATE EXTERNAL TABLE per lake table, Parquet,
// partitioned by account, region, dt (and hour for vpcflow) as strings,
// with partition projection so that no crawler or MSCK REPAIR is needed.
// The account key is injected (see DDLOptions.Accounts).
func AthenaDDL(location, database string) []string {
	return AthenaDDLWith(location, database, DDLOptions{})
}

// AthenaDDLWith is AthenaDDL with options.
func AthenaDDLWith(location, database string, opt DDLOptions) []string {
	location = strings.TrimRight(location, "/")
	var out []string
	qual := ""
	if database != "" {
		out = append(out, fmt.Sprintf("CREATE DATABASE IF NOT EXISTS `%s`", database))
		qual = "`" + database + "`."
	}
	regions := opt.Regions
	if len(regions) == 0 {
		regions = Regions
	}
	first := opt.FirstDay
	if first == "" {
		first = "2013-11-01"
	}
	for _, t := range Tables() {
		var b strings.Builder
		fmt.Fprintf(&b, "CREATE EXTERNAL TABLE IF NOT EXISTS %s`%s` (\n", qual, t.Name)
		for i, c := range t.Columns {
			sep := ","
			if i == len(t.Columns)-1 {
				sep = ""
			}
			fmt.Fprintf(&b, "  `%s` %s%s\n", c.Name, AthenaType(c.Type), sep)
		}
		b.WriteString(")\nPARTITIONED BY (")
		tmpl := location + "/" + t.Name
		for i, p := range t.Partitions {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "`%s` string", p)
			tmpl += "/" + p + "=${" + p + "}"
		}
		fmt.Fprintf(&b, ")\nSTORED AS PARQUET\nLOCATION '%s/%s/'\nTBLPROPERTIES (\n", location, t.Name)
		props := [][2]string{
			{"parquet.compression", "ZSTD"},
			{"projection.enabled", "true"},
		}
		if len(opt.Accounts) > 0 {
			props = append(props, [2]string{"projection.account.type", "enum"},
				[2]string{"projection.account.values", strings.Join(opt.Accounts, ",")})
		} else {
			props = append(props, [2]string{"projection.account.type", "injected"})
		}
		props = append(props,
			[2]string{"projection.region.type", "enum"},
			[2]string{"projection.region.values", strings.Join(regions, ",")},
			[2]string{"projection.dt.type", "date"},
			[2]string{"projection.dt.format", "yyyy-MM-dd"},
			[2]string{"projection.dt.range", first + ",NOW"},
			[2]string{"projection.dt.interval", "1"},
			[2]string{"projection.dt.interval.unit", "DAYS"},
		)
		if t.Hourly() {
			props = append(props,
				[2]string{"projection.hour.type", "integer"},
				[2]string{"projection.hour.range", "0,23"},
				[2]string{"projection.hour.digits", "2"},
			)
		}
		props = append(props, [2]string{"storage.location.template", tmpl})
		for i, p := range props {
			sep := ","
			if i == len(props)-1 {
				sep = ""
			}
			fmt.Fprintf(&b, "  '%s'='%s'%s\n", p[0], p[1], sep)
		}
		b.WriteString(")")
		out = append(out, b.String())
	}
	return out
}
