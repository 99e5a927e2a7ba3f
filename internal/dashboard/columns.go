package dashboard

// CloudTrail values the panels read from inside the record. Schema version
// 9 stores most of them as typed columns at ingest (docs/schema.md); the
// others (policyName, accessKeyId: read only for the IAM table's newest
// rows) are JSON extractions from raw. Each has the search field that
// selects the same value (the search language compiles the stored ones to
// the same columns).
const (
	// colConsoleLogin is responseElements.ConsoleLogin of a ConsoleLogin
	// event: Success or Failure.
	colConsoleLogin   = "console_login"
	fieldConsoleLogin = "responseElements.ConsoleLogin"
	// colMFAUsed is additionalEventData.MFAUsed of a ConsoleLogin event:
	// Yes or No.
	colMFAUsed   = "mfa_used"
	fieldMFAUsed = "additionalEventData.MFAUsed"

	// Request parameters naming what an IAM change changed.
	colReqUserName    = "req_user_name"
	colReqRoleName    = "req_role_name"
	colReqGroupName   = "req_group_name"
	colReqPolicyArn   = "req_policy_arn"
	colReqPolicyName  = "json_extract_string(raw, '$.requestParameters.policyName')"
	colReqAccessKeyID = "json_extract_string(raw, '$.requestParameters.accessKeyId')"
)
