package synth

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/trailscope/trailscope/ingest"
	"github.com/trailscope/trailscope/ingest/integrity"
)

var keyCache sync.Map // "seed/region/bits" → *rsa.PrivateKey

// DeriveKey is the RSA signing key of a region in the archive of seed: a
// deterministic function of its inputs (crypto/rsa.GenerateKey ignores
// its random source), so the same options always give the same digests.
// It is a test key: anyone with the seed has it.
func DeriveKey(seed uint64, region string, bits int) (*rsa.PrivateKey, error) {
	id := fmt.Sprintf("%d/%s/%d", seed, region, bits)
	if k, ok := keyCache.Load(id); ok {
		return k.(*rsa.PrivateKey), nil
	}
	if bits < 1024 || bits%2 != 0 {
		return nil, fmt.Errorf("synth: key size %d: want an even number ≥ 1024", bits)
	}
	var s [32]byte
	h := sha256.New()
	binary.Write(h, binary.BigEndian, seed)
	h.Write([]byte("trailscope synth signing key\x00" + region))
	binary.Write(h, binary.BigEndian, uint32(bits))
	copy(s[:], h.Sum(nil))
	rng := rand.NewChaCha8(s)
	e := big.NewInt(65537)
	one := big.NewInt(1)
	prime := func() *big.Int {
		buf := make([]byte, bits/16)
		p := new(big.Int)
		pm1 := new(big.Int)
		for {
			rng.Read(buf)
			buf[0] |= 0xc0 // top two bits: the product has exactly `bits` bits
			buf[len(buf)-1] |= 1
			p.SetBytes(buf)
			if !p.ProbablyPrime(20) {
				continue
			}
			if new(big.Int).GCD(nil, nil, e, pm1.Sub(p, one)).Cmp(one) == 0 {
				return p
			}
		}
	}
	var p, q *big.Int
	for {
		p, q = prime(), prime()
		if p.Cmp(q) != 0 {
			break
		}
	}
	if p.Cmp(q) < 0 {
		p, q = q, p
	}
	n := new(big.Int).Mul(p, q)
	phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
	d := new(big.Int).ModInverse(e, phi)
	k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n, E: 65537}, D: d, Primes: []*big.Int{p, q}}
	k.Precompute()
	if err := k.Validate(); err != nil {
		return nil, fmt.Errorf("synth: derived key: %w", err)
	}
	k2, _ := keyCache.LoadOrStore(id, k)
	return k2.(*rsa.PrivateKey), nil
}

// writeKeyFiles writes public-keys.json (every region's key, in the shape
// of `aws cloudtrail list-public-keys`, valid from a day before the
// archive to 30 days after it), one private key PEM per region, and
// planted.json.
func writeKeyFiles(o *Options, start, end time.Time, keys map[string]*rsa.PrivateKey, res *Result) error {
	dir := o.KeysDir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	res.Keys = KeyFiles{Dir: dir, Planted: filepath.Join(dir, "planted.json"), Private: map[string]string{}}
	if len(keys) > 0 {
		regions := make([]string, 0, len(keys))
		for r := range keys {
			regions = append(regions, r)
		}
		sort.Strings(regions)
		var pubs []integrity.PublicKey
		seen := map[string]bool{}
		for _, r := range regions {
			pk := integrity.NewPublicKey(&keys[r].PublicKey, start.Add(-24*time.Hour), end.Add(30*24*time.Hour))
			if !seen[pk.Fingerprint] {
				seen[pk.Fingerprint] = true
				pubs = append(pubs, pk)
			}
			p := filepath.Join(dir, r+".pem")
			b := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(keys[r])})
			if err := os.WriteFile(p, b, 0o600); err != nil {
				return err
			}
			res.Keys.Private[r] = p
		}
		var b bytes.Buffer
		if err := integrity.WritePublicKeysJSON(&b, pubs); err != nil {
			return err
		}
		res.Keys.PublicKeys = filepath.Join(dir, "public-keys.json")
		if err := os.WriteFile(res.Keys.PublicKeys, b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	b, err := GroundTruth(res)
	if err != nil {
		return err
	}
	return os.WriteFile(res.Keys.Planted, b, 0o644)
}

// GroundTruth is the planted.json of an archive: the planted attacks and
// what was tampered with.
func GroundTruth(res *Result) ([]byte, error) {
	return json.MarshalIndent(map[string]any{"planted": res.Planted, "tampered": res.Tampered}, "", "  ")
}

// SidecarMeta reads the S3 user metadata a mirror's sidecars recorded
// (digest signatures), for uploading the tree to S3:
//
//	srv.UploadDir(t, bucket, root, synth.SidecarMeta(root))
func SidecarMeta(root string) func(key string) map[string]string {
	return func(key string) map[string]string {
		b, err := os.ReadFile(ingest.SidecarPath(root, key))
		if err != nil {
			return nil
		}
		var o ingest.Object
		if json.Unmarshal(b, &o) != nil {
			return nil
		}
		return o.Metadata
	}
}
