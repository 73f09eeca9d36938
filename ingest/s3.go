package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// S3Source reads objects from one S3 bucket through aws-sdk-go-v2. The
// client decides credentials, region, endpoint and retries (cmd builds it
// from --profile, --region and --endpoint-url).
type S3Source struct {
	client *s3.Client
	bucket string
	prefix string
}

// NewS3Source returns a source over bucket. prefix, if set, is only used by
// String and by callers that want the URL's path (ParseS3URL).
func NewS3Source(client *s3.Client, bucket, prefix string) *S3Source {
	return &S3Source{client: client, bucket: bucket, prefix: prefix}
}

// ParseS3URL splits "s3://bucket/prefix" into bucket and prefix.
func ParseS3URL(s string) (bucket, prefix string, err error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", "", err
	}
	if u.Scheme != "s3" || u.Host == "" {
		return "", "", fmt.Errorf("%q: want s3://bucket[/prefix]", s)
	}
	return u.Host, strings.TrimPrefix(u.Path, "/"), nil
}

// Client is the S3 client the source uses.
func (s *S3Source) Client() *s3.Client { return s.client }

func (s *S3Source) String() string { return "s3://" + s.bucket + "/" + s.prefix }

// Bucket is the bucket name.
func (s *S3Source) Bucket() string { return s.bucket }

// List pages through ListObjectsV2.
func (s *S3Source) List(ctx context.Context, prefix, startAfter string) iter.Seq2[Object, error] {
	return func(yield func(Object, error) bool) {
		in := &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(prefix)}
		if startAfter != "" {
			in.StartAfter = aws.String(startAfter)
		}
		p := s3.NewListObjectsV2Paginator(s.client, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				yield(Object{}, fmt.Errorf("list s3://%s/%s: %w", s.bucket, prefix, err))
				return
			}
			for _, o := range page.Contents {
				obj := Object{Bucket: s.bucket, Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size),
					ETag: strings.Trim(aws.ToString(o.ETag), `"`), StorageClass: string(o.StorageClass)}
				if o.LastModified != nil {
					obj.LastModified = o.LastModified.UTC()
				}
				if !yield(obj, nil) {
					return
				}
			}
		}
	}
}

// Dirs lists common prefixes below prefix.
func (s *S3Source) Dirs(ctx context.Context, prefix string) ([]string, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(prefix), Delimiter: aws.String("/")}
	p := s3.NewListObjectsV2Paginator(s.client, in)
	var out []string
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", s.bucket, prefix, err)
		}
		for _, cp := range page.CommonPrefixes {
			out = append(out, aws.ToString(cp.Prefix))
		}
	}
	return out, nil
}

// Open GETs the object. Archived objects (Glacier) and denied reads
// return errors that IsUnreadable recognises.
func (s *S3Source) Open(ctx context.Context, key string) (io.ReadCloser, Object, error) {
	return s.OpenVersion(ctx, key, "")
}

// OpenVersion GETs one version of the object ("" for the current one).
func (s *S3Source) OpenVersion(ctx context.Context, key, versionID string) (io.ReadCloser, Object, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	out, err := s.client.GetObject(ctx, in)
	if err != nil {
		return nil, Object{}, err
	}
	o := Object{Bucket: s.bucket, Key: key, Size: aws.ToInt64(out.ContentLength),
		ETag: strings.Trim(aws.ToString(out.ETag), `"`), VersionID: aws.ToString(out.VersionId),
		Metadata: out.Metadata, ContentEncoding: aws.ToString(out.ContentEncoding),
		StorageClass: string(out.StorageClass)}
	if out.LastModified != nil {
		o.LastModified = out.LastModified.UTC()
	}
	return out.Body, o, nil
}

// IsNotFound reports whether err says the object does not exist.
func IsNotFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	return errors.As(err, &nsk) || errors.As(err, &nf)
}

// ObjectVersion is one stored version (or delete marker) of a key in a
// versioned bucket.
type ObjectVersion struct {
	VersionID    string
	IsLatest     bool
	DeleteMarker bool
	LastModified time.Time
	ETag         string
	Size         int64
}

// ListVersions lists every version and delete marker of exactly key,
// newest first (ListObjectVersions with the key as prefix).
func (s *S3Source) ListVersions(ctx context.Context, key string) ([]ObjectVersion, error) {
	in := &s3.ListObjectVersionsInput{Bucket: aws.String(s.bucket), Prefix: aws.String(key)}
	var out []ObjectVersion
	for page := 0; page < 1000; page++ {
		resp, err := s.client.ListObjectVersions(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list versions of %s: %w", key, err)
		}
		for _, v := range resp.Versions {
			if aws.ToString(v.Key) == key {
				out = append(out, ObjectVersion{VersionID: aws.ToString(v.VersionId), IsLatest: aws.ToBool(v.IsLatest),
					LastModified: aws.ToTime(v.LastModified).UTC(), ETag: strings.Trim(aws.ToString(v.ETag), `"`), Size: aws.ToInt64(v.Size)})
			}
		}
		for _, v := range resp.DeleteMarkers {
			if aws.ToString(v.Key) == key {
				out = append(out, ObjectVersion{VersionID: aws.ToString(v.VersionId), IsLatest: aws.ToBool(v.IsLatest), DeleteMarker: true,
					LastModified: aws.ToTime(v.LastModified).UTC()})
			}
		}
		if !aws.ToBool(resp.IsTruncated) {
			break
		}
		in.KeyMarker, in.VersionIdMarker = resp.NextKeyMarker, resp.NextVersionIdMarker
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].LastModified.After(out[j].LastModified) })
	return out, nil
}
