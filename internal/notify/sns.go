package notify

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/trawl-project/trawl/internal/awsconf"
	"github.com/trawl-project/trawl/internal/config"
)

// snsPublisher is the part of the SNS client SNS uses.
type snsPublisher interface {
	Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// SNS publishes to a topic: Subject (at most 100 characters, no line
// breaks, as SNS requires; e-mail subscribers see it) and the rendered
// text, with the message id as the attribute trawl_message_id.
type SNS struct {
	TopicARN string
	Client   snsPublisher
}

// NewSNS makes an SNS notifier with the notifier's AWS settings (the
// SDK's credential chain, an assumed role, an endpoint override). The SDK
// tries each call once: the outbox worker does the retrying.
func NewSNS(ctx context.Context, c config.SNSNotifier) (*SNS, error) {
	a := config.AWS{}
	if c.AWS != nil {
		a = *c.AWS
	}
	if a.Region == "" {
		if parts := strings.Split(c.TopicARN, ":"); len(parts) == 6 {
			a.Region = parts[3]
		}
	}
	cfg, err := awsconf.Load(ctx, awsconf.Options{Region: a.Region, Profile: a.Profile, RoleARN: a.RoleARN,
		ExternalID: a.ExternalID, SessionName: a.SessionName, Endpoint: a.Endpoint, MaxAttempts: 1})
	if err != nil {
		return nil, fmt.Errorf("loading AWS settings: %w", err)
	}
	return &SNS{TopicARN: c.TopicARN, Client: sns.NewFromConfig(cfg)}, nil
}

// Send publishes the message.
func (s *SNS) Send(ctx context.Context, m *Message) error {
	_, err := s.Client.Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(s.TopicARN),
		Subject:  aws.String(snsSubject(m.Subject)),
		Message:  aws.String(m.Text),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"trawl_message_id": {DataType: aws.String("String"), StringValue: aws.String(m.ID())},
		},
	})
	if err != nil {
		return fmt.Errorf("publishing to %s: %w", s.TopicARN, err)
	}
	return nil
}

// snsSubject makes a subject SNS accepts: printable, one line, at most
// 100 characters, not empty.
func snsSubject(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if s == "" {
		s = "trawl alert"
	}
	return truncate(s, 100)
}
