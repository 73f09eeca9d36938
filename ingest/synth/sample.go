package synth

import (
	"crypto/rsa"
	"crypto/x509"
	_ "embed"
	"encoding/pem"
	"fmt"
	"io"
	"time"

	"github.com/trailscope/trailscope/ingest/integrity"
)

// sampleKeyPEM signs the sample archive's digests. It is a test key,
// published on purpose so the sample is reproducible byte for byte; it
// protects nothing.
//
//go:embed sample-key.pem
var sampleKeyPEM []byte

// SampleKey is the private key that signs the sample archive's digests.
func SampleKey() *rsa.PrivateKey {
	b, _ := pem.Decode(sampleKeyPEM)
	if b == nil {
		panic("synth: bad embedded sample key") // a build defect, not input
	}
	if k, err := x509.ParsePKCS1PrivateKey(b.Bytes); err == nil {
		return k
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		panic(fmt.Sprintf("synth: embedded sample key: %v", err))
	}
	return k.(*rsa.PrivateKey)
}

// SampleOptions are the options of the committed sample archive
// (testdata/sample): an organization with two member accounts and one
// standalone account, two regions, six hours, eight files an hour of
// about eleven events each per account and region, a signed digest chain per
// account and region (all signed with SampleKey), the planted attack
// scenario, a two-hour logging stop, one silent hour, one log modified
// after delivery and one digest deleted. Keys and planted.json go to
// "keys" next to dir.
func SampleOptions(dir string) Options {
	start := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	return Options{Dir: dir, Bucket: "trailscope-sample-trail", OrgID: "o-a1b2c3d4e5",
		OrgAccounts: []string{"111122223333", "444455556666"}, Accounts: []string{"777788889999"},
		Regions: []string{"us-east-1", "eu-west-1"}, Start: start,
		Hours: 6, FilesPerHour: 8, EventsPerHour: 90, Seed: 42, Attacks: true, StopGapHours: 2, GapHour: 4,
		SigningKey: SampleKey(), Trail: "org-trail", Home: "us-east-1",
		TamperLog: start.Add(2 * time.Hour), DeleteDigestAt: start.Add(3 * time.Hour)}
}

// WritePublicKeys writes the public half of key as a saved
// `aws cloudtrail list-public-keys` file, valid over [from, to).
func WritePublicKeys(w io.Writer, key *rsa.PrivateKey, from, to time.Time) error {
	return integrity.WritePublicKeysJSON(w, []integrity.PublicKey{integrity.NewPublicKey(&key.PublicKey, from, to)})
}
