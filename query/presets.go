package query

import (
	"fmt"
	"net"
	"regexp"
	"sort"
	"strings"
)

// Param is one parameter of a preset. Its value is bound to the SQL's
// $N placeholder (N is its position in Preset.Params, from 1), never
// pasted into the SQL text.
type Param struct {
	Name     string
	Doc      string
	Required bool
	Default  string // bound when the parameter is not given ("" is NULL for the SQL's nullif)
}

// Preset is a named investigation query (docs/query.md).
type Preset struct {
	Name   string
	Doc    string
	Params []Param
	SQL    string
	// Narrow, if set, returns a cheaper SQL for these arguments that gives
	// the same rows (for example: only the column an identifier of that
	// form can be in), or "" to keep SQL.
	Narrow func(args map[string]string) string
	// NarrowDoc says what Narrow does (docs/query.md).
	NarrowDoc string
}

// The time window parameters most presets take; empty means open.
var (
	sinceParam = Param{Name: "since", Doc: "from this time (e.g. 2024-08-01 or 2024-08-01T10:00:00Z)"}
	untilParam = Param{Name: "until", Doc: "before this time"}
)

// window is the SQL of the since/until parameters at $a and $b.
func window(a, b int) string {
	return fmt.Sprintf(`eventTime >= coalesce(CAST(nullif($%d, '') AS TIMESTAMPTZ), '-infinity'::TIMESTAMPTZ)
  AND eventTime < coalesce(CAST(nullif($%d, '') AS TIMESTAMPTZ), 'infinity'::TIMESTAMPTZ)`, a, b)
}

// TamperingEvents are the API calls that turn off or blind logging and
// security controls; the tampering preset also takes every Disable* call.
var TamperingEvents = []string{
	// CloudTrail
	"StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors", "PutInsightSelectors", "DeleteEventDataStore", "StopEventDataStoreIngestion",
	// VPC, DNS and CloudWatch logging
	"DeleteFlowLogs", "DeleteResolverQueryLogConfig", "DisassociateResolverQueryLogConfig", "DeleteLogGroup", "DeleteLogStream",
	"PutRetentionPolicy", "DeleteAlarms", "DisableAlarmActions",
	// Config
	"StopConfigurationRecorder", "DeleteConfigurationRecorder", "DeleteDeliveryChannel", "DeleteConfigRule", "DeleteConfigurationAggregator",
	// GuardDuty, Security Hub, Inspector, Macie, Access Analyzer, Detective
	"DeleteDetector", "UpdateDetector", "DeleteMembers", "DisassociateMembers", "DisassociateFromMasterAccount",
	"DisassociateFromAdministratorAccount", "StopMonitoringMembers", "DeletePublishingDestination", "CreateFilter", "UpdateFilter",
	"DeleteIPSet", "DeleteThreatIntelSet", "BatchDisableStandards", "DeleteInsight", "DeleteAnalyzer", "DeleteGraph",
	// KMS, EventBridge, WAF, S3 logging, Organizations
	"ScheduleKeyDeletion", "DeleteRule", "RemoveTargets", "DeleteWebACL", "DeleteLoggingConfiguration", "PutBucketLogging",
	"DeleteAccountPublicAccessBlock", "LeaveOrganization",
}

func sqlList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = lit(s)
	}
	return strings.Join(q, ", ")
}

// Presets are the built-in investigation queries (docs/query.md).
var Presets = map[string]Preset{
	"timeline": {Name: "timeline",
		Doc: "every event of one principal: its ARN, access key ID, session (principalId or role session ARN) or source IP",
		Params: []Param{{Name: "who", Required: true, Doc: "ARN, access key ID, principalId or source IP"}, sinceParam, untilParam,
			{Name: "limit", Default: "10000", Doc: "at most this many events"}},
		SQL: timelineSQL(timelineAny),
		Narrow: func(args map[string]string) string {
			if c := whoColumns(args["who"]); c != "" {
				return timelineSQL(c)
			}
			return ""
		},
		NarrowDoc: "For an ARN, an access key ID (`AKIA…`, `ASIA…`), an IP address or a session principalId (`AROA…:name`), " +
			"the `WHERE` clause keeps only the columns such a value can be in (the same rows, read faster: " +
			"`query TestTimelineNarrowingKeepsRows` checks it); any other value is looked up in every column as below."},
	"whois": {Name: "whois", Doc: "who used an access key: principal, first and last seen, from which IPs, regions and user agents",
		Params: []Param{{Name: "key", Required: true, Doc: "access key ID (AKIA... or ASIA...)"}},
		SQL: `SELECT userIdentity.arn AS principal, userIdentity.type AS identity_type, userIdentity.userName AS user_name, account,
  min(eventTime) AS first_seen, max(eventTime) AS last_seen, count(*) AS events, count(errorCode) AS errors,
  list(DISTINCT sourceIPAddress ORDER BY sourceIPAddress) AS source_ips,
  list(DISTINCT awsRegion ORDER BY awsRegion) AS regions,
  list(DISTINCT userAgent ORDER BY userAgent)[1:5] AS user_agents
FROM events
WHERE userIdentity.accessKeyId = $1
GROUP BY ALL
ORDER BY first_seen`},
	"errors": {Name: "errors", Doc: "error spikes: hours in which a principal's failed calls (failed console sign-ins included) reach min= and at least 3 times its usual hourly errors",
		Params: []Param{sinceParam, untilParam, {Name: "min", Default: "5", Doc: "fewest errors in an hour to report"}},
		SQL: `WITH hourly AS (
  SELECT coalesce(userIdentity.arn, userIdentity.userName, userIdentity.principalId, userIdentity.type) AS principal,
    date_trunc('hour', eventTime) AS hour, count(*) AS errors,
    list(DISTINCT coalesce(errorCode, errorMessage) ORDER BY coalesce(errorCode, errorMessage))[1:8] AS error_codes,
    list(DISTINCT eventName ORDER BY eventName)[1:8] AS event_names, list(DISTINCT sourceIPAddress ORDER BY sourceIPAddress)[1:5] AS source_ips
  FROM events
  WHERE (errorCode IS NOT NULL OR (responseElements->>'ConsoleLogin') = 'Failure') AND ` + window(1, 2) + `
  GROUP BY ALL),
baseline AS (
  SELECT *, coalesce(avg(errors) OVER (PARTITION BY principal ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING EXCLUDE CURRENT ROW), 0) AS usual
  FROM hourly)
SELECT hour, principal, errors, round(usual, 1) AS usual_per_hour, error_codes, event_names, source_ips
FROM baseline
WHERE errors >= CAST($3 AS BIGINT) AND errors >= 3 * usual
ORDER BY errors DESC, hour, principal
LIMIT 500`},
	"new": {Name: "new", Doc: "principals, source IPs, user agents and regions first seen in a window (default: the lake's last day) and never before it",
		Params: []Param{{Name: "since", Doc: "window start (default: a day before the lake's last event)"}, untilParam},
		SQL: `WITH bounds AS (
  SELECT coalesce(CAST(nullif($1, '') AS TIMESTAMPTZ), max(eventTime) - INTERVAL 1 DAY) AS since,
         coalesce(CAST(nullif($2, '') AS TIMESTAMPTZ), 'infinity'::TIMESTAMPTZ) AS until
  FROM events),
firsts AS (
  SELECT 'principal' AS kind, userIdentity.arn AS value, min(eventTime) AS first_seen, count(*) AS events FROM events WHERE userIdentity.arn IS NOT NULL GROUP BY 2
  UNION ALL SELECT 'source_ip', sourceIPAddress, min(eventTime), count(*) FROM events WHERE sourceIPAddress IS NOT NULL GROUP BY 2
  UNION ALL SELECT 'user_agent', userAgent, min(eventTime), count(*) FROM events WHERE userAgent IS NOT NULL GROUP BY 2
  UNION ALL SELECT 'region', awsRegion, min(eventTime), count(*) FROM events WHERE awsRegion IS NOT NULL GROUP BY 2)
SELECT kind, value, first_seen, events
FROM firsts, bounds
WHERE first_seen >= since AND first_seen < until
ORDER BY first_seen, kind, value`},
	"tampering": {Name: "tampering", Doc: "logging and security-control changes (CloudTrail, Config, GuardDuty, Security Hub, flow logs, KMS, ...) and every Disable* call, denied attempts included; trail, selector and detector updates only when they weaken something (all=true: every one)",
		Params: []Param{sinceParam, untilParam, {Name: "all", Doc: "true: also updates that do not weaken anything (validation turned on, full selectors, detector enabled)"}},
		SQL: `WITH changes AS (
  SELECT eventTime, account, awsRegion, eventSource, eventName, errorCode, userIdentity.arn AS principal,
    sourceIPAddress, requestParameters, eventID,
    CASE
      WHEN errorCode IS NOT NULL OR requestParameters IS NULL THEN true
      WHEN eventName = 'UpdateTrail' THEN (requestParameters->>'enableLogFileValidation') IS NOT DISTINCT FROM 'false'
        OR (requestParameters->>'isMultiRegionTrail') IS NOT DISTINCT FROM 'false' OR (requestParameters->>'includeGlobalServiceEvents') IS NOT DISTINCT FROM 'false'
        OR (requestParameters->'s3BucketName') IS NOT NULL OR (requestParameters->'s3KeyPrefix') IS NOT NULL
        OR (requestParameters->'cloudWatchLogsLogGroupArn') IS NOT NULL
      WHEN eventName = 'PutEventSelectors' THEN (requestParameters->'advancedEventSelectors') IS NOT NULL
        OR coalesce(list_contains(json_extract_string(requestParameters, '$.eventSelectors[*].includeManagementEvents'), 'false'), false)
        OR coalesce(list_has_any(json_extract_string(requestParameters, '$.eventSelectors[*].readWriteType'), ['ReadOnly', 'WriteOnly']), false)
        OR regexp_matches(CAST(requestParameters AS VARCHAR), '"excludeManagementEventSources":\[[^\]]')
      WHEN eventName = 'UpdateDetector' THEN (requestParameters->>'enable') IS NOT DISTINCT FROM 'false'
      ELSE true END AS weakens
  FROM events
  WHERE (eventName IN (` + sqlList(TamperingEvents) + `)
         OR eventName LIKE 'Disable%')
    AND ` + window(1, 2) + `)
SELECT * EXCLUDE (weakens)
FROM changes
WHERE weakens OR lower($3) = 'true'
ORDER BY eventTime, eventID`},
	"console-logins": {Name: "console-logins", Doc: "console sign-ins: who, from where, with or without MFA, success or failure",
		Params: []Param{sinceParam, untilParam, {Name: "result", Doc: "Success or Failure (default both)"}},
		SQL: `SELECT eventTime, account, coalesce(userIdentity.arn, userIdentity.userName) AS principal, userIdentity.type AS identity_type,
  sourceIPAddress, responseElements->>'ConsoleLogin' AS result, additionalEventData->>'MFAUsed' AS mfa_used,
  errorMessage, userAgent, eventID
FROM events
WHERE eventName = 'ConsoleLogin' AND ` + window(1, 2) + `
  AND (nullif($3, '') IS NULL OR (responseElements->>'ConsoleLogin') = $3)
ORDER BY eventTime, eventID`},
	"athena-hunt": {Name: "athena-hunt", Doc: "the classic Athena CloudTrail hunting query (docs/athena.md): trails deleted, logging stopped, flow logs deleted, Disable* calls and failed console sign-ins over the last day of the lake (or since=)",
		Params: []Param{{Name: "since", Doc: "from this time (default: a day before the lake's last event)"}},
		SQL: `SELECT eventTime, eventSource, eventName, userIdentity.arn AS principal, sourceIPAddress, errorCode, awsRegion, account, eventID
FROM events
WHERE eventTime >= coalesce(CAST(nullif($1, '') AS TIMESTAMPTZ), (SELECT max(eventTime) FROM events) - INTERVAL 1 DAY)
  AND (eventName IN ('DeleteTrail', 'StopLogging', 'DeleteFlowLogs')
       OR eventName LIKE 'Disable%'
       OR (eventName = 'ConsoleLogin' AND (responseElements->>'ConsoleLogin') = 'Failure'))
ORDER BY eventTime, eventID`},
}

// PresetNames lists the presets, sorted.
func PresetNames() []string {
	var n []string
	for k := range Presets {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Bind resolves a preset's key=value arguments into its SQL and the
// values bound to $1, $2, ...
func (p Preset) Bind(args map[string]string) (string, []any, error) {
	for k := range args {
		if !p.has(k) {
			var names []string
			for _, q := range p.Params {
				names = append(names, q.Name)
			}
			return "", nil, fmt.Errorf("preset %s has no parameter %q (it takes: %s)", p.Name, k, strings.Join(names, ", "))
		}
	}
	var vals []any
	var missing []string
	for _, q := range p.Params {
		v, ok := args[q.Name]
		if !ok || v == "" {
			if q.Required {
				missing = append(missing, q.Name+"=...")
			}
			v = q.Default
		}
		vals = append(vals, v)
	}
	if len(missing) > 0 {
		return "", nil, fmt.Errorf("preset %s needs %s", p.Name, strings.Join(missing, " "))
	}
	if p.Narrow != nil {
		if q := p.Narrow(args); q != "" {
			return q, vals, nil
		}
	}
	return p.SQL, vals, nil
}

// The columns a principal identifier can be found in.
const (
	timelineAny = `userIdentity.arn = $1 OR userIdentity.accessKeyId = $1 OR userIdentity.principalId = $1
       OR userIdentity.sessionContext.sessionIssuer.arn = $1 OR sourceIPAddress = $1`
	timelineARN    = `userIdentity.arn = $1 OR userIdentity.sessionContext.sessionIssuer.arn = $1`
	timelineKey    = `userIdentity.accessKeyId = $1`
	timelineIP     = `sourceIPAddress = $1`
	timelineNotKey = `userIdentity.principalId = $1 OR sourceIPAddress = $1`
)

func timelineSQL(match string) string {
	return `SELECT eventTime, account, awsRegion, eventSource, eventName, errorCode, sourceIPAddress,
  userIdentity.arn AS principal, userIdentity.accessKeyId AS access_key, userAgent, eventID, source_key
FROM events
WHERE (` + match + `)
  AND ` + window(2, 3) + `
ORDER BY eventTime, eventID
LIMIT CAST($4 AS BIGINT)`
}

// accessKeyID is the form of an access key ID: AKIA (long-term) or ASIA
// (temporary) and 12 or more upper-case letters and digits.
var accessKeyID = regexp.MustCompile(`^A(KIA|SIA)[A-Z0-9]{12,124}$`)

// whoColumns narrows the timeline to the columns an identifier of who's
// form can be in: an ARN is a principal's or a session issuer's ARN; an
// access key ID (AKIA..., ASIA...) is only ever an accessKeyId; an IP
// address only a sourceIPAddress (a service name such as
// "ec2.amazonaws.com" is also a sourceIPAddress, and never an ARN or a
// key). A principalId (AIDA..., AROA...:session) has the same shape as a
// key ID, so anything else keeps every column.
func whoColumns(who string) string {
	switch {
	case strings.HasPrefix(who, "arn:"):
		return timelineARN
	case net.ParseIP(who) != nil:
		return timelineIP
	case accessKeyID.MatchString(who):
		return timelineKey
	case strings.Contains(who, ":"):
		return timelineNotKey // AROA...:session-name, account:federated-user
	}
	return ""
}

func (p Preset) has(name string) bool {
	for _, q := range p.Params {
		if q.Name == name {
			return true
		}
	}
	return false
}

// BindPreset finds preset name and binds its k=v arguments.
func BindPreset(name string, kv []string) (string, []any, error) {
	p, ok := Presets[name]
	if !ok {
		return "", nil, fmt.Errorf("no preset %q (presets: %s)", name, strings.Join(PresetNames(), ", "))
	}
	args, err := ParseArgs(kv)
	if err != nil {
		return "", nil, err
	}
	return p.Bind(args)
}

// ParseArgs reads key=value arguments.
func ParseArgs(kv []string) (map[string]string, error) {
	out := map[string]string{}
	for _, a := range kv {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("argument %q: want key=value", a)
		}
		out[k] = v
	}
	return out, nil
}
