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
