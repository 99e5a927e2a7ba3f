package gen

import (
	"strconv"
	"strings"
)

// api describes one CloudTrail event type: where it comes from, who calls
// it, how often, and how its free-form parts look.
type api struct {
	idx       int
	src       string // eventSource
	name      string // eventName
	svc       string // IAM action prefix ("ec2", "s3", "lambda")
	cli       string // AWS CLI command ("describe-instances")
	endpoint  string // endpoint prefix for tlsDetails ("ec2", "sts")
	cliSuffix string // " md/command#ec2.describe-instances"
	tfSuffix  string // " api/ec2#1.52.3"
	host      string // fixed endpoint host (global services)
	ver       string // eventVersion
	ver2      string // an alternative eventVersion seen for 30% of events
	global    bool   // recorded in us-east-1 only
	ro        bool   // readOnly
	data      bool   // a data event
	large     bool   // only used for LargeParams events
	etype     string // eventType when not AwsApiCall
	weight    float64
	only      string             // the one account role that calls it
	boost     map[string]float64 // multipliers per account role
	callers   []kindW
	invokers  []string // services calling as AWSService
	via       []string // services calling on behalf of the principal
	viaP      float64
	errs      []apiErr
	prep      func(c *ctx)
	params    func(c *ctx)
	resp      func(c *ctx)
	extra     func(c *ctx)
	res       func(c *ctx)
	sed       func(c *ctx)
}

type kindW struct {
	k pkind
	w float64
}

type apiErr struct {
	code, msg string
	p         float64
}

func (ap *api) mult(a *account) float64 {
	if ap.only != "" && a.role != ap.only {
		return 0
	}
	if m, ok := ap.boost[a.role]; ok {
		return m
	}
	return 1
}

// cliSvc is the service name in AWS CLI commands.
func (ap *api) cliSvc() string {
	switch ap.svc {
	case "monitoring":
		return "cloudwatch"
	case "elasticloadbalancing":
		return "elbv2"
	case "s3":
		return "s3api"
	}
	return ap.svc
}

// appendRequestID appends a request id in the service's format.
func (ap *api) appendRequestID(b []byte, r *rng) []byte {
	if ap.svc == "s3" {
		return appendChars(b, r, upperAlnum, 16)
	}
	return appendUUID(b, r)
}

var kindNames = map[string]pkind{
	"sso": kSSO, "console": kConsole, "ci": kCI, "app": kApp, "ec2": kEC2, "lambda": kLambda,
	"ecs": kECS, "config": kConfig, "audit": kAudit, "service": kService, "xacct": kXAcct,
	"root": kRoot, "oidc": kOIDC, "saml": kSAML, "fed": kFed, "idc": kIDC, "human": kHuman,
}

// callers parses "kind:weight kind:weight".
func callers(spec string) []kindW {
	var out []kindW
	for _, f := range strings.Fields(spec) {
		name, w, _ := strings.Cut(f, ":")
		k, ok := kindNames[name]
		if !ok {
			panic("gen: unknown caller kind " + name)
		}
		x, err := strconv.ParseFloat(w, 64)
		if err != nil {
			panic("gen: bad caller weight in " + spec)
		}
		out = append(out, kindW{k, x})
	}
	return out
}

// Common error lists.
var (
	errsDeny    = []apiErr{{"AccessDenied", "!deny", 0.02}, {"ThrottlingException", "Rate exceeded", 0.004}}
	errsIAM     = []apiErr{{"AccessDenied", "!deny", 0.02}, {"Throttling", "Rate exceeded", 0.004}}
	errsEC2     = []apiErr{{"Client.UnauthorizedOperation", "!ec2deny", 0.015}, {"Client.RequestLimitExceeded", "Request limit exceeded.", 0.005}}
	errsKMS     = []apiErr{{"AccessDenied", "!kmsdeny", 0.01}, {"ThrottlingException", "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.", 0.004}}
	errsGetObj  = []apiErr{{"NoSuchKey", "The specified key does not exist.", 0.02}, {"AccessDenied", "Access Denied", 0.012}}
	errsS3Mgmt  = []apiErr{{"AccessDenied", "Access Denied", 0.02}, {"NoSuchBucket", "The specified bucket does not exist", 0.004}}
	errsSecrets = []apiErr{{"AccessDenied", "!deny", 0.015}, {"ResourceNotFoundException", "Secrets Manager can't find the specified secret.", 0.01}}
)

// apis is the catalogue; index = api.idx. Weights are relative event
// shares, shaped like real accounts: reads dominate, S3 data events, KMS and
// STS make up much of the volume.
var apis = buildAPIs()

// apiByName finds an API by "service:EventName"; it panics on a typo.
func apiByName(svc, name string) *api {
	for _, ap := range apis {
		if ap.svc == svc && ap.name == name {
			return ap
		}
	}
	panic("gen: no api " + svc + ":" + name)
}

func buildAPIs() []*api {
	list := []*api{
		// ---- S3 data events
		{src: "s3.amazonaws.com", name: "GetObject", svc: "s3", cli: "get-object", ver: "1.10", ver2: "1.11", ro: true, data: true, weight: 16,
			boost:   map[string]float64{"prod": 1.4, "data": 2, "management": 0.3},
			callers: callers("ec2:4 ecs:3 lambda:4 sso:0.6 console:0.3 app:1 ci:0.5 audit:0.1 fed:0.1"),
			errs:    errsGetObj, prep: prepS3Object, params: paramsS3Object, extra: extraS3, res: resS3Object},
		{src: "s3.amazonaws.com", name: "PutObject", svc: "s3", cli: "put-object", ver: "1.10", ver2: "1.11", data: true, weight: 7,
			boost:   map[string]float64{"prod": 1.3, "data": 2, "security": 0.8},
			callers: callers("ec2:3 ecs:2 lambda:4 ci:1 sso:0.3 app:0.5"),
			errs:    []apiErr{{"AccessDenied", "Access Denied", 0.01}, {"SlowDown", "Please reduce your request rate.", 0.003}},
			prep:    prepS3Object, params: paramsS3Put, resp: respS3Put, extra: extraS3, res: resS3Object},
		{src: "s3.amazonaws.com", name: "HeadObject", svc: "s3", cli: "head-object", ver: "1.10", ver2: "1.11", ro: true, data: true, weight: 3,
			callers: callers("ec2:2 ecs:2 lambda:3 ci:1"),
			errs:    []apiErr{{"NoSuchKey", "The specified key does not exist.", 0.03}},
			prep:    prepS3Object, params: paramsS3Object, extra: extraS3, res: resS3Object},
		{src: "s3.amazonaws.com", name: "ListObjects", svc: "s3", cli: "list-objects-v2", ver: "1.10", ver2: "1.11", ro: true, data: true, weight: 3,
			callers: callers("ec2:2 lambda:2 sso:1 console:1 ci:1 app:0.5"),
			errs:    []apiErr{{"AccessDenied", "Access Denied", 0.015}},
			prep:    prepS3Object, params: paramsS3List, extra: extraS3, res: resS3Bucket},
		{src: "s3.amazonaws.com", name: "DeleteObject", svc: "s3", cli: "delete-object", ver: "1.10", ver2: "1.11", data: true, weight: 0.5,
			callers: callers("lambda:2 ec2:1 ci:1 sso:0.3"),
			prep:    prepS3Object, params: paramsS3Object, extra: extraS3, res: resS3Object},
		// ---- S3 management events
		{src: "s3.amazonaws.com", name: "ListBuckets", svc: "s3", cli: "list-buckets", ver: "1.10", ver2: "1.11", ro: true, weight: 0.5,
			callers: callers("sso:2 console:2 audit:1 ci:1 config:0.5"), errs: errsS3Mgmt[:1],
			params: func(c *ctx) { c.w.Obj(); c.w.KS("Host", "s3.amazonaws.com"); c.w.EndObj() }, extra: extraS3},
		{src: "s3.amazonaws.com", name: "GetBucketPolicy", svc: "s3", cli: "get-bucket-policy", ver: "1.10", ver2: "1.11", ro: true, weight: 0.5,
			callers: callers("config:3 audit:2 console:1 ci:1"),
			errs:    []apiErr{{"NoSuchBucketPolicy", "The bucket policy does not exist", 0.35}, {"AccessDenied", "Access Denied", 0.02}},
			prep:    prepS3Bucket, params: paramsS3Sub("policy"), extra: extraS3, res: resS3Bucket},
		{src: "s3.amazonaws.com", name: "GetBucketAcl", svc: "s3", cli: "get-bucket-acl", ver: "1.10", ver2: "1.11", ro: true, weight: 0.5,
			callers: callers("config:3 audit:2 console:1"), errs: errsS3Mgmt,
			prep: prepS3Bucket, params: paramsS3Sub("acl"), extra: extraS3, res: resS3Bucket},
		{src: "s3.amazonaws.com", name: "GetBucketEncryption", svc: "s3", cli: "get-bucket-encryption", ver: "1.10", ver2: "1.11", ro: true, weight: 0.3,
			callers: callers("config:3 audit:2"), errs: errsS3Mgmt,
			prep: prepS3Bucket, params: paramsS3Sub("encryption"), extra: extraS3, res: resS3Bucket},
		{src: "s3.amazonaws.com", name: "PutBucketPolicy", svc: "s3", cli: "put-bucket-policy", ver: "1.10", ver2: "1.11", weight: 0.01, large: true,
			callers: callers("ci:3 oidc:2 console:1"),
			prep:    prepS3Bucket, params: paramsPutBucketPolicy, extra: extraS3, res: resS3Bucket},

		// ---- KMS
		{src: "kms.amazonaws.com", name: "Decrypt", svc: "kms", cli: "decrypt", endpoint: "kms", ver: "1.08", ro: true, weight: 8,
			callers:  callers("lambda:4 ecs:2 ec2:2 service:2 sso:0.2 app:0.5"),
			invokers: []string{"secretsmanager.amazonaws.com", "ebs.amazonaws.com", "ssm.amazonaws.com", "logs.amazonaws.com"},
			via:      []string{"s3.amazonaws.com", "secretsmanager.amazonaws.com", "dynamodb.amazonaws.com"}, viaP: 0.5,
			errs: errsKMS, prep: prepKMS, params: paramsDecrypt, res: resKMS},
		{src: "kms.amazonaws.com", name: "GenerateDataKey", svc: "kms", cli: "generate-data-key", endpoint: "kms", ver: "1.08", ro: true, weight: 4,
			callers:  callers("lambda:3 ecs:2 ec2:2 service:1 app:0.3"),
			invokers: []string{"logs.amazonaws.com", "ebs.amazonaws.com", "sqs.amazonaws.com"},
			via:      []string{"s3.amazonaws.com", "dynamodb.amazonaws.com"}, viaP: 0.7,
			errs: errsKMS, prep: prepKMS, params: paramsGenerateDataKey, res: resKMS},
		{src: "kms.amazonaws.com", name: "Encrypt", svc: "kms", cli: "encrypt", endpoint: "kms", ver: "1.08", ro: true, weight: 0.4,
			callers: callers("lambda:2 ecs:1 app:1"), errs: errsKMS, prep: prepKMS,
			params: func(c *ctx) {
				w := c.w
				w.Obj()
				w.KS("keyId", c.keyID)
				w.KS("encryptionAlgorithm", "SYMMETRIC_DEFAULT")
				w.EndObj()
			}, res: resKMS},
		{src: "kms.amazonaws.com", name: "RotateKey", svc: "kms", ver: "1.08", etype: "AwsServiceEvent", weight: 0.05,
			callers: callers("service:1"), invokers: []string{"AWS Internal"}, prep: prepServiceEvent, res: resKMS,
			sed: func(c *ctx) {
				c.w.Obj()
				c.w.KS("rotationType", "AUTOMATIC")
				c.w.KS("keyId", c.keyID[strings.LastIndexByte(c.keyID, '/')+1:])
				c.w.EndObj()
			}},

		// ---- STS
		{src: "sts.amazonaws.com", name: "AssumeRole", svc: "sts", cli: "assume-role", endpoint: "sts", ver: "1.08", ro: true, weight: 6,
			callers:  callers("service:6 xacct:2 ci:0.6 sso:0.4"),
			invokers: []string{"lambda.amazonaws.com", "ec2.amazonaws.com", "ecs-tasks.amazonaws.com"},
			errs:     []apiErr{{"AccessDenied", "!deny", 0.006}},
			prep:     prepAssumeRole, params: paramsAssumeRole, resp: respAssumeRole, res: resRole},
		{src: "sts.amazonaws.com", name: "GetCallerIdentity", svc: "sts", cli: "get-caller-identity", endpoint: "sts", ver: "1.08", ro: true, weight: 1.5,
			callers: callers("sso:3 ci:2 oidc:1 lambda:1 ec2:1 audit:1")},
		{src: "sts.amazonaws.com", name: "AssumeRoleWithSAML", svc: "sts", cli: "assume-role-with-saml", host: "sts.amazonaws.com", ver: "1.08", ro: true, global: true, weight: 0.4,
			callers: callers("saml:1"), prep: prepSAML, params: paramsSAML, resp: respSAML, res: resRole},
		{src: "sts.amazonaws.com", name: "AssumeRoleWithWebIdentity", svc: "sts", cli: "assume-role-with-web-identity", endpoint: "sts", ver: "1.08", ro: true, weight: 0.3,
			callers: callers("oidc:1"), prep: prepOIDC, params: paramsOIDC, resp: respOIDC,
			extra: func(c *ctx) {
				c.w.Obj()
				c.w.KS("identityProviderConnectionVerificationMethod", "IAMTrustStore")
				c.w.EndObj()
			}, res: resRole},
		{src: "sts.amazonaws.com", name: "GetFederationToken", svc: "sts", cli: "get-federation-token", endpoint: "sts", ver: "1.08", ro: true, weight: 0.02,
			only: "prod", callers: callers("app:1"), params: paramsFederation, resp: respFederation},

		// ---- IAM (global)
		{src: "iam.amazonaws.com", name: "GetRole", svc: "iam", cli: "get-role", host: "iam.amazonaws.com", ver: "1.10", ver2: "1.11", global: true, ro: true, weight: 1,
			callers: callers("config:3 ci:2 oidc:1 audit:1 console:1"),
			errs:    append([]apiErr{{"NoSuchEntity", "!nosuchrole", 0.01}}, errsIAM...),
			prep:    prepRoleName, params: paramsRoleName},
		{src: "iam.amazonaws.com", name: "ListRoles", svc: "iam", cli: "list-roles", host: "iam.amazonaws.com", ver: "1.10", ver2: "1.11", global: true, ro: true, weight: 0.6,
			callers: callers("config:2 audit:2 console:1 sso:1"), errs: errsIAM},
		{src: "iam.amazonaws.com", name: "ListUsers", svc: "iam", cli: "list-users", host: "iam.amazonaws.com", ver: "1.10", ver2: "1.11", global: true, ro: true, weight: 0.15,
			callers: callers("config:1 audit:2 console:1"), errs: errsIAM},
		{src: "iam.amazonaws.com", name: "ListAttachedUserPolicies", svc: "iam", cli: "list-attached-user-policies", host: "iam.amazonaws.com", ver: "1.10", ver2: "1.11", global: true, ro: true, weight: 0.12,
			callers: callers("config:2 audit:2"), errs: errsIAM, params: paramsUserName},
		{src: "iam.amazonaws.com", name: "ListAttachedRolePolicies", svc: "iam", cli: "list-attached-role-policies", host: "iam.amazonaws.com", ver: "1.10", ver2: "1.11", global: true, ro: true, weight: 0.4,
			callers: callers("config:3 audit:1 ci:1"), errs: errsIAM, params: paramsRoleName},
		{src: "iam.amazonaws.com", name: "ListAccessKeys", svc: "iam", cli: "list-access-keys", host: "iam.amazonaws.com", ver: "1.10", ver2: "1.11", global: true, ro: true, weight: 0.1,
			callers: callers("audit:2 config:1"), errs: errsIAM, params: paramsUserName},
		{src: "iam.amazonaws.com", name: "GetAccountAuthorizationDetails", svc: "iam", cli: "get-account-authorization-details", host: "iam.amazonaws.com", ver: "1.10", global: true, ro: true, weight: 0.03,
			callers: callers("audit:1"), errs: errsIAM,
			params: func(c *ctx) {
				c.w.Obj()
				c.w.KRaw("filter", `["User","Role","Group","LocalManagedPolicy","AWSManagedPolicy"]`)
				c.w.EndObj()
			}},
		{src: "iam.amazonaws.com", name: "GenerateCredentialReport", svc: "iam", cli: "generate-credential-report", host: "iam.amazonaws.com", ver: "1.10", global: true, weight: 0.03,
			callers: callers("audit:1"),
			resp: func(c *ctx) {
				c.w.Obj()
				c.w.KS("state", "STARTED")
				c.w.KS("description", "No report exists. Starting a new report generation task")
				c.w.EndObj()
			}},
		{src: "iam.amazonaws.com", name: "GetAccountSummary", svc: "iam", cli: "get-account-summary", host: "iam.amazonaws.com", ver: "1.10", global: true, ro: true, weight: 0.05,
			callers: callers("console:3 audit:1 human:1")},
		{src: "iam.amazonaws.com", name: "CreateUser", svc: "iam", cli: "create-user", host: "iam.amazonaws.com", ver: "1.10", global: true,
			params: paramsStoryUser, resp: respCreateUser},
		{src: "iam.amazonaws.com", name: "AttachUserPolicy", svc: "iam", cli: "attach-user-policy", host: "iam.amazonaws.com", ver: "1.10", global: true,
			params: func(c *ctx) {
				c.w.Obj()
				c.w.KS("userName", c.e.user)
				c.w.KS("policyArn", c.e.policy)
				c.w.EndObj()
			}},
		{src: "iam.amazonaws.com", name: "CreateAccessKey", svc: "iam", cli: "create-access-key", host: "iam.amazonaws.com", ver: "1.10", global: true,
			params: paramsStoryUser, resp: respCreateAccessKey},
		{src: "iam.amazonaws.com", name: "CreateLoginProfile", svc: "iam", cli: "create-login-profile", host: "iam.amazonaws.com", ver: "1.10", global: true,
			params: func(c *ctx) {
				c.w.Obj()
				c.w.KS("userName", c.e.user)
				c.w.KB("passwordResetRequired", false)
				c.w.EndObj()
			},
			resp: func(c *ctx) {
				c.w.Obj()
				c.w.KObj("loginProfile")
				c.w.KS("userName", c.e.user)
				c.w.KS("createDate", iamDate(c.e.t))
				c.w.KB("passwordResetRequired", false)
				c.w.EndObj()
				c.w.EndObj()
			}},
		{src: "iam.amazonaws.com", name: "CreatePolicyVersion", svc: "iam", cli: "create-policy-version", host: "iam.amazonaws.com", ver: "1.10", global: true, large: true, weight: 0.01,
			callers: callers("ci:3 oidc:2"), params: paramsCreatePolicyVersion, resp: respCreatePolicyVersion},
		{src: "iam.amazonaws.com", name: "PutRolePolicy", svc: "iam", cli: "put-role-policy", host: "iam.amazonaws.com", ver: "1.10", global: true, large: true, weight: 0.01,
			callers: callers("ci:3 oidc:2"), params: paramsPutRolePolicy},

		// ---- EC2
		{src: "ec2.amazonaws.com", name: "DescribeInstances", svc: "ec2", cli: "describe-instances", endpoint: "ec2", ver: "1.10", ver2: "1.11", ro: true, weight: 4,
			callers: callers("config:3 audit:1 console:2 sso:1 ci:1 lambda:1 ec2:0.5"), errs: errsEC2,
			params: func(c *ctx) {
				w := c.w
				w.Obj()
				w.KObj("instancesSet")
				if c.n != nil && c.r.Float64() < 0.3 {
					w.KArr("items")
					w.Obj()
					w.KS("instanceId", c.n.instances[c.r.IntN(len(c.n.instances))].instanceID)
					w.EndObj()
					w.EndArr()
				}
				w.EndObj()
				w.KObj("filterSet")
				w.EndObj()
				w.EndObj()
			}},
		{src: "ec2.amazonaws.com", name: "DescribeSecurityGroups", svc: "ec2", cli: "describe-security-groups", endpoint: "ec2", ver: "1.10", ver2: "1.11", ro: true, weight: 1.5,
			callers: callers("config:3 audit:1 console:1 ci:1"), errs: errsEC2,
			params: rawParams(`{"securityGroupSet":{},"securityGroupIdSet":{},"filterSet":{}}`)},
		{src: "ec2.amazonaws.com", name: "DescribeNetworkInterfaces", svc: "ec2", cli: "describe-network-interfaces", endpoint: "ec2", ver: "1.10", ver2: "1.11", ro: true, weight: 1.2,
			callers: callers("config:2 service:2 console:1"), invokers: []string{"lambda.amazonaws.com", "elasticloadbalancing.amazonaws.com"}, errs: errsEC2,
			params: func(c *ctx) {
				w := c.w
				w.Obj()
				w.KObj("networkInterfaceIdSet")
				w.EndObj()
				w.KObj("filterSet")
				if c.n != nil {
					w.KArr("items")
					w.Obj()
					w.KS("name", "vpc-id")
					w.KObj("valueSet")
					w.KArr("items")
					w.Obj()
					w.KS("value", c.n.vpc)
					w.EndObj()
					w.EndArr()
					w.EndObj()
					w.EndObj()
					w.EndArr()
				}
				w.EndObj()
				w.EndObj()
			}},
		{src: "ec2.amazonaws.com", name: "DescribeVpcs", svc: "ec2", cli: "describe-vpcs", endpoint: "ec2", ver: "1.10", ver2: "1.11", ro: true, weight: 0.8,
			callers: callers("config:2 audit:1 ci:1 console:1"), errs: errsEC2,
			params: rawParams(`{"vpcSet":{},"filterSet":{}}`)},
		{src: "ec2.amazonaws.com", name: "DescribeSubnets", svc: "ec2", cli: "describe-subnets", endpoint: "ec2", ver: "1.10", ver2: "1.11", ro: true, weight: 0.7,
			callers: callers("config:2 ci:1 console:1"), errs: errsEC2,
			params: rawParams(`{"subnetSet":{},"filterSet":{}}`)},
		{src: "ec2.amazonaws.com", name: "DescribeVolumes", svc: "ec2", cli: "describe-volumes", endpoint: "ec2", ver: "1.10", ver2: "1.11", ro: true, weight: 0.8,
			callers: callers("config:2 audit:1 console:1"), errs: errsEC2,
			params: rawParams(`{"volumeSet":{},"filterSet":{}}`)},
		{src: "ec2.amazonaws.com", name: "DescribeRegions", svc: "ec2", cli: "describe-regions", endpoint: "ec2", ver: "1.10", ver2: "1.11", ro: true, weight: 0.4,
			callers: callers("audit:2 console:1 sso:1"), errs: errsEC2,
			params: rawParams(`{"regionSet":{},"allRegions":true}`)},
		{src: "ec2.amazonaws.com", name: "CreateTags", svc: "ec2", cli: "create-tags", endpoint: "ec2", ver: "1.10", ver2: "1.11", weight: 0.25,
			callers: callers("ci:2 oidc:1 service:1 console:0.5"), invokers: []string{"autoscaling.amazonaws.com"}, errs: errsEC2,
			params: paramsCreateTags,
			resp: func(c *ctx) {
				c.w.Obj()
				c.w.KSRaw("requestId", c.reqID)
				c.w.KB("_return", true)
				c.w.EndObj()
			}},
		{src: "ec2.amazonaws.com", name: "RunInstances", svc: "ec2", cli: "run-instances", endpoint: "ec2", ver: "1.10", ver2: "1.11", large: true, weight: 0.01,
			callers: callers("ci:2 oidc:1 service:1"), invokers: []string{"autoscaling.amazonaws.com"},
			params: paramsRunInstances, resp: respRunInstances},
		{src: "ec2.amazonaws.com", name: "TerminateInstances", svc: "ec2", cli: "terminate-instances", endpoint: "ec2", ver: "1.10", ver2: "1.11", weight: 0.03,
			callers: callers("service:2 ci:1"), invokers: []string{"autoscaling.amazonaws.com"}, errs: errsEC2,
			prep: prepInstance, params: paramsTerminate, resp: respTerminate},
		{src: "ec2.amazonaws.com", name: "AuthorizeSecurityGroupIngress", svc: "ec2", cli: "authorize-security-group-ingress", endpoint: "ec2", ver: "1.10", ver2: "1.11", weight: 0.04,
			callers: callers("ci:2 console:1 oidc:1"), errs: errsEC2,
			params: paramsAuthorizeIngress, resp: respAuthorizeIngress},
		{src: "ec2.amazonaws.com", name: "DeleteFlowLogs", svc: "ec2", cli: "delete-flow-logs", endpoint: "ec2", ver: "1.10",
			params: func(c *ctx) {
				w := c.w
				w.Obj()
				w.KObj("DeleteFlowLogsRequest")
				w.KObj("FlowLogId")
				w.KS("content", c.e.user)
				w.KI("tag", 1)
				w.EndObj()
				w.EndObj()
				w.EndObj()
			}},

		// ---- Lambda
		{src: "lambda.amazonaws.com", name: "Invoke", svc: "lambda", cli: "invoke", endpoint: "lambda", ver: "1.08", data: true, weight: 4,
			callers:  callers("service:7 lambda:1.5 ecs:1 sso:0.3"),
			invokers: []string{"apigateway.amazonaws.com", "events.amazonaws.com", "sqs.amazonaws.com", "s3.amazonaws.com"},
			errs:     []apiErr{{"TooManyRequestsException", "Rate Exceeded.", 0.003}},
			prep:     prepLambda, params: paramsInvoke,
			extra: func(c *ctx) {
				w := c.w
				w.Obj()
				w.K("functionVersion")
				w.Open()
				c.appendFnARN()
				w.b = append(w.b, ":$LATEST"...)
				w.Close()
				w.EndObj()
			}, res: resLambda},
		{src: "lambda.amazonaws.com", name: "ListFunctions20150331", svc: "lambda", cli: "list-functions", endpoint: "lambda", ver: "1.08", ro: true, weight: 0.5,
			callers: callers("config:2 console:1 audit:1 ci:1")},
		{src: "lambda.amazonaws.com", name: "GetFunction20150331v2", svc: "lambda", cli: "get-function", endpoint: "lambda", ver: "1.08", ro: true, weight: 0.4,
			callers: callers("ci:2 console:1 oidc:1 config:1"), prep: prepLambda,
			errs: []apiErr{{"ResourceNotFoundException", "Function not found", 0.01}},
			params: func(c *ctx) {
				c.w.Obj()
				c.w.KS("functionName", c.fn)
				c.w.EndObj()
			}},
		{src: "lambda.amazonaws.com", name: "UpdateFunctionCode20150331v2", svc: "lambda", cli: "update-function-code", endpoint: "lambda", ver: "1.08", weight: 0.03,
			callers: callers("ci:1 oidc:2"), prep: prepLambda, params: paramsUpdateCode, resp: respUpdateCode},

		// ---- CloudWatch Logs and CloudWatch
		{src: "logs.amazonaws.com", name: "CreateLogStream", svc: "logs", cli: "create-log-stream", endpoint: "logs", ver: "1.08", weight: 1.5,
			callers: callers("lambda:5 ecs:1"), prep: prepLambda,
			errs:   []apiErr{{"ResourceAlreadyExistsException", "The specified log stream already exists", 0.01}, {"ThrottlingException", "Rate exceeded", 0.003}},
			params: paramsCreateLogStream},
		{src: "logs.amazonaws.com", name: "DescribeLogGroups", svc: "logs", cli: "describe-log-groups", endpoint: "logs", ver: "1.08", ro: true, weight: 0.8,
			callers: callers("config:1 console:2 audit:1 ci:1"), errs: errsDeny,
			params: func(c *ctx) {
				c.w.Obj()
				c.w.KS("logGroupNamePrefix", "/aws/lambda/")
				c.w.EndObj()
			}},
		{src: "logs.amazonaws.com", name: "FilterLogEvents", svc: "logs", cli: "filter-log-events", endpoint: "logs", ver: "1.08", ro: true, weight: 0.3,
			callers: callers("console:3 sso:1"), prep: prepLambda, params: paramsFilterLogEvents},
		{src: "monitoring.amazonaws.com", name: "DescribeAlarms", svc: "monitoring", cli: "describe-alarms", endpoint: "monitoring", ver: "1.08", ro: true, weight: 1,
			callers: callers("console:2 config:1 lambda:1 sso:1"),
			params: func(c *ctx) {
				c.w.Obj()
				c.w.KI("maxRecords", 100)
				c.w.EndObj()
			}},
		{src: "monitoring.amazonaws.com", name: "GetMetricData", svc: "monitoring", cli: "get-metric-data", endpoint: "monitoring", ver: "1.08", ro: true, weight: 1.5,
			callers: callers("console:3 app:1 sso:1"), prep: prepInstance, params: paramsGetMetricData},

		// ---- SSM, Secrets Manager
		{src: "ssm.amazonaws.com", name: "UpdateInstanceInformation", svc: "ssm", cli: "update-instance-information", endpoint: "ssm", ver: "1.08", weight: 3,
			callers: callers("ec2:1"), params: paramsUpdateInstanceInformation},
		{src: "ssm.amazonaws.com", name: "ListInstanceAssociations", svc: "ssm", cli: "list-instance-associations", endpoint: "ssm", ver: "1.08", ro: true, weight: 1.5,
			callers: callers("ec2:1"),
			params: func(c *ctx) {
				c.w.Obj()
				c.w.KS("instanceId", c.e.session)
				c.w.KI("maxResults", 20)
				c.w.EndObj()
			}},
		{src: "ssm.amazonaws.com", name: "GetParameter", svc: "ssm", cli: "get-parameter", endpoint: "ssm", ver: "1.08", ro: true, weight: 2,
			callers: callers("lambda:3 ecs:2 ec2:1 ci:1 sso:0.3"),
			errs:    []apiErr{{"ParameterNotFound", "", 0.02}, {"ThrottlingException", "Rate exceeded", 0.004}},
			params: func(c *ctx) {
				c.w.Obj()
				c.w.KS("name", pick(c.r, c.a.params))
				c.w.KB("withDecryption", c.r.Float64() < 0.6)
				c.w.EndObj()
			}},
		{src: "ssm.amazonaws.com", name: "GetParameters", svc: "ssm", cli: "get-parameters", endpoint: "ssm", ver: "1.08", ro: true, weight: 0.5,
			callers: callers("ecs:2 ci:1 lambda:1"),
			params: func(c *ctx) {
				w := c.w
				w.Obj()
				w.KArr("names")
				for _, p := range c.a.params[:2+c.r.IntN(len(c.a.params)-1)] {
					w.S(p)
				}
				w.EndArr()
				w.KB("withDecryption", true)
				w.EndObj()
			}},
		{src: "secretsmanager.amazonaws.com", name: "GetSecretValue", svc: "secretsmanager", cli: "get-secret-value", endpoint: "secretsmanager", ver: "1.09", ver2: "1.11", ro: true, weight: 1.5,
			callers: callers("lambda:3 ecs:2 ec2:1 sso:0.3 app:0.5"), errs: errsSecrets,
			params: func(c *ctx) {
				c.w.Obj()
				c.w.K("secretId")
				c.w.Open()
				c.appendSecretARN(pick(c.r, c.a.secrets))
				c.w.Close()
				c.w.EndObj()
			}},
		{src: "secretsmanager.amazonaws.com", name: "RotationSucceeded", svc: "secretsmanager", ver: "1.09", etype: "AwsServiceEvent", weight: 0.02,
			callers: callers("service:1"), invokers: []string{"secretsmanager.amazonaws.com"}, prep: prepServiceEvent,
			extra: func(c *ctx) {
				c.w.Obj()
				c.w.K("SecretId")
				c.w.Open()
				c.appendSecretARN(c.a.secrets[0])
				c.w.Close()
				c.w.EndObj()
			}},

		// ---- CloudTrail
		{src: "cloudtrail.amazonaws.com", name: "DescribeTrails", svc: "cloudtrail", cli: "describe-trails", endpoint: "cloudtrail", ver: "1.10", ro: true, weight: 0.3,
			callers: callers("config:2 audit:2 console:1"),
			params:  rawParams(`{"trailNameList":[],"includeShadowTrails":true}`)},
		{src: "cloudtrail.amazonaws.com", name: "GetTrailStatus", svc: "cloudtrail", cli: "get-trail-status", endpoint: "cloudtrail", ver: "1.10", ro: true, weight: 0.3,
			callers: callers("config:2 audit:2"), params: paramsTrailName},
		{src: "cloudtrail.amazonaws.com", name: "GetEventSelectors", svc: "cloudtrail", cli: "get-event-selectors", endpoint: "cloudtrail", ver: "1.10", ro: true, weight: 0.15,
			callers: callers("config:2 audit:1"),
			params: func(c *ctx) {
				c.w.Obj()
				c.w.KS("trailName", c.g.w.trailARN)
				c.w.EndObj()
			}},
		{src: "cloudtrail.amazonaws.com", name: "LookupEvents", svc: "cloudtrail", cli: "lookup-events", endpoint: "cloudtrail", ver: "1.10", ro: true, weight: 0.2,
			callers: callers("console:3 sso:1"),
			params:  rawParams(`{"maxResults":50,"lookupAttributes":[{"attributeKey":"ReadOnly","attributeValue":"false"}]}`)},
		{src: "cloudtrail.amazonaws.com", name: "StopLogging", svc: "cloudtrail", cli: "stop-logging", endpoint: "cloudtrail", ver: "1.10", params: paramsTrailName},
		{src: "cloudtrail.amazonaws.com", name: "StartLogging", svc: "cloudtrail", cli: "start-logging", endpoint: "cloudtrail", ver: "1.10", params: paramsTrailName},

		// ---- DynamoDB, RDS, ECR, ELB
		{src: "dynamodb.amazonaws.com", name: "DescribeTable", svc: "dynamodb", cli: "describe-table", endpoint: "dynamodb", ver: "1.08", ro: true, weight: 0.8,
			callers: callers("lambda:2 ecs:2 config:1 console:1"),
			errs:    []apiErr{{"ResourceNotFoundException", "", 0.01}},
			params: func(c *ctx) {
				c.w.Obj()
				c.w.KS("tableName", pick(c.r, c.a.tables))
				c.w.EndObj()
			}},
		{src: "rds.amazonaws.com", name: "DescribeDBInstances", svc: "rds", cli: "describe-db-instances", endpoint: "rds", ver: "1.08", ro: true, weight: 0.7,
			callers: callers("config:2 console:1 service:1 audit:1"), invokers: []string{"rds.amazonaws.com"},
			params: func(c *ctx) {
				if c.r.Float64() < 0.5 {
					c.w.Null()
					return
				}
				c.w.Obj()
				c.w.KS("dBInstanceIdentifier", c.a.rds)
				c.w.EndObj()
			}},
		{src: "ecr.amazonaws.com", name: "GetAuthorizationToken", svc: "ecr", cli: "get-authorization-token", endpoint: "api.ecr", ver: "1.08", ro: true, weight: 1,
			callers: callers("ec2:2 ecs:2 ci:2 oidc:1"),
			params: func(c *ctx) {
				c.w.Obj()
				c.w.KRaw("registryIds", `["`+c.a.id+`"]`)
				c.w.EndObj()
			}},
		{src: "elasticloadbalancing.amazonaws.com", name: "DescribeTargetHealth", svc: "elasticloadbalancing", cli: "describe-target-health", endpoint: "elasticloadbalancing", ver: "1.08", ro: true, weight: 0.6,
			callers: callers("service:2 console:1 ci:1"), invokers: []string{"autoscaling.amazonaws.com", "ecs.amazonaws.com"},
			params: func(c *ctx) {
				c.w.Obj()
				c.w.KS("targetGroupArn", "arn:aws:elasticloadbalancing:"+c.e.region+":"+c.a.id+":targetgroup/"+c.a.name+"-web/"+strconv.FormatUint(hashOf(strHash(c.a.id), strHash(c.e.region))&0xffffffffffff, 16))
				c.w.EndObj()
			}},

		// ---- Organizations, Identity Center, GuardDuty (one account each)
		{src: "organizations.amazonaws.com", name: "ListAccounts", svc: "organizations", cli: "list-accounts", host: "organizations.us-east-1.amazonaws.com", ver: "1.08", global: true, ro: true, weight: 0.3,
			only: "management", callers: callers("console:2 lambda:2 sso:1 human:1")},
		{src: "organizations.amazonaws.com", name: "DescribeOrganization", svc: "organizations", cli: "describe-organization", host: "organizations.us-east-1.amazonaws.com", ver: "1.08", global: true, ro: true, weight: 0.3,
			only: "management", callers: callers("lambda:2 console:1 config:1")},
		{src: "sso.amazonaws.com", name: "GetRoleCredentials", svc: "sso", cli: "get-role-credentials", host: "portal.sso.us-east-1.amazonaws.com", ver: "1.08", global: true, ro: true, weight: 0.4,
			only: "management", callers: callers("idc:1"), params: paramsGetRoleCredentials},
		{src: "sso.amazonaws.com", name: "ListAccountRoles", svc: "sso", cli: "list-account-roles", host: "portal.sso.us-east-1.amazonaws.com", ver: "1.08", global: true, ro: true, weight: 0.2,
			only: "management", callers: callers("idc:1"), params: paramsGetRoleCredentials},
		{src: "guardduty.amazonaws.com", name: "ListFindings", svc: "guardduty", cli: "list-findings", endpoint: "guardduty", ver: "1.08", ro: true, weight: 0.6,
			only: "security", callers: callers("lambda:3 console:1"), params: paramsListFindings},
		{src: "guardduty.amazonaws.com", name: "GetFindings", svc: "guardduty", cli: "get-findings", endpoint: "guardduty", ver: "1.08", ro: true, weight: 0.4,
			only: "security", callers: callers("lambda:3 console:1"), params: paramsGetFindings},

		// ---- ECS, Glue (large requestParameters)
		{src: "ecs.amazonaws.com", name: "RegisterTaskDefinition", svc: "ecs", cli: "register-task-definition", endpoint: "ecs", ver: "1.08", large: true, weight: 0.01,
			callers: callers("ci:2 oidc:2"), params: paramsRegisterTaskDefinition, resp: respRegisterTaskDefinition},
		{src: "glue.amazonaws.com", name: "BatchCreatePartition", svc: "glue", cli: "batch-create-partition", endpoint: "glue", ver: "1.08", large: true, weight: 0.01,
			callers: callers("lambda:2 service:1"), invokers: []string{"glue.amazonaws.com"}, params: paramsBatchCreatePartition,
			resp: rawParams(`{"errors":[]}`)},

		// ---- Sign-in (story and scripted events only)
		{src: "signin.amazonaws.com", name: "ConsoleLogin", svc: "signin", host: "signin.aws.amazon.com", ver: "1.08", ver2: "1.09", global: true, etype: "AwsConsoleSignIn"},
	}
	for i, ap := range list {
		ap.idx = i
		if ap.endpoint == "" {
			ap.endpoint = ap.svc
		}
		ap.cliSuffix = " md/command#" + ap.cliSvc() + "." + ap.cli
		ap.tfSuffix = " api/" + ap.svc + "#1." + strconv.Itoa(20+int(strHash(ap.svc)%40)) + ".3"
	}
	return list
}

// rawParams returns a writer of fixed JSON.
func rawParams(raw string) func(c *ctx) {
	return func(c *ctx) { c.w.Raw(raw) }
}

// ---- S3

func (c *ctx) pickBucket() {
	bs := c.a.buckets
	i := c.r.IntN(len(bs))
	if c.r.Float64() < 0.4 {
		i = 0
	}
	c.bucket = c.a.bucketNames[c.cri][i]
	c.bkind = bs[i].kind
}

func prepS3Bucket(c *ctx) { c.pickBucket() }

func prepS3Object(c *ctx) {
	c.pickBucket()
	r, t := c.r, c.e.t
	k := c.key[:0]
	switch c.bkind {
	case bkAssets:
		if r.Float64() < 0.5 {
			k = append(k, "static/js/main."...)
			k = appendHex(k, r, 8)
			k = append(k, ".chunk.js"...)
			c.size = r.logUniform(20_000, 900_000)
		} else {
			k = append(k, "images/products/"...)
			k = strconv.AppendInt(k, int64(r.between(1000, 99999)), 10)
			k = append(k, '/')
			k = appendUUID(k, r)
			k = append(k, ".webp"...)
			c.size = r.logUniform(8_000, 2_000_000)
		}
	case bkExports:
		k = append(k, "exports/"...)
		k = appendDate(k, t, '/')
		k = append(k, "/customer-"...)
		k = strconv.AppendInt(k, int64(r.between(10000, 99999)), 10)
		k = append(k, "/invoices-"...)
		k = strconv.AppendInt(k, int64(r.between(1, 40)), 10)
		k = append(k, ".csv.gz"...)
		c.size = r.logUniform(2_000, 40_000_000)
	case bkLake:
		k = append(k, "raw/events/dt="...)
		k = appendDate(k, t, '-')
		k = append(k, "/hour="...)
		k = append2(k, int(t%86400/3600))
		k = append(k, "/part-000"...)
		k = append2(k, r.IntN(64))
		k = append(k, '-')
		k = appendUUID(k, r)
		k = append(k, ".snappy.parquet"...)
		c.size = r.logUniform(100_000, 180_000_000)
	case bkBackups:
		k = append(k, "postgres/"...)
		k = append(k, c.a.rds...)
		k = append(k, '/')
		k = appendDate(k, t, '-')
		k = append(k, "/base-"...)
		k = appendHex(k, r, 8)
		k = append(k, ".tar.zst"...)
		c.size = r.logUniform(50_000_000, 4_000_000_000)
	case bkFindings:
		k = append(k, "AWSLogs/"...)
		k = append(k, c.g.w.security.id...)
		k = append(k, "/GuardDuty/"...)
		k = append(k, c.e.region...)
		k = append(k, '/')
		k = appendDate(k, t, '/')
		k = append(k, '/')
		k = appendUUID(k, r)
		k = append(k, ".jsonl.gz"...)
		c.size = r.logUniform(1_000, 9_000)
	case bkState:
		k = append(k, "env/"...)
		k = append(k, pick(r, []string{"network", "iam", "org", "sso"})...)
		k = append(k, "/terraform.tfstate"...)
		c.size = r.logUniform(20_000, 900_000)
	default:
		k = append(k, "builds/"...)
		k = append(k, pick(r, []string{"checkout-api", "catalog-api", "web", "worker"})...)
		k = append(k, '/')
		k = appendHex(k, r, 12)
		k = append(k, "/bundle.zip"...)
		c.size = r.logUniform(200_000, 90_000_000)
	}
	c.key = k
}

func (c *ctx) writeS3Host() {
	w := c.w
	w.K("Host")
	w.Open()
	w.b = append(w.b, c.bucket...)
	w.b = append(w.b, ".s3."...)
	w.b = append(w.b, c.e.region...)
	w.b = append(w.b, ".amazonaws.com"...)
	w.Close()
}

func paramsS3Object(c *ctx) {
	w := c.w
	w.Obj()
	w.KS("bucketName", c.bucket)
	c.writeS3Host()
	w.K("key")
	w.SB(c.key)
	w.EndObj()
}

func paramsS3Put(c *ctx) {
	w := c.w
	w.Obj()
	w.KS("bucketName", c.bucket)
	c.writeS3Host()
	w.K("key")
	w.SB(c.key)
	if c.bkind == bkLake || c.bkind == bkExports {
		w.KS("x-amz-server-side-encryption", "aws:kms")
	}
	w.EndObj()
}

func respS3Put(c *ctx) {
	w := c.w
	w.Obj()
	if c.bkind == bkLake || c.bkind == bkExports {
		w.KS("x-amz-server-side-encryption", "aws:kms")
		w.KS("x-amz-server-side-encryption-aws-kms-key-id", "arn:aws:kms:"+c.e.region+":"+c.a.id+":key/"+c.a.kmsKeys[c.cri][0])
		w.KS("x-amz-server-side-encryption-bucket-key-enabled", "true")
	} else {
		w.KS("x-amz-server-side-encryption", "AES256")
	}
	if c.bkind == bkBackups {
		w.K("x-amz-version-id")
		w.Open()
		w.b = appendChars(w.b, c.r, mixedAlnum, 32)
		w.Close()
	}
	w.EndObj()
}

func paramsS3List(c *ctx) {
	w := c.w
	w.Obj()
	w.KS("list-type", "2")
	w.KS("bucketName", c.bucket)
	w.KS("encoding-type", "url")
	w.KS("max-keys", "1000")
	prefix := c.key
	if i := lastSlash(prefix); i > 0 {
		prefix = prefix[:i+1]
	}
	w.K("prefix")
	w.SB(prefix)
	w.KS("delimiter", "/")
	c.writeS3Host()
	w.EndObj()
}

func lastSlash(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '/' {
			return i
		}
	}
	return -1
}

func paramsS3Sub(sub string) func(c *ctx) {
	return func(c *ctx) {
		w := c.w
		w.Obj()
		w.KS("bucketName", c.bucket)
		c.writeS3Host()
		w.KS(sub, "")
		w.EndObj()
	}
}

func extraS3(c *ctx) {
	w, e, r := c.w, c.e, c.r
	w.Obj()
	w.KS("SignatureVersion", "SigV4")
	w.KS("CipherSuite", "TLS_AES_128_GCM_SHA256")
	in, out := int64(0), int64(0)
	switch {
	case e.errCode != "":
		out = int64(r.between(200, 400))
	case e.api.name == "GetObject":
		out = c.size
	case e.api.name == "PutObject":
		in = c.size
	case e.api.name == "ListObjects", e.api.name == "ListBuckets":
		out = int64(r.between(400, 60000))
	case e.api.name == "GetBucketPolicy", e.api.name == "GetBucketAcl", e.api.name == "GetBucketEncryption":
		out = int64(r.between(200, 2400))
	case e.api.name == "PutBucketPolicy":
		in = c.size
	}
	w.KI("bytesTransferredIn", in)
	w.KS("AuthenticationMethod", "AuthHeader")
	w.K("x-amz-id-2")
	w.Open()
	w.b = appendChars(w.b, r, base64Chars, 76)
	w.b = append(w.b, '=')
	w.Close()
	w.KI("bytesTransferredOut", out)
	w.EndObj()
}

func resS3Object(c *ctx) {
	w := c.w
	w.Arr()
	w.Obj()
	w.KS("type", "AWS::S3::Object")
	w.K("ARN")
	w.Open()
	w.b = append(w.b, "arn:aws:s3:::"...)
	w.b = append(w.b, c.bucket...)
	w.b = append(w.b, '/')
	w.b = append(w.b, c.key...)
	w.Close()
	w.EndObj()
	c.bucketResource()
	w.EndArr()
}

func resS3Bucket(c *ctx) {
	c.w.Arr()
	c.bucketResource()
	c.w.EndArr()
}

func (c *ctx) bucketResource() {
	w := c.w
	w.Obj()
	w.KS("accountId", c.a.id)
	w.KS("type", "AWS::S3::Bucket")
	w.KS2("ARN", "arn:aws:s3:::", c.bucket)
	w.EndObj()
}

// ---- KMS

func prepKMS(c *ctx) {
	keys := c.a.kmsARNs[c.cri]
	c.keyID = keys[c.r.IntN(len(keys))]
	if c.e.invoker == "s3.amazonaws.com" || c.e.invoker == "dynamodb.amazonaws.com" {
		c.pickBucket()
	}
}

func prepServiceEvent(c *ctx) {
	e := c.e
	e.idType = "-"
	e.noTLS = true
	if e.api.svc == "kms" {
		prepKMS(c)
	}
}

func paramsDecrypt(c *ctx) {
	w, e := c.w, c.e
	w.Obj()
	w.KObj("encryptionContext")
	switch {
	case e.invoker == "s3.amazonaws.com":
		w.KS2("aws:s3:arn", "arn:aws:s3:::", c.bucket)
	case e.invoker == "secretsmanager.amazonaws.com":
		w.K("SecretARN")
		w.Open()
		c.appendSecretARN(c.a.secrets[0])
		w.Close()
		w.K("SecretVersionId")
		w.Open()
		w.b = appendUUID(w.b, c.r)
		w.Close()
	case e.invoker == "ebs.amazonaws.com":
		w.KS2("aws:ebs:id", "vol-", hexStr(c.r, 17))
	case e.invoker == "dynamodb.amazonaws.com":
		w.KS("aws:dynamodb:tableName", pick(c.r, c.a.tables))
		w.KS("aws:dynamodb:subscriberId", c.a.id)
	case e.invoker == "logs.amazonaws.com":
		w.KS("aws:logs:arn", "arn:aws:logs:"+e.region+":"+c.a.id+":log-group:/aws/lambda/"+pick(c.r, c.a.lambdas))
	case e.p.kind == kLambda:
		w.K("aws:lambda:FunctionArn")
		w.Open()
		w.b = append(w.b, "arn:aws:lambda:"...)
		w.b = append(w.b, e.region...)
		w.b = append(w.b, ':')
		w.b = append(w.b, c.a.id...)
		w.b = append(w.b, ":function:"...)
		w.b = append(w.b, e.session...)
		w.Close()
	}
	w.EndObj()
	w.KS("encryptionAlgorithm", "SYMMETRIC_DEFAULT")
	w.EndObj()
}

func paramsGenerateDataKey(c *ctx) {
	w, e := c.w, c.e
	w.Obj()
	w.KS("keyId", c.keyID)
	if e.invoker == "s3.amazonaws.com" {
		w.KObj("encryptionContext")
		w.KS2("aws:s3:arn", "arn:aws:s3:::", c.bucket)
		w.EndObj()
	}
	w.KS("keySpec", "AES_256")
	w.EndObj()
}

func resKMS(c *ctx) {
	w := c.w
	w.Arr()
	w.Obj()
	w.KS("accountId", c.a.id)
	w.KS("type", "AWS::KMS::Key")
	w.KS("ARN", c.keyID)
	w.EndObj()
	w.EndArr()
}

// ---- STS

// prepAssumeRole picks the role being assumed and its session.
func prepAssumeRole(c *ctx) {
	e, a, r := c.e, c.a, c.r
	switch {
	case e.p.kind == kService && e.invoker == "lambda.amazonaws.com" && len(a.princ[kLambda]) > 0:
		p := pick(r, a.princ[kLambda])
		c.role, c.roleID, c.fn = p.name, p.principalID, p.session
	case e.p.kind == kService && e.invoker == "ecs-tasks.amazonaws.com" && len(a.princ[kECS]) > 0:
		p := pick(r, a.princ[kECS])
		c.role, c.roleID, c.fn = p.name, p.principalID, hexStr(r, 32)
	case e.p.kind == kService && len(a.princ[kEC2]) > 0:
		e.invoker = "ec2.amazonaws.com"
		e.ip, e.ua = e.invoker, e.invoker
		p := pick(r, a.princ[kEC2])
		c.role, c.roleID = p.name, p.principalID
		if c.n != nil {
			c.fn = pick(r, c.n.instances).instanceID
		} else {
			c.fn = "i-" + hexStr(r, 17)
		}
	case e.p.kind == kService:
		e.invoker = "lambda.amazonaws.com"
		e.ip, e.ua = e.invoker, e.invoker
		c.role, c.roleID, c.fn = "OrganizationAccountAccessRole", c.fixedRoleID("OrganizationAccountAccessRole"), "lambda"
	case e.p.kind == kXAcct:
		e.shared = true
		c.role = "SecurityAuditRole"
		if r.Float64() < 0.3 {
			c.role = "OrganizationAccountAccessRole"
		}
		c.roleID, c.fn = c.fixedRoleID(c.role), "security-automation"
	default:
		c.role, c.roleID = "terraform-deploy", c.fixedRoleID("terraform-deploy")
		c.fn = "terraform-" + strconv.FormatInt(e.t, 10)
	}
}

// fixedRoleID derives the unique id of a role the world does not model.
func (c *ctx) fixedRoleID(name string) string {
	return string(appendKeyChars([]byte("AROA"), hashOf(c.g.w.seed, strHash(c.a.id), strHash(name)), 17))
}

func paramsAssumeRole(c *ctx) {
	w := c.w
	w.Obj()
	w.KS("roleArn", "arn:aws:iam::"+c.a.id+":role/"+c.rolePath()+c.role)
	w.KS("roleSessionName", c.fn)
	if c.e.p.kind != kService {
		w.KI("durationSeconds", 3600)
	}
	w.EndObj()
}

func (c *ctx) rolePath() string {
	if strings.HasSuffix(c.role, "-role") && c.e.invoker == "lambda.amazonaws.com" {
		return "service-role/"
	}
	return ""
}

func (c *ctx) writeCredentials(duration int64) {
	w, r := c.w, c.r
	w.KObj("credentials")
	w.K("accessKeyId")
	w.Open()
	w.b = append(w.b, "ASIA"...)
	w.b = appendChars(w.b, r, base32Chars, 16)
	w.Close()
	w.K("sessionToken")
	w.Open()
	w.b = append(w.b, "IQoJb3JpZ2luX2VjE"...)
	w.b = appendChars(w.b, r, base64Chars, 180)
	w.Close()
	w.KS("expiration", stsDate(c.e.t+duration))
	w.EndObj()
}

func (c *ctx) writeAssumedRoleUser() {
	w := c.w
	w.KObj("assumedRoleUser")
	w.KS3("assumedRoleId", c.roleID, ":", c.fn)
	w.KS("arn", "arn:aws:sts::"+c.a.id+":assumed-role/"+c.role+"/"+c.fn)
	w.EndObj()
}

func respAssumeRole(c *ctx) {
	w := c.w
	w.Obj()
	c.writeCredentials(3600)
	c.writeAssumedRoleUser()
	w.EndObj()
}

func resRole(c *ctx) {
	w := c.w
	w.Arr()
	w.Obj()
	w.KS("accountId", c.a.id)
	w.KS("type", "AWS::IAM::Role")
	w.KS("ARN", c.roleARN())
	w.EndObj()
	w.EndArr()
}

func (c *ctx) roleARN() string {
	if c.e.p != nil && (c.e.p.kind == kSAML || c.e.p.kind == kOIDC) {
		return c.e.p.arn
	}
	return "arn:aws:iam::" + c.a.id + ":role/" + c.rolePath() + c.role
}

func prepSAML(c *ctx) {
	e := c.e
	e.idType = "SAMLUser"
	c.role, c.roleID, c.fn = e.p.name, e.p.principalID, e.session
}

func (c *ctx) samlProvider() string {
	return "arn:aws:iam::" + c.a.id + ":saml-provider/AWSSSO_" + c.g.w.ssoSuffix["AdministratorAccess"] + "_DO_NOT_DELETE"
}

func paramsSAML(c *ctx) {
	w := c.w
	w.Obj()
	w.KS("sAMLAssertionID", "_"+hexStr(c.r, 8)+"-"+hexStr(c.r, 4)+"-"+hexStr(c.r, 4)+"-"+hexStr(c.r, 4)+"-"+hexStr(c.r, 12))
	w.KS("roleSessionName", c.fn)
	w.KS("principalArn", c.samlProvider())
	w.KS("roleArn", c.e.p.arn)
	w.KI("durationSeconds", 43200)
	w.EndObj()
}

func respSAML(c *ctx) {
	w := c.w
	w.Obj()
	c.writeCredentials(43200)
	c.writeAssumedRoleUser()
	w.KS("subject", c.fn)
	w.KS("subjectType", "persistent")
	w.KS("issuer", "https://portal.sso.us-east-1.amazonaws.com/saml/assertion/"+c.samlQualifier())
	w.KS("audience", "https://signin.aws.amazon.com/saml")
	w.KS("nameQualifier", c.samlQualifier())
	w.EndObj()
}

func prepOIDC(c *ctx) {
	e := c.e
	e.idType = "WebIdentityUser"
	c.role, c.roleID, c.fn = e.p.name, e.p.principalID, e.p.session
}

func paramsOIDC(c *ctx) {
	w := c.w
	w.Obj()
	w.KS("roleArn", c.e.p.arn)
	w.KS("roleSessionName", c.fn)
	w.KI("durationSeconds", 3600)
	w.EndObj()
}

func respOIDC(c *ctx) {
	w := c.w
	w.Obj()
	c.writeCredentials(3600)
	w.KS("subjectFromWebIdentityToken", ghSubject)
	c.writeAssumedRoleUser()
	w.KS("provider", "arn:aws:iam::"+c.a.id+":oidc-provider/token.actions.githubusercontent.com")
	w.KS("audience", "sts.amazonaws.com")
	w.EndObj()
}

func paramsFederation(c *ctx) {
	w := c.w
	w.Obj()
	w.KS("name", "reporting-batch")
	w.KI("durationSeconds", 43200)
	w.EndObj()
}

func respFederation(c *ctx) {
	w := c.w
	w.Obj()
	c.writeCredentials(43200)
	w.KObj("federatedUser")
	w.KS("federatedUserId", c.a.id+":reporting-batch")
	w.KS("arn", "arn:aws:sts::"+c.a.id+":federated-user/reporting-batch")
	w.EndObj()
	w.EndObj()
}

// ---- IAM

func prepRoleName(c *ctx) {
	a, r := c.a, c.r
	var name string
	switch x := r.IntN(4); {
	case x == 0 && len(a.princ[kLambda]) > 0:
		name = pick(r, a.princ[kLambda]).name
	case x == 1 && len(a.princ[kEC2]) > 0:
		name = pick(r, a.princ[kEC2]).name
	case x == 2:
		name = pick(r, a.princ[kSSO]).name
	default:
		name = "SecurityAuditRole"
	}
	c.role = name
}

func paramsRoleName(c *ctx) {
	if c.role == "" {
		prepRoleName(c)
	}
	c.w.Obj()
	c.w.KS("roleName", c.role)
	c.w.EndObj()
}

func paramsUserName(c *ctx) {
	w := c.w
	w.Obj()
	if len(c.a.users) > 0 {
		w.KS("userName", pick(c.r, c.a.users).name)
	} else {
		w.KS("userName", "break-glass-admin")
	}
	w.EndObj()
}

func paramsStoryUser(c *ctx) {
	c.w.Obj()
	c.w.KS("userName", c.e.user)
	c.w.EndObj()
}

func respCreateUser(c *ctx) {
	w, e := c.w, c.e
	w.Obj()
	w.KObj("user")
	w.KS("path", "/")
	w.KS("userName", e.user)
	w.KS("userId", e.newID)
	w.KS("arn", "arn:aws:iam::"+c.a.id+":user/"+e.user)
	w.KS("createDate", iamDate(e.t))
	w.EndObj()
	w.EndObj()
}

func respCreateAccessKey(c *ctx) {
	w, e := c.w, c.e
	w.Obj()
	w.KObj("accessKey")
	w.KS("userName", e.user)
	w.KS("accessKeyId", e.newKey)
	w.KS("status", "Active")
	w.KS("createDate", iamDate(e.t))
	w.EndObj()
	w.EndObj()
}

// ---- EC2

func prepInstance(c *ctx) {
	if c.n != nil && c.inst == nil {
		c.inst = pick(c.r, c.n.instances)
	}
}

func paramsCreateTags(c *ctx) {
	w, r := c.w, c.r
	w.Obj()
	w.KObj("resourcesSet")
	w.KArr("items")
	w.Obj()
	if c.n != nil {
		w.KS("resourceId", pick(r, c.n.instances).instanceID)
	} else {
		w.KS2("resourceId", "i-", hexStr(r, 17))
	}
	w.EndObj()
	w.EndArr()
	w.EndObj()
	w.KObj("tagSet")
	w.KTags("items", [][2]string{{"Owner", pick(r, []string{"team-payments", "team-catalog", "team-platform", "team-data"})}, {"CostCenter", strconv.Itoa(r.between(1000, 1999))}})
	w.EndObj()
	w.EndObj()
}

func paramsTerminate(c *ctx) {
	w := c.w
	w.Obj()
	w.KObj("instancesSet")
	w.KArr("items")
	w.Obj()
	w.KS("instanceId", c.instanceID())
	w.EndObj()
	w.EndArr()
	w.EndObj()
	w.EndObj()
}

func (c *ctx) instanceID() string {
	if c.inst != nil {
		return c.inst.instanceID
	}
	return "i-" + hexStr(c.r, 17)
}

func respTerminate(c *ctx) {
	w := c.w
	w.Obj()
	w.KSRaw("requestId", c.reqID)
	w.KObj("instancesSet")
	w.KArr("items")
	w.Obj()
	w.KS("instanceId", c.instanceID())
	w.KRaw("currentState", `{"code":32,"name":"shutting-down"}`)
	w.KRaw("previousState", `{"code":16,"name":"running"}`)
	w.EndObj()
	w.EndArr()
	w.EndObj()
	w.EndObj()
}

func paramsAuthorizeIngress(c *ctx) {
	w := c.w
	port := pick(c.r, []int{443, 8443, 5432, 6379})
	sg := "sg-" + hexStr(c.r, 17)
	if c.n != nil {
		sg = pick(c.r, c.n.sgs)
	}
	c.fn = sg
	c.size = int64(port)
	w.Obj()
	w.KS("groupId", sg)
	w.KObj("ipPermissions")
	w.KArr("items")
	w.Obj()
	w.KS("ipProtocol", "tcp")
	w.KI("fromPort", int64(port))
	w.KI("toPort", int64(port))
	w.KObj("groups")
	w.EndObj()
	w.KObj("ipRanges")
	w.KArr("items")
	w.Obj()
	w.KS("cidrIp", "10.0.0.0/8")
	w.KS("description", "internal")
	w.EndObj()
	w.EndArr()
	w.EndObj()
	w.KObj("ipv6Ranges")
	w.EndObj()
	w.KObj("prefixListIds")
	w.EndObj()
	w.EndObj()
	w.EndArr()
	w.EndObj()
	w.EndObj()
}

func respAuthorizeIngress(c *ctx) {
	w := c.w
	w.Obj()
	w.KSRaw("requestId", c.reqID)
	w.KB("_return", true)
	w.KObj("securityGroupRuleSet")
	w.KArr("items")
	w.Obj()
	w.KS("groupOwnerId", c.a.id)
	w.KS("groupId", c.fn)
	w.KS2("securityGroupRuleId", "sgr-", hexStr(c.r, 17))
	w.KB("isEgress", false)
	w.KS("ipProtocol", "tcp")
	w.KI("fromPort", c.size)
	w.KI("toPort", c.size)
	w.KS("cidrIpv4", "10.0.0.0/8")
	w.KS("description", "internal")
	w.EndObj()
	w.EndArr()
	w.EndObj()
	w.EndObj()
}

// ---- Lambda, Logs, CloudWatch

func prepLambda(c *ctx) {
	if c.e.p != nil && c.e.p.kind == kLambda && c.e.api.name != "Invoke" {
		c.fn = c.e.session
		return
	}
	c.fn = pick(c.r, c.a.lambdas)
}

func (c *ctx) appendFnARN() {
	w := c.w
	w.b = append(w.b, "arn:aws:lambda:"...)
	w.b = append(w.b, c.e.region...)
	w.b = append(w.b, ':')
	w.b = append(w.b, c.a.id...)
	w.b = append(w.b, ":function:"...)
	w.b = append(w.b, c.fn...)
}

func paramsInvoke(c *ctx) {
	w, e := c.w, c.e
	w.Obj()
	w.K("functionName")
	w.Open()
	c.appendFnARN()
	w.Close()
	switch e.invoker {
	case "apigateway.amazonaws.com":
		w.KS("sourceArn", "arn:aws:execute-api:"+e.region+":"+c.a.id+":"+strconv.FormatUint(hashOf(strHash(c.a.id))&0xffffffffff, 36)+"/prod/POST/"+c.fn)
	case "events.amazonaws.com":
		w.KS("sourceArn", "arn:aws:events:"+e.region+":"+c.a.id+":rule/"+c.fn+"-schedule")
	case "sqs.amazonaws.com":
		w.KS("sourceArn", "arn:aws:sqs:"+e.region+":"+c.a.id+":"+c.fn+"-queue")
	case "s3.amazonaws.com":
		w.KS("sourceArn", "arn:aws:s3:::"+c.a.buckets[0].base+"-"+e.region)
	}
	w.EndObj()
}

func resLambda(c *ctx) {
	w := c.w
	w.Arr()
	w.Obj()
	w.KS("accountId", c.a.id)
	w.KS("type", "AWS::Lambda::Function")
	w.K("ARN")
	w.Open()
	c.appendFnARN()
	w.Close()
	w.EndObj()
	w.EndArr()
}

func paramsUpdateCode(c *ctx) {
	w := c.w
	w.Obj()
	w.KS("functionName", c.fn)
	w.KS("s3Bucket", c.a.buckets[0].base+"-"+c.e.region)
	w.KS("s3Key", "lambda/"+c.fn+"/"+hexStr(c.r, 12)+".zip")
	w.KB("publish", false)
	w.KRaw("architectures", `["arm64"]`)
	w.EndObj()
}

func respUpdateCode(c *ctx) {
	w, r := c.w, c.r
	w.Obj()
	w.KS("functionName", c.fn)
	w.K("functionArn")
	w.Open()
	c.appendFnARN()
	w.Close()
	w.KS("runtime", "python3.12")
	w.KS("role", "arn:aws:iam::"+c.a.id+":role/service-role/"+c.fn+"-role")
	w.KS("handler", "app.handler")
	w.KI("codeSize", int64(r.between(20_000, 9_000_000)))
	w.KS("description", "")
	w.KI("timeout", 30)
	w.KI("memorySize", 512)
	w.KS("lastModified", string(appendTime(nil, c.e.t)[:19])+".000+0000")
	w.K("codeSha256")
	w.Open()
	w.b = appendChars(w.b, r, base64Chars, 43)
	w.b = append(w.b, '=')
	w.Close()
	w.KS("version", "$LATEST")
	w.KRaw("tracingConfig", `{"mode":"PassThrough"}`)
	w.KS("revisionId", uuidStr(r))
	w.KS("state", "Active")
	w.KS("lastUpdateStatus", "InProgress")
	w.KS("lastUpdateStatusReason", "The function is being created.")
	w.KS("lastUpdateStatusReasonCode", "Creating")
	w.KS("packageType", "Zip")
	w.KRaw("architectures", `["arm64"]`)
	w.KRaw("ephemeralStorage", `{"size":512}`)
	w.KRaw("snapStart", `{"applyOn":"None","optimizationStatus":"Off"}`)
	w.KRaw("loggingConfig", `{"logFormat":"Text","logGroup":"/aws/lambda/`+c.fn+`"}`)
	w.EndObj()
}

func paramsCreateLogStream(c *ctx) {
	w, e := c.w, c.e
	w.Obj()
	if e.p != nil && e.p.kind == kECS {
		svc := "app"
		if len(c.a.ecs) > 0 {
			svc = c.a.ecs[0]
		}
		w.KS("logGroupName", "/ecs/"+svc)
		w.KS("logStreamName", "ecs/"+svc+"/"+e.session)
	} else {
		w.KS("logGroupName", "/aws/lambda/"+c.fn)
		w.K("logStreamName")
		w.Open()
		w.b = appendDate(w.b, e.t, '/')
		w.b = append(w.b, "/[$LATEST]"...)
		w.b = appendHex(w.b, c.r, 32)
		w.Close()
	}
	w.EndObj()
}

func paramsFilterLogEvents(c *ctx) {
	w, t := c.w, c.e.t
	w.Obj()
	w.KS("logGroupName", "/aws/lambda/"+c.fn)
	w.KI("startTime", (t-3600)*1000)
	w.KI("endTime", t*1000)
	w.KS("filterPattern", pick(c.r, []string{"ERROR", "\"Task timed out\"", "?ERROR ?Exception", ""}))
	w.KB("interleaved", true)
	w.EndObj()
}

func paramsGetMetricData(c *ctx) {
	w, t := c.w, c.e.t
	w.Obj()
	w.KArr("metricDataQueries")
	w.Obj()
	w.KS("id", "m1")
	w.KObj("metricStat")
	w.KObj("metric")
	w.KS("namespace", "AWS/EC2")
	w.KS("metricName", pick(c.r, []string{"CPUUtilization", "NetworkIn", "NetworkOut", "StatusCheckFailed"}))
	w.KArr("dimensions")
	w.Obj()
	w.KS("name", "InstanceId")
	w.KS("value", c.instanceID())
	w.EndObj()
	w.EndArr()
	w.EndObj()
	w.KI("period", 300)
	w.KS("stat", "Average")
	w.EndObj()
	w.KB("returnData", true)
	w.EndObj()
	w.EndArr()
	w.KS("startTime", stsDate(t-3*3600))
	w.KS("endTime", stsDate(t))
	w.EndObj()
}

// ---- SSM, Secrets Manager, CloudTrail, Identity Center, GuardDuty

func paramsUpdateInstanceInformation(c *ctx) {
	w, e := c.w, c.e
	ip := "10.0.0.10"
	az := 0
	if c.inst != nil {
		ip = c.inst.ip
		az = c.inst.sub.az
	}
	w.Obj()
	w.KS("instanceId", e.session)
	w.KS("agentVersion", "3.3.2958.0")
	w.KS("agentStatus", "Active")
	w.KS("platformType", "Linux")
	w.KS("platformName", "Amazon Linux")
	w.KS("platformVersion", "2023")
	w.KS("iPAddress", ip)
	w.KS("computerName", "ip-"+strings.ReplaceAll(ip, ".", "-")+"."+e.region+".compute.internal")
	w.KS("agentName", "amazon-ssm-agent")
	w.KS("availabilityZone", e.region+string(rune('a'+az)))
	if c.n != nil {
		w.KS("availabilityZoneId", c.n.azIDs[az])
	}
	w.KS("sSMConnectionChannel", "ssmmessages")
	w.EndObj()
}

func (c *ctx) appendSecretARN(name string) {
	w := c.w
	w.b = append(w.b, "arn:aws:secretsmanager:"...)
	w.b = append(w.b, c.e.region...)
	w.b = append(w.b, ':')
	w.b = append(w.b, c.a.id...)
	w.b = append(w.b, ":secret:"...)
	w.b = append(w.b, name...)
}

func paramsTrailName(c *ctx) {
	c.w.Obj()
	c.w.KS("name", c.g.w.trailARN)
	c.w.EndObj()
}

func paramsGetRoleCredentials(c *ctx) {
	w, r := c.w, c.r
	a := pick(r, c.g.w.accounts)
	w.Obj()
	w.KS("accountId", a.id)
	if c.e.api.name == "GetRoleCredentials" {
		w.KS("roleName", pick(r, []string{"AdministratorAccess", "ReadOnlyAccess", "PowerUserAccess"}))
	}
	w.EndObj()
}

func paramsListFindings(c *ctx) {
	w := c.w
	w.Obj()
	w.KS("detectorId", c.a.detectors[max(c.g.w.regionIndex(c.e.region), 0)])
	w.KObj("findingCriteria")
	w.KObj("criterion")
	w.KObj("updatedAt")
	w.KI("gte", (c.e.t-900)*1000)
	w.EndObj()
	w.EndObj()
	w.EndObj()
	w.KI("maxResults", 50)
	w.EndObj()
}

func paramsGetFindings(c *ctx) {
	w := c.w
	w.Obj()
	w.KS("detectorId", c.a.detectors[max(c.g.w.regionIndex(c.e.region), 0)])
	w.KArr("findingIds")
	for i := c.r.between(1, 3); i > 0; i-- {
		w.Open()
		w.b = appendHex(w.b, c.r, 32)
		w.Close()
	}
	w.EndArr()
	w.EndObj()
}

// User agents.
const (
	uaCLILinux    = "aws-cli/2.31.12 md/awscrt#0.28.1 ua/2.1 os/linux#6.8.0-1031-aws md/arch#x86_64 lang/python#3.13.7 md/pyimpl#CPython m/E,b cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24 md/prompt#off"
	uaCLIMac      = "aws-cli/2.30.6 md/awscrt#0.27.6 ua/2.1 os/macos#25.0.0 md/arch#arm64 lang/python#3.13.7 md/pyimpl#CPython m/b,E cfg/retry-mode#standard md/installer#source md/prompt#off"
	uaCLIWin      = "aws-cli/2.31.4 md/awscrt#0.28.1 ua/2.1 os/windows#11 md/arch#amd64 lang/python#3.13.7 md/pyimpl#CPython m/E cfg/retry-mode#standard md/installer#exe md/prompt#off"
	uaBoto3Local  = "Boto3/1.40.49 md/Botocore#1.40.49 ua/2.1 os/macos#25.0.0 md/arch#arm64 lang/python#3.12.11 md/pyimpl#CPython m/b,Z,D cfg/retry-mode#legacy Botocore/1.40.49"
	uaTerraform   = "APN/1.0 HashiCorp/1.0 Terraform/1.13.3 (+https://www.terraform.io) terraform-provider-aws/6.14.1 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.39.2 ua/2.1 os/linux lang/go#1.24.6 md/GOOS#linux md/GOARCH#amd64"
	uaJavaV1      = "aws-sdk-java/1.12.788 Linux/5.10.240-238.959.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.16+8-LTS java/17.0.16 vendor/Amazon.com_Inc. cfg/retry-mode/standard"
	uaJavaECS     = "aws-sdk-java/2.33.4 ua/2.1 os/Linux#5.10.240-258.930.amzn2.x86_64 lang/java#21.0.8 md/OpenJDK_64-Bit_Server_VM#21.0.8+9-LTS md/vendor#Amazon.com_Inc. md/en_US exec-env/AWS_ECS_FARGATE m/D,N cfg/auth-source#ecs"
	uaSSMAgent    = "aws-sdk-go/1.55.7 (go1.24.6; linux; amd64) amazon-ssm-agent/3.3.2958.0"
	uaCWAgent     = "CWAgent/1.300060.0 (go1.24.6; linux; amd64) ip-10-0-0-0 aws-sdk-go/1.55.7"
	uaBoto3EC2    = "Boto3/1.40.49 md/Botocore#1.40.49 ua/2.1 os/linux#6.1.147-172.266.amzn2023.x86_64 md/arch#x86_64 lang/python#3.9.23 md/pyimpl#CPython m/b cfg/retry-mode#legacy Botocore/1.40.49"
	uaBoto3Lambda = "Boto3/1.40.21 md/Botocore#1.40.21 ua/2.1 os/linux#5.10.240-258.930.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.11 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 m/Z,b,D cfg/retry-mode#legacy Botocore/1.40.21"
	uaNodeLambda  = "aws-sdk-js/3.864.0 ua/2.1 os/linux#5.10.240-258.930.amzn2.x86_64 lang/js md/nodejs#22.17.1 exec-env/AWS_Lambda_nodejs22.x m/N,E,e"
	uaProwler     = "Boto3/1.40.30 md/Botocore#1.40.30 ua/2.1 os/linux#6.1.147-172.266.amzn2023.x86_64 md/arch#x86_64 lang/python#3.12.11 md/pyimpl#CPython m/b,D cfg/retry-mode#standard Botocore/1.40.30 APN_1.1/pc_prowler"
	uaGHAction    = "aws-sdk-js/3.879.0 ua/2.1 os/linux#6.11.0-1018-azure lang/js md/nodejs#20.19.4 api/sts#3.879.0 m/N,E configure-aws-credentials-for-github-actions"
	uaS3Console   = "[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.783 Linux/5.10.238-211.938.amzn2int.x86_64 OpenJDK_64-Bit_Server_VM/25.452-b09 java/1.8.0_452 vendor/Oracle_Corporation cfg/retry-mode/standard]"
)

var (
	uaPeople   = []string{uaCLIMac, uaCLIMac, uaCLILinux, uaCLIWin, uaBoto3Local}
	uaBrowsers = []string{
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36 Edg/141.0.0.0",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:144.0) Gecko/20100101 Firefox/144.0",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.0 Safari/605.1.15",
	}
)
