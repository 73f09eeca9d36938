package sigma

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
)

const testdataDir = "../testdata/sigma"

// rawEvent is one test event as raw JSON.
type rawEvent struct {
	ID  string
	Raw []byte
}

// readEventFile reads a JSON array of events or a {"Records":[...]} file.
func readEventFile(path string) ([]rawEvent, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b = bytes.TrimSpace(b)
	var recs []json.RawMessage
	if len(b) > 0 && b[0] == '[' {
		err = json.Unmarshal(b, &recs)
	} else {
		var w struct{ Records []json.RawMessage }
		err = json.Unmarshal(b, &w)
		recs = w.Records
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := make([]rawEvent, 0, len(recs))
	for _, r := range recs {
		var head struct{ EventID string }
		if err := json.Unmarshal(r, &head); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, rawEvent{ID: head.EventID, Raw: r})
	}
	return out, nil
}

var (
	realEventsOnce sync.Once
	realEvents     []rawEvent
	realEventsErr  error
)

// allRealEvents loads every event under testdata/sigma/events.
func allRealEvents(t testing.TB) []rawEvent {
	t.Helper()
	realEventsOnce.Do(func() {
		var files []string
		for _, g := range []string{"events/stratus-red-team/*.json", "events/invictus-ir/CloudTrail/*.json"} {
			m, _ := filepath.Glob(filepath.Join(testdataDir, g))
			files = append(files, m...)
		}
		sort.Strings(files)
		for _, f := range files {
			evs, err := readEventFile(f)
			if err != nil {
				realEventsErr = err
				return
			}
			realEvents = append(realEvents, evs...)
		}
	})
	if realEventsErr != nil {
		t.Fatal(realEventsErr)
	}
	if len(realEvents) < 3000 {
		t.Fatalf("loaded %d real events; want at least 3000", len(realEvents))
	}
	return realEvents
}

// transformSpec renders the json_transform structure of a column.
func transformSpec(c *column) string {
	switch c.kind {
	case colString:
		return `"VARCHAR"`
	case colBool:
		return `"BOOLEAN"`
	case colJSON:
		return `"JSON"`
	case colStruct, colStructList:
		var parts []string
		for _, ch := range c.children {
			parts = append(parts, fmt.Sprintf("%q:%s", ch.name, transformSpec(ch)))
		}
		s := "{" + strings.Join(parts, ",") + "}"
		if c.kind == colStructList {
			s = "[" + s + "]"
		}
		return s
	}
	return `"VARCHAR"`
}

// openDuck creates an in-memory DuckDB with the lake table "events" built
// from the given events, the way the lake stores them.
func openDuck(t testing.TB, events []rawEvent) *sql.DB {
	t.Helper()
	db := openDuckNoCleanup(t, events)
	t.Cleanup(func() { db.Close() })
	return db
}

// openDuckNoCleanup is openDuck for a database shared across fuzz inputs.
func openDuckNoCleanup(t testing.TB, events []rawEvent) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	known := map[string]bool{}
	for _, c := range lakeSchema.children {
		known[c.name] = true
	}
	// Stage the records as NDJSON: {"j": record, "x": extraFields}.
	var nd bytes.Buffer
	for _, ev := range events {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(ev.Raw, &m); err != nil {
			t.Fatalf("event %s: %v", ev.ID, err)
		}
		extra := map[string]json.RawMessage{}
		for k, v := range m {
			if !known[k] {
				extra[k] = v
			}
		}
		var x []byte = []byte("null")
		if len(extra) > 0 {
			x, _ = json.Marshal(extra)
		}
		compact := new(bytes.Buffer)
		if err := json.Compact(compact, ev.Raw); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&nd, "{\"j\":%s,\"x\":%s}\n", compact.Bytes(), x)
	}
	dir, err := os.MkdirTemp("", "sigma-duck")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	f := filepath.Join(dir, "events.ndjson")
	if err := os.WriteFile(f, nd.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, c := range lakeSchema.children {
		src := fmt.Sprintf("json -> 'j' -> %s", quoteString(c.name))
		var expr string
		switch c.kind {
		case colString:
			expr = fmt.Sprintf("json_extract_string(json -> 'j', %s)", quoteString(`$."`+c.name+`"`))
		case colBool:
			expr = fmt.Sprintf("TRY_CAST(json_extract_string(json -> 'j', %s) AS BOOLEAN)", quoteString(`$."`+c.name+`"`))
		case colTime:
			expr = fmt.Sprintf("CAST(json_extract_string(json -> 'j', %s) AS TIMESTAMPTZ)", quoteString(`$."`+c.name+`"`))
		case colJSON:
			expr = src
		default:
			expr = fmt.Sprintf("json_transform(%s, %s)", src, quoteString(transformSpec(c)))
		}
		cols = append(cols, expr+" AS "+quoteIdent(c.name))
	}
	cols = append(cols, "CASE WHEN json_type(json -> 'x') = 'OBJECT' THEN json -> 'x' END AS \"extraFields\"",
		"NULL::VARCHAR AS source_bucket", "NULL::VARCHAR AS source_key", "NULL::BIGINT AS record_index",
		"NULL::VARCHAR AS account", "NULL::VARCHAR AS region", "NULL::VARCHAR AS event_date")
	q := fmt.Sprintf("CREATE TABLE events AS SELECT %s FROM read_json_objects(%s, format = 'newline_delimited')", strings.Join(cols, ",\n"), quoteString(f))
	if _, err := db.Exec(q); err != nil {
		t.Fatalf("create events: %v\n%s", err, q)
	}
	return db
}

// queryIDs runs a rule query and returns the eventIDs, sorted.
func queryIDs(t testing.TB, db *sql.DB, q string) ([]string, error) {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var ids []string
	for rows.Next() {
		dest := make([]any, len(cols))
		var id sql.NullString
		dest[0] = &id
		for i := 1; i < len(cols); i++ {
			dest[i] = new(any)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		ids = append(ids, id.String)
	}
	sort.Strings(ids)
	return ids, rows.Err()
}

// goIDs runs a matcher over events and returns the matching eventIDs.
func goIDs(t testing.TB, m *Matcher, events []rawEvent) []string {
	t.Helper()
	var p EventParser
	var ids []string
	for _, e := range events {
		ev, err := p.Parse(e.Raw)
		if err != nil {
			t.Fatalf("parse event %s: %v", e.ID, err)
		}
		if m.Match(ev) {
			ids = append(ids, e.ID)
		}
	}
	sort.Strings(ids)
	return ids
}

func sigmaHQRuleFiles(t testing.TB, sub string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(filepath.Join(testdataDir, "sigmahq", sub), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasSuffix(p, ".yml") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
