package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Object describes one stored object: a listing entry, or what Open saw.
type Object struct {
	Bucket       string            `json:"bucket,omitempty"`
	Key          string            `json:"key"`
	Size         int64             `json:"size"`
	ETag         string            `json:"etag,omitempty"`
	VersionID    string            `json:"version_id,omitempty"`
	LastModified time.Time         `json:"last_modified,omitzero"`
	StorageClass string            `json:"storage_class,omitempty"`
	Metadata     map[string]string `json:"metadata,omitempty"` // S3 user metadata (x-amz-meta-*), set by Open
	// ContentEncoding is the object's Content-Encoding header, set by Open.
	ContentEncoding string `json:"content_encoding,omitempty"`
}

// Source is where CloudTrail objects come from: an S3 bucket, a local folder
// holding a bucket's tree, or a list of files. Implementations are safe for
// concurrent use.
type Source interface {
	// String names the source for people, e.g. "s3://bucket/prefix".
	String() string
	// Bucket is the S3 bucket name, or "" for local sources.
	Bucket() string
	// List streams the objects whose keys start with prefix and sort after
	// startAfter, page by page, in lexicographic key order. The sequence
	// stops at the first error it yields.
	List(ctx context.Context, prefix, startAfter string) iter.Seq2[Object, error]
	// Dirs returns the sub-folders directly below prefix (S3 common
	// prefixes with delimiter "/"), each ending in "/", sorted.
	Dirs(ctx context.Context, prefix string) ([]string, error)
	// Open opens one object. The caller closes the reader. The returned
	// Object carries the metadata known at open time.
	Open(ctx context.Context, key string) (io.ReadCloser, Object, error)
}

// SidecarDir is the folder, under a local mirror's root, that holds one JSON
// sidecar per object with what S3 knew of it (user metadata such as digest
// signatures, ETag, VersionId, LastModified). `trailscope mirror` writes it;
// DirSource reads it and never lists it as data.
const SidecarDir = ".trailscope"

// SidecarPath is where the sidecar of key lives under root.
func SidecarPath(root, key string) string {
	return filepath.Join(root, SidecarDir, "meta", filepath.FromSlash(key)+".json")
}

// WriteSidecar records obj as the sidecar of obj.Key under root, atomically.
func WriteSidecar(root string, obj Object) error {
	p := SidecarPath(root, obj.Key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(obj, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(p, b)
}

func readSidecar(root, key string) (Object, bool, error) {
	b, err := os.ReadFile(SidecarPath(root, key))
	if errors.Is(err, fs.ErrNotExist) {
		return Object{}, false, nil
	}
	if err != nil {
		return Object{}, false, err
	}
	var o Object
	if err := json.Unmarshal(b, &o); err != nil {
		return Object{}, false, fmt.Errorf("sidecar of %s: %w", key, err)
	}
	return o, true, nil
}

// WriteFileAtomic writes a file under a temporary name, syncs it, renames
// it into place and syncs the folder, so a crash leaves either the old
// file or the whole new one, and the new name is durable.
func WriteFileAtomic(p string, b []byte) error {
	return CreateFileAtomic(p, func(f *os.File) error {
		_, err := f.Write(b)
		return err
	})
}

// CreateFileAtomic is WriteFileAtomic for content that fill streams into
// the temporary file. Missing folders are created.
func CreateFileAtomic(p string, fill func(*os.File) error) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp := p + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	err = fill(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	SyncDir(filepath.Dir(p))
	return nil
}

// SyncDir fsyncs a folder, so the names created or removed in it are
// durable (best effort: not every file system supports it).
func SyncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// DirSource reads a local folder that holds a bucket's tree (as made by
// `aws s3 sync` or `trailscope mirror`). Keys are slash-separated paths
// relative to the root.
type DirSource struct {
	root   string
	bucket string
}

// NewDirSource returns a source over the folder root. If a mirror recorded
// the bucket name (root/.trailscope/bucket), Bucket reports it.
func NewDirSource(root string) (*DirSource, error) {
	st, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s: not a directory", root)
	}
	d := &DirSource{root: root}
	if b, err := os.ReadFile(filepath.Join(root, SidecarDir, "bucket")); err == nil {
		d.bucket = strings.TrimSpace(string(b))
	}
	return d, nil
}

// Root is the folder the source reads.
func (d *DirSource) Root() string { return d.root }

func (d *DirSource) String() string { return d.root }

// Bucket is the bucket a mirror was copied from, or "".
func (d *DirSource) Bucket() string { return d.bucket }

// List walks the folder below prefix. Keys come in lexicographic order.
func (d *DirSource) List(ctx context.Context, prefix, startAfter string) iter.Seq2[Object, error] {
	return func(yield func(Object, error) bool) {
		// Walk the deepest folder that prefix names completely.
		dir := ""
		if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
			dir = prefix[:i]
		}
		base := filepath.Join(d.root, filepath.FromSlash(dir))
		var keys []Object
		err := filepath.WalkDir(base, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				if p == base && errors.Is(err, fs.ErrNotExist) {
					return fs.SkipAll
				}
				return err
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			rel, rerr := filepath.Rel(d.root, p)
			if rerr != nil {
				return rerr
			}
			key := filepath.ToSlash(rel)
			if e.IsDir() {
				if e.Name() == SidecarDir && p != base {
					return fs.SkipDir
				}
				return nil
			}
			if !e.Type().IsRegular() || !strings.HasPrefix(key, prefix) || key <= startAfter {
				return nil
			}
			info, err := e.Info()
			if err != nil {
				return err
			}
			o := Object{Bucket: d.bucket, Key: key, Size: info.Size(), LastModified: info.ModTime().UTC()}
			if sc, ok, _ := readSidecar(d.root, key); ok {
				o.ETag, o.VersionID, o.StorageClass = sc.ETag, sc.VersionID, sc.StorageClass
				if !sc.LastModified.IsZero() {
					o.LastModified = sc.LastModified
				}
			}
			keys = append(keys, o)
			// Flush per folder to keep memory to one folder's listing.
			return nil
		})
		sort.Slice(keys, func(i, j int) bool { return keys[i].Key < keys[j].Key })
		for _, o := range keys {
			if !yield(o, nil) {
				return
			}
		}
		if err != nil {
			yield(Object{}, fmt.Errorf("list %s: %w", path.Join(d.root, prefix), err))
		}
	}
}

// Dirs lists the sub-folders of prefix.
func (d *DirSource) Dirs(ctx context.Context, prefix string) ([]string, error) {
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		return nil, fmt.Errorf("dirs %q: prefix must end in /", prefix)
	}
	ents, err := os.ReadDir(filepath.Join(d.root, filepath.FromSlash(prefix)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && e.Name() != SidecarDir {
			out = append(out, prefix+e.Name()+"/")
		}
	}
	sort.Strings(out)
	return out, nil
}

// Open opens the file for key, with the metadata its sidecar recorded.
func (d *DirSource) Open(ctx context.Context, key string) (io.ReadCloser, Object, error) {
	if err := checkKey(key); err != nil {
		return nil, Object{}, err
	}
	f, err := os.Open(filepath.Join(d.root, filepath.FromSlash(key)))
	if err != nil {
		return nil, Object{}, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, Object{}, err
	}
	o := Object{Bucket: d.bucket, Key: key, Size: st.Size(), LastModified: st.ModTime().UTC()}
	sc, ok, err := readSidecar(d.root, key)
	if err != nil {
		f.Close()
		return nil, Object{}, err
	}
	if ok {
		sc.Key, sc.Size = key, st.Size()
		if sc.Bucket == "" {
			sc.Bucket = d.bucket
		}
		o = sc
	}
	return f, o, nil
}

// checkKey refuses keys that would escape a local root.
func checkKey(key string) error {
	if key == "" || strings.HasPrefix(key, "/") || strings.Contains(key, "\\") {
		return fmt.Errorf("key %q: not a relative slash path", key)
	}
	for _, el := range strings.Split(key, "/") {
		if el == ".." || el == "." {
			return fmt.Errorf("key %q: has a %q element", key, el)
		}
	}
	return nil
}

// FileSource reads an explicit list of local files (exports, single log
// files). Each file's key is its path as given.
type FileSource struct {
	files []string
}

// NewFileSource returns a source over files.
func NewFileSource(files ...string) *FileSource { return &FileSource{files: files} }

func (f *FileSource) String() string { return strings.Join(f.files, " ") }

// Bucket is always "".
func (f *FileSource) Bucket() string { return "" }

// List yields the files whose path starts with prefix, in sorted order.
func (f *FileSource) List(ctx context.Context, prefix, startAfter string) iter.Seq2[Object, error] {
	return func(yield func(Object, error) bool) {
		files := append([]string(nil), f.files...)
		sort.Strings(files)
		for _, p := range files {
			if !strings.HasPrefix(p, prefix) || p <= startAfter {
				continue
			}
			st, err := os.Stat(p)
			if err != nil {
				if !yield(Object{Key: p}, err) {
					return
				}
				continue
			}
			if !yield(Object{Key: p, Size: st.Size(), LastModified: st.ModTime().UTC()}, nil) {
				return
			}
		}
	}
}

// Dirs returns nothing: a file list has no folders.
func (f *FileSource) Dirs(ctx context.Context, prefix string) ([]string, error) { return nil, nil }

// Open opens one of the listed files.
func (f *FileSource) Open(ctx context.Context, key string) (io.ReadCloser, Object, error) {
	fh, err := os.Open(key)
	if err != nil {
		return nil, Object{}, err
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, Object{}, err
	}
	return fh, Object{Key: key, Size: st.Size(), LastModified: st.ModTime().UTC()}, nil
}
