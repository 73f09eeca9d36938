// Command gencorpus writes a large benchmark corpus of CloudTrail log
// files in the S3 layout (AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/),
// gzipped, ~1.4 KB per event, with a realistic mix of identities and
// request shapes and unique eventIDs. It streams: memory does not grow
// with the corpus. Usage: gencorpus -out DIR -events 1000000
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
)

type m = map[string]any

var calls = []struct{ src, name string }{
	{"s3.amazonaws.com", "GetObject"}, {"s3.amazonaws.com", "PutObject"}, {"ec2.amazonaws.com", "DescribeInstances"},
	{"ec2.amazonaws.com", "RunInstances"}, {"iam.amazonaws.com", "GetUser"}, {"iam.amazonaws.com", "ListRoles"},
	{"sts.amazonaws.com", "AssumeRole"}, {"kms.amazonaws.com", "Decrypt"}, {"lambda.amazonaws.com", "Invoke"},
	{"signin.amazonaws.com", "ConsoleLogin"}, {"dynamodb.amazonaws.com", "GetItem"}, {"ssm.amazonaws.com", "GetParameter"},
	{"logs.amazonaws.com", "PutLogEvents"}, {"monitoring.amazonaws.com", "PutMetricData"},
}

func hex(r *rand.Rand, n int) string {
	const h = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = h[r.IntN(16)]
	}
	return string(b)
}

func upper(r *rand.Rand, n int) string {
	const h = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := make([]byte, n)
	for i := range b {
		b[i] = h[r.IntN(len(h))]
	}
	return string(b)
}

func event(r *rand.Rand, acct, region string, t time.Time) m {
	c := calls[r.IntN(len(calls))]
	// A realistic population: a few dozen roles and sessions per account.
	role, sess := fmt.Sprintf("ops-%02d", r.IntN(12)), fmt.Sprintf("sess-%02d", r.IntN(40))
	uid := m{"type": "AssumedRole", "principalId": "AROA" + upper(r, 17) + ":" + sess,
		"arn": "arn:aws:sts::" + acct + ":assumed-role/" + role + "/" + sess, "accountId": acct,
		"accessKeyId": "ASIA" + upper(r, 16),
		"sessionContext": m{"sessionIssuer": m{"type": "Role", "principalId": "AROA" + upper(r, 17), "arn": "arn:aws:iam::" + acct + ":role/" + role,
			"accountId": acct, "userName": role}, "webIdFederationData": m{},
			"attributes": m{"creationDate": t.Add(-time.Hour).Format(time.RFC3339), "mfaAuthenticated": "false"}}}
	if r.IntN(5) == 0 {
		user := fmt.Sprintf("u-%02d", r.IntN(20))
		uid = m{"type": "IAMUser", "principalId": "AIDA" + upper(r, 17), "arn": "arn:aws:iam::" + acct + ":user/" + user,
			"accountId": acct, "accessKeyId": "AKIA" + upper(r, 16), "userName": user}
	}
	e := m{"eventVersion": "1.09", "userIdentity": uid, "eventTime": t.UTC().Format(time.RFC3339), "eventSource": c.src,
		"eventName": c.name, "awsRegion": region,
		"sourceIPAddress":   fmt.Sprintf("%d.%d.%d.%d", 10+r.IntN(3), 0, r.IntN(4), r.IntN(64)),
		"userAgent":         "aws-cli/2.15.0 Python/3.11.6 Linux/6.1.0 exe/x86_64.debian.12 prompt/off command/" + c.name,
		"requestParameters": m{"bucketName": "corp-" + hex(r, 6), "key": "data/" + hex(r, 24) + ".csv", "instancesSet": m{"items": []m{{"instanceId": "i-" + hex(r, 17)}}}},
		"responseElements":  nil,
		"requestID":         hex(r, 8) + "-" + hex(r, 4) + "-" + hex(r, 4) + "-" + hex(r, 4) + "-" + hex(r, 12),
		"eventID":           hex(r, 8) + "-" + hex(r, 4) + "-" + hex(r, 4) + "-" + hex(r, 4) + "-" + hex(r, 12),
		"readOnly":          r.IntN(2) == 0, "eventType": "AwsApiCall", "managementEvent": true, "recipientAccountId": acct,
		"eventCategory": "Management",
		"tlsDetails":    m{"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": c.src},
	}
	if r.IntN(10) == 0 {
		e["errorCode"], e["errorMessage"] = "AccessDenied", "User is not authorized to perform: "+c.name
	}
	if c.src == "s3.amazonaws.com" {
		e["resources"] = []m{{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::corp/" + hex(r, 24)}, {"accountId": acct, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::corp"}}
		e["additionalEventData"] = m{"SignatureVersion": "SigV4", "bytesTransferredOut": r.IntN(100000), "x-amz-id-2": upper(r, 60)}
		e["managementEvent"], e["eventCategory"] = false, "Data"
	}
	return e
}

func main() {
	out := flag.String("out", "corpus", "output folder")
	events := flag.Int("events", 1_000_000, "events in all")
	per := flag.Int("per-file", 1400, "events per log file")
	seed := flag.Uint64("seed", 1, "seed")
	flag.Parse()
	accounts := []string{"111111111111", "222222222222", "333333333333"}
	regions := []string{"us-east-1", "eu-west-1"}
	files := (*events + *per - 1) / *per
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	jobs := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range jobs {
				r := rand.New(rand.NewPCG(*seed, uint64(f)))
				acct, region := accounts[f%len(accounts)], regions[(f/len(accounts))%len(regions)]
				t := start.Add(time.Duration(f) * 5 * time.Minute / time.Duration(len(accounts)*len(regions)))
				n := min(*per, *events-f**per)
				key := fmt.Sprintf("AWSLogs/%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_%s.json.gz", acct, region, t.Format("2006/01/02"), acct, region, t.Format("20060102T1504Z"), upper(r, 16))
				p := filepath.Join(*out, filepath.FromSlash(key))
				os.MkdirAll(filepath.Dir(p), 0o755)
				fh, err := os.Create(p)
				if err != nil {
					panic(err)
				}
				zw, _ := gzip.NewWriterLevel(fh, gzip.DefaultCompression)
				bw := bufio.NewWriterSize(zw, 1<<20)
				bw.WriteString(`{"Records":[`)
				for i := 0; i < n; i++ {
					if i > 0 {
						bw.WriteByte(',')
					}
					b, _ := json.Marshal(event(r, acct, region, t.Add(-time.Duration(n-i)*150*time.Millisecond)))
					bw.Write(b)
				}
				bw.WriteString("]}")
				bw.Flush()
				zw.Close()
				fh.Close()
			}
		}()
	}
	for f := 0; f < files; f++ {
		jobs <- f
	}
	close(jobs)
	wg.Wait()
	fmt.Printf("wrote %d events in %d files under %s\n", *events, files, *out)
}
