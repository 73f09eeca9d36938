package synth

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"
)

// gen draws events from one random stream.
type gen struct {
	r *rand.Rand
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// unique is the 16-character part of a log file name.
func (g *gen) unique() string {
	b := make([]byte, 16)
	for i := range b {
		b[i] = alnum[g.r.IntN(len(alnum))]
	}
	return string(b)
}

// uuid is a random (version 4) UUID, the shape of eventID and requestID.
func (g *gen) uuid() string {
	hi, lo := g.r.Uint64(), g.r.Uint64()
	hi = hi&^0xf000 | 0x4000
	lo = lo&^(0xc<<60) | 0x8<<60
	var b [36]byte
	j := 0
	for i := 0; i < 32; i++ {
		if i == 8 || i == 12 || i == 16 || i == 20 {
			b[j] = '-'
			j++
		}
		w := hi
		if i >= 16 {
			w = lo
		}
		b[j] = hexDigits[w>>(60-4*(i%16))&0xf]
		j++
	}
	return string(b[:])
}

func (g *gen) upper(n int) string {
	const h = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := make([]byte, n)
	for i := range b {
		b[i] = h[g.r.IntN(len(h))]
	}
	return string(b)
}

func (g *gen) hex(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = hexDigits[g.r.IntN(16)]
	}
	return string(b)
}

func (g *gen) pick(s []string) string { return s[g.r.IntN(len(s))] }

// stable is an ID derived from its inputs (not from the random stream), so
// one principal keeps its IDs across every file of the archive.
func stable(prefix string, n int, parts ...string) string {
	id := prefix + "\x01" + strconv.Itoa(n) + "\x01" + strings.Join(parts, "\x00")
	if v, ok := stableCache.Load(id); ok {
		return v.(string)
	}
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	const b32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := []byte(prefix)
	for i := 0; len(b) < len(prefix)+n; i++ {
		b = append(b, b32[h[i%len(h)]%32])
	}
	stableCache.Store(id, string(b))
	return string(b)
}

var stableCache sync.Map

func stableHex(n int, parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	b := make([]byte, n)
	for i := range b {
		b[i] = hexDigits[h[i%len(h)]>>(4*(i&1))&0xf]
	}
	return string(b)
}

// event is one CloudTrail record; rec writes it in CloudTrail's field
// order.
type event struct {
	version                  string
	uid                      obj
	t                        time.Time
	source, name, region, ip string
	ua                       string
	errCode, errMsg          string
	params, resp, add        any
	requestID, eventID       string
	readOnly                 bool
	resources                []obj
	eventType                string
	apiVersion               string
	data                     bool // data event (eventCategory Data)
	recipient                string
	sharedEventID            string
	vpce                     string
	tls                      bool
	host                     string // clientProvidedHostHeader
	console                  bool   // sessionCredentialFromConsole
	planted                  bool
}

// appendTo writes the record as compact JSON in CloudTrail's field order.
func (e *event) appendTo(b []byte) []byte {
	str := func(b []byte, k, v string) []byte {
		b = append(b, ',', '"')
		b = append(b, k...)
		b = append(b, '"', ':')
		return appendString(b, v)
	}
	val := func(b []byte, k string, v any) []byte {
		b = append(b, ',', '"')
		b = append(b, k...)
		b = append(b, '"', ':')
		return appendJSON(b, v)
	}
	b = append(b, `{"eventVersion":`...)
	b = appendString(b, e.version)
	b = val(b, "userIdentity", e.uid)
	b = append(b, `,"eventTime":"`...)
	b = e.t.UTC().AppendFormat(b, time.RFC3339)
	b = append(b, '"')
	b = str(b, "eventSource", e.source)
	b = str(b, "eventName", e.name)
	b = str(b, "awsRegion", e.region)
	b = str(b, "sourceIPAddress", e.ip)
	b = str(b, "userAgent", e.ua)
	if e.errCode != "" {
		b = str(b, "errorCode", e.errCode)
	}
	if e.errMsg != "" {
		b = str(b, "errorMessage", e.errMsg)
	}
	b = val(b, "requestParameters", e.params)
	b = val(b, "responseElements", e.resp)
	if e.add != nil {
		b = val(b, "additionalEventData", e.add)
	}
	if e.requestID != "" {
		b = str(b, "requestID", e.requestID)
	}
	b = str(b, "eventID", e.eventID)
	b = append(b, `,"readOnly":`...)
	b = strconv.AppendBool(b, e.readOnly)
	if len(e.resources) > 0 {
		b = val(b, "resources", e.resources)
	}
	b = str(b, "eventType", e.eventType)
	if e.apiVersion != "" {
		b = str(b, "apiVersion", e.apiVersion)
	}
	b = append(b, `,"managementEvent":`...)
	b = strconv.AppendBool(b, !e.data)
	b = str(b, "recipientAccountId", e.recipient)
	if e.sharedEventID != "" {
		b = str(b, "sharedEventID", e.sharedEventID)
	}
	if e.vpce != "" {
		b = str(b, "vpcEndpointId", e.vpce)
		b = str(b, "vpcEndpointAccountId", e.recipient)
	}
	if e.data {
		b = append(b, `,"eventCategory":"Data"`...)
	} else {
		b = append(b, `,"eventCategory":"Management"`...)
	}
	if e.tls {
		b = append(b, `,"tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":`...)
		b = appendString(b, e.host)
		b = append(b, '}')
	}
	if e.console {
		b = append(b, `,"sessionCredentialFromConsole":"true"`...)
	}
	return append(b, '}')
}

// Principals: a small stable population per account, as in real accounts.
var (
	humans   = []string{"alice", "bob", "carol", "dave"}
	svcUsers = []string{"build-bot", "backup-svc"}
	roles    = []string{"deploy", "ops", "app-backend", "data-pipeline", "readonly-audit"}
	ssoPerms = []string{"AdministratorAccess", "ReadOnlyAccess", "PowerUserAccess"}
	officeIP = []string{"198.51.100.23", "198.51.100.87", "203.0.113.14", "203.0.113.201"}
	agents   = []string{
		"aws-cli/2.15.30 md/Botocore#1.34.30 ua/2.0 os/linux#6.1.0 md/arch#x86_64 lang/python#3.11.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe command/",
		"Boto3/1.34.51 md/Botocore#1.34.51 ua/2.0 os/linux#5.10.210-201.852.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.51",
		"aws-sdk-go-v2/1.30.3 ua/2.1 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/",
		"APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.42.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.26.0 ua/2.0 os/linux lang/go#1.21.8 md/GOOS#linux md/GOARCH#amd64 api/",
	}
	browser = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)

func iamUser(acct, name string) obj {
	return obj{{"type", "IAMUser"}, {"principalId", stable("AIDA", 17, acct, name)}, {"arn", "arn:aws:iam::" + acct + ":user/" + name},
		{"accountId", acct}, {"accessKeyId", stable("AKIA", 16, acct, name, "key")}, {"userName", name}}
}

// assumedRole is a role session; mfa and creation describe the session.
func (g *gen) assumedRole(acct, role, session string, t time.Time, mfa bool) obj {
	created := t.Add(-time.Duration(1+g.r.IntN(3000)) * time.Second).UTC().Format(time.RFC3339)
	roleID := stable("AROA", 17, acct, role)
	return obj{{"type", "AssumedRole"}, {"principalId", roleID + ":" + session}, {"arn", "arn:aws:sts::" + acct + ":assumed-role/" + role + "/" + session},
		{"accountId", acct}, {"accessKeyId", "ASIA" + g.upper(16)},
		{"sessionContext", obj{{"sessionIssuer", issuer(acct, role, roleID)},
			{"webIdFederationData", obj{}}, {"attributes", obj{{"creationDate", created}, {"mfaAuthenticated", strconv.FormatBool(mfa)}}}}}}
}

var issuers sync.Map // acct/role → obj, shared and never modified

func issuer(acct, role, roleID string) obj {
	id := acct + "/" + role
	if v, ok := issuers.Load(id); ok {
		return v.(obj)
	}
	o := obj{{"type", "Role"}, {"principalId", roleID}, {"arn", "arn:aws:iam::" + acct + ":role/" + role}, {"accountId", acct}, {"userName", role}}
	issuers.Store(id, o)
	return o
}

func (g *gen) ssoRole(acct string, t time.Time) (obj, string) {
	perm := g.pick(ssoPerms)
	role := "AWSReservedSSO_" + perm + "_" + stableHex(16, acct, perm)
	who := g.pick(humans) + "@example.com"
	return g.assumedRole(acct, role, who, t, false), role
}

func (g *gen) workload(c chain, t time.Time) obj {
	role := g.pick(roles)
	sess := fmt.Sprintf("%s-%d", role, 1700000000+g.r.IntN(9000000))
	if g.r.IntN(3) == 0 {
		sess = "i-0" + stableHex(16, c.acct, role, fmt.Sprint(g.r.IntN(4)))
	}
	return g.assumedRole(c.acct, role, sess, t, false)
}

// newEvent fills the common fields.
func (g *gen) newEvent(c chain, t time.Time, source, name string, uid obj) *event {
	svc := strings.TrimSuffix(source, ".amazonaws.com")
	host := svc + "." + c.region + ".amazonaws.com"
	switch svc {
	case "iam", "organizations", "cloudfront":
		host = svc + ".amazonaws.com"
	case "signin":
		host = "signin.aws.amazon.com"
	}
	e := &event{version: "1.09", uid: uid, t: t, source: source, name: name, region: c.region,
		ip: officeIP[g.r.IntN(len(officeIP))], ua: g.userAgent(source, name), requestID: g.uuid(), eventID: g.uuid(),
		readOnly: isRead(name), eventType: "AwsApiCall", recipient: c.acct, tls: true, host: host}
	if uid.get("type") == "AssumedRole" && g.r.IntN(2) == 0 {
		e.ip = fmt.Sprintf("10.%d.%d.%d", g.r.IntN(4), g.r.IntN(32), 1+g.r.IntN(250))
	}
	switch svc {
	case "iam", "organizations":
		e.region = "us-east-1" // global services
	case "signin":
		if c.region != "us-east-1" {
			e.host = c.region + ".signin.aws.amazon.com"
		}
	}
	return e
}

// userAgent is a client's user agent with the operation in it, as the
// AWS CLI and SDKs write it.
func (g *gen) userAgent(source, name string) string {
	svc := strings.TrimSuffix(source, ".amazonaws.com")
	a := g.pick(agents)
	switch {
	case strings.HasSuffix(a, "command/"):
		var kebab []byte
		for i, r := range name {
			if r >= 'A' && r <= 'Z' {
				if i > 0 {
					kebab = append(kebab, '-')
				}
				r += 'a' - 'A'
			}
			kebab = append(kebab, byte(r))
		}
		return a + svc + "." + string(kebab)
	case strings.HasSuffix(a, "api/"):
		return a + svc + "#1." + fmt.Sprint(20+len(svc)) + ".3"
	}
	return a
}

func isRead(name string) bool {
	for _, p := range []string{"Get", "List", "Describe", "Head", "Lookup", "Query", "Scan", "BatchGet", "Decrypt", "GenerateDataKey"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func deny(e *event, action string) {
	svc := strings.TrimSuffix(e.source, ".amazonaws.com")
	arn, _ := e.uid.get("arn").(string)
	switch svc {
	case "ec2":
		e.errCode, e.errMsg = "Client.UnauthorizedOperation", "You are not authorized to perform this operation. User: "+arn+" is not authorized to perform: ec2:"+action+" because no identity-based policy allows the ec2:"+action+" action"
	case "s3":
		e.errCode, e.errMsg = "AccessDenied", "Access Denied"
	default:
		e.errCode, e.errMsg = "AccessDenied", "User: "+arn+" is not authorized to perform: "+svc+":"+action+" because no identity-based policy allows the "+svc+":"+action+" action"
	}
	e.resp = nil
}

// kind of background event, with a weight; global ones happen only in the
// trail's global-service region (IAM, sign-in and Organizations log to
// us-east-1).
type kind struct {
	weight int
	global bool
	make   func(g *gen, c chain, t time.Time) *event
}

var background = []kind{
	{220, false, (*gen).s3Data},
	{90, false, (*gen).ec2Describe},
	{70, false, (*gen).stsAssumeRole},
	{70, false, (*gen).kmsUse},
	{45, true, (*gen).iamRead},
	{40, false, (*gen).lambda},
	{45, false, (*gen).dynamo},
	{40, false, (*gen).ssm},
	{35, false, (*gen).cloudwatch},
	{15, false, (*gen).secrets},
	{35, false, (*gen).denied},
	{20, false, (*gen).consoleBrowse},
	{8, true, (*gen).consoleLoginMFA},
	{6, true, (*gen).ssoConsoleLogin},
	{8, false, (*gen).federation},
	{8, false, (*gen).identityCenter},
	{5, true, (*gen).failedLogin},
	{6, false, (*gen).sgLookAlike},
	{4, true, (*gen).selfAccessKey},
	{5, false, (*gen).trailLookAlike},
	{5, false, (*gen).bucketLookAlike},
	{6, false, (*gen).securityServices},
	{5, false, (*gen).kmsAdmin},
	{6, false, (*gen).ec2Change},
	{8, false, (*gen).awsServiceEvent},
}

var totalWeight, regionalWeight int

func init() {
	for _, k := range background {
		totalWeight += k.weight
		if !k.global {
			regionalWeight += k.weight
		}
	}
}

// benign is one event of the background mix, including look-alikes of
// attacks that must not be flagged.
func (g *gen) benign(c chain, t time.Time, global bool) *event {
	total := totalWeight
	if !global {
		total = regionalWeight
	}
	x := g.r.IntN(total)
	for _, k := range background {
		if k.global && !global {
			continue
		}
		if x < k.weight {
			return k.make(g, c, t)
		}
		x -= k.weight
	}
	panic("unreachable")
}

func (g *gen) anyone(c chain, t time.Time) obj {
	if g.r.IntN(5) == 0 {
		return iamUser(c.acct, g.pick(svcUsers))
	}
	return g.workload(c, t)
}

func (g *gen) s3Data(c chain, t time.Time) *event {
	bucket := "corp-data-" + c.acct[8:] + "-" + c.region
	op := g.pick([]string{"GetObject", "GetObject", "PutObject", "HeadObject", "ListObjects"})
	key := fmt.Sprintf("%s/%d/%02d/%02d/part-%05d.parquet", g.pick([]string{"reports", "events", "exports", "raw"}), t.Year(), t.Month(), t.Day(), g.r.IntN(99999))
	e := g.newEvent(c, t, "s3.amazonaws.com", op, g.anyone(c, t))
	host := bucket + ".s3." + c.region + ".amazonaws.com"
	e.host = host
	e.data = true
	e.params = m{"bucketName": bucket, "Host": host, "key": key}
	e.add = obj{{"SignatureVersion", "SigV4"}, {"CipherSuite", "TLS_AES_128_GCM_SHA256"}, {"bytesTransferredIn", 0}, {"AuthenticationMethod", "AuthHeader"},
		{"x-amz-id-2", g.upper(40) + "="}, {"bytesTransferredOut", g.r.IntN(2000000)}}
	e.resources = []obj{{{"type", "AWS::S3::Object"}, {"ARN", "arn:aws:s3:::" + bucket + "/" + key}}, {{"accountId", c.acct}, {"type", "AWS::S3::Bucket"}, {"ARN", "arn:aws:s3:::" + bucket}}}
	switch op {
	case "PutObject":
		e.params = m{"bucketName": bucket, "Host": host, "key": key, "x-amz-server-side-encryption": "aws:kms"}
		e.resp = m{"x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": "arn:aws:kms:" + c.region + ":" + c.acct + ":key/" + stableHex(8, c.acct, "s3key") + "-0f1e-4d2c-9b8a-" + stableHex(12, c.acct)}
		e.add = obj{{"SignatureVersion", "SigV4"}, {"CipherSuite", "TLS_AES_128_GCM_SHA256"}, {"bytesTransferredIn", 1000 + g.r.IntN(5000000)}, {"AuthenticationMethod", "AuthHeader"}, {"x-amz-id-2", g.upper(40) + "="}, {"bytesTransferredOut", 0}}
	case "ListObjects":
		e.params = m{"bucketName": bucket, "Host": host, "list-type": "2", "prefix": "reports/", "encoding-type": "url"}
		e.resources = e.resources[1:]
	}
	if g.r.IntN(3) == 0 {
		e.vpce = "vpce-0" + stableHex(16, c.acct, c.region, "s3")
		e.ip = fmt.Sprintf("10.%d.%d.%d", g.r.IntN(4), g.r.IntN(32), 1+g.r.IntN(250))
	}
	return e
}

func (g *gen) ec2Describe(c chain, t time.Time) *event {
	name := g.pick([]string{"DescribeInstances", "DescribeSecurityGroups", "DescribeVolumes", "DescribeSubnets", "DescribeInstanceStatus", "DescribeRegions"})
	e := g.newEvent(c, t, "ec2.amazonaws.com", name, g.anyone(c, t))
	switch name {
	case "DescribeInstances":
		e.params = m{"instancesSet": m{}, "filterSet": m{"items": []m{{"name": "instance-state-name", "valueSet": m{"items": []m{{"value": "running"}}}}}}}
	case "DescribeSecurityGroups":
		e.params = m{"securityGroupSet": m{}, "securityGroupIdSet": m{}, "filterSet": m{}}
	case "DescribeVolumes":
		e.params = m{"volumeSet": m{}, "filterSet": m{}, "maxResults": 500}
	case "DescribeRegions":
		e.params = m{"regionSet": m{}, "allRegions": false}
	default:
		e.params = m{"filterSet": m{}}
	}
	return e
}

func (g *gen) stsAssumeRole(c chain, t time.Time) *event {
	role := g.pick(roles)
	sess := fmt.Sprintf("%s-%d", role, 1700000000+g.r.IntN(9000000))
	var uid obj
	ip, ua := "", ""
	switch g.r.IntN(4) {
	case 0:
		svc := g.pick([]string{"lambda.amazonaws.com", "ecs-tasks.amazonaws.com", "ec2.amazonaws.com", "config.amazonaws.com"})
		uid = obj{{"type", "AWSService"}, {"invokedBy", svc}}
		ip, ua = svc, svc
	case 1:
		uid = iamUser(c.acct, g.pick(svcUsers))
	default:
		uid = g.workload(c, t)
	}
	e := g.newEvent(c, t, "sts.amazonaws.com", "AssumeRole", uid)
	if ip != "" {
		e.ip, e.ua = ip, ua
		e.sharedEventID = g.uuid()
	}
	roleARN := "arn:aws:iam::" + c.acct + ":role/" + role
	e.params = m{"roleArn": roleARN, "roleSessionName": sess, "durationSeconds": 3600}
	e.resp = m{"credentials": m{"accessKeyId": "ASIA" + g.upper(16), "sessionToken": "IQoJb3JpZ2luX2VjE" + g.upper(60), "expiration": t.Add(time.Hour).UTC().Format("Jan 2, 2006, 3:04:05 PM")},
		"assumedRoleUser": m{"assumedRoleId": stable("AROA", 17, c.acct, role) + ":" + sess, "arn": "arn:aws:sts::" + c.acct + ":assumed-role/" + role + "/" + sess}}
	e.resources = []obj{{{"accountId", c.acct}, {"type", "AWS::IAM::Role"}, {"ARN", roleARN}}}
	return e
}

func (g *gen) kmsUse(c chain, t time.Time) *event {
	keyARN := "arn:aws:kms:" + c.region + ":" + c.acct + ":key/" + stableHex(8, c.acct, c.region, "k") + "-4c1d-4e2f-8a9b-" + stableHex(12, c.acct, c.region)
	name := g.pick([]string{"Decrypt", "Decrypt", "GenerateDataKey", "Encrypt"})
	uid := g.workload(c, t)
	e := g.newEvent(c, t, "kms.amazonaws.com", name, uid)
	ctx := m{"aws:s3:arn": "arn:aws:s3:::corp-data-" + c.acct[8:] + "-" + c.region + "/reports/"}
	if g.r.IntN(2) == 0 {
		svc := g.pick([]string{"s3.amazonaws.com", "secretsmanager.amazonaws.com", "dynamodb.amazonaws.com"})
		uid.setAfter("accessKeyId", "invokedBy", svc)
		e.ip, e.ua = svc, svc
		if svc != "s3.amazonaws.com" {
			ctx = m{"aws:" + strings.TrimSuffix(svc, ".amazonaws.com") + ":arn": "arn:aws:" + strings.TrimSuffix(svc, ".amazonaws.com") + ":" + c.region + ":" + c.acct + ":x/" + g.pick(roles)}
		}
	}
	e.params = m{"encryptionContext": ctx, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}
	if name == "GenerateDataKey" {
		e.params = m{"keyId": keyARN, "encryptionContext": ctx, "keySpec": "AES_256"}
	}
	e.resources = []obj{{{"accountId", c.acct}, {"type", "AWS::KMS::Key"}, {"ARN", keyARN}}}
	return e
}

func (g *gen) iamRead(c chain, t time.Time) *event {
	name := g.pick([]string{"GetUser", "ListRoles", "ListAttachedRolePolicies", "GetRole", "ListPolicies", "GetAccountAuthorizationDetails", "ListMFADevices"})
	e := g.newEvent(c, t, "iam.amazonaws.com", name, g.anyone(c, t))
	switch name {
	case "GetRole", "ListAttachedRolePolicies":
		e.params = m{"roleName": g.pick(roles)}
	case "GetUser", "ListMFADevices":
		e.params = m{"userName": g.pick(humans)}
	case "ListPolicies":
		e.params = m{"scope": "Local", "onlyAttached": false}
	default:
		e.params = nil
	}
	return e
}

func (g *gen) lambda(c chain, t time.Time) *event {
	fn := g.pick([]string{"ingest", "thumbnailer", "nightly-report", "slack-notifier"})
	arn := "arn:aws:lambda:" + c.region + ":" + c.acct + ":function:" + fn
	if g.r.IntN(3) > 0 {
		e := g.newEvent(c, t, "lambda.amazonaws.com", "Invoke", g.workload(c, t))
		e.data, e.readOnly, e.params = true, false, m{"functionName": arn, "sourceArn": "arn:aws:s3:::corp-data-" + c.acct[8:] + "-" + c.region}
		e.add = obj{{"functionVersion", arn + ":$LATEST"}}
		e.resources = []obj{{{"accountId", c.acct}, {"type", "AWS::Lambda::Function"}, {"ARN", arn}}}
		e.ip, e.ua = "s3.amazonaws.com", "s3.amazonaws.com"
		e.uid = obj{{"type", "AWSService"}, {"invokedBy", "s3.amazonaws.com"}}
		e.requestID = g.uuid()
		e.tls = false
		return e
	}
	name := g.pick([]string{"GetFunction20150331v2", "ListFunctions20150331", "GetFunctionConfiguration20150331v2"})
	e := g.newEvent(c, t, "lambda.amazonaws.com", name, g.anyone(c, t))
	e.params = m{"functionName": fn}
	if name == "ListFunctions20150331" {
		e.params = nil
	}
	return e
}

func (g *gen) dynamo(c chain, t time.Time) *event {
	table := g.pick([]string{"orders", "sessions", "feature-flags"})
	name := g.pick([]string{"GetItem", "GetItem", "PutItem", "Query", "UpdateItem", "DescribeTable"})
	e := g.newEvent(c, t, "dynamodb.amazonaws.com", name, g.workload(c, t))
	arn := "arn:aws:dynamodb:" + c.region + ":" + c.acct + ":table/" + table
	e.resources = []obj{{{"accountId", c.acct}, {"type", "AWS::DynamoDB::Table"}, {"ARN", arn}}}
	e.params = m{"tableName": table, "key": m{"pk": "HIDDEN_DUE_TO_SECURITY_REASONS"}, "consistentRead": false}
	if name != "DescribeTable" {
		e.data = true
	} else {
		e.params = m{"tableName": table}
	}
	if g.r.IntN(2) == 0 {
		e.vpce = "vpce-0" + stableHex(16, c.acct, c.region, "ddb")
	}
	return e
}

func (g *gen) ssm(c chain, t time.Time) *event {
	if g.r.IntN(3) == 0 {
		// The SSM agent on an instance reports in with the instance role.
		inst := "i-0" + stableHex(16, c.acct, "instance", fmt.Sprint(g.r.IntN(6)))
		uid := g.assumedRole(c.acct, "ssm-instance-role", inst, t, false)
		uid.set("sessionContext", append(uid.get("sessionContext").(obj), kv{"ec2RoleDelivery", "2.0"}))
		e := g.newEvent(c, t, "ssm.amazonaws.com", "UpdateInstanceInformation", uid)
		e.ua = "aws-sdk-go/1.44.260 (go1.20.10; linux; amd64) amazon-ssm-agent/3.3.40.0"
		e.params = m{"instanceId": inst, "agentVersion": "3.3.40.0", "agentStatus": "Active", "platformType": "Linux", "platformName": "Amazon Linux", "platformVersion": "2023", "iPAddress": fmt.Sprintf("10.0.%d.%d", g.r.IntN(32), 1+g.r.IntN(250)), "computerName": "ip-10-0-1-17.ec2.internal", "agentName": "amazon-ssm-agent"}
		return e
	}
	name := g.pick([]string{"GetParameter", "GetParameters", "GetParametersByPath", "DescribeInstanceInformation"})
	e := g.newEvent(c, t, "ssm.amazonaws.com", name, g.workload(c, t))
	e.params = m{"name": "/app/" + g.pick([]string{"db-url", "feature-flags", "api-endpoint"}), "withDecryption": g.r.IntN(2) == 0}
	if name == "GetParametersByPath" {
		e.params = m{"path": "/app/", "recursive": true, "withDecryption": true}
	} else if name == "DescribeInstanceInformation" {
		e.params = m{"maxResults": 50}
	}
	return e
}

func (g *gen) cloudwatch(c chain, t time.Time) *event {
	switch g.r.IntN(3) {
	case 0:
		e := g.newEvent(c, t, "logs.amazonaws.com", "CreateLogStream", g.workload(c, t))
		e.params = m{"logGroupName": "/aws/lambda/" + g.pick([]string{"ingest", "thumbnailer"}), "logStreamName": t.Format("2006/01/02") + "/[$LATEST]" + g.hex(32)}
		return e
	case 1:
		e := g.newEvent(c, t, "monitoring.amazonaws.com", "DescribeAlarms", g.anyone(c, t))
		e.params = m{"maxRecords": 100}
		return e
	}
	e := g.newEvent(c, t, "monitoring.amazonaws.com", "GetMetricData", g.anyone(c, t))
	e.params = m{"startTime": t.Add(-3 * time.Hour).UTC().Format("Jan 2, 2006, 3:04:05 PM"), "endTime": t.UTC().Format("Jan 2, 2006, 3:04:05 PM"),
		"metricDataQueries": []m{{"id": "cpu", "metricStat": m{"metric": m{"namespace": "AWS/EC2", "metricName": "CPUUtilization"}, "period": 300, "stat": "Average"}}}}
	return e
}

func (g *gen) secrets(c chain, t time.Time) *event {
	e := g.newEvent(c, t, "secretsmanager.amazonaws.com", g.pick([]string{"GetSecretValue", "DescribeSecret"}), g.workload(c, t))
	e.params = m{"secretId": "arn:aws:secretsmanager:" + c.region + ":" + c.acct + ":secret:prod/db-" + stable("", 6, c.acct)}
	return e
}

// denied is normal noise: a read the caller may not do.
func (g *gen) denied(c chain, t time.Time) *event {
	switch g.r.IntN(4) {
	case 0:
		e := g.newEvent(c, t, "s3.amazonaws.com", "ListBuckets", g.anyone(c, t))
		e.params = m{"Host": "s3." + c.region + ".amazonaws.com"}
		deny(e, "ListAllMyBuckets")
		return e
	case 1:
		e := g.newEvent(c, t, "ec2.amazonaws.com", "DescribeInstances", g.anyone(c, t))
		e.params = m{"instancesSet": m{}, "filterSet": m{}}
		deny(e, "DescribeInstances")
		return e
	case 2:
		e := g.newEvent(c, t, "secretsmanager.amazonaws.com", "GetSecretValue", g.workload(c, t))
		e.params = m{"secretId": "prod/payments-api"}
		deny(e, "GetSecretValue")
		return e
	}
	e := g.newEvent(c, t, "sts.amazonaws.com", "AssumeRole", g.workload(c, t))
	e.params = m{"roleArn": "arn:aws:iam::" + c.acct + ":role/breakglass-admin", "roleSessionName": "try"}
	deny(e, "AssumeRole")
	return e
}

// consoleBrowse is a person clicking around the console (SSO session).
func (g *gen) consoleBrowse(c chain, t time.Time) *event {
	uid, _ := g.ssoRole(c.acct, t)
	name := g.pick([]string{"DescribeInstances", "ListBuckets", "DescribeAlarms", "ListFunctions20150331"})
	src := map[string]string{"DescribeInstances": "ec2.amazonaws.com", "ListBuckets": "s3.amazonaws.com", "DescribeAlarms": "monitoring.amazonaws.com", "ListFunctions20150331": "lambda.amazonaws.com"}[name]
	e := g.newEvent(c, t, src, name, uid)
	e.ip, e.ua, e.console = g.pick(officeIP), "AWS Internal", true
	e.params = m{}
	if name == "ListBuckets" {
		e.params = m{"Host": "s3.amazonaws.com"}
	}
	return e
}

func (g *gen) signin(c chain, t time.Time, uid obj, ok bool, add obj) *event {
	e := g.newEvent(c, t, "signin.amazonaws.com", "ConsoleLogin", uid)
	e.ip, e.ua, e.eventType, e.readOnly, e.requestID = g.pick(officeIP), browser, "AwsConsoleSignIn", false, ""
	e.params = nil
	if ok {
		e.resp = m{"ConsoleLogin": "Success"}
	} else {
		e.resp = m{"ConsoleLogin": "Failure"}
		e.errMsg = "Failed authentication"
	}
	e.add = add
	return e
}

func (g *gen) consoleLoginMFA(c chain, t time.Time) *event {
	u := iamUser(c.acct, g.pick(humans))
	u.del("accessKeyId")
	return g.signin(c, t, u, true, obj{{"LoginTo", "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true"}, {"MobileVersion", "No"}, {"MFAIdentifier", "arn:aws:iam::" + c.acct + ":mfa/" + u.get("userName").(string)}, {"MFAUsed", "Yes"}})
}

// ssoConsoleLogin: IAM Identity Center federation; the IdP did the MFA, so
// MFAUsed says No (a look-alike of a login without MFA).
func (g *gen) ssoConsoleLogin(c chain, t time.Time) *event {
	uid, _ := g.ssoRole(c.acct, t)
	uid.del("accessKeyId")
	return g.signin(c, t, uid, true, obj{{"LoginTo", "https://console.aws.amazon.com/console/home"}, {"MobileVersion", "No"}, {"MFAUsed", "No"},
		{"SamlProviderArn", "arn:aws:iam::" + c.acct + ":saml-provider/AWSSSO_" + stableHex(16, c.acct, "idp") + "_DO_NOT_DELETE"}})
}

// failedLogin: one mistyped password, below any brute-force threshold.
func (g *gen) failedLogin(c chain, t time.Time) *event {
	name := g.pick(humans)
	e := g.signin(c, t, obj{{"type", "IAMUser"}, {"principalId", stable("AIDA", 17, c.acct, name)}, {"accountId", c.acct}, {"accessKeyId", ""}, {"userName", name}}, false,
		obj{{"LoginTo", "https://console.aws.amazon.com/console/home"}, {"MobileVersion", "No"}, {"MFAUsed", "No"}})
	e.ip = fmt.Sprintf("198.51.100.%d", 1+g.r.IntN(250))
	return e
}

func (g *gen) federation(c chain, t time.Time) *event {
	switch g.r.IntN(3) {
	case 0: // SAML federation from a corporate IdP
		who := g.pick(humans) + "@example.com"
		e := g.newEvent(c, t, "sts.amazonaws.com", "AssumeRoleWithSAML", obj{{"type", "SAMLUser"}, {"principalId", "Tx8Zq3oeA4HOp4lD1J6qz6dy0SA=:" + who}, {"userName", who}, {"identityProvider", "Tx8Zq3oeA4HOp4lD1J6qz6dy0SA="}})
		e.ip, e.ua = g.pick(officeIP), browser
		role := "arn:aws:iam::" + c.acct + ":role/okta-" + g.pick([]string{"engineer", "readonly"})
		e.params = m{"sAMLAssertionID": "_" + g.hex(32), "roleSessionName": who, "principalTags": m{"team": "platform"}, "durationSeconds": 3600, "roleArn": role, "principalArn": "arn:aws:iam::" + c.acct + ":saml-provider/okta"}
		e.resp = m{"subjectType": "persistent", "issuer": "http://www.okta.com/exk1a2b3c4d5e6f7g8h9", "audience": "https://signin.aws.amazon.com/saml", "nameQualifier": "Tx8Zq3oeA4HOp4lD1J6qz6dy0SA=", "subject": who,
			"credentials": m{"accessKeyId": "ASIA" + g.upper(16), "sessionToken": "IQoJb3JpZ2luX2VjE" + g.upper(48), "expiration": t.Add(time.Hour).UTC().Format("Jan 2, 2006, 3:04:05 PM")}}
		e.resources = []obj{{{"accountId", c.acct}, {"type", "AWS::IAM::Role"}, {"ARN", role}}, {{"accountId", c.acct}, {"type", "AWS::IAM::SAMLProvider"}, {"ARN", "arn:aws:iam::" + c.acct + ":saml-provider/okta"}}}
		return e
	case 1: // GitHub Actions via OIDC
		sub := "repo:example-corp/" + g.pick([]string{"api", "infra", "web"}) + ":ref:refs/heads/main"
		e := g.newEvent(c, t, "sts.amazonaws.com", "AssumeRoleWithWebIdentity", obj{{"type", "WebIdentityUser"}, {"principalId", "arn:aws:iam::" + c.acct + ":oidc-provider/token.actions.githubusercontent.com:sts.amazonaws.com:" + sub},
			{"userName", sub}, {"identityProvider", "arn:aws:iam::" + c.acct + ":oidc-provider/token.actions.githubusercontent.com"}})
		e.ip, e.ua = fmt.Sprintf("20.%d.%d.%d", 1+g.r.IntN(200), g.r.IntN(255), 1+g.r.IntN(250)), "aws-sdk-js/3.540.0 ua/2.0 os/linux#6.5.0-1016-azure lang/js md/nodejs#20.11.1 api/sts#3.540.0"
		role := "arn:aws:iam::" + c.acct + ":role/github-actions-deploy"
		e.params = m{"roleArn": role, "roleSessionName": "GitHubActions", "durationSeconds": 3600}
		e.resp = m{"credentials": m{"accessKeyId": "ASIA" + g.upper(16), "sessionToken": "IQoJb3JpZ2luX2VjE" + g.upper(48), "expiration": t.Add(time.Hour).UTC().Format("Jan 2, 2006, 3:04:05 PM")},
			"subjectFromWebIdentityToken": sub, "provider": "arn:aws:iam::" + c.acct + ":oidc-provider/token.actions.githubusercontent.com", "audience": "sts.amazonaws.com"}
		e.resources = []obj{{{"accountId", c.acct}, {"type", "AWS::IAM::Role"}, {"ARN", role}}}
		return e
	}
	// A federated user (GetFederationToken) reading a bucket.
	name := "partner-" + g.pick([]string{"acme", "globex"})
	uid := obj{{"type", "FederatedUser"}, {"principalId", c.acct + ":" + name}, {"arn", "arn:aws:sts::" + c.acct + ":federated-user/" + name}, {"accountId", c.acct}, {"accessKeyId", "ASIA" + g.upper(16)},
		{"sessionContext", obj{{"sessionIssuer", obj{{"type", "IAMUser"}, {"principalId", stable("AIDA", 17, c.acct, "federation-broker")}, {"arn", "arn:aws:iam::" + c.acct + ":user/federation-broker"}, {"accountId", c.acct}, {"userName", "federation-broker"}}},
			{"webIdFederationData", obj{}}, {"attributes", obj{{"creationDate", t.Add(-20 * time.Minute).UTC().Format(time.RFC3339)}, {"mfaAuthenticated", "false"}}}}}}
	e := g.newEvent(c, t, "s3.amazonaws.com", "ListBuckets", uid)
	e.ip = fmt.Sprintf("192.0.2.%d", 1+g.r.IntN(250))
	e.params = m{"Host": "s3." + c.region + ".amazonaws.com"}
	return e
}

// identityCenter: the access portal fetching credentials for a user.
func (g *gen) identityCenter(c chain, t time.Time) *event {
	who := g.pick(humans)
	uid := obj{{"type", "IdentityCenterUser"}, {"accountId", c.acct}, {"onBehalfOf", obj{{"userId", stableHex(8, who) + "-7051-70f3-" + stableHex(4, who, "x") + "-" + stableHex(12, who, "y")}, {"identityStoreArn", "arn:aws:identitystore::" + c.acct + ":identitystore/d-90677f2a4b"}}},
		{"credentialId", g.upper(48)}}
	name := g.pick([]string{"GetRoleCredentials", "ListAccounts", "ListAccountRoles"})
	e := g.newEvent(c, t, "sso.amazonaws.com", name, uid)
	e.ip, e.ua = g.pick(officeIP), browser
	e.params = m{"accountId": c.acct}
	if name == "GetRoleCredentials" {
		e.params = m{"accountId": c.acct, "roleName": g.pick(ssoPerms)}
	}
	e.add = obj{{"identityStoreArn", "arn:aws:identitystore::" + c.acct + ":identitystore/d-90677f2a4b"}}
	e.host = "portal.sso." + c.region + ".amazonaws.com"
	return e
}

// sgLookAlike: a security group opened to the world on HTTPS, or SSH from
// the private network — neither is an exposure.
func (g *gen) sgLookAlike(c chain, t time.Time) *event {
	e := g.newEvent(c, t, "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", g.workload(c, t))
	port, cidr := 443, "0.0.0.0/0"
	if g.r.IntN(3) == 0 {
		port, cidr = 22, "10.0.0.0/8"
	}
	sg := "sg-0" + stableHex(16, c.acct, fmt.Sprint(port))
	e.params = m{"groupId": sg, "ipPermissions": m{"items": []m{{"ipProtocol": "tcp", "fromPort": port, "toPort": port, "groups": m{}, "ipRanges": m{"items": []m{{"cidrIp": cidr, "description": "web"}}}, "ipv6Ranges": m{}, "prefixListIds": m{}}}}}
	e.resp = m{"requestId": e.requestID, "_return": true, "securityGroupRuleSet": m{"items": []m{{"groupOwnerId": c.acct, "groupId": sg, "securityGroupRuleId": "sgr-0" + g.hex(16), "isEgress": false, "ipProtocol": "tcp", "fromPort": port, "toPort": port, "cidrIpv4": cidr}}}}
	return e
}

// selfAccessKey: a user rotating their own key.
func (g *gen) selfAccessKey(c chain, t time.Time) *event {
	name := g.pick(humans)
	e := g.newEvent(c, t, "iam.amazonaws.com", "CreateAccessKey", iamUser(c.acct, name))
	e.params = m{"userName": name}
	e.resp = m{"accessKey": m{"userName": name, "accessKeyId": "AKIA" + g.upper(16), "status": "Active", "createDate": t.UTC().Format("Jan 2, 2006, 3:04:05 PM")}}
	return e
}

// trailLookAlike: trail changes that strengthen logging, and reads.
func (g *gen) trailLookAlike(c chain, t time.Time) *event {
	trail := "arn:aws:cloudtrail:us-east-1:" + c.acct + ":trail/app-data-events"
	switch g.r.IntN(5) {
	case 0:
		e := g.newEvent(c, t, "cloudtrail.amazonaws.com", "UpdateTrail", g.workload(c, t))
		e.params = m{"name": trail, "isMultiRegionTrail": true, "includeGlobalServiceEvents": true, "enableLogFileValidation": true}
		e.resp = m{"name": "app-data-events", "s3BucketName": "corp-trail-" + c.acct[8:], "includeGlobalServiceEvents": true, "isMultiRegionTrail": true, "trailARN": trail, "logFileValidationEnabled": true, "isOrganizationTrail": false}
		return e
	case 1:
		e := g.newEvent(c, t, "cloudtrail.amazonaws.com", "PutEventSelectors", g.workload(c, t))
		e.params = m{"trailName": trail, "eventSelectors": []m{{"readWriteType": "All", "includeManagementEvents": true, "dataResources": []m{{"type": "AWS::S3::Object", "values": []string{"arn:aws:s3:::corp-data-" + c.acct[8:] + "-" + c.region + "/"}}}, "excludeManagementEventSources": []any{}}}}
		e.resp = m{"trailARN": trail, "eventSelectors": e.params.(m)["eventSelectors"]}
		return e
	case 2:
		e := g.newEvent(c, t, "cloudtrail.amazonaws.com", "StartLogging", g.workload(c, t))
		e.params = m{"name": trail}
		return e
	}
	e := g.newEvent(c, t, "cloudtrail.amazonaws.com", g.pick([]string{"DescribeTrails", "GetTrailStatus", "LookupEvents", "GetEventSelectors"}), g.anyone(c, t))
	e.params = m{"name": trail}
	return e
}

// bucketLookAlike: bucket policies that are not public, and public access
// blocks turned on.
func (g *gen) bucketLookAlike(c chain, t time.Time) *event {
	bucket := "corp-logs-" + c.acct[8:]
	if g.r.IntN(2) == 0 {
		e := g.newEvent(c, t, "s3.amazonaws.com", "PutBucketPolicy", g.workload(c, t))
		e.params = m{"bucketName": bucket, "Host": bucket + ".s3." + c.region + ".amazonaws.com", "policy": "",
			"bucketPolicy": m{"Version": "2012-10-17", "Statement": []m{
				{"Sid": "AWSCloudTrailWrite", "Effect": "Allow", "Principal": m{"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject", "Resource": "arn:aws:s3:::" + bucket + "/AWSLogs/*", "Condition": m{"StringEquals": m{"s3:x-amz-acl": "bucket-owner-full-control"}}},
				{"Sid": "ReadFromAudit", "Effect": "Allow", "Principal": m{"AWS": "arn:aws:iam::" + c.acct + ":role/readonly-audit"}, "Action": []string{"s3:GetObject", "s3:ListBucket"}, "Resource": []string{"arn:aws:s3:::" + bucket, "arn:aws:s3:::" + bucket + "/*"}}}}}
		e.add = obj{{"SignatureVersion", "SigV4"}, {"CipherSuite", "TLS_AES_128_GCM_SHA256"}, {"bytesTransferredIn", 812}, {"AuthenticationMethod", "AuthHeader"}, {"x-amz-id-2", g.upper(40) + "="}, {"bytesTransferredOut", 0}}
		e.resources = []obj{{{"accountId", c.acct}, {"type", "AWS::S3::Bucket"}, {"ARN", "arn:aws:s3:::" + bucket}}}
		return e
	}
	e := g.newEvent(c, t, "s3.amazonaws.com", "PutBucketPublicAccessBlock", g.workload(c, t))
	e.params = m{"bucketName": bucket, "Host": bucket + ".s3." + c.region + ".amazonaws.com", "publicAccessBlock": "",
		"PublicAccessBlockConfiguration": m{"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/", "RestrictPublicBuckets": true, "BlockPublicPolicy": true, "BlockPublicAcls": true, "IgnorePublicAcls": true}}
	e.resources = []obj{{{"accountId", c.acct}, {"type", "AWS::S3::Bucket"}, {"ARN", "arn:aws:s3:::" + bucket}}}
	return e
}

// securityServices: reads, and changes that turn things on.
func (g *gen) securityServices(c chain, t time.Time) *event {
	det := stableHex(32, c.acct, c.region, "gd")
	switch g.r.IntN(6) {
	case 0:
		e := g.newEvent(c, t, "guardduty.amazonaws.com", "UpdateDetector", g.workload(c, t))
		e.params = m{"detectorId": det, "enable": true, "findingPublishingFrequency": "FIFTEEN_MINUTES"}
		return e
	case 1:
		e := g.newEvent(c, t, "config.amazonaws.com", "StartConfigurationRecorder", g.workload(c, t))
		e.params = m{"configurationRecorderName": "default"}
		return e
	case 2:
		e := g.newEvent(c, t, "securityhub.amazonaws.com", "GetFindings", g.anyone(c, t))
		e.params = m{"maxResults": 100, "filters": m{"RecordState": []m{{"Value": "ACTIVE", "Comparison": "EQUALS"}}}}
		return e
	case 3:
		e := g.newEvent(c, t, "config.amazonaws.com", "DescribeConfigurationRecorderStatus", g.anyone(c, t))
		e.params = nil
		return e
	}
	e := g.newEvent(c, t, "guardduty.amazonaws.com", g.pick([]string{"ListDetectors", "GetDetector", "ListFindings"}), g.anyone(c, t))
	e.params = m{"detectorId": det}
	return e
}

func (g *gen) kmsAdmin(c chain, t time.Time) *event {
	keyID := stableHex(8, c.acct, c.region, "k") + "-4c1d-4e2f-8a9b-" + stableHex(12, c.acct, c.region)
	name := g.pick([]string{"EnableKeyRotation", "DescribeKey", "ListAliases", "CreateGrant"})
	e := g.newEvent(c, t, "kms.amazonaws.com", name, g.workload(c, t))
	e.params = m{"keyId": keyID}
	e.resources = []obj{{{"accountId", c.acct}, {"type", "AWS::KMS::Key"}, {"ARN", "arn:aws:kms:" + c.region + ":" + c.acct + ":key/" + keyID}}}
	return e
}

func (g *gen) ec2Change(c chain, t time.Time) *event {
	switch g.r.IntN(4) {
	case 0:
		e := g.newEvent(c, t, "ec2.amazonaws.com", "CreateSnapshot", g.workload(c, t))
		e.params = m{"volumeId": "vol-0" + g.hex(16), "description": "nightly backup"}
		e.resp = m{"requestId": e.requestID, "snapshotId": "snap-0" + g.hex(16), "status": "pending", "ownerId": c.acct}
		return e
	case 1:
		// Un-sharing a snapshot: a look-alike of sharing it.
		e := g.newEvent(c, t, "ec2.amazonaws.com", "ModifySnapshotAttribute", g.workload(c, t))
		e.params = m{"snapshotId": "snap-0" + g.hex(16), "attributeType": "CREATE_VOLUME_PERMISSION", "createVolumePermission": m{"remove": m{"items": []m{{"userId": "210987654321"}}}}}
		e.resp = m{"requestId": e.requestID, "_return": true}
		return e
	case 2:
		e := g.newEvent(c, t, "ec2.amazonaws.com", "RunInstances", g.workload(c, t))
		e.params = m{"instancesSet": m{"items": []m{{"imageId": "ami-0" + stableHex(16, c.region), "minCount": 1, "maxCount": 1}}}, "instanceType": "t3.medium", "subnetId": "subnet-0" + stableHex(16, c.acct, c.region), "monitoring": m{"enabled": false}, "disableApiTermination": false}
		e.resp = m{"requestId": e.requestID, "reservationId": "r-0" + g.hex(16), "ownerId": c.acct, "instancesSet": m{"items": []m{{"instanceId": "i-0" + g.hex(16), "instanceType": "t3.medium", "instanceState": m{"code": 0, "name": "pending"}}}}}
		return e
	}
	e := g.newEvent(c, t, "ec2.amazonaws.com", "CreateTags", g.workload(c, t))
	e.params = m{"resourcesSet": m{"items": []m{{"resourceId": "i-0" + g.hex(16)}}}, "tagSet": m{"items": []m{{"key": "owner", "value": g.pick(humans)}}}}
	e.resp = m{"requestId": e.requestID, "_return": true}
	return e
}

// awsServiceEvent: events AWS services log on their own (KMS key
// rotation, Config recording).
func (g *gen) awsServiceEvent(c chain, t time.Time) *event {
	if g.r.IntN(2) == 0 {
		e := g.newEvent(c, t, "kms.amazonaws.com", "RotateKey", obj{{"accountId", c.acct}, {"invokedBy", "kms.amazonaws.com"}})
		e.ip, e.ua, e.eventType, e.requestID, e.readOnly, e.tls = "kms.amazonaws.com", "kms.amazonaws.com", "AwsServiceEvent", "", false, false
		keyID := stableHex(8, c.acct, c.region, "k") + "-4c1d-4e2f-8a9b-" + stableHex(12, c.acct, c.region)
		e.params, e.resp = nil, nil
		e.add = obj{{"keyId", "arn:aws:kms:" + c.region + ":" + c.acct + ":key/" + keyID}}
		e.resources = []obj{{{"accountId", c.acct}, {"type", "AWS::KMS::Key"}, {"ARN", "arn:aws:kms:" + c.region + ":" + c.acct + ":key/" + keyID}}}
		return e
	}
	uid := g.assumedRole(c.acct, "AWSServiceRoleForConfig", "AWSConfig-Describe", t, false)
	uid.setAfter("accessKeyId", "invokedBy", "config.amazonaws.com")
	e := g.newEvent(c, t, "ec2.amazonaws.com", "DescribeSecurityGroups", uid)
	e.ip, e.ua = "config.amazonaws.com", "config.amazonaws.com"
	e.params = m{"securityGroupSet": m{}, "securityGroupIdSet": m{}, "filterSet": m{}}
	return e
}
