package awsconf

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func isolate(t *testing.T) {
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

func TestLoad(t *testing.T) {
	ctx := context.Background()
	isolate(t)
	if _, err := Load(ctx, Options{}); !errors.Is(err, ErrNoRegion) {
		t.Errorf("no region: %v", err)
	}
	if _, err := Load(ctx, Options{Profile: "nope"}); err == nil {
		t.Error("a missing profile loaded")
	}
	cfg, err := Load(ctx, Options{Region: "eu-west-1"})
	if err != nil || cfg.Region != "eu-west-1" || EndpointOverridden(cfg) {
		t.Errorf("region flag: %v %q overridden %v", err, cfg.Region, EndpointOverridden(cfg))
	}
	if o := NewS3(cfg).Options(); o.UsePathStyle {
		t.Error("path style without an endpoint override")
	}

	for _, c := range []struct {
		name string
		env  string
		opt  Options
	}{
		{"option", "", Options{Endpoint: "http://127.0.0.1:9000"}},
		{"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_S3", Options{}},
		{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL", Options{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			isolate(t)
			if c.env != "" {
				t.Setenv(c.env, "http://127.0.0.1:9000")
			}
			cfg, err := Load(ctx, c.opt)
			if err != nil {
				t.Fatal(err)
			}
			if !EndpointOverridden(cfg) || cfg.Region != "us-east-1" {
				t.Errorf("overridden %v, region %q", EndpointOverridden(cfg), cfg.Region)
			}
			var o s3.Options
			S3Options(true)(&o)
			if !NewS3(cfg).Options().UsePathStyle || !o.UsePathStyle {
				t.Error("no path style with an endpoint override")
			}
		})
	}
	t.Run("assume role", func(t *testing.T) {
		isolate(t)
		cfg, err := Load(ctx, Options{Region: "us-east-1", RoleARN: "arn:aws:iam::123456789012:role/r", ExternalID: "x"})
		if err != nil || cfg.Credentials == nil {
			t.Fatalf("%v %v", err, cfg.Credentials)
		}
	})
}
