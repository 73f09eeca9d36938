// Package query opens a trailscope lake in the embedded DuckDB and runs
// SQL over it: the views (events, findings, integrity, files), one-shot
// queries with output formats, investigation presets, an interactive
// shell, and the DDL that makes the same lake queryable by Athena, Trino
// or Spark.
//
// # Views
//
//   - events: DIR/events/**/*.parquet with Hive partitions account, region
//     and event_date (all VARCHAR; event_date is 'YYYY-MM-DD', so
//     event_date >= '2024-08-01' compares like a date and prunes files).
//     An empty lake still has an events view with every column.
//   - findings: DIR/findings/**/*.parquet, when there are any.
//   - integrity (newest verdict per file) and events_verified (each event
//     with its source file's integrity status), when DIR/integrity/ has
//     Parquet files.
//   - files: the ingest manifest (DIR/_state/manifest/*.json), one row per
//     source object with its batch, status and counts.
//
// # Read-only
//
// Unless Options.AllowWrites is set, Run and CopyParquet only accept
// statements that cannot write files: COPY, EXPORT, ATTACH, DETACH, LOAD,
// INSTALL, SET and PRAGMA statements that change settings are refused
// (the statement type comes from DuckDB's own parser, not from a pattern).
// Options.Sandbox adds DuckDB's own lock: external access is limited to
// the lake's folders (and Options.WritableFiles), extensions cannot be
// installed or loaded, and the configuration is locked.
package query

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2" // the embedded DuckDB

	"github.com/trailscope/trailscope/ingest/lake"
)

// Options configure Open.
type Options struct {
	// AllowWrites lets Run execute any statement, including those that
	// write files (COPY ... TO, EXPORT DATABASE, ATTACH).
	AllowWrites bool
	// Sandbox, unless AllowWrites is set, also locks the engine itself:
	// DuckDB may only reach the lake's folders and WritableFiles, may not
	// install or load extensions, and its settings are locked. Set it for
	// SQL typed by people (query, shell); leave it off when the caller
	// writes through the DB itself (detect writes findings with COPY).
	Sandbox bool
	// WritableFiles are files a sandboxed DB may write (the --output of
	// --format parquet).
	WritableFiles []string
	// MemoryLimit caps DuckDB's memory (a DuckDB size, e.g. "2GB"); big
	// sorts and aggregates spill to a private temporary folder instead.
	// Default DefaultMemoryLimit.
	MemoryLimit string
}

// DefaultMemoryLimit is DuckDB's memory cap unless Options.MemoryLimit or
// the TRAILSCOPE_DUCKDB_MEMORY environment variable says otherwise: a
// laptop tool must not take most of the machine's memory (DuckDB's own
// default is 80% of RAM) when a query sorts millions of rows.
const DefaultMemoryLimit = "2GB"

// DB is a DuckDB connection with the lake's views.
type DB struct {
	*sql.DB
	tmp   string // DuckDB's spill folder
	Lake  string
	Views []string
	// Uncommitted reports that events/ held Parquet files of batches not
	// committed when the DB was opened (an ingest running, or killed):
	// the events view leaves them out, and is then a snapshot of the
	// batches committed at Open.
	Uncommitted bool
	opts        Options
}

// ErrNotLake is returned by Open for a folder that is not a lake.
var ErrNotLake = errors.New("not a trailscope lake (no events/ or _state/ folder)")

// Open opens the lake at dir. The caller must Close the DB.
func Open(ctx context.Context, dir string, opts Options) (*DB, error) {
	if !isDir(filepath.Join(dir, "events")) && !isDir(filepath.Join(dir, "_state")) {
		return nil, fmt.Errorf("open lake %s: %w", dir, ErrNotLake)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1) // temp views and settings live on one connection
	d := &DB{DB: db, Lake: dir, opts: opts}
	if err := d.limitMemory(ctx); err != nil {
		d.Close()
		return nil, err
	}
	if err := d.createViews(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if opts.Sandbox && !opts.AllowWrites {
		if err := d.sandbox(ctx); err != nil {
			db.Close()
			return nil, err
		}
	}
	return d, nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func lit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

const hiveTypes = `hive_types = {'account': VARCHAR, 'region': VARCHAR, 'event_date': VARCHAR}`

func hasParquet(dir string) bool {
	found := false
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			found = true
			return filepath.SkipAll
		}
		return nil
	})
	return found
}

// committedFiles lists the events files of the lake, and reports whether
// all of them belong to committed batches. A batch's Parquet files are
// renamed into place before its manifest entry commits it; files of a
// batch still being written (or left by a killed ingest, which the next
// ingest deletes) must not be read.
func committedFiles(lakeDir string) (files []string, all bool, err error) {
	ms, err := lake.ReadManifests(lakeDir)
	// A manifest folder that cannot be listed (none: a lake written by
	// hand) means no manifest; a manifest that cannot be read is an error.
	var pe *fs.PathError
	if err != nil && !(errors.As(err, &pe) && filepath.Clean(pe.Path) == filepath.Join(lakeDir, "_state", "manifest")) {
		return nil, false, err
	}
	// A compaction commits its merged file before it deletes the files it
	// replaces: those are never read twice.
	live, replaced := lake.LiveOutputs(ms)
	committed := make(map[string]bool, len(live))
	for o := range live {
		committed[filepath.Clean(filepath.FromSlash(o))] = true
	}
	all = true
	err = filepath.WalkDir(filepath.Join(lakeDir, "events"), func(p string, de os.DirEntry, err error) error {
		if err != nil || de.IsDir() || !strings.HasSuffix(p, ".parquet") {
			return err
		}
		rel, _ := filepath.Rel(lakeDir, p)
		// A lake without manifest outputs (written by hand, or by an
		// older trailscope) is read whole.
		if committed[rel] || (len(committed) == 0 && len(replaced) == 0) {
			files = append(files, p)
		} else {
			all = false
		}
		return nil
	})
	if os.IsNotExist(err) {
		err = nil
	}
	return files, all, err
}

func (d *DB) createViews(ctx context.Context) error {
	ev := filepath.Join(d.Lake, "events")
	files, all, err := committedFiles(d.Lake)
	if err != nil {
		return fmt.Errorf("open lake %s: %w", d.Lake, err)
	}
	d.Uncommitted = !all
	q := `CREATE VIEW events AS ` + emptyEventsSQL()
	switch {
	case len(files) > 0 && all:
		// The glob also sees batches committed after Open.
		q = fmt.Sprintf(`CREATE VIEW events AS SELECT * FROM read_parquet(%s, hive_partitioning = true, union_by_name = true, %s)`,
			lit(filepath.Join(ev, "**", "*.parquet")), hiveTypes)
	case len(files) > 0:
		quoted := make([]string, len(files))
		for i, f := range files {
			quoted[i] = lit(f)
		}
		q = fmt.Sprintf(`CREATE VIEW events AS SELECT * FROM read_parquet([%s], hive_partitioning = true, union_by_name = true, %s)`,
			strings.Join(quoted, ", "), hiveTypes)
	}
	if _, err := d.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("open lake %s: events view: %w", d.Lake, err)
	}
	d.Views = append(d.Views, "events")
	if fd := filepath.Join(d.Lake, "findings"); hasParquet(fd) {
		if _, err := d.ExecContext(ctx, fmt.Sprintf(`CREATE VIEW findings AS SELECT * FROM read_parquet(%s, union_by_name = true)`,
			lit(filepath.Join(fd, "**", "*.parquet")))); err != nil {
			return fmt.Errorf("open lake %s: findings view: %w", d.Lake, err)
		}
		d.Views = append(d.Views, "findings")
	}
	if idir := filepath.Join(d.Lake, "integrity"); hasParquet(idir) {
		// The newest verdict per file; events_verified gives every event
		// its source file's integrity status.
		if _, err := d.ExecContext(ctx, fmt.Sprintf(`CREATE VIEW integrity AS SELECT * FROM read_parquet(%s, union_by_name = true)
			QUALIFY row_number() OVER (PARTITION BY key ORDER BY verified_at DESC) = 1`, lit(filepath.Join(idir, "**", "*.parquet")))); err != nil {
			return fmt.Errorf("open lake %s: integrity view: %w", d.Lake, err)
		}
		if _, err := d.ExecContext(ctx, `CREATE VIEW events_verified AS SELECT e.*, coalesce(i.status, 'unverified') AS integrity
			FROM events e LEFT JOIN integrity i ON i.key = e.source_key AND i.kind = 'log'`); err != nil {
			return fmt.Errorf("open lake %s: events_verified view: %w", d.Lake, err)
		}
		d.Views = append(d.Views, "integrity", "events_verified")
	}
	mg := filepath.Join(d.Lake, "_state", "manifest", "*.json")
	if m, _ := filepath.Glob(mg); len(m) > 0 {
		q := fmt.Sprintf(`CREATE VIEW files AS SELECT batch, committed, f.bucket, f.key, f.version_id, f.etag, f.size, f.last_modified,
			f.status, f.error, f.events, f.written, f.duplicates, f.rejected
			FROM (SELECT batch, committed, unnest(files) AS f FROM read_json(%s, columns = {batch: 'VARCHAR', committed: 'TIMESTAMPTZ',
			files: 'STRUCT(bucket VARCHAR, "key" VARCHAR, version_id VARCHAR, etag VARCHAR, size BIGINT, last_modified TIMESTAMPTZ, status VARCHAR, "error" VARCHAR, events BIGINT, written BIGINT, duplicates BIGINT, rejected BIGINT)[]'}))`, lit(mg))
		if _, err := d.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("open lake %s: files view: %w", d.Lake, err)
		}
		d.Views = append(d.Views, "files")
	}
	return nil
}

// limitMemory sets DuckDB's memory cap and a private spill folder.
func (d *DB) limitMemory(ctx context.Context) error {
	limit := d.opts.MemoryLimit
	if limit == "" {
		limit = os.Getenv("TRAILSCOPE_DUCKDB_MEMORY")
	}
	if limit == "" {
		limit = DefaultMemoryLimit
	}
	tmp, err := os.MkdirTemp("", "trailscope-duckdb-")
	if err != nil {
		return fmt.Errorf("open lake %s: spill folder: %w", d.Lake, err)
	}
	d.tmp = tmp
	for _, s := range []string{"SET memory_limit = " + lit(limit), "SET temp_directory = " + lit(tmp),
		// Detection and the shell query the same files many times.
		"SET parquet_metadata_cache = true"} {
		if _, err := d.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("open lake %s: %s: %w", d.Lake, s, err)
		}
	}
	return nil
}

// Close closes the connection and removes the spill folder.
func (d *DB) Close() error {
	err := d.DB.Close()
	if d.tmp != "" {
		os.RemoveAll(d.tmp)
	}
	return err
}

// sandbox limits DuckDB to the lake's folders and locks its settings.
// Views are bound at query time, so the lake's folders stay readable.
func (d *DB) sandbox(ctx context.Context) error {
	var dirs, files []string
	for _, sub := range []string{"events", "findings", "integrity", filepath.Join("_state", "manifest")} {
		if p := filepath.Join(d.Lake, sub); isDir(p) {
			abs, err := filepath.Abs(p)
			if err != nil {
				return err
			}
			dirs = append(dirs, lit(abs+string(filepath.Separator)))
		}
	}
	lakeAbs, err := filepath.Abs(d.Lake)
	if err != nil {
		return err
	}
	if d.tmp != "" {
		dirs = append(dirs, lit(d.tmp+string(filepath.Separator)))
	}
	for _, f := range d.opts.WritableFiles {
		abs, err := filepath.Abs(f)
		if err != nil {
			return err
		}
		if rel, err := filepath.Rel(lakeAbs, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return fmt.Errorf("%s is inside the lake: %w", f, ErrReadOnly)
		}
		files = append(files, lit(abs))
	}
	for _, s := range []string{
		"SET allowed_directories = [" + strings.Join(dirs, ", ") + "]",
		"SET allowed_paths = [" + strings.Join(files, ", ") + "]",
		"SET autoinstall_known_extensions = false",
		"SET autoload_known_extensions = false",
		"SET enable_external_access = false",
		"SET lock_configuration = true",
	} {
		if _, err := d.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("open lake %s: read-only sandbox: %s: %w", d.Lake, s, err)
		}
	}
	return nil
}

// ErrReadOnly is returned for statements that could write files while the
// DB is read-only.
var ErrReadOnly = errors.New("the lake is read-only here (use --allow-writes to write files)")

// ErrMultipleStatements is returned when one call holds several statements.
var ErrMultipleStatements = errors.New("one statement at a time, please")

// A quick first look gives the friendliest error for the usual cases;
// the statement type from DuckDB's parser (allowedTypes) decides.
var writeRE = regexp.MustCompile(`(?is)^\s*(copy\b[\s\S]*\bto\b|export\b|attach\b|detach\b|install\b|load\b|force\s+install\b|update\s+extensions\b|create\s+(or\s+replace\s+)?(persistent\s+)?secret\b)`)

// setVariableRE tells SET VARIABLE (a session variable) from SET of a
// setting: DuckDB gives both the SET statement type.
var setVariableRE = regexp.MustCompile(`(?is)^\s*(re)?set\s+variable\b`)

var allowedTypes = map[duckdb.StmtType]bool{
	duckdb.STATEMENT_TYPE_SELECT:       true, // also PRAGMA x, DESCRIBE, SHOW, SUMMARIZE
	duckdb.STATEMENT_TYPE_EXPLAIN:      true,
	duckdb.STATEMENT_TYPE_CREATE:       true, // in-memory tables, views, macros
	duckdb.STATEMENT_TYPE_CREATE_FUNC:  true,
	duckdb.STATEMENT_TYPE_INSERT:       true,
	duckdb.STATEMENT_TYPE_UPDATE:       true,
	duckdb.STATEMENT_TYPE_DELETE:       true,
	duckdb.STATEMENT_TYPE_DROP:         true,
	duckdb.STATEMENT_TYPE_ALTER:        true,
	duckdb.STATEMENT_TYPE_PREPARE:      true,
	duckdb.STATEMENT_TYPE_EXECUTE:      true,
	duckdb.STATEMENT_TYPE_VARIABLE_SET: true, // SET VARIABLE
	duckdb.STATEMENT_TYPE_TRANSACTION:  true,
	duckdb.STATEMENT_TYPE_ANALYZE:      true,
	duckdb.STATEMENT_TYPE_CALL:         true,
}

var typeNames = map[duckdb.StmtType]string{
	duckdb.STATEMENT_TYPE_COPY: "COPY", duckdb.STATEMENT_TYPE_EXPORT: "EXPORT", duckdb.STATEMENT_TYPE_ATTACH: "ATTACH",
	duckdb.STATEMENT_TYPE_DETACH: "DETACH", duckdb.STATEMENT_TYPE_LOAD: "LOAD/INSTALL", duckdb.STATEMENT_TYPE_SET: "SET",
	duckdb.STATEMENT_TYPE_PRAGMA: "PRAGMA", duckdb.STATEMENT_TYPE_VACUUM: "VACUUM", duckdb.STATEMENT_TYPE_EXTENSION: "extension",
}

// CheckReadOnly is the textual first look of the read-only guard: it
// refuses statements that obviously write files, attach databases or load
// extensions, and several statements in one string.
func (d *DB) CheckReadOnly(stmt string) error {
	if d.opts.AllowWrites {
		return nil
	}
	if writeRE.MatchString(stripLiterals(stmt)) {
		return ErrReadOnly
	}
	if strings.Contains(strings.TrimRight(strings.TrimSpace(stripLiterals(stmt)), "; \t\n"), ";") {
		return ErrMultipleStatements
	}
	return nil
}

// stripLiterals blanks quoted strings and identifiers and removes
// comments, so that what remains is SQL structure.
func stripLiterals(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(s) {
				if s[j] == c {
					if j+1 < len(s) && s[j+1] == c {
						j += 2
						continue
					}
					break
				}
				j++
			}
			b.WriteString("''")
			i = j
		case c == '-' && i+1 < len(s) && s[i+1] == '-':
			for i < len(s) && s[i] != '\n' {
				i++
			}
			b.WriteByte(' ')
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				i = len(s)
			} else {
				i += end + 3
			}
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Result is a query's columns and rows, as Go values.
type Result struct {
	Columns []string
	Types   []string
	Rows    [][]any
}

// prepared prepares one statement on the DB's connection, checks it is
// allowed and calls fn with it.
func (d *DB) prepared(ctx context.Context, stmt string, fn func(*duckdb.Stmt) error) error {
	if err := d.CheckReadOnly(stmt); err != nil {
		return err
	}
	conn, err := d.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		// Prepare, unlike PrepareContext, refuses several statements
		// instead of running all but the last.
		ds, err := dc.(*duckdb.Conn).Prepare(stmt)
		if err != nil {
			if strings.Contains(err.Error(), "multi-statement") {
				return ErrMultipleStatements
			}
			return d.explain(err)
		}
		defer ds.Close()
		st := ds.(*duckdb.Stmt)
		if !d.opts.AllowWrites {
			t, err := st.StatementType()
			if err != nil {
				return err
			}
			if t == duckdb.STATEMENT_TYPE_SET && setVariableRE.MatchString(stripLiterals(stmt)) {
				t = duckdb.STATEMENT_TYPE_VARIABLE_SET
			}
			if !allowedTypes[t] {
				name := typeNames[t]
				if name == "" {
					name = fmt.Sprintf("this kind of statement (%d)", t)
				}
				return fmt.Errorf("%s: %w", name, ErrReadOnly)
			}
		}
		return fn(st)
	})
}

// Run runs one statement (with $1, $2, ... bound to args) and reads all
// its rows. Cancelling ctx interrupts DuckDB.
func (d *DB) Run(ctx context.Context, stmt string, args ...any) (*Result, error) {
	stmt = trimStatement(stmt)
	var res *Result
	err := d.prepared(ctx, stmt, func(st *duckdb.Stmt) error {
		nv := make([]driver.NamedValue, len(args))
		for i, a := range args {
			nv[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
		}
		rows, err := st.QueryContext(ctx, nv)
		if err != nil {
			return d.explain(err)
		}
		defer rows.Close()
		res = &Result{Columns: rows.Columns()}
		if ct, ok := rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
			for i := range res.Columns {
				res.Types = append(res.Types, ct.ColumnTypeDatabaseTypeName(i))
			}
		}
		for {
			vals := make([]driver.Value, len(res.Columns))
			if err := rows.Next(vals); err == io.EOF {
				return nil
			} else if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return d.explain(err)
			}
			row := make([]any, len(vals))
			for i, v := range vals {
				if b, ok := v.([]byte); ok {
					v = append([]byte(nil), b...)
				}
				row[i] = v
			}
			res.Rows = append(res.Rows, row)
		}
	})
	if err != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return res, err
}

// trimStatement drops surrounding space and trailing semicolons.
func trimStatement(s string) string {
	return strings.TrimRight(strings.TrimSpace(s), "; \t\r\n")
}

var (
	unknownCol   = regexp.MustCompile(`Referenced column "([^"]+)" not found`)
	unknownTable = regexp.MustCompile(`Table with name (\S+) does not exist`)
)

// explain adds hints to DuckDB's errors: for an unknown column, the lake
// columns or nested fields (userIdentity.arn) closest to the name typed,
// on top of DuckDB's own candidate bindings; for an unknown table, the
// views there are; for a permission error, why.
func (d *DB) explain(err error) error {
	msg := err.Error()
	if m := unknownCol.FindStringSubmatch(msg); m != nil {
		if s := Suggest(m[1]); len(s) > 0 {
			return fmt.Errorf("%w\nhint: did you mean %s?", err, strings.Join(s, " or "))
		}
		return err
	}
	if strings.Contains(msg, "Failed to cast value to numerical: {") || strings.Contains(msg, "Failed to cast value to numerical: [") {
		return fmt.Errorf("%w\nhint: ->> binds looser than = in DuckDB: write (responseElements->>'ConsoleLogin') = 'Failure'", err)
	}
	if unknownTable.MatchString(msg) {
		return fmt.Errorf("%w\nhint: the lake's views are %s", err, strings.Join(d.Views, ", "))
	}
	if strings.Contains(msg, "Permission Error") || strings.Contains(msg, "configuration has been locked") {
		return fmt.Errorf("%w\nhint: read-only mode: DuckDB only reads the lake's folders and its settings are fixed (--allow-writes lifts this)", err)
	}
	return err
}

// Suggest returns the lake columns or nested fields closest to name
// (case-insensitive), best first; none if nothing is close.
func Suggest(name string) []string {
	n := strings.ToLower(name)
	type cand struct {
		col string
		d   int
	}
	var cs []cand
	for _, c := range LakeColumns {
		lc, last := strings.ToLower(c), strings.ToLower(lastPart(c))
		dd := min(distance(n, lc), distance(n, last))
		if len(n) >= 4 && (strings.HasPrefix(last, n) || strings.HasPrefix(n, last) && len(last) >= 4) {
			dd = min(dd, 1)
		}
		if dd <= max(1, len(n)/3) {
			cs = append(cs, cand{c, dd})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].d != cs[j].d {
			return cs[i].d < cs[j].d
		}
		return len(cs[i].col) < len(cs[j].col)
	})
	var out []string
	for _, c := range cs {
		if len(out) == 2 || c.d > cs[0].d {
			break
		}
		out = append(out, c.col)
	}
	return out
}

func lastPart(s string) string { return s[strings.LastIndexByte(s, '.')+1:] }

func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
