package integrity

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
)

// TestRealDigest parses the real CloudTrail digest in testdata/integrity
// (see SOURCE.txt) and checks fields and the signing-string layout.
func TestRealDigest(t *testing.T) {
	raw, err := os.ReadFile("../../testdata/integrity/llm-guard-digest-20231015T230404Z.json")
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseDigest(raw)
	if err != nil {
		t.Fatal(err)
	}
	if d.AWSAccountID != "327878933619" || d.DigestEndTime != "2023-10-15T23:04:04Z" || d.DigestPublicKeyFingerprint != "be2f0b997552f44942837300ba1aba9d" {
		t.Fatalf("parsed %+v", d)
	}
	if d.PreviousDigestSignature == nil || len(*d.PreviousDigestSignature) != 512 || d.PreviousDigestS3Object == nil || !strings.HasSuffix(*d.PreviousDigestS3Object, "20231015T220404Z.json.gz") {
		t.Fatalf("previous link %v %v", d.PreviousDigestS3Object, d.PreviousDigestSignature)
	}
	if len(d.LogFiles) == 0 {
		t.Fatal("no logFiles")
	}
	ss := SigningString(d, raw)
	lines := strings.Split(ss, "\n")
	if len(lines) != 4 || lines[0] != d.DigestEndTime || lines[1] != d.DigestS3Bucket+"/"+d.DigestS3Object || lines[2] != HashHex(raw) || lines[3] != *d.PreviousDigestSignature {
		t.Fatalf("signing string %q", ss)
	}
	// Our serializer writes the real file's bytes back exactly.
	again, err := MarshalDigest(d)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, raw) {
		t.Errorf("MarshalDigest does not reproduce the real digest's bytes")
	}
}

// TestSigningStringVector is the AWS CLI's unit-test vector (DIGEST.md §2.3).
func TestSigningStringVector(t *testing.T) {
	d := &Digest{DigestEndTime: "a", DigestS3Bucket: "b", DigestS3Object: "c"}
	want := "a\nb/c\nba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\nnull"
	if got := SigningString(d, []byte("abc")); got != want {
		t.Fatalf("SigningString = %q; want %q", got, want)
	}
}

// TestRealKeys loads the real ListPublicKeys outputs in every shape and
// checks the fingerprints (MD5 of the DER, PKCS#1 and SPKI).
func TestRealKeys(t *testing.T) {
	want := map[string][]string{
		"awscli-example-list-public-keys.json": {"7f3f401420072e50a65a141430817ab3"},
		"awsdocs-list-public-keys-sample.json": {"8eba5db5bea9b640d1c96a77256fe7f2", "8933b39ddc64d26d8e14ffbf6566fee4", "31e8b5433410dfb61a9dc45cc65b22ff"},
	}
	for file, fps := range want {
		f, err := os.Open("../../testdata/integrity/" + file)
		if err != nil {
			t.Fatal(err)
		}
		keys, err := ParsePublicKeys(f, "")
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if len(keys) != len(fps) {
			t.Fatalf("%s: %d keys; want %d", file, len(keys), len(fps))
		}
		for i, k := range keys {
			if k.Fingerprint != fps[i] || k.Key.N.BitLen() != 2048 || k.Start.IsZero() {
				t.Errorf("%s key %d: %s %d bits start %v", file, i, k.Fingerprint, k.Key.N.BitLen(), k.Start)
			}
		}
	}
}

func FuzzParseDigest(f *testing.F) {
	raw, _ := os.ReadFile("../../testdata/integrity/llm-guard-digest-20231015T230404Z.json")
	f.Add(raw)
	f.Add([]byte(`{"digestEndTime":"x","digestStartTime":"y","digestS3Bucket":"b","digestS3Object":"o","digestPublicKeyFingerprint":"f","previousDigestSignature":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDigest(b)
		if err != nil && !errors.Is(err, ErrFormat) {
			t.Fatalf("error %v is not ErrFormat", err)
		}
		if err == nil {
			_ = SigningString(d, b)
			out, err := MarshalDigest(d)
			if err != nil {
				t.Fatalf("a parsed digest does not serialise: %v", err)
			}
			// Round trip: what MarshalDigest writes parses back to the
			// same digest, and serialises to the same bytes.
			d2, err := ParseDigest(out)
			if err != nil {
				t.Fatalf("MarshalDigest output does not parse: %v\n%s", err, out)
			}
			if !reflect.DeepEqual(d, d2) {
				t.Fatalf("digest round trip:\n%+v\n%+v", d, d2)
			}
			if out2, _ := MarshalDigest(d2); !bytes.Equal(out, out2) {
				t.Fatalf("MarshalDigest is not stable:\n%s\n%s", out, out2)
			}
		}
		inflated, err := Inflate(b, 1<<20)
		if err == nil && len(b) > 1 && b[0] == 0x1f && b[1] == 0x8b && len(inflated) > 1<<20 {
			t.Fatal("Inflate passed its cap")
		}
	})
}

func FuzzPublicKeys(f *testing.F) {
	for _, n := range []string{"awscli-example-list-public-keys.json", "awsdocs-list-public-keys-sample.json"} {
		b, _ := os.ReadFile("../../testdata/integrity/" + n)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		keys, err := ParsePublicKeys(bytes.NewReader(b), "")
		if err != nil {
			return
		}
		for _, k := range keys {
			if Fingerprint(k.DER) != k.Fingerprint || k.Key == nil {
				t.Fatal("accepted a key whose fingerprint is not MD5 of its DER")
			}
			_ = hex.EncodeToString(k.DER)
		}
		// Round trip: a key file written from the keys parses back to the
		// same keys (validity times to the second).
		var buf bytes.Buffer
		if err := WritePublicKeysJSON(&buf, keys); err != nil {
			t.Fatal(err)
		}
		again, err := ParsePublicKeys(&buf, "")
		if err != nil {
			t.Fatalf("WritePublicKeysJSON output does not parse: %v\n%s", err, buf.Bytes())
		}
		if len(again) != len(keys) {
			t.Fatalf("%d keys after the round trip; want %d", len(again), len(keys))
		}
		for i, k := range keys {
			a := again[i]
			if a.Fingerprint != k.Fingerprint || !bytes.Equal(a.DER, k.DER) || a.PKCS1 != k.PKCS1 || !a.Key.Equal(k.Key) ||
				!a.Start.Equal(k.Start.Truncate(time.Second)) || !a.End.Equal(k.End.Truncate(time.Second)) {
				t.Fatalf("key %d round trip: %+v; want %+v", i, a, k)
			}
		}
	})
}

// TestReadDigestGzipAndPlain: ReadDigest takes the real digest plain and
// gzipped, with the same inflated bytes.
func TestReadDigestGzipAndPlain(t *testing.T) {
	raw, err := os.ReadFile("../../testdata/integrity/llm-guard-digest-20231015T230404Z.json")
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	for _, in := range [][]byte{raw, gz.Bytes()} {
		d, inflated, err := ReadDigest(bytes.NewReader(in))
		if err != nil || !bytes.Equal(inflated, raw) || d.AWSAccountID != "327878933619" {
			t.Fatalf("ReadDigest: %v", err)
		}
	}
	if _, _, err := ReadDigest(bytes.NewReader(gz.Bytes()[:gz.Len()-20])); err == nil {
		t.Fatal("a truncated digest was read")
	}
}

// FuzzHashLog: HashLog never panics; a gzip member of any content hashes
// to the SHA-256 of that content; and its pooled state never leaks from
// one log into the next (the same bytes give the same answer after any
// other input).
func FuzzHashLog(f *testing.F) {
	raw, _ := os.ReadFile("../../testdata/integrity/llm-guard-digest-20231015T230404Z.json")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	f.Add(gz.Bytes(), raw)
	f.Add(gz.Bytes()[:gz.Len()/2], []byte{})
	f.Add(append(append([]byte{}, gz.Bytes()...), "tail"...), []byte("x"))
	f.Add([]byte{}, []byte("not gzip"))
	f.Fuzz(func(t *testing.T, stored, content []byte) {
		sum1, err1 := HashLog(bytes.NewReader(stored))
		var member bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&member, gzip.NoCompression) // stored blocks (still inflated): a compressor per exec is too slow under fuzzing
		zw.Write(content)
		zw.Close()
		got, err := HashLog(bytes.NewReader(member.Bytes()))
		if err != nil || got != HashHex(content) {
			t.Fatalf("a gzip member of %d bytes: %q, %v; want %s", len(content), got, err, HashHex(content))
		}
		sum2, err2 := HashLog(bytes.NewReader(stored))
		if sum1 != sum2 || fmt.Sprint(err1) != fmt.Sprint(err2) {
			t.Fatalf("the same bytes hashed twice: (%q, %v) then (%q, %v)", sum1, err1, sum2, err2)
		}
		if err1 != nil && !errors.Is(err1, ErrFormat) && !errors.Is(err1, ErrTrailingData) {
			t.Fatalf("content error %v is neither ErrFormat nor ErrTrailingData", err1)
		}
	})
}

// corruptDeflate is a gzip header and a corrupt deflate stream (found by
// FuzzHashLog): an inflater that kept the Huffman tables of the stream it
// read before failed on it with another error.
var corruptDeflate = []byte("\x1f\x8b\x08\x00000000$\x01\x00\x00\x00\xcda\xc61\xb9X\xdfA\xbb\xd28\xd7yC0!0-%P\xd2, 7Z0000X?%0\xe1\xbbw y\x01 0Z:0\xe67\xd28\xd687Y\xea0")

// TestHashLogForgetsThePreviousLog: the verdict on a log does not depend
// on the logs hashed before it.
func TestHashLogForgetsThePreviousLog(t *testing.T) {
	_, alone := HashLog(bytes.NewReader(corruptDeflate))
	var good bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&good, gzip.BestCompression)
	zw.Write([]byte(strings.Repeat("a log file's records, ", 500)))
	zw.Close()
	for i := 0; i < 8; i++ { // every pooled hasher has read a good log
		if _, err := HashLog(bytes.NewReader(good.Bytes())); err != nil {
			t.Fatal(err)
		}
		_, after := HashLog(bytes.NewReader(corruptDeflate))
		if fmt.Sprint(after) != fmt.Sprint(alone) {
			t.Fatalf("after a good log: %v; alone: %v", after, alone)
		}
	}
}
