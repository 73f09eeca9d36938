package ingest

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trailscope/trailscope/ingest/keyname"
)

// Range selects part of an archive. Zero fields select everything.
type Range struct {
	// Start and End bound the delivery time of the files (the time in
	// their key). Since a file holds events up to its delivery time and
	// CloudTrail delivers within minutes, listing covers the date folders
	// from Start's day to the day after End's.
	Start, End time.Time
	Accounts   []string // 12-digit account IDs
	Regions    []string // delivering regions
	// Kinds of key to list under each account; nil means logs only.
	Kinds []keyname.Kind
}

func (r Range) hasAccount(a string) bool {
	return len(r.Accounts) == 0 || slices.Contains(r.Accounts, a)
}
func (r Range) hasRegion(s string) bool { return len(r.Regions) == 0 || slices.Contains(r.Regions, s) }

// Contains reports whether a parsed key falls in the range.
func (r Range) Contains(k keyname.Key) bool {
	if !r.hasAccount(k.Account) || !r.hasRegion(k.Region) {
		return false
	}
	if !r.Start.IsZero() && k.Time.Before(r.Start) {
		return false
	}
	if !r.End.IsZero() && k.Time.After(r.End.Add(24*time.Hour)) {
		return false
	}
	return true
}

// Validate lists every problem of the range at once.
func (r Range) Validate() error {
	var errs []string
	for _, a := range r.Accounts {
		if !keyname.IsAccount(a) {
			errs = append(errs, fmt.Sprintf("account %q is not 12 digits", a))
		}
	}
	for _, g := range r.Regions {
		if !keyname.IsRegion(g) {
			errs = append(errs, fmt.Sprintf("region %q is not a region name", g))
		}
	}
	if !r.Start.IsZero() && !r.End.IsZero() && r.End.Before(r.Start) {
		errs = append(errs, "end is before start")
	}
	if len(errs) > 0 {
		return fmt.Errorf("range: %s", strings.Join(errs, "; "))
	}
	return nil
}

// maxRootDepth is how many folders deep Prefixes looks for "AWSLogs/"
// below the given prefix (a trail's S3KeyPrefix may have several levels).
const maxRootDepth = 3

// Prefixes yields the listing prefixes that can hold keys in r below
// prefix, discovering accounts and regions with delimiter listings (never
// a listing of the whole bucket). With an empty range, or if no CloudTrail
// tree is found (a folder of exports), it yields prefix itself.
func Prefixes(ctx context.Context, src Source, prefix string, r Range) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		if r.Start.IsZero() && r.End.IsZero() && len(r.Accounts) == 0 && len(r.Regions) == 0 && len(r.Kinds) == 0 {
			yield(prefix, nil) // nothing to prune: one listing of everything
			return
		}
		folders, err := RegionFolders(ctx, src, prefix, r)
		if err != nil {
			yield("", err)
			return
		}
		if folders == nil {
			yield(prefix, nil)
			return
		}
		for _, reg := range folders {
			for p := range datePrefixes(reg, r) {
				if !yield(p, nil) {
					return
				}
			}
		}
	}
}

// RegionFolders lists the region folders below prefix
// (".../AWSLogs/[o-x/]ACCOUNT/CloudTrail[-Digest]/REGION/") of r's
// accounts, regions and kinds (logs only when r.Kinds is empty), with
// delimiter listings. It returns nil when no "AWSLogs/" folder is found
// (a folder of exports), and an empty, non-nil slice when the tree holds
// nothing r selects.
func RegionFolders(ctx context.Context, src Source, prefix string, r Range) ([]string, error) {
	kinds := r.Kinds
	if len(kinds) == 0 {
		kinds = []keyname.Kind{keyname.Log}
	}
	roots, err := findRoots(ctx, src, prefix, 0)
	if err != nil || len(roots) == 0 {
		return nil, err
	}
	out := []string{}
	for _, root := range roots { // ".../AWSLogs/"
		accounts, err := accountDirs(ctx, src, root)
		if err != nil {
			return nil, err
		}
		for _, acct := range accounts { // ".../AWSLogs/[o-x/]123456789012/"
			a := strings.TrimSuffix(acct[strings.LastIndexByte(strings.TrimSuffix(acct, "/"), '/')+1:], "/")
			if !r.hasAccount(a) {
				continue
			}
			for _, kind := range kinds {
				folder := acct + kindFolder(kind) + "/"
				regions, err := src.Dirs(ctx, folder)
				if err != nil {
					return nil, err
				}
				for _, reg := range regions {
					name := strings.TrimSuffix(strings.TrimPrefix(reg, folder), "/")
					if keyname.IsRegion(name) && r.hasRegion(name) {
						out = append(out, reg)
					}
				}
			}
		}
	}
	return out, nil
}

// DayFolder is the listing prefix of one day's files in a region folder.
func DayFolder(region string, day time.Time) string {
	return region + day.UTC().Format("2006/01/02/")
}

// DaySpan finds the first and last day folders (as UTC midnights) of a
// region folder with delimiter listings (a few per folder, whatever the
// number of days); ok is false if it has none.
func DaySpan(ctx context.Context, src Source, region string) (first, last time.Time, ok bool, err error) {
	edge := func(newest bool) (time.Time, bool, error) {
		var walk func(folder string, depth int, parts []int) (time.Time, bool, error)
		walk = func(folder string, depth int, parts []int) (time.Time, bool, error) {
			dirs, err := src.Dirs(ctx, folder)
			if err != nil {
				return time.Time{}, false, err
			}
			width := []int{4, 2, 2}[depth]
			type dir struct {
				path string
				n    int
			}
			var ds []dir
			for _, d := range dirs {
				name := strings.TrimSuffix(strings.TrimPrefix(d, folder), "/")
				n, err := strconv.Atoi(name)
				if len(name) != width || err != nil || n < 1 {
					continue
				}
				ds = append(ds, dir{d, n})
			}
			slices.SortFunc(ds, func(a, b dir) int { return a.n - b.n })
			if newest {
				slices.Reverse(ds)
			}
			for _, d := range ds {
				p := append(parts, d.n)
				if depth == 2 {
					t := time.Date(p[0], time.Month(p[1]), p[2], 0, 0, 0, 0, time.UTC)
					if t.Month() == time.Month(p[1]) && t.Day() == p[2] { // a real date
						return t, true, nil
					}
					continue
				}
				t, ok, err := walk(d.path, depth+1, p)
				if err != nil || ok {
					return t, ok, err
				}
			}
			return time.Time{}, false, nil
		}
		return walk(region, 0, nil)
	}
	if first, ok, err = edge(false); err != nil || !ok {
		return first, last, ok, err
	}
	last, ok, err = edge(true)
	return first, last, ok, err
}

func kindFolder(k keyname.Kind) string {
	switch k {
	case keyname.Digest:
		return "CloudTrail-Digest"
	case keyname.Insight:
		return "CloudTrail-Insight"
	}
	return "CloudTrail"
}

// findRoots finds "AWSLogs/" folders at or below prefix.
func findRoots(ctx context.Context, src Source, prefix string, depth int) ([]string, error) {
	if strings.HasSuffix(prefix, "AWSLogs/") {
		return []string{prefix}, nil
	}
	dir := prefix
	if dir != "" && !strings.HasSuffix(dir, "/") {
		// A partial name: look in its folder for matching children.
		i := strings.LastIndexByte(dir, '/')
		dir = dir[:i+1]
	}
	dirs, err := src.Dirs(ctx, dir)
	if err != nil {
		return nil, err
	}
	var roots []string
	for _, d := range dirs {
		if !strings.HasPrefix(d, prefix) {
			continue
		}
		if strings.HasSuffix(d, "/AWSLogs/") || d == "AWSLogs/" {
			roots = append(roots, d)
			continue
		}
		if depth+1 < maxRootDepth {
			sub, err := findRoots(ctx, src, d, depth+1)
			if err != nil {
				return nil, err
			}
			roots = append(roots, sub...)
		}
	}
	return roots, nil
}

// accountDirs lists account folders under an AWSLogs/ root, descending
// into organization folders.
func accountDirs(ctx context.Context, src Source, root string) ([]string, error) {
	dirs, err := src.Dirs(ctx, root)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range dirs {
		name := strings.TrimSuffix(strings.TrimPrefix(d, root), "/")
		switch {
		case keyname.IsAccount(name):
			out = append(out, d)
		case strings.HasPrefix(name, "o-"):
			sub, err := src.Dirs(ctx, d)
			if err != nil {
				return nil, err
			}
			for _, s := range sub {
				if keyname.IsAccount(strings.TrimSuffix(strings.TrimPrefix(s, d), "/")) {
					out = append(out, s)
				}
			}
		}
	}
	return out, nil
}

// datePrefixes yields one prefix per day folder in range, or the region
// folder itself when the range is open.
func datePrefixes(region string, r Range) iter.Seq[string] {
	return func(yield func(string) bool) {
		if r.Start.IsZero() || r.End.IsZero() {
			yield(region)
			return
		}
		d := r.Start.UTC().Truncate(24 * time.Hour)
		last := r.End.UTC().Add(24 * time.Hour)
		for !d.After(last) {
			if !yield(region + d.Format("2006/01/02/")) {
				return
			}
			d = d.Add(24 * time.Hour)
		}
	}
}
