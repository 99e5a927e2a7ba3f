package dashboard

// CloudTrail values the panels read from inside the record. Schema v9
// stores several of them as typed columns; until the panels use those,
// they are JSON extractions from raw, kept here in one place so that
// switching to the stored columns is a change to this file only. Each
// has the search field that selects the same value (a JSON path of the
// search language, which compiles to the same extraction).
const (
	// colConsoleLogin is responseElements.ConsoleLogin of a ConsoleLogin
	// event: Success or Failure.
	colConsoleLogin   = "json_extract_string(raw, '$.responseElements.ConsoleLogin')"
	fieldConsoleLogin = "responseElements.ConsoleLogin"
	// colMFAUsed is additionalEventData.MFAUsed of a ConsoleLogin event:
	// Yes or No.
	colMFAUsed   = "json_extract_string(raw, '$.additionalEventData.MFAUsed')"
	fieldMFAUsed = "additionalEventData.MFAUsed"

	// Request parameters naming what an IAM change changed.
	colReqUserName    = "json_extract_string(raw, '$.requestParameters.userName')"
	colReqRoleName    = "json_extract_string(raw, '$.requestParameters.roleName')"
	colReqGroupName   = "json_extract_string(raw, '$.requestParameters.groupName')"
	colReqPolicyArn   = "json_extract_string(raw, '$.requestParameters.policyArn')"
	colReqPolicyName  = "json_extract_string(raw, '$.requestParameters.policyName')"
	colReqAccessKeyID = "json_extract_string(raw, '$.requestParameters.accessKeyId')"
)
