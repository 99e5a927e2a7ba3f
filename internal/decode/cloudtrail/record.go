// Package cloudtrail turns parsed CloudTrail JSON into typed records: events
// of every eventVersion (1.0–1.11), Insight events, and digest files.
package cloudtrail

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/trawl-project/trawl/internal/event"
	"github.com/trawl-project/trawl/internal/jsonscan"
	"github.com/trawl-project/trawl/internal/jsonval"
)

// IsRecordKey reports whether key is one every CloudTrail event carries; an
// object with any of them is taken for an event.
func IsRecordKey(key string) bool {
	switch key {
	case "eventVersion", "eventName", "eventSource", "eventID":
		return true
	}
	return false
}

// IsDigestKey reports whether key marks a CloudTrail digest file.
func IsDigestKey(key string) bool {
	return key == "digestStartTime" || key == "digestS3Object"
}

// FromRaw builds an event from the text of one record, which must be a
// valid JSON object (the caller validates it). next, when not nil, returns
// the record's top-level members one at a time, as a pull iterator (the
// form iter.Pull2 returns): each key unescaped, with its value's JSON text,
// a substring of raw, and ok false after the last. With a nil next, FromRaw
// finds the members in raw itself. (A pull iterator, unlike an iter.Seq2,
// costs no allocation here: a callback would take the event to the heap.)
// Field values are substrings of raw where possible, so raw should be a
// string the caller keeps. It never fails on unexpected field types: such a
// field is left empty and the record stays whole in Raw.
func FromRaw(raw string, next func() (key, value string, ok bool)) event.CloudTrail {
	var e event.CloudTrail
	var insightName, insightSource string // insightDetails.eventName, .eventSource
	if next == nil {
		next = jsonscan.NewMemberIter(raw, nil).Next
	}
	for key, f, ok := next(); ok; key, f, ok = next() {
		switch key {
		case "eventTime":
			e.EventTime, _ = jsonval.ParseTime(jsonscan.Text(f))
		case "eventID":
			e.EventID = jsonscan.Text(f)
		case "eventVersion":
			e.EventVersion = jsonscan.Text(f)
		case "eventSource":
			e.EventSource = jsonscan.Text(f)
		case "eventName":
			e.EventName = jsonscan.Text(f)
		case "eventType":
			e.EventType = jsonscan.Text(f)
		case "eventCategory":
			e.EventCategory = jsonscan.Text(f)
		case "awsRegion":
			e.AWSRegion = jsonscan.Text(f)
		case "recipientAccountId":
			e.RecipientAccountID = jsonscan.Text(f)
		case "sourceIPAddress":
			e.SourceIP = jsonscan.Text(f)
		case "userAgent":
			e.UserAgent = jsonscan.Text(f)
		case "userIdentity":
			identity(&e, f)
		case "errorCode":
			e.ErrorCode = jsonscan.Text(f)
		case "errorMessage":
			e.ErrorMessage = jsonscan.Text(f)
		case "readOnly":
			e.ReadOnly = boolOf(f)
		case "managementEvent":
			e.ManagementEvent = boolOf(f)
		case "sessionCredentialFromConsole":
			e.CredentialFromCons = boolOf(f)
		case "requestID":
			e.RequestID = jsonscan.Text(f)
		case "sharedEventID":
			e.SharedEventID = jsonscan.Text(f)
		case "vpcEndpointId":
			e.VPCEndpointID = jsonscan.Text(f)
		case "apiVersion":
			e.APIVersion = jsonscan.Text(f)
		case "tlsDetails":
			jsonscan.Members(f, func(k, v string) bool {
				switch k {
				case "tlsVersion":
					e.TLSVersion = jsonscan.Text(v)
				case "cipherSuite":
					e.TLSCipherSuite = jsonscan.Text(v)
				case "clientProvidedHostHeader":
					e.TLSClientHost = jsonscan.Text(v)
				}
				return true
			})
		case "resources":
			e.Resources = jsonText(f)
		case "requestParameters":
			e.RequestParameters = jsonText(f)
			requestParameters(&e, f)
		case "responseElements":
			e.ResponseElements = jsonText(f)
			memberText(f, "ConsoleLogin", &e.ConsoleLogin)
		case "additionalEventData":
			e.AdditionalEventData = jsonText(f)
			memberText(f, "MFAUsed", &e.MFAUsed)
		case "serviceEventDetails":
			e.ServiceEventDetails = jsonText(f)
		case "insightDetails":
			e.InsightDetails = jsonText(f)
			jsonscan.Members(f, func(k, v string) bool {
				switch k {
				case "eventName":
					insightName = jsonscan.Text(v)
				case "eventSource":
					insightSource = jsonscan.Text(v)
				}
				return true
			})
		}
	}
	e.Raw = raw
	if e.EventID == "" {
		e.EventID = syntheticID(raw)
	}
	// An Insight event names the API it is about only in insightDetails.
	if e.EventName == "" {
		e.EventName = insightName
	}
	if e.EventSource == "" {
		e.EventSource = insightSource
	}
	e.SessionName = DeriveSessionName(&e)
	e.Principal = DerivePrincipal(&e)
	e.UserName = DeriveUserName(&e)
	return e
}

// requestParameters fills the event's typed request-parameter fields from
// the members of requestParameters (nothing when it is not an object).
func requestParameters(e *event.CloudTrail, v string) {
	jsonscan.Members(v, func(k, f string) bool {
		var dst *string
		switch k {
		case "bucketName":
			dst = &e.ReqBucketName
		case "key":
			dst = &e.ReqKey
		case "policyArn":
			dst = &e.ReqPolicyARN
		case "userName":
			dst = &e.ReqUserName
		case "roleName":
			dst = &e.ReqRoleName
		case "roleArn":
			dst = &e.ReqRoleARN
		case "groupName":
			dst = &e.ReqGroupName
		default:
			return true
		}
		if *dst == "" { // the first of duplicate keys, as DuckDB reads it
			*dst = jsonscan.Text(f)
		}
		return true
	})
}

// memberText sets *dst to the text of member key of the object v, as
// json_extract_string reads it; it leaves *dst alone when v is not an
// object or has no such member.
func memberText(v, key string, dst *string) {
	jsonscan.Members(v, func(k, f string) bool {
		if k == key {
			*dst = jsonscan.Text(f)
			return false
		}
		return true
	})
}

// jsonText keeps a free-form value as JSON text, "" for null.
func jsonText(v string) string {
	if jsonscan.IsNull(v) {
		return ""
	}
	return v
}

// boolOf reads true/false literals and the strings "true"/"false".
func boolOf(v string) event.Bool {
	switch strings.ToLower(jsonscan.Text(v)) {
	case "true":
		return event.BoolTrue
	case "false":
		return event.BoolFalse
	}
	return event.BoolNull
}

// syntheticID returns the id given to a record that has no eventID: a hash
// of its text, so that the same record delivered twice is still one event.
func syntheticID(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return "trawl-" + hex.EncodeToString(sum[:16])
}

func identity(e *event.CloudTrail, v string) {
	jsonscan.Members(v, func(k, f string) bool {
		switch k {
		case "type":
			e.UserType = jsonscan.Text(f)
		case "principalId":
			e.UserPrincipalID = jsonscan.Text(f)
		case "arn":
			e.UserARN = jsonscan.Text(f)
		case "accountId":
			e.UserAccountID = jsonscan.Text(f)
		case "accessKeyId":
			e.UserAccessKeyID = jsonscan.Text(f)
		case "userName":
			e.UserName = jsonscan.Text(f)
		case "invokedBy":
			e.InvokedBy = jsonscan.Text(f)
		case "onBehalfOf":
			jsonscan.Members(f, func(k, v string) bool {
				if k == "userId" {
					e.IdentityStoreUser = jsonscan.Text(v)
				}
				return true
			})
		case "sessionContext":
			sessionContext(e, f)
		}
		return true
	})
}

func sessionContext(e *event.CloudTrail, v string) {
	jsonscan.Members(v, func(k, f string) bool {
		switch k {
		case "sourceIdentity":
			e.SourceIdentity = jsonscan.Text(f)
		case "sessionIssuer":
			jsonscan.Members(f, func(k, v string) bool {
				switch k {
				case "type":
					e.SessionIssuerType = jsonscan.Text(v)
				case "arn":
					e.SessionIssuerARN = jsonscan.Text(v)
				case "userName":
					e.SessionIssuerName = jsonscan.Text(v)
				}
				return true
			})
		case "attributes":
			jsonscan.Members(f, func(k, v string) bool {
				switch k {
				case "mfaAuthenticated":
					e.MFAAuthenticated = boolOf(v)
				case "creationDate":
					e.SessionCreatedAt, _ = jsonval.ParseTime(jsonscan.Text(v))
				}
				return true
			})
		}
		return true
	})
}

// DeriveUserName names the principal that acted, whatever the identity
// type. It expects the identity fields to be filled, with UserName holding
// userIdentity.userName as recorded:
//
//   - IAMUser, SAMLUser, WebIdentityUser: userName, else the ARN's last part
//   - AssumedRole, Role: the session issuer's name (the role), else the role
//     in the ARN (arn:aws:sts::…:assumed-role/ROLE/SESSION)
//   - FederatedUser: the name in arn:aws:sts::…:federated-user/NAME
//   - Root: "root" (userName, when present, is the account alias)
//   - AWSService: the service (invokedBy)
//   - AWSAccount: the calling account (accountId), else principalId
//   - IdentityCenterUser: the Identity Center user id (onBehalfOf.userId),
//     else userName, else the ARN's last part
//   - Directory, Unknown and anything else: userName, else the Identity
//     Center user, else principalId, else the ARN's last part
func DeriveUserName(e *event.CloudTrail) string {
	switch e.UserType {
	case "IAMUser", "SAMLUser", "WebIdentityUser":
		if e.UserName != "" {
			return e.UserName
		}
		return arnTail(e.UserARN)
	case "AssumedRole", "Role":
		if e.SessionIssuerName != "" {
			return e.SessionIssuerName
		}
		if role, _ := assumedRoleParts(e.UserARN); role != "" {
			return role
		}
		return arnTail(e.UserARN)
	case "FederatedUser":
		if i := strings.Index(e.UserARN, ":federated-user/"); i >= 0 {
			return e.UserARN[i+len(":federated-user/"):]
		}
		if _, name, ok := strings.Cut(e.UserPrincipalID, ":"); ok {
			return name
		}
		return e.SessionIssuerName
	case "Root":
		return "root"
	case "AWSService":
		if e.InvokedBy != "" {
			return e.InvokedBy
		}
		return e.UserPrincipalID
	case "AWSAccount":
		if e.UserAccountID != "" {
			return e.UserAccountID
		}
		return e.UserPrincipalID
	case "IdentityCenterUser":
		if e.IdentityStoreUser != "" {
			return e.IdentityStoreUser
		}
		if e.UserName != "" {
			return e.UserName
		}
		if e.UserARN != "" {
			return arnTail(e.UserARN)
		}
		return e.UserPrincipalID
	}
	if e.UserName != "" {
		return e.UserName
	}
	if e.IdentityStoreUser != "" {
		return e.IdentityStoreUser
	}
	if e.UserPrincipalID != "" {
		return e.UserPrincipalID
	}
	return arnTail(e.UserARN)
}

// DeriveSessionName returns the role session name of an assumed-role
// identity: SESSION in arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION, else
// in a principalId of the form AROA…:SESSION (the unique id of a role and
// the session name; also when the identity's type is AssumedRole and the id
// is redacted). Other identities have none ("").
func DeriveSessionName(e *event.CloudTrail) string {
	if _, session := assumedRoleParts(e.UserARN); session != "" {
		return session
	}
	if strings.HasPrefix(e.UserPrincipalID, "AROA") || e.UserType == "AssumedRole" {
		if _, session, ok := strings.Cut(e.UserPrincipalID, ":"); ok {
			return session
		}
	}
	return ""
}

// DerivePrincipal names the person or actor behind an event, as far as the
// identity tells. It expects the identity fields, SessionName and UserName
// as recorded (userIdentity.userName) to be filled:
//
//   - any identity acting for an IAM Identity Center user
//     (onBehalfOf.userId): that user id
//   - Root: "root"
//   - IAMUser: userName, else the ARN's last part
//   - AssumedRole, Role: the source identity (sessionContext.sourceIdentity,
//     set to name the person across role chaining), else the session name
//     (the SSO user of AWSReservedSSO_… roles, an instance id, a function
//     name), else the role
//   - FederatedUser: the name in arn:aws:sts::…:federated-user/NAME, else the
//     part of principalId after ':'
//   - SAMLUser, WebIdentityUser: userName, else the part of principalId after
//     the last ':'
//   - AWSService: the service (invokedBy), else principalId
//   - AWSAccount: the session name in an AROA…:SESSION principalId, else
//     principalId, else the account (accountId, e.g. ANONYMOUS_PRINCIPAL)
//   - IdentityCenterUser, Directory, Unknown, none and anything else:
//     userName, else the session name, else invokedBy ("AWS Internal" for
//     AWS's own calls), else principalId, else the ARN's last part, else
//     accountId
func DerivePrincipal(e *event.CloudTrail) string {
	if e.IdentityStoreUser != "" {
		return e.IdentityStoreUser
	}
	switch e.UserType {
	case "Root":
		return "root"
	case "IAMUser":
		if e.UserName != "" {
			return e.UserName
		}
		return firstOf(arnTail(e.UserARN), e.UserPrincipalID, e.UserAccountID)
	case "AssumedRole", "Role":
		if e.SourceIdentity != "" {
			return e.SourceIdentity
		}
		if e.SessionName != "" {
			return e.SessionName
		}
		role, _ := assumedRoleParts(e.UserARN)
		return firstOf(e.SessionIssuerName, role, arnTail(e.UserARN), e.UserPrincipalID, e.UserAccountID)
	case "FederatedUser":
		if i := strings.Index(e.UserARN, ":federated-user/"); i >= 0 {
			return e.UserARN[i+len(":federated-user/"):]
		}
		if _, name, ok := strings.Cut(e.UserPrincipalID, ":"); ok {
			return name
		}
		return firstOf(e.UserName, e.UserPrincipalID, e.UserAccountID)
	case "SAMLUser", "WebIdentityUser":
		if e.UserName != "" {
			return e.UserName
		}
		if i := strings.LastIndexByte(e.UserPrincipalID, ':'); i >= 0 && i+1 < len(e.UserPrincipalID) {
			return e.UserPrincipalID[i+1:]
		}
		return firstOf(e.UserPrincipalID, arnTail(e.UserARN), e.UserAccountID)
	case "AWSService":
		return firstOf(e.InvokedBy, e.UserPrincipalID, e.UserAccountID)
	case "AWSAccount":
		return firstOf(e.SessionName, e.UserPrincipalID, e.UserAccountID)
	}
	return firstOf(e.UserName, e.SessionName, e.InvokedBy, e.UserPrincipalID, arnTail(e.UserARN), e.UserAccountID)
}

// firstOf returns the first of its arguments that is not empty.
func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// assumedRoleParts splits arn:…:assumed-role/ROLE/SESSION into its role and
// session names.
func assumedRoleParts(arn string) (role, session string) {
	i := strings.Index(arn, ":assumed-role/")
	if i < 0 {
		return "", ""
	}
	rest := arn[i+len(":assumed-role/"):]
	role, session, _ = strings.Cut(rest, "/")
	return role, session
}

// arnTail returns the name after the last slash of an ARN's resource part.
func arnTail(arn string) string {
	if arn == "" {
		return ""
	}
	if i := strings.LastIndexByte(arn, '/'); i >= 0 {
		return arn[i+1:]
	}
	if i := strings.LastIndexByte(arn, ':'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// DigestFromRaw builds a digest from the text of a digest file, a valid
// JSON object. It walks the text (a digest of a busy organization trail
// lists thousands of log files) and keeps substrings of it.
func DigestFromRaw(raw string) (event.Digest, error) {
	if raw == "" || raw[0] != '{' {
		return event.Digest{}, errors.New("digest is not a JSON object")
	}
	t := func(v string) time.Time {
		tm, _ := jsonval.TimeText(v)
		return tm
	}
	d := event.Digest{Raw: raw}
	jsonscan.Members(raw, func(k, v string) bool {
		switch k {
		case "awsAccountId":
			d.AccountID = jsonscan.Text(v)
		case "digestStartTime":
			d.DigestStart = t(v)
		case "digestEndTime":
			d.DigestEnd = t(v)
		case "digestS3Bucket":
			d.DigestS3Bucket = jsonscan.Text(v)
		case "digestS3Object":
			d.DigestS3Object = jsonscan.Text(v)
		case "newestEventTime":
			d.NewestEventTime = t(v)
		case "oldestEventTime":
			d.OldestEventTime = t(v)
		case "previousDigestS3Bucket":
			d.PreviousDigestBucket = jsonscan.Text(v)
		case "previousDigestS3Object":
			d.PreviousDigestObject = jsonscan.Text(v)
		case "previousDigestHashValue":
			d.PreviousDigestHash = jsonscan.Text(v)
		case "previousDigestHashAlgorithm":
			d.PreviousDigestHashAlg = jsonscan.Text(v)
		case "digestPublicKeyFingerprint":
			d.PublicKeyFingerprint = jsonscan.Text(v)
		case "digestSignatureAlgorithm":
			d.SignatureAlgorithm = jsonscan.Text(v)
		case "logFiles":
			jsonscan.Elements(v, func(el string) bool {
				var lf event.DigestLogFile
				jsonscan.Members(el, func(k, v string) bool {
					switch k {
					case "s3Bucket":
						lf.S3Bucket = jsonscan.Text(v)
					case "s3Object":
						lf.S3Object = jsonscan.Text(v)
					case "hashValue":
						lf.HashValue = jsonscan.Text(v)
					case "hashAlgorithm":
						lf.HashAlgorithm = jsonscan.Text(v)
					case "newestEventTime":
						lf.NewestEventTime = t(v)
					case "oldestEventTime":
						lf.OldestEventTime = t(v)
					}
					return true
				})
				d.LogFiles = append(d.LogFiles, lf)
				return true
			})
		}
		return true
	})
	return d, nil
}
