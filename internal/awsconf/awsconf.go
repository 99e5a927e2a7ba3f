// Package awsconf builds the AWS SDK configuration trawl's AWS sources use:
// the SDK's standard credential chain (environment, shared config and
// credentials files with profiles and SSO, web identity, container and
// EC2 instance roles), an optional role to assume, and endpoint overrides
// for S3-compatible servers (MinIO, gofakes3, LocalStack).
package awsconf

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/logging"
)

// Options select the account, role and endpoint. Every field is optional:
// empty fields fall back to the SDK's standard sources (AWS_REGION,
// AWS_PROFILE, ~/.aws/config, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL…).
type Options struct {
	Region  string // overrides AWS_REGION and the profile's region
	Profile string // a profile of ~/.aws/config (overrides AWS_PROFILE)
	// RoleARN, if set, is assumed (sts:AssumeRole) with the credentials of
	// the chain, with ExternalID and SessionName (default "trawl").
	RoleARN     string
	ExternalID  string
	SessionName string
	// Endpoint overrides the endpoint of every service (an S3-compatible
	// server: http://127.0.0.1:9000). Without it the SDK reads
	// AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL and the profile's
	// endpoint_url itself.
	Endpoint string
	// MaxAttempts is how often the SDK tries one request (default 5).
	// Client-side retry throttling is off: the sources back off themselves.
	MaxAttempts int
}

// DefaultMaxAttempts is the SDK's attempts per request unless set.
const DefaultMaxAttempts = 5

// defaultRegionForEndpoint is the region used with an endpoint override
// when none is configured: S3-compatible servers ignore it, but the SDK
// signs requests with one.
const defaultRegionForEndpoint = "us-east-1"

// ErrNoRegion is returned (wrapped) when no region is configured.
var ErrNoRegion = errors.New("no AWS region configured: pass --region, set AWS_REGION, or set region in the profile (~/.aws/config)")

// Load resolves the configuration. Credentials are resolved lazily, when
// the first request is signed: a missing or expired credential shows as
// the first request's error.
func Load(ctx context.Context, opt Options) (aws.Config, error) {
	attempts := opt.MaxAttempts
	if attempts <= 0 {
		attempts = DefaultMaxAttempts
	}
	loads := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = attempts
				o.RateLimiter = ratelimit.None
			})
		}),
	}
	if opt.Region != "" {
		loads = append(loads, config.WithRegion(opt.Region))
	}
	if opt.Profile != "" {
		loads = append(loads, config.WithSharedConfigProfile(opt.Profile))
	}
	if opt.Endpoint != "" {
		loads = append(loads, config.WithBaseEndpoint(opt.Endpoint))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loads...)
	if err != nil {
		if opt.Profile != "" {
			return aws.Config{}, fmt.Errorf("loading AWS configuration (profile %q): %w", opt.Profile, err)
		}
		return aws.Config{}, fmt.Errorf("loading AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		if !EndpointOverridden(cfg) {
			return aws.Config{}, ErrNoRegion
		}
		cfg.Region = defaultRegionForEndpoint
	}
	if opt.RoleARN != "" {
		name := opt.SessionName
		if name == "" {
			name = "trawl"
		}
		stsClient := sts.NewFromConfig(cfg)
		cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(stsClient, opt.RoleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = name
			if opt.ExternalID != "" {
				o.ExternalID = aws.String(opt.ExternalID)
			}
		}))
	}
	return cfg, nil
}

// EndpointOverridden reports whether S3 requests go to an endpoint other
// than AWS's own: Options.Endpoint, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL
// or a profile's endpoint_url (unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS
// is true).
func EndpointOverridden(cfg aws.Config) bool {
	if cfg.BaseEndpoint != nil && *cfg.BaseEndpoint != "" {
		return true
	}
	if strings.EqualFold(os.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true") {
		return false
	}
	return os.Getenv("AWS_ENDPOINT_URL_S3") != ""
}

// S3Options returns the S3 client options trawl uses: path-style
// addressing (bucket in the path, not the host name) whenever the
// endpoint is overridden, since S3-compatible servers rarely serve
// virtual-hosted buckets; checksums validated only when required (S3
// objects written by AWS services carry none the SDK could check on a
// ranged GET).
func S3Options(endpointOverridden bool) func(*s3.Options) {
	return func(o *s3.Options) {
		if endpointOverridden {
			o.UsePathStyle = true
		}
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	}
}

// NewS3 returns an S3 client for cfg with S3Options, then opt. The SDK's
// log is off: its only messages are warnings about connections trawl
// closes on purpose (a stalled or cut-off read it resumes); errors reach
// trawl's own reports.
func NewS3(cfg aws.Config, opt ...func(*s3.Options)) *s3.Client {
	cfg.Logger = logging.Nop{}
	return s3.NewFromConfig(cfg, append([]func(*s3.Options){S3Options(EndpointOverridden(cfg))}, opt...)...)
}
