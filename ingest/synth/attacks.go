package synth

import (
	"fmt"
	"strings"
	"time"
)

// Two intruders and a root account:
//
//   - dev-mallory: a developer's stolen access key (AKIASTOLEN0000000001)
//     used from 185.220.101.47 in the last chain (a standalone account):
//     console brute force, a sign-in without MFA, a denied StopLogging,
//     then security services, flow logs, Config, an access key for
//     another user, SSH to the world, a shared snapshot, a public bucket
//     policy and a KMS key deletion. The same key stops the organization
//     trail in the first chain when Options.StopGapHours is set.
//   - a CI role session (ci-deploy, from 45.137.21.9) in the first
//     organization account: weakens and deletes a second trail, disables
//     detectors and encryption defaults, exposes data (RDP to the world,
//     public snapshots, a public ACL, public access block removed) and
//     gives two other users console passwords.
//   - the root user of the second organization account signs in without
//     MFA, makes a root access key and leaves the organization.

const (
	attackerIP = "185.220.101.47"
	ciIP       = "45.137.21.9"
	rootIP     = "91.219.236.18"
)

// attacker is a stolen access key of a developer.
func attacker(acct string) obj {
	return obj{{"type", "IAMUser"}, {"principalId", "AIDADEVELOPER000001"}, {"arn", "arn:aws:iam::" + acct + ":user/dev-mallory"}, {"accountId", acct}, {"accessKeyId", "AKIASTOLEN0000000001"}, {"userName", "dev-mallory"}}
}

func admin(acct string) obj {
	return obj{{"type", "IAMUser"}, {"principalId", "AIDAADMIN0000000001"}, {"arn", "arn:aws:iam::" + acct + ":user/admin"}, {"accountId", acct}, {"accessKeyId", "AKIAADMIN00000000001"}, {"userName", "admin"}}
}

func root(acct string) obj {
	return obj{{"type", "Root"}, {"principalId", acct}, {"arn", "arn:aws:iam::" + acct + ":root"}, {"accountId", acct}, {"accessKeyId", ""}}
}

type plantedEvent struct {
	chain int
	ev    *event
}

type planter struct {
	g      *gen
	chains []chain
	evs    []plantedEvent
	out    []Planted
}

// add plants events as one attack.
func (p *planter) add(technique, attack string, ci int, evs ...*event) {
	var ids []string
	attempt := true
	for _, e := range evs {
		e.planted = true
		p.evs = append(p.evs, plantedEvent{ci, e})
		ids = append(ids, e.eventID)
		if e.errCode == "" {
			attempt = false
		}
	}
	c := p.chains[ci]
	p.out = append(p.out, Planted{Technique: technique, Attack: attack, EventName: evs[0].name, EventIDs: ids, Account: c.acct, Region: c.region, Time: evs[0].t.UTC(), Attempt: attempt})
}

func (p *planter) call(ci int, t time.Time, uid obj, ip, source, name string, params, resp any) *event {
	c := p.chains[ci]
	e := p.g.newEvent(c, t, source, name, uid)
	e.ip, e.params, e.resp = ip, params, resp
	e.ua = agents[0] + strings.TrimSuffix(source, ".amazonaws.com") + "." + strings.ToLower(name)
	return e
}

// globalOf is the chain of ci's account in the global region.
func (p *planter) globalOf(ci int) int {
	for i, c := range p.chains {
		if c.acct == p.chains[ci].acct && c.global {
			return i
		}
	}
	return ci
}

// find is the chain of acct in region, or -1.
func find(chains []chain, acct, region string) int {
	for i, c := range chains {
		if c.acct == acct && c.region == region {
			return i
		}
	}
	return -1
}

// plant builds the attack scenario. span is the archive's length; the
// attacks happen early enough to be delivered inside it.
func plant(g *gen, chains []chain, start time.Time, span time.Duration) ([]plantedEvent, []Planted) {
	p := &planter{g: g, chains: chains}
	at := func(d time.Duration, frac float64) time.Time {
		if lim := time.Duration(float64(span) * frac); d > lim {
			d = lim.Truncate(time.Minute)
		}
		return start.Add(d)
	}
	p.mallory(len(chains)-1, at(90*time.Minute, 0.25))
	ci := chains[0]
	regional := find(chains, ci.acct, chains[len(chains)-1].region)
	if regional < 0 {
		regional = 0
	}
	global := p.globalOf(0)
	p.ciRole(regional, global, at(144*time.Minute, 0.4))
	rootChain := global
	for i, c := range chains {
		if c.global && c.org != "" && c.acct != ci.acct {
			rootChain = i
			break
		}
	}
	p.root(rootChain, at(200*time.Minute, 0.55))
	return p.evs, p.out
}

func (p *planter) mallory(ci int, at time.Time) {
	c := p.chains[ci]
	// Brute force: 12 failed console sign-ins from one IP in 4 minutes,
	// then a success without MFA.
	var fails []*event
	for i := 0; i < 12; i++ {
		t := at.Add(time.Duration(i*20) * time.Second)
		e := p.g.signin(c, t, obj{{"type", "IAMUser"}, {"principalId", "AIDADEVELOPER000001"}, {"accountId", c.acct}, {"accessKeyId", ""}, {"userName", "dev-mallory"}}, false,
			obj{{"LoginTo", "https://console.aws.amazon.com/console/home"}, {"MobileVersion", "No"}, {"MFAUsed", "No"}})
		e.ip = attackerIP
		fails = append(fails, e)
	}
	p.add("Console brute force", "T1110.001", ci, fails...)
	at = at.Add(5 * time.Minute)
	u := attacker(c.acct)
	u.del("accessKeyId")
	login := p.g.signin(c, at, u, true, obj{{"LoginTo", "https://console.aws.amazon.com/console/home"}, {"MobileVersion", "No"}, {"MFAUsed", "No"}})
	login.ip = attackerIP
	p.add("Console sign-in without MFA", "T1078.004", ci, login)
	steps := []struct {
		technique, attack, source, name string
		params                          m
		denied                          bool
	}{
		{"CloudTrail logging stopped (denied attempt)", "T1562.008", "cloudtrail.amazonaws.com", "StopLogging", m{"name": "org-trail"}, true},
		{"GuardDuty detector deleted", "T1562.001", "guardduty.amazonaws.com", "DeleteDetector", m{"detectorId": "a1b2c3"}, false},
		{"Security Hub disabled", "T1562.001", "securityhub.amazonaws.com", "DisableSecurityHub", m{}, false},
		{"VPC flow logs deleted", "T1562.008", "ec2.amazonaws.com", "DeleteFlowLogs", m{"DeleteFlowLogsRequest": m{"FlowLogId": m{"content": "fl-0abc", "tag": 1}}}, false},
		{"Config recorder stopped", "T1562.001", "config.amazonaws.com", "StopConfigurationRecorder", m{"configurationRecorderName": "default"}, false},
		{"Access key for another user", "T1098.001", "iam.amazonaws.com", "CreateAccessKey", m{"userName": "backup-admin"}, false},
		{"SSH opened to the internet", "T1562.007", "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", m{"groupId": "sg-0db", "ipPermissions": m{"items": []m{{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": m{"items": []m{{"cidrIp": "0.0.0.0/0"}}}}}}}, false},
		{"Snapshot shared with another account", "T1537", "ec2.amazonaws.com", "ModifySnapshotAttribute", m{"snapshotId": "snap-0db", "attributeType": "CREATE_VOLUME_PERMISSION", "createVolumePermission": m{"add": m{"items": []m{{"userId": "999988887777"}}}}}, false},
		{"Bucket made public", "T1530", "s3.amazonaws.com", "PutBucketPolicy", m{"bucketName": "corp-data-exports", "bucketPolicy": m{"Version": "2012-10-17", "Statement": []m{{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::corp-data-exports/*"}}}}, false},
		{"KMS key scheduled for deletion", "T1485", "kms.amazonaws.com", "ScheduleKeyDeletion", m{"keyId": "mrk-0db", "pendingWindowInDays": 7}, false},
	}
	for i, s := range steps {
		t := at.Add(time.Duration(i+1) * 2 * time.Minute)
		where := ci
		if s.source == "iam.amazonaws.com" {
			where = p.globalOf(ci) // IAM logs in the global region
		}
		e := p.call(where, t, attacker(c.acct), attackerIP, s.source, s.name, s.params, m{"_return": true})
		if s.denied {
			deny(e, s.name)
		}
		p.add(s.technique, s.attack, where, e)
	}
}

func (p *planter) ciRole(ci, gi int, at time.Time) {
	c := p.chains[ci]
	sess := "ci-deploy-1731900000"
	role := func(t time.Time) obj { return p.g.assumedRole(c.acct, "ci-deploy", sess, t, false) }
	trail := "arn:aws:cloudtrail:" + c.region + ":" + c.acct + ":trail/audit-trail-" + c.region
	keyARN := "arn:aws:kms:" + c.region + ":" + c.acct + ":key/" + stableHex(8, c.acct, "victim") + "-1a2b-4c3d-8e9f-" + stableHex(12, c.acct, "victim")
	bucket := "corp-backups-" + c.acct[8:]
	host := bucket + ".s3." + c.region + ".amazonaws.com"
	owner := stableHex(64, c.acct, "canonical")
	det := stableHex(32, c.acct, c.region, "gd")
	steps := []struct {
		technique, attack, source, name string
		params, resp                    any
	}{
		{"CloudTrail logging weakened (management events off)", "T1562.008", "cloudtrail.amazonaws.com", "PutEventSelectors",
			m{"trailName": trail, "eventSelectors": []m{{"readWriteType": "All", "includeManagementEvents": false, "dataResources": []any{}, "excludeManagementEventSources": []any{}}}},
			m{"trailARN": trail, "eventSelectors": []m{{"readWriteType": "All", "includeManagementEvents": false, "dataResources": []any{}, "excludeManagementEventSources": []any{}}}}},
		{"CloudTrail logging weakened (validation and multi-region off)", "T1562.008", "cloudtrail.amazonaws.com", "UpdateTrail",
			m{"name": trail, "isMultiRegionTrail": false, "enableLogFileValidation": false},
			m{"name": "audit-trail-" + c.region, "trailARN": trail, "isMultiRegionTrail": false, "logFileValidationEnabled": false, "includeGlobalServiceEvents": true, "isOrganizationTrail": false}},
		{"CloudTrail logging stopped", "T1562.008", "cloudtrail.amazonaws.com", "StopLogging", m{"name": trail}, nil},
		{"CloudTrail trail deleted", "T1562.008", "cloudtrail.amazonaws.com", "DeleteTrail", m{"name": trail}, nil},
		{"GuardDuty member disassociated", "T1562.001", "guardduty.amazonaws.com", "DisassociateFromMasterAccount", m{"detectorId": det}, nil},
		{"Config delivery channel deleted", "T1562.001", "config.amazonaws.com", "DeleteDeliveryChannel", m{"deliveryChannelName": "default"}, nil},
		{"Macie disabled", "T1562.001", "macie2.amazonaws.com", "DisableMacie", nil, nil},
		{"IAM Access Analyzer deleted", "T1562.001", "access-analyzer.amazonaws.com", "DeleteAnalyzer", m{"analyzerName": "ConsoleAnalyzer-" + stableHex(8, c.acct) + "-" + c.region, "clientToken": p.g.uuid()}, nil},
		{"EBS encryption by default disabled", "T1562.001", "ec2.amazonaws.com", "DisableEbsEncryptionByDefault", m{"DisableEbsEncryptionByDefaultRequest": ""},
			m{"DisableEbsEncryptionByDefaultResponse": m{"xmlns": "http://ec2.amazonaws.com/doc/2016-11-15/", "ebsEncryptionByDefault": false}}},
		{"KMS key disabled", "T1485", "kms.amazonaws.com", "DisableKey", m{"keyId": keyARN}, nil},
		{"RDP opened to the internet (IPv4 and IPv6)", "T1562.007", "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress",
			m{"groupId": "sg-0" + stableHex(16, c.acct, "rdp"), "ipPermissions": m{"items": []m{{"ipProtocol": "tcp", "fromPort": 3389, "toPort": 3389, "groups": m{},
				"ipRanges": m{"items": []m{{"cidrIp": "0.0.0.0/0"}}}, "ipv6Ranges": m{"items": []m{{"cidrIpv6": "::/0"}}}, "prefixListIds": m{}}}}},
			m{"_return": true}},
		{"Snapshot made public", "T1537", "ec2.amazonaws.com", "ModifySnapshotAttribute",
			m{"snapshotId": "snap-0" + stableHex(16, c.acct, "snap"), "attributeType": "CREATE_VOLUME_PERMISSION", "createVolumePermission": m{"add": m{"items": []m{{"group": "all"}}}}},
			m{"_return": true}},
		{"RDS snapshot made public", "T1537", "rds.amazonaws.com", "ModifyDBSnapshotAttribute",
			m{"dBSnapshotIdentifier": "prod-db-final", "attributeName": "restore", "valuesToAdd": []string{"all"}},
			m{"dBSnapshotIdentifier": "prod-db-final", "dBSnapshotAttributes": []m{{"attributeName": "restore", "attributeValues": []string{"all"}}}}},
		{"Bucket ACL grants AllUsers", "T1530", "s3.amazonaws.com", "PutBucketAcl",
			m{"bucketName": bucket, "Host": host, "acl": "", "AccessControlPolicy": m{"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/", "Owner": m{"ID": owner},
				"AccessControlList": m{"Grant": []m{
					{"Grantee": m{"xsi:type": "CanonicalUser", "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance", "ID": owner}, "Permission": "FULL_CONTROL"},
					{"Grantee": m{"xsi:type": "Group", "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "READ"}}}}},
			nil},
		{"Bucket public access block removed", "T1530", "s3.amazonaws.com", "DeleteBucketPublicAccessBlock", m{"bucketName": bucket, "Host": host, "publicAccessBlock": ""}, nil},
	}
	for i, s := range steps {
		t := at.Add(time.Duration(i) * 90 * time.Second)
		e := p.call(ci, t, role(t), ciIP, s.source, s.name, s.params, s.resp)
		if s.source == "s3.amazonaws.com" {
			e.host = host
			e.resources = []obj{{{"accountId", c.acct}, {"type", "AWS::S3::Bucket"}, {"ARN", "arn:aws:s3:::" + bucket}}}
			e.add = obj{{"SignatureVersion", "SigV4"}, {"CipherSuite", "TLS_AES_128_GCM_SHA256"}, {"bytesTransferredIn", 0}, {"AuthenticationMethod", "AuthHeader"}, {"x-amz-id-2", p.g.upper(40) + "="}, {"bytesTransferredOut", 0}}
		}
		if s.name == "DisableKey" {
			e.resources = []obj{{{"accountId", c.acct}, {"type", "AWS::KMS::Key"}, {"ARN", keyARN}}}
		}
		p.add(s.technique, s.attack, ci, e)
	}
	// Console passwords for other users (IAM logs in the global region).
	t := at.Add(time.Duration(len(steps)) * 90 * time.Second)
	e := p.call(gi, t, role(t), ciIP, "iam.amazonaws.com", "CreateLoginProfile", m{"userName": "svc-reporting", "passwordResetRequired": false},
		m{"loginProfile": m{"userName": "svc-reporting", "createDate": t.UTC().Format("Jan 2, 2006, 3:04:05 PM"), "passwordResetRequired": false}})
	p.add("Login profile created for another user", "T1098", gi, e)
	t = t.Add(70 * time.Second)
	e = p.call(gi, t, role(t), ciIP, "iam.amazonaws.com", "UpdateLoginProfile", m{"userName": "alice", "passwordResetRequired": false}, nil)
	p.add("Login profile changed for another user", "T1098", gi, e)
}

func (p *planter) root(ci int, at time.Time) {
	c := p.chains[ci]
	login := p.g.signin(c, at, root(c.acct), true, obj{{"LoginTo", "https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_us-east-1_" + stableHex(16, c.acct)},
		{"MobileVersion", "No"}, {"MFAUsed", "No"}})
	login.ip = rootIP
	p.add("Root console sign-in without MFA", "T1078.004", ci, login)
	t := at.Add(3 * time.Minute)
	u := root(c.acct)
	u.set("accessKeyId", "ASIA"+p.g.upper(16))
	u.set("sessionContext", obj{{"sessionIssuer", obj{}}, {"webIdFederationData", obj{}}, {"attributes", obj{{"creationDate", at.UTC().Format(time.RFC3339)}, {"mfaAuthenticated", "false"}}}})
	e := p.call(ci, t, u, rootIP, "iam.amazonaws.com", "CreateAccessKey", nil,
		m{"accessKey": m{"accessKeyId": "AKIA" + p.g.upper(16), "status": "Active", "createDate": t.UTC().Format("Jan 2, 2006, 3:04:05 PM")}})
	e.ua, e.console = "AWS Internal", true
	p.add("Root API usage (root access key created)", "T1098.001", ci, e)
	t = t.Add(4 * time.Minute)
	e = p.call(ci, t, u, rootIP, "organizations.amazonaws.com", "LeaveOrganization", nil, nil)
	e.ua, e.console = "AWS Internal", true
	p.add("Account left the organization", "T1666", ci, e)
}

// stopLogging builds the organization trail's StopLogging (by the stolen
// key) and the StartLogging that ends the gap.
func stopLogging(g *gen, c chain, trail string, stopAt, restartAt time.Time) (*event, *event) {
	arn := fmt.Sprintf("arn:aws:cloudtrail:%s:%s:trail/%s", c.region, c.acct, trail)
	stop := g.newEvent(c, stopAt, "cloudtrail.amazonaws.com", "StopLogging", attacker(c.acct))
	stop.ip, stop.params, stop.ua = attackerIP, m{"name": arn}, agents[0]+"cloudtrail.stop-logging"
	start := g.newEvent(c, restartAt, "cloudtrail.amazonaws.com", "StartLogging", admin(c.acct))
	start.params = m{"name": trail}
	return stop, start
}
