package integrity

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// Digest is a CloudTrail digest file. Nullable fields are pointers.
type Digest struct {
	AWSAccountID                string       `json:"awsAccountId"`
	DigestStartTime             string       `json:"digestStartTime"`
	DigestEndTime               string       `json:"digestEndTime"`
	DigestS3Bucket              string       `json:"digestS3Bucket"`
	DigestS3Object              string       `json:"digestS3Object"`
	DigestPublicKeyFingerprint  string       `json:"digestPublicKeyFingerprint"`
	DigestSignatureAlgorithm    string       `json:"digestSignatureAlgorithm"`
	NewestEventTime             *string      `json:"newestEventTime"`
	OldestEventTime             *string      `json:"oldestEventTime"`
	PreviousDigestS3Bucket      *string      `json:"previousDigestS3Bucket"`
	PreviousDigestS3Object      *string      `json:"previousDigestS3Object"`
	PreviousDigestHashValue     *string      `json:"previousDigestHashValue"`
	PreviousDigestHashAlgorithm *string      `json:"previousDigestHashAlgorithm"`
	PreviousDigestSignature     *string      `json:"previousDigestSignature"`
	LogFiles                    []LogFileRef `json:"logFiles"`
}

// LogFileRef is one entry of logFiles.
type LogFileRef struct {
	S3Bucket        string `json:"s3Bucket"`
	S3Object        string `json:"s3Object"`
	HashValue       string `json:"hashValue"`
	HashAlgorithm   string `json:"hashAlgorithm"`
	NewestEventTime string `json:"newestEventTime"`
	OldestEventTime string `json:"oldestEventTime"`
}

// Sentinel problems of a digest file.
var (
	ErrFormat = errors.New("invalid format")
	// ErrTrailingData: bytes after the end of the gzip stream.
	ErrTrailingData = errors.New("unexpected data after end of compressed stream")
	// ErrTruncated: the gzip stream ends early (inside the deflate data or
	// before its 8-byte trailer). The AWS CLI reports a truncated log as
	// "hash value doesn't match", or valid when only the trailer is gone.
	ErrTruncated = errors.New("truncated gzip stream")
)

// maxDigestBytes caps an inflated digest (a real one is a few KiB; a
// hostile one with a huge logFiles list is refused past this).
const maxDigestBytes = 64 << 20

// Inflate returns the uncompressed bytes of a gzipped object the way the
// AWS CLI reads it: one gzip member (Multistream off), the trailer
// checked; trailing bytes are reported with ErrTrailingData alongside the
// complete first member. Bytes that are not gzip are ErrFormat (never
// trust an HTTP layer to have inflated them).
func Inflate(b []byte, max int64) ([]byte, error) {
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		return nil, fmt.Errorf("%w: not gzip", ErrFormat)
	}
	br := bytes.NewReader(b)
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	zr.Multistream(false)
	out, err := io.ReadAll(io.LimitReader(zr, max+1))
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return out, fmt.Errorf("%w: %w", ErrFormat, ErrTruncated)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if int64(len(out)) > max {
		return nil, fmt.Errorf("%w: larger than %d bytes inflated", ErrFormat, max)
	}
	if br.Len() > 0 {
		return out, ErrTrailingData
	}
	return out, nil
}

// ParseDigest parses inflated digest bytes. Required fields (CLI order of
// checks, DIGEST.md §3.1 step 5) must be present; null counts as present.
// Keys match case-sensitively and the last duplicate wins, as in the
// CLI's Python json (DIGEST.md §6 case 37): encoding/json's struct
// decoding would accept "DigestS3Object" for "digestS3Object".
func ParseDigest(raw []byte) (*Digest, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	for _, k := range []string{"digestPublicKeyFingerprint", "digestS3Bucket", "digestS3Object", "previousDigestSignature", "digestEndTime", "digestStartTime"} {
		if _, ok := m[k]; !ok {
			return nil, fmt.Errorf("%w: missing %s", ErrFormat, k)
		}
	}
	var d Digest
	var err error
	str := func(k string, dst *string) {
		if v, ok := m[k]; ok && err == nil && string(v) != "null" {
			if e := json.Unmarshal(v, dst); e != nil {
				err = fmt.Errorf("%w: %s: %v", ErrFormat, k, e)
			}
		}
	}
	ptr := func(k string, dst **string) {
		if v, ok := m[k]; ok && err == nil && string(v) != "null" {
			var s string
			if e := json.Unmarshal(v, &s); e != nil {
				err = fmt.Errorf("%w: %s: %v", ErrFormat, k, e)
				return
			}
			*dst = &s
		}
	}
	str("awsAccountId", &d.AWSAccountID)
	str("digestStartTime", &d.DigestStartTime)
	str("digestEndTime", &d.DigestEndTime)
	str("digestS3Bucket", &d.DigestS3Bucket)
	str("digestS3Object", &d.DigestS3Object)
	str("digestPublicKeyFingerprint", &d.DigestPublicKeyFingerprint)
	str("digestSignatureAlgorithm", &d.DigestSignatureAlgorithm)
	ptr("newestEventTime", &d.NewestEventTime)
	ptr("oldestEventTime", &d.OldestEventTime)
	ptr("previousDigestS3Bucket", &d.PreviousDigestS3Bucket)
	ptr("previousDigestS3Object", &d.PreviousDigestS3Object)
	ptr("previousDigestHashValue", &d.PreviousDigestHashValue)
	ptr("previousDigestHashAlgorithm", &d.PreviousDigestHashAlgorithm)
	ptr("previousDigestSignature", &d.PreviousDigestSignature)
	if err != nil {
		return nil, err
	}
	if v, ok := m["logFiles"]; ok && string(v) != "null" {
		var list []map[string]json.RawMessage
		if e := json.Unmarshal(v, &list); e != nil {
			return nil, fmt.Errorf("%w: logFiles: %v", ErrFormat, e)
		}
		d.LogFiles = make([]LogFileRef, 0, len(list))
		for _, e := range list {
			var lf LogFileRef
			m = e
			str("s3Bucket", &lf.S3Bucket)
			str("s3Object", &lf.S3Object)
			str("hashValue", &lf.HashValue)
			str("hashAlgorithm", &lf.HashAlgorithm)
			str("newestEventTime", &lf.NewestEventTime)
			str("oldestEventTime", &lf.OldestEventTime)
			if err != nil {
				return nil, fmt.Errorf("logFiles: %w", err)
			}
			d.LogFiles = append(d.LogFiles, lf)
		}
	}
	return &d, nil
}

// SigningString is CloudTrail's data-signing string (DIGEST.md §2.3):
// digestEndTime, bucket/key, hex SHA-256 of the inflated digest, and the
// previous signature or "null", joined by newlines.
func SigningString(d *Digest, inflated []byte) string {
	sum := sha256.Sum256(inflated)
	prev := "null"
	if d.PreviousDigestSignature != nil {
		prev = *d.PreviousDigestSignature
	}
	return d.DigestEndTime + "\n" + d.DigestS3Bucket + "/" + d.DigestS3Object + "\n" + hex.EncodeToString(sum[:]) + "\n" + prev
}

// VerifySignature checks a hex signature (the object's "signature" user
// metadata) over the signing string with RSASSA-PKCS1-v1_5 / SHA-256.
func VerifySignature(pub *rsa.PublicKey, d *Digest, inflated []byte, sigHex string) error {
	sig, err := hex.DecodeString(strings.TrimSpace(sigHex))
	if err != nil {
		return fmt.Errorf("signature is not hex: %w", err)
	}
	h := sha256.Sum256([]byte(SigningString(d, inflated)))
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig)
}

// MarshalDigest serialises a digest compactly in the field order of real
// files, with "/" escaped as "\/" as CloudTrail's Java serializer does.
func MarshalDigest(d *Digest) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if d.LogFiles == nil {
		d.LogFiles = []LogFileRef{}
	}
	if err := enc.Encode(d); err != nil {
		return nil, err
	}
	b := bytes.TrimRight(buf.Bytes(), "\n")
	return bytes.ReplaceAll(b, []byte("/"), []byte(`\/`)), nil
}

// SignDigest serialises, signs and gzips a digest as CloudTrail does. It
// returns the object body, the inflated bytes, and the S3 user metadata
// CloudTrail attaches (signature, signature-algorithm).
func SignDigest(d *Digest, key *rsa.PrivateKey) (body, inflated []byte, meta map[string]string, err error) {
	inflated, err = MarshalDigest(d)
	if err != nil {
		return nil, nil, nil, err
	}
	h := sha256.Sum256([]byte(SigningString(d, inflated)))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, h[:])
	if err != nil {
		return nil, nil, nil, err
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(inflated)
	zw.Close()
	return gz.Bytes(), inflated, map[string]string{"signature": hex.EncodeToString(sig), "signature-algorithm": "SHA256withRSA"}, nil
}

// HashHex is the lowercase hex SHA-256 of b.
func HashHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// LogCheck hashes a log object's bytes as they stream past (a tee in the
// ingest pipeline), so that one read serves both ingest and
// verification. Write the object's stored bytes (gzipped or not); Sum
// returns the SHA-256 of the uncompressed content with the CLI's gzip
// semantics (one member; trailing data and truncation are errors).
type LogCheck struct {
	pw   *io.PipeWriter
	done chan struct{}
	sum  string
	err  error
}

// NewLogCheck starts a log hasher. Call Close (or Sum) after the last
// Write.
func NewLogCheck() *LogCheck {
	pr, pw := io.Pipe()
	c := &LogCheck{pw: pw, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		c.sum, c.err = HashLog(pr)
		pr.CloseWithError(c.err) // unblock a writer if hashing stopped early
		io.Copy(io.Discard, pr)
	}()
	return c
}

// Write feeds stored (compressed) bytes; it never fails for bad content.
func (c *LogCheck) Write(p []byte) (int, error) {
	c.pw.Write(p) // after a content error the hasher drains; the tee goes on
	return len(p), nil
}

// Sum ends the input and returns the hex SHA-256 of the uncompressed
// bytes, or the reason they could not be hashed (ErrFormat,
// ErrTruncated, ErrTrailingData).
func (c *LogCheck) Sum() (string, error) {
	c.pw.Close()
	<-c.done
	return c.sum, c.err
}

// HashLog streams a stored log object and returns the hex SHA-256 of its
// uncompressed content in constant memory, with the CLI's streaming
// semantics (DIGEST.md §2.4): one gzip member only; an empty object
// hashes as empty content; other non-gzip bytes are ErrFormat. On
// ErrTrailingData and ErrTruncated the hash of what was inflated is still
// returned (the CLI compares it).
func HashLog(r io.Reader) (string, error) {
	lh := logHashers.Get().(*logHasher)
	defer logHashers.Put(lh)
	rr := &readErr{r: r}
	br := lh.br
	br.Reset(rr)
	defer br.Reset(nil) // drop the object's reader before pooling
	h := lh.h
	h.Reset()
	magic, err := br.Peek(2)
	if len(magic) == 0 && err == io.EOF {
		return hex.EncodeToString(h.Sum(nil)), nil
	}
	if len(magic) < 2 || magic[0] != 0x1f || magic[1] != 0x8b {
		if err != nil && err != io.EOF {
			return "", err
		}
		return "", fmt.Errorf("%w: not gzip", ErrFormat)
	}
	// A fresh inflater per log: klauspost's Reset keeps Huffman state of
	// the previous stream, and a corrupt log then fails with another
	// error depending on which log the pooled one read before.
	zr, err := gzip.NewReader(br)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrFormat, err)
	}
	zr.Multistream(false)
	_, err = io.CopyBuffer(h, zr, lh.buf)
	sum := hex.EncodeToString(h.Sum(nil))
	if rr.err != nil {
		return "", rr.err // the object could not be read: not bad content
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return sum, fmt.Errorf("%w: %w", ErrFormat, ErrTruncated)
	}
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if n, _ := io.CopyBuffer(io.Discard, br, lh.buf); n > 0 {
		return sum, ErrTrailingData
	}
	return sum, nil
}

// logHasher holds HashLog's buffers and hasher, reused across logs (a
// verify run of 20,000 logs made 3 GB of garbage without them). The
// inflater is not reused (see HashLog).
type logHasher struct {
	br  *bufio.Reader
	buf []byte
	h   hash.Hash
}

var logHashers = sync.Pool{New: func() any {
	return &logHasher{br: bufio.NewReaderSize(nil, 64<<10), buf: make([]byte, 64<<10), h: sha256.New()}
}}

// readErr remembers a read error of the underlying object (other than
// EOF), to tell an unreadable object from bad content.
type readErr struct {
	r   io.Reader
	err error
}

func (e *readErr) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// ReadDigest reads a digest object's stored bytes (gzipped, or plain JSON
// as saved by hand) and returns the parsed digest and its inflated bytes
// (what the signing string hashes). Gzip is read as the CLI reads a
// digest: data after the first member is ignored here; Verify reports it.
func ReadDigest(r io.Reader) (*Digest, []byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxDigestBytes+1))
	if err != nil {
		return nil, nil, err
	}
	raw := b
	if len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b {
		if raw, err = Inflate(b, maxDigestBytes); err != nil && !errors.Is(err, ErrTrailingData) {
			return nil, nil, err
		}
	}
	d, err := ParseDigest(raw)
	if err != nil {
		return nil, nil, err
	}
	return d, raw, nil
}
