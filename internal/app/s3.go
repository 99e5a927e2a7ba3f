package app

import (
	"context"
	"fmt"
	"time"

	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/trawl-project/trawl/internal/awsconf"
	"github.com/trawl-project/trawl/internal/config"
	"github.com/trawl-project/trawl/internal/pipeline"
	s3src "github.com/trawl-project/trawl/internal/source/s3"
	"github.com/trawl-project/trawl/internal/source/s3/layout"
	sqssrc "github.com/trawl-project/trawl/internal/source/sqs"
	"github.com/trawl-project/trawl/internal/verify"
)

func init() {
	SourceBuilders["s3"] = buildS3
	SourceBuilders["sqs"] = buildSQS
}

// VerifyEvery is how often an s3 source with verify: true checks the
// last day of its CloudTrail against the digests.
var VerifyEvery = time.Hour

// s3API is the S3 client of a source's aws settings (path-style
// addressing when an endpoint is set).
func s3API(ctx context.Context, a *config.AWS) (*awss3.Client, error) {
	cfg, err := streamAWSConfig(ctx, a, "")
	if err != nil {
		return nil, err
	}
	return awsconf.NewS3(cfg, awsconf.S3Options(awsconf.EndpointOverridden(cfg))), nil
}

// s3Client is the S3 object client of a source's aws settings.
func s3Client(ctx context.Context, a *config.AWS) (*s3src.Client, error) {
	api, err := s3API(ctx, a)
	if err != nil {
		return nil, err
	}
	return s3src.New(api, s3src.Options{}), nil
}

// buildS3 lists a bucket in AWS's delivery layouts, within the source's
// window and filters, again every interval unless once.
func buildS3(ctx context.Context, s config.Source, env SourceEnv) (pipeline.Source, error) {
	once := env.Once
	c := s.S3
	client, err := s3Client(ctx, s.AWS)
	if err != nil {
		return nil, err
	}
	list := func(context.Context) (pipeline.Source, error) {
		now := time.Now()
		f := layout.Filter{Accounts: c.Accounts, Regions: c.Regions, Kinds: c.Kinds}
		if !c.Since.IsZero() {
			f.Since = c.Since.Resolve(now)
		}
		if !c.Until.IsZero() {
			f.Until = c.Until.Resolve(now)
		}
		return client.Layout(c.Bucket, c.Prefix, f), nil
	}
	if c.Verify && !once {
		go verifyContinuously(ctx, s, env)
	}
	if once {
		return list(ctx)
	}
	return pipeline.Repeat(c.Interval, list), nil
}

// verifyContinuously checks, every VerifyEvery, the last day of the
// source's CloudTrail against its digests and logs every problem.
func verifyContinuously(ctx context.Context, s config.Source, env SourceEnv) {
	log := env.Log
	api, err := s3API(ctx, s.AWS)
	if err != nil {
		log.Error("verify", "error", err)
		return
	}
	t := time.NewTicker(VerifyEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		now := time.Now()
		rep, err := verify.Run(ctx, verify.NewS3(api, s.S3.Bucket), verify.Options{
			Prefix: s.S3.Prefix, Since: now.Add(-24 * time.Hour), Until: now,
			Accounts: s.S3.Accounts, Regions: s.S3.Regions,
			Ledger:     env.Store,
			LedgerName: func(key string) string { return s3src.URL(s.S3.Bucket, key) },
		})
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.Error("verify", "error", err)
			continue
		}
		counts := map[string]int{}
		for _, p := range rep.Problems {
			counts[string(p.Kind)]++
			log.Warn("verify", "problem", string(p.Kind), "object", p.Object, "digest", p.Digest, "detail", p.Detail)
		}
		if env.Metrics != nil {
			env.Metrics.VerifyProblems(s.Name, counts)
		}
		log.Info("verified", "digests", rep.Digests, "log_files", rep.LogFiles, "problems", len(rep.Problems))
	}
}

// buildSQS receives S3 event notifications from a queue and reads the
// objects they name.
func buildSQS(ctx context.Context, s config.Source, env SourceEnv) (pipeline.Source, error) {
	log, once := env.Log, env.Once
	c := s.SQS
	cfg, err := streamAWSConfig(ctx, s.AWS, "")
	if err != nil {
		return nil, err
	}
	objects, err := s3Client(ctx, s.AWS)
	if err != nil {
		return nil, err
	}
	wait := c.Wait
	if wait == 0 {
		wait = -1 // short polling: in the configuration 0s means no wait
	}
	if c.QueueURL == "" {
		return nil, fmt.Errorf("no queue_url")
	}
	return sqssrc.New(awssqs.NewFromConfig(cfg), c.QueueURL, objects.Object, sqssrc.Options{
		Logger: log, WaitTime: wait, MaxMessages: c.MaxMessages, VisibilityTimeout: c.Visibility,
		StopWhenEmpty: once,
	}), nil
}
