// Package synth generates realistic CloudTrail archives for tests,
// benchmarks and the README demo. Generate writes, under Options.Dir, the
// tree of an S3 trail bucket as CloudTrail delivers it:
//
//   - Log files: gzipped {"Records":[...]} at
//     [Prefix/]AWSLogs/[o-org/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE.json.gz
//     (keyname.LogKey), for organization member accounts and standalone
//     accounts in every region. About FilesPerHour files an hour per
//     account and region (some share a five-minute slot); a file
//     delivered at T holds events of the five minutes before it, a few up
//     to 15 minutes late. Records are compact JSON in CloudTrail's own
//     field order, with UUID event IDs.
//   - A realistic background: S3 and DynamoDB data events (with VPC
//     endpoints), EC2/IAM/Lambda/SSM/CloudWatch/Secrets Manager calls, STS
//     AssumeRole (also by AWS services), SAML and web identity
//     federation, federated users, IAM Identity Center users, console
//     sessions (sessionCredentialFromConsole), console sign-ins with MFA,
//     events AWS services log on their own, AccessDenied errors, and
//     look-alikes of attacks that must not raise alarms: a trail update
//     that turns validation on, full event selectors, SSO sign-ins without
//     the MFA flag, single failed logins, HTTPS opened to the world, SSH
//     from the private network, non-public bucket policies, public access
//     blocks turned on, snapshots un-shared, access keys made for oneself.
//     IAM, sign-in and Organizations events only appear in the global
//     region (us-east-1 when present).
//   - Planted attacks (Options.Attacks), with ground truth in
//     Result.Planted and KeysDir/planted.json: see attacks.go. The
//     background never uses the attackers' principals or addresses.
//   - An hourly signed digest chain per account and region (Options
//     NoDigests turns it off): one digest per hour even when empty,
//     starting digests with null previous* fields, each digest linking the
//     previous one's key, SHA-256 and signature, logFiles with the SHA-256
//     of the uncompressed logs, signed with integrity.SignDigest; each
//     digest's S3 user metadata (signature, signature-algorithm) goes to
//     its sidecar (ingest.WriteSidecar), and Dir/.trailscope/bucket names
//     the bucket. Each region has its own 2048-bit key derived from the
//     seed (DeriveKey), or Options.SigningKey signs them all.
//   - Tampering, recorded in Result.Tampered: a log modified after
//     signing (TamperLog), a log deleted (DeleteLogAt), a digest deleted
//     (DeleteDigestAt), logging stopped for hours (StopGapHours: a
//     StopLogging event, then no logs and no digests, then StartLogging
//     and a new starting digest), and an hour with no deliveries
//     (GapHour).
//
// Keys never go inside the bucket tree: KeysDir (default "keys" next to
// Dir) receives public-keys.json in the shape of
// `aws cloudtrail list-public-keys`, one private key PEM per region, and
// planted.json.
//
// Output is a pure function of the options: every log file has its own
// random stream, so the bytes do not depend on the (at most two) worker
// goroutines. Only file metadata stays in memory; corpora of millions of
// events stream to disk (see BenchmarkGenerate1M). SidecarMeta gives the
// metadata for an S3 upload (s3test's UploadDir), so the digests keep
// their signatures there too.
//
// SampleOptions are the options of the committed sample, testdata/sample.
package synth
