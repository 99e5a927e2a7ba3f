package cloudtrail

import (
	"strings"
	"testing"
	"time"

	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/jsonscan"
)

func TestDeriveUserName(t *testing.T) {
	cases := []struct {
		name     string
		identity string
		want     string
	}{
		{"IAM user", `{"type":"IAMUser","principalId":"AIDAX","arn":"arn:aws:iam::111122223333:user/ops/alice","accountId":"111122223333","userName":"alice"}`, "alice"},
		{"IAM user without userName", `{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/ops/bob"}`, "bob"},
		{"IAM user, failed login with a wrong name", `{"type":"IAMUser","accountId":"111122223333","accessKeyId":"","userName":"HIDDEN_DUE_TO_SECURITY_REASONS"}`, "HIDDEN_DUE_TO_SECURITY_REASONS"},
		{"assumed role: the session issuer (role)", `{"type":"AssumedRole","principalId":"AROAX:alice@example.com","arn":"arn:aws:sts::111122223333:assumed-role/Admin/alice@example.com","sessionContext":{"sessionIssuer":{"type":"Role","userName":"Admin","arn":"arn:aws:iam::111122223333:role/Admin"}}}`, "Admin"},
		{"assumed role without a session issuer", `{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/ReadOnly/i-0123456789abcdef0"}`, "ReadOnly"},
		{"role", `{"type":"Role","arn":"arn:aws:iam::111122223333:role/service-role/Deployer"}`, "Deployer"},
		{"federated user", `{"type":"FederatedUser","principalId":"111122223333:carol","arn":"arn:aws:sts::111122223333:federated-user/carol","sessionContext":{"sessionIssuer":{"type":"IAMUser","userName":"broker"}}}`, "carol"},
		{"federated user without arn", `{"type":"FederatedUser","principalId":"111122223333:dave"}`, "dave"},
		{"root", `{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"}`, "root"},
		{"root with an account alias", `{"type":"Root","arn":"arn:aws:iam::111122223333:root","userName":"my-alias"}`, "root"},
		{"AWS service", `{"type":"AWSService","invokedBy":"ec2.amazonaws.com"}`, "ec2.amazonaws.com"},
		{"AWS account (cross-account caller)", `{"type":"AWSAccount","principalId":"AIDAX","accountId":"444455556666"}`, "444455556666"},
		{"Identity Center user", `{"type":"IdentityCenterUser","accountId":"111122223333","onBehalfOf":{"userId":"94482488-3041-7026-18f3-be45837cd0e4","identityStoreArn":"arn:aws:identitystore::111122223333:identitystore/d-1234567890"},"credentialId":"x"}`, "94482488-3041-7026-18f3-be45837cd0e4"},
		{"Identity Center user with an arn", `{"type":"IdentityCenterUser","arn":"arn:aws:iam::0123456789012:user/Alice","accountId":"0123456789012"}`, "Alice"},
		{"unknown with onBehalfOf", `{"type":"Unknown","onBehalfOf":{"userId":"u-1"}}`, "u-1"},
		{"SAML user", `{"type":"SAMLUser","principalId":"SampleUkh1i4+ExamplexL/jEvs=:SamlExample","userName":"SamlExample","identityProvider":"Sample"}`, "SamlExample"},
		{"web identity user", `{"type":"WebIdentityUser","principalId":"accounts.google.com:app:user","userName":"user-123","identityProvider":"accounts.google.com"}`, "user-123"},
		{"directory", `{"type":"Directory","principalId":"d-1:erin"}`, "d-1:erin"},
		{"no identity", `null`, ""},
	}
	for _, tc := range cases {
		raw := `{"eventVersion":"1.08","eventName":"X","eventID":"1","userIdentity":` + tc.identity + `}`
		e := FromRaw(raw, nil)
		if e.UserName != tc.want {
			t.Errorf("%s: user_name %q, want %q", tc.name, e.UserName, tc.want)
		}
	}
}

func TestDerivePrincipal(t *testing.T) {
	cases := []struct {
		name      string
		identity  string
		principal string
		session   string
	}{
		{"IAM user", `{"type":"IAMUser","principalId":"AIDAX","arn":"arn:aws:iam::111122223333:user/ops/alice","accountId":"111122223333","userName":"alice"}`, "alice", ""},
		{"IAM user without userName", `{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/ops/bob"}`, "bob", ""},
		{"IAM user invoked by a service", `{"type":"IAMUser","userName":"alice","invokedBy":"cloudformation.amazonaws.com"}`, "alice", ""},
		{"root", `{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"}`, "root", ""},
		{"root with an account alias", `{"type":"Root","arn":"arn:aws:iam::111122223333:root","userName":"my-alias"}`, "root", ""},
		{"assumed role", `{"type":"AssumedRole","principalId":"AROAX:deploy-42","arn":"arn:aws:sts::111122223333:assumed-role/Deployer/deploy-42","sessionContext":{"sessionIssuer":{"type":"Role","userName":"Deployer"}}}`, "deploy-42", "deploy-42"},
		{"assumed role, instance profile", `{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/ReadOnly/i-0123456789abcdef0"}`, "i-0123456789abcdef0", "i-0123456789abcdef0"},
		{"assumed role, SSO", `{"type":"AssumedRole","principalId":"AROAX:alice@example.com","arn":"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_AdministratorAccess_5f8f0c1d2e3a4b5c/alice@example.com","accountId":"111122223333","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_AdministratorAccess_5f8f0c1d2e3a4b5c","userName":"AWSReservedSSO_AdministratorAccess_5f8f0c1d2e3a4b5c"}}}`, "alice@example.com", "alice@example.com"},
		{"assumed role, session only in principalId", `{"type":"AssumedRole","principalId":"AROAX:bob","accountId":"111122223333"}`, "bob", "bob"},
		{"assumed role, redacted principalId", `{"type":"AssumedRole","principalId":"EX_PRINCIPAL_ID:some.user@my.company.com","accountId":"001122334455"}`, "some.user@my.company.com", "some.user@my.company.com"},
		{"assumed role with a source identity", `{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/Chained/session-7","sessionContext":{"sourceIdentity":"carol"}}`, "carol", "session-7"},
		{"assumed role without a session", `{"type":"AssumedRole","accountId":"111122223333","sessionContext":{"sessionIssuer":{"type":"Role","userName":"Admin"}}}`, "Admin", ""},
		{"role", `{"type":"Role","arn":"arn:aws:iam::111122223333:role/service-role/Deployer"}`, "Deployer", ""},
		{"federated user", `{"type":"FederatedUser","principalId":"111122223333:carol","arn":"arn:aws:sts::111122223333:federated-user/carol","sessionContext":{"sessionIssuer":{"type":"IAMUser","userName":"broker"}}}`, "carol", ""},
		{"federated user without arn", `{"type":"FederatedUser","principalId":"111122223333:dave"}`, "dave", ""},
		{"SAML user (AssumeRoleWithSAML)", `{"type":"SAMLUser","principalId":"SampleUkh1i4+ExamplexL/jEvs=:SamlExample","userName":"SamlExample","identityProvider":"Sample"}`, "SamlExample", ""},
		{"SAML user without userName", `{"type":"SAMLUser","principalId":"SampleUkh1i4+ExamplexL/jEvs=:SamlExample","identityProvider":"Sample"}`, "SamlExample", ""},
		{"web identity user (AssumeRoleWithWebIdentity)", `{"type":"WebIdentityUser","principalId":"accounts.google.com:app-id.apps.googleusercontent.com:user-123","userName":"user-123","identityProvider":"accounts.google.com"}`, "user-123", ""},
		{"AWS service", `{"type":"AWSService","invokedBy":"ec2.amazonaws.com"}`, "ec2.amazonaws.com", ""},
		{"AWS service, AWS Internal", `{"type":"AWSService","invokedBy":"AWS Internal"}`, "AWS Internal", ""},
		{"invokedBy AWS Internal, no type", `{"accountId":"111122223333","invokedBy":"AWS Internal"}`, "AWS Internal", ""},
		{"invokedBy AWS Internal with principalId only", `{"principalId":"AIDAX","invokedBy":"AWS Internal"}`, "AWS Internal", ""},
		{"principalId only", `{"principalId":"AIDAEXAMPLE"}`, "AIDAEXAMPLE", ""},
		{"principalId only, a role session", `{"principalId":"AROAEXAMPLE:eve"}`, "eve", "eve"},
		{"account id only", `{"accountId":"111122223333"}`, "111122223333", ""},
		{"AWS account (cross-account caller)", `{"type":"AWSAccount","principalId":"AIDAX","accountId":"444455556666"}`, "AIDAX", ""},
		{"AWS account, a role session", `{"type":"AWSAccount","principalId":"AROAX:frank","accountId":"444455556666"}`, "frank", "frank"},
		{"AWS account, anonymous", `{"type":"AWSAccount","principalId":"","accountId":"ANONYMOUS_PRINCIPAL"}`, "ANONYMOUS_PRINCIPAL", ""},
		{"Identity Center user (onBehalfOf)", `{"type":"IdentityCenterUser","accountId":"111122223333","onBehalfOf":{"userId":"94482488-3041-7026-18f3-be45837cd0e4","identityStoreArn":"arn:aws:identitystore::111122223333:identitystore/d-1234567890"},"credentialId":"x"}`, "94482488-3041-7026-18f3-be45837cd0e4", ""},
		{"assumed role on behalf of an Identity Center user", `{"type":"AssumedRole","principalId":"AROAX:app","arn":"arn:aws:sts::111122223333:assumed-role/QBusiness/app","onBehalfOf":{"userId":"u-1","identityStoreArn":"arn:aws:identitystore::111122223333:identitystore/d-1"}}`, "u-1", "app"},
		{"Identity Center user with an arn", `{"type":"IdentityCenterUser","arn":"arn:aws:iam::0123456789012:user/Alice","accountId":"0123456789012"}`, "Alice", ""},
		{"sign-in, unknown type with a userName", `{"type":"Unknown","principalId":"111122223333","arn":"","accountId":"111122223333","accessKeyId":"","userName":"alice"}`, "alice", ""},
		{"directory", `{"type":"Directory","principalId":"d-1:erin"}`, "d-1:erin", ""},
		{"no identity", `null`, "", ""},
	}
	for _, tc := range cases {
		raw := `{"eventVersion":"1.08","eventName":"X","eventID":"1","userIdentity":` + tc.identity + `}`
		e := FromRaw(raw, nil)
		if e.Principal != tc.principal || e.SessionName != tc.session {
			t.Errorf("%s: principal %q, session_name %q; want %q, %q", tc.name, e.Principal, e.SessionName, tc.principal, tc.session)
		}
	}
}

func TestInsightEventName(t *testing.T) {
	raw := `{"eventVersion":"1.07","eventTime":"2020-09-09T23:00:00Z","awsRegion":"us-east-1","eventID":"41ed77ca","eventType":"AwsCloudTrailInsight",` +
		`"recipientAccountId":"123456789012","insightDetails":{"state":"End","eventSource":"iam.amazonaws.com","eventName":"AttachUserPolicy","insightType":"ApiCallRateInsight"},"eventCategory":"Insight"}`
	e := FromRaw(raw, nil)
	if e.EventName != "AttachUserPolicy" || e.EventSource != "iam.amazonaws.com" || e.Principal != "" || e.SessionName != "" {
		t.Errorf("insight: event_name %q, event_source %q, principal %q, session %q", e.EventName, e.EventSource, e.Principal, e.SessionName)
	}
	// A top-level eventName or eventSource wins.
	e = FromRaw(`{"eventName":"Top","insightDetails":{"eventName":"Inner","eventSource":"s3.amazonaws.com"}}`, nil)
	if e.EventName != "Top" || e.EventSource != "s3.amazonaws.com" {
		t.Errorf("event_name %q, event_source %q", e.EventName, e.EventSource)
	}
}

func TestFromRawFields(t *testing.T) {
	raw := `{"eventVersion":"1.10","userIdentity":{"type":"AssumedRole","accountId":111122223333,"sessionContext":{"attributes":{"creationDate":"20131102T010628Z","mfaAuthenticated":"false"},"sourceIdentity":"alice"}},` +
		`"eventTime":"2026-11-02T10:11:12.345Z","eventSource":"kms.amazonaws.com","eventName":"Decrypt","readOnly":"TRUE","managementEvent":true,` +
		`"sessionCredentialFromConsole":"true","requestParameters":null,"responseElements":"HIDDEN_DUE_TO_SECURITY_REASONS","additionalEventData":[1,2],` +
		`"eventID":"e\u0031","sourceIPAddress":"AWS Internal","userAgent":"[S3Console/0.4]"}`
	if _, err := jsonscan.NewScanner(strings.NewReader(raw), 1<<20).ReadValue(); err != nil {
		t.Fatalf("test record is not valid JSON: %v", err)
	}
	e := FromRaw(raw, nil)
	checks := map[string][2]any{
		"event id (escaped)":         {e.EventID, "e1"},
		"numeric account id":         {e.UserAccountID, "111122223333"},
		"fractional time":            {e.EventTime, time.Date(2026, 11, 2, 10, 11, 12, 345e6, time.UTC)},
		"basic ISO creationDate":     {e.SessionCreatedAt, time.Date(2013, 11, 2, 1, 6, 28, 0, time.UTC)},
		"readOnly as string":         {e.ReadOnly, event.BoolTrue},
		"managementEvent":            {e.ManagementEvent, event.BoolTrue},
		"mfa as string":              {e.MFAAuthenticated, event.BoolFalse},
		"console credential":         {e.CredentialFromCons, event.BoolTrue},
		"null requestParameters":     {e.RequestParameters, ""},
		"string responseElements":    {e.ResponseElements, `"HIDDEN_DUE_TO_SECURITY_REASONS"`},
		"array additionalEventData":  {e.AdditionalEventData, `[1,2]`},
		"service name as source ip":  {e.SourceIP, "AWS Internal"},
		"source identity":            {e.SourceIdentity, "alice"},
		"raw kept verbatim":          {e.Raw, raw},
		"bracketed user agent as is": {e.UserAgent, "[S3Console/0.4]"},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s: got %v, want %v", name, c[0], c[1])
		}
	}
}

func TestSyntheticIDIsStable(t *testing.T) {
	a := FromRaw(`{"eventName":"X","eventSource":"s"}`, nil)
	b := FromRaw(`{"eventName":"X","eventSource":"s"}`, nil)
	c := FromRaw(`{"eventName":"Y","eventSource":"s"}`, nil)
	if a.EventID != b.EventID || a.EventID == c.EventID || !strings.HasPrefix(a.EventID, "trawl-") {
		t.Errorf("synthetic ids %q %q %q", a.EventID, b.EventID, c.EventID)
	}
}
