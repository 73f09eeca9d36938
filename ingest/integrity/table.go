package integrity

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// Row is one file's verdict as stored in the lake's integrity table.
type Row struct {
	Kind       string    `parquet:"kind,dict"`
	Bucket     string    `parquet:"bucket,optional,dict"`
	Key        string    `parquet:"key"`
	Status     string    `parquet:"status,dict"`
	Reason     string    `parquet:"reason,optional"`
	Account    string    `parquet:"account,optional,dict"`
	Region     string    `parquet:"region,optional,dict"`
	VerifiedAt time.Time `parquet:"verified_at,timestamp(millisecond:utc)"`
}

// WriteLakeTable stores the verdicts in LAKE/integrity/ as one Parquet
// file per run (the newest run's verdict for a key wins in the
// integrity view).
func WriteLakeTable(lakeDir string, files []FileResult, at time.Time) (string, error) {
	dir := filepath.Join(lakeDir, "integrity")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	rows := make([]Row, 0, len(files))
	for _, f := range files {
		rows = append(rows, Row{Kind: f.Kind, Bucket: f.Bucket, Key: f.Key, Status: string(f.Status), Reason: f.Reason, Account: f.Account, Region: f.Region, VerifiedAt: at.UTC()})
	}
	path := filepath.Join(dir, "integrity-"+at.UTC().Format("20060102T150405.000000000Z")+".parquet")
	tmp := path + ".tmp"
	fh, err := os.Create(tmp)
	if err != nil {
		return "", err
	}
	w := parquet.NewGenericWriter[Row](fh, parquet.Compression(&zstd.Codec{Level: zstd.SpeedFastest}))
	if _, err := w.Write(rows); err != nil {
		fh.Close()
		os.Remove(tmp)
		return "", fmt.Errorf("integrity table: %w", err)
	}
	if err := w.Close(); err != nil {
		fh.Close()
		os.Remove(tmp)
		return "", err
	}
	if err := fh.Close(); err != nil {
		return "", err
	}
	return path, os.Rename(tmp, path)
}
