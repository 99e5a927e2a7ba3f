package app

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/trawl-project/trawl/internal/awsconf"
	"github.com/trawl-project/trawl/internal/config"
	"github.com/trawl-project/trawl/internal/pipeline"
	"github.com/trawl-project/trawl/internal/source/cwlogs"
	"github.com/trawl-project/trawl/internal/source/lookup"
)

// How often a followed source reads again.
const (
	CloudWatchLogsPoll = time.Minute
	LookupPoll         = 5 * time.Minute
)

func init() {
	SourceBuilders["cloudwatch_logs"] = buildCloudWatchLogs
	SourceBuilders["cloudtrail_lookup"] = buildLookup
}

// streamAWSConfig is the SDK configuration of a source: the source's aws
// settings, region overridden when region is set.
func streamAWSConfig(ctx context.Context, a *config.AWS, region string) (aws.Config, error) {
	if a == nil {
		a = &config.AWS{}
	}
	opt := awsconf.Options(*a)
	if region != "" {
		opt.Region = region
	}
	return awsconf.Load(ctx, opt)
}

func buildCloudWatchLogs(ctx context.Context, s config.Source, env SourceEnv) (pipeline.Source, error) {
	st, once := env.Store, env.Once
	c := s.CloudWatchLogs
	acfg, err := streamAWSConfig(ctx, s.AWS, "")
	if err != nil {
		return nil, err
	}
	var groups []cwlogs.Group
	for _, g := range c.LogGroups {
		groups = append(groups, cwlogs.Group{Name: g, FilterPattern: c.FilterPattern, LogFormat: c.LogFormat})
	}
	cfg := cwlogs.Config{Groups: groups, Start: c.Start.Resolve(time.Now()), Settle: c.Settle}
	if c.Settle == 0 {
		cfg.Settle = -1 // the configuration's 0 means no settling
	}
	if !once {
		cfg.Follow = CloudWatchLogsPoll
	}
	return cwlogs.New(cloudwatchlogs.NewFromConfig(acfg), st, cfg)
}

func buildLookup(ctx context.Context, s config.Source, env SourceEnv) (pipeline.Source, error) {
	st, once := env.Store, env.Once
	c := s.CloudTrailLookup
	regions := c.Regions
	if len(regions) == 0 {
		if s.AWS == nil || s.AWS.Region == "" {
			acfg, err := streamAWSConfig(ctx, s.AWS, "")
			if err != nil {
				return nil, err
			}
			if acfg.Region == "" {
				return nil, fmt.Errorf("cloudtrail_lookup: no region (set regions or aws.region)")
			}
			regions = []string{acfg.Region}
		} else {
			regions = []string{s.AWS.Region}
		}
	}
	var srcs []pipeline.Source
	for _, r := range regions {
		acfg, err := streamAWSConfig(ctx, s.AWS, r)
		if err != nil {
			return nil, err
		}
		cfg := lookup.Config{Account: s.Name, Region: r, Start: c.Start.Resolve(time.Now())}
		if !once {
			cfg.Follow = LookupPoll
		}
		src, err := lookup.New(cloudtrail.NewFromConfig(acfg), st, cfg)
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, src)
	}
	if len(srcs) == 1 {
		return srcs[0], nil
	}
	return pipeline.Merge(srcs...), nil
}
