// Package integrity verifies CloudTrail log-file integrity with the
// verdicts of `aws cloudtrail validate-logs`, and the checks it skips.
// The specification is /work/shared/DIGEST.md; docs/verify.md is the user
// guide.
//
// # Formats
//
// A digest is a gzipped, compact JSON object (Digest, in the field order
// of real files, "/" escaped as "\/") delivered hourly per account,
// source region and trail under .../CloudTrail-Digest/REGION/YYYY/MM/DD/.
// Its S3 user metadata carries "signature" (hex RSASSA-PKCS1-v1_5 with
// SHA-256) and "signature-algorithm". The signature covers the signing
// string (SigningString):
//
//	digestEndTime \n digestS3Bucket/digestS3Object \n hex(SHA-256(inflated digest)) \n previousDigestSignature|null
//
// Each digest lists log files with the SHA-256 of their uncompressed
// bytes and links to the previous digest (its key, the SHA-256 of its
// content and its signature). Public keys come from CloudTrail
// ListPublicKeys per source region (KeyProvider, CloudTrailKeys) or from
// saved list-public-keys output in the CLI v1, CLI v2 or documentation
// shape (ParsePublicKeys); a key's fingerprint is the MD5 of its DER
// bytes, PKCS#1 or SPKI. Gzip is read as the CLI reads it: one member
// (Multistream off), trailer checked, trailing data reported (Inflate,
// HashLog).
//
// # Verdicts
//
// Verify returns a Result: one FileResult per digest and log with a
// Status — Valid, Invalid (tampered), Missing, Unverified (a log no valid
// digest covers), Unreferenced (a log no digest lists although digests
// cover its delivery time) or Error (could not be read) — a Reason, and
// the AWS CLI's own text for the same file (CLI). Per-file failures
// never abort a run. On top of the CLI's checks it verifies the previous
// digest links (hash and signature), key validity windows, trailing data
// and half-null chain fields (all off with Options.Compat), that every
// digest listing a log names the same hash, reports every missing hour
// and tail truncation, and, in versioned buckets,
// names an older version of a tampered or deleted file that still
// matches. Reads go through an adaptive back-off shared by all workers.
// Result renders as text, JSON lines, or the CLI's own output, and maps
// to exit codes (0 valid, 1 tampering or loss, 2 could not verify all).
//
// # One read for ingest and verification
//
// NewLogCheck gives an io.Writer to tee a log object's stored bytes into
// during ingest; its Sum is the hash Verify needs, passed back through
// Options.LogHash so Verify reads only digests.
//
// Mirror copies a bucket range to a local evidence folder (sidecars with
// S3 metadata, SHA256SUMS) that Verify reads offline with the same
// verdicts. The package never prints.
package integrity
