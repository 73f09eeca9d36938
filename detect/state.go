package detect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/trailscope/trailscope/ingest/lake"
)

// State remembers, between scheduled runs over one lake, which ingest
// batches were already examined and which findings were already
// reported, so every run looks at exactly what arrived since the last
// one: no repeats, and no gaps even when CloudTrail delivers files late
// (a late file lands in a later batch, whatever its event times).
type State struct {
	Version  int               `json:"version"`
	Lake     string            `json:"lake"`
	Batches  []string          `json:"batches"`  // examined batches, sorted
	Reported map[string]string `json:"reported"` // finding ID → when reported
	LastRun  time.Time         `json:"last_run"`
}

// LoadState reads a state file; a missing file is an empty state.
func LoadState(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &State{Version: 1, Reported: map[string]string{}}, nil
	}
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("state %s: %w", path, err)
	}
	if s.Reported == nil {
		s.Reported = map[string]string{}
	}
	return &s, nil
}

// Save writes the state atomically.
func (s *State) Save(path string) error {
	slices.Sort(s.Batches)
	b, err := json.MarshalIndent(s, "", " ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// pending returns the manifests of committed batches not yet examined.
func (s *State) pending(lakeDir string) ([]*lake.Manifest, error) {
	ms, err := lake.ReadManifests(lakeDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // nothing ingested yet
	}
	if err != nil {
		return nil, err
	}
	done := map[string]bool{}
	for _, b := range s.Batches {
		done[b] = true
	}
	var out []*lake.Manifest
	for _, m := range ms {
		if !done[m.Batch] {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Batch < out[j].Batch })
	return out, nil
}

// Scheduled is the result of one scheduled run.
type Scheduled struct {
	Batches  int       // batches examined
	Files    int       // Parquet files examined
	Findings []Finding // new findings (not reported by an earlier run)
}

// RunScheduled examines the lake's batches committed since the last run.
// Detection rules run over the new batches' rows; correlations run over
// everything from one correlation timespan before the new rows' earliest
// event on, and report only groups that contain a new event and were not
// reported before. The caller saves the state after acting on the result.
func (e *Engine) RunScheduled(ctx context.Context, db SQLDB, lakeDir, eventsView string, st *State) (*Scheduled, error) {
	ms, err := st.pending(lakeDir)
	if err != nil {
		return nil, err
	}
	res := &Scheduled{Batches: len(ms)}
	var files, keys []string
	compacted := false // some new rows now live in a compaction's file
	for _, m := range ms {
		if m.Kind == "compact" {
			continue // moves rows, adds none
		}
		for _, o := range m.Outputs {
			p := filepath.Join(lakeDir, filepath.FromSlash(o))
			if _, err := os.Stat(p); err != nil {
				compacted = true
			}
			files = append(files, p)
		}
		for _, f := range m.Files {
			if f.Status == "ingested" {
				keys = append(keys, f.Key)
			}
		}
	}
	res.Files = len(files)
	if len(files) > 0 {
		var view string
		if compacted {
			// The new rows are those of the new batches' source objects.
			view = fmt.Sprintf(`SELECT * FROM %s WHERE source_key IN (SELECT unnest([%s]))`, quoteIdentPath(eventsView), quoteList(keys))
		} else {
			view = fmt.Sprintf(`SELECT * FROM read_parquet([%s], hive_partitioning = true, union_by_name = true, hive_types = {'account': VARCHAR, 'region': VARCHAR, 'event_date': VARCHAR})`,
				quoteList(files))
		}
		if _, err := db.ExecContext(ctx, `CREATE OR REPLACE TEMP VIEW detect_new AS `+view); err != nil {
			return nil, fmt.Errorf("view of new batches: %w", err)
		}
		span := e.maxTimespan()
		if _, err := db.ExecContext(ctx, fmt.Sprintf(`CREATE OR REPLACE TEMP VIEW detect_ctx AS SELECT * FROM %s WHERE "eventTime" >= (SELECT min("eventTime") FROM detect_new) - INTERVAL '%d seconds'`,
			quoteIdentPath(eventsView), int(span.Seconds()))); err != nil {
			return nil, fmt.Errorf("correlation context: %w", err)
		}
		all, err := e.runSQL(ctx, db, "detect_new", "detect_ctx")
		if err != nil {
			return nil, err
		}
		newIDs := map[string]bool{}
		rows, err := db.QueryContext(ctx, `SELECT DISTINCT "eventID" FROM detect_new WHERE "eventID" IS NOT NULL`)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			newIDs[id] = true
		}
		rows.Close()
		for _, f := range all {
			if f.Correlated && !slices.ContainsFunc(f.EventIDs, func(id string) bool { return newIDs[id] }) {
				continue
			}
			if _, ok := st.Reported[f.ID]; ok {
				continue
			}
			res.Findings = append(res.Findings, f)
		}
	}
	now := time.Now().UTC()
	for _, m := range ms {
		st.Batches = append(st.Batches, m.Batch)
	}
	for _, f := range res.Findings {
		st.Reported[f.ID] = now.Format(time.RFC3339)
	}
	st.Lake, st.LastRun, st.Version = lakeDir, now, 1
	return res, nil
}

func (e *Engine) maxTimespan() time.Duration {
	var m time.Duration
	for _, c := range e.rs.Correlations() {
		m = max(m, c.Timespan)
	}
	return m
}

// WriteLake stores findings in the lake as LAKE/findings/findings-TIME.parquet
// (one file per run), for SQL next to the events.
func WriteLake(ctx context.Context, db SQLDB, lakeDir string, fs []Finding) (string, error) {
	if len(fs) == 0 {
		return "", nil
	}
	dir := filepath.Join(lakeDir, "findings")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, ".findings-*.jsonl")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	enc := json.NewEncoder(tmp)
	for _, f := range fs {
		if err := enc.Encode(f); err != nil {
			tmp.Close()
			return "", err
		}
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "findings-"+time.Now().UTC().Format("20060102T150405.000000000Z")+".parquet")
	q := fmt.Sprintf(`COPY (SELECT * FROM read_json('%s', format = 'newline_delimited')) TO '%s' (FORMAT parquet, COMPRESSION zstd)`,
		strings.ReplaceAll(tmp.Name(), "'", "''"), strings.ReplaceAll(out+".tmp", "'", "''"))
	if _, err := db.ExecContext(ctx, q); err != nil {
		return "", fmt.Errorf("write findings: %w", err)
	}
	return out, os.Rename(out+".tmp", out)
}

// quoteList renders strings as a comma-separated list of SQL literals.
func quoteList(ss []string) string {
	quoted := make([]string, len(ss))
	for i, v := range ss {
		quoted[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	return strings.Join(quoted, ",")
}
