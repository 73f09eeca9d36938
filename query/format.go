package query

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Formats lists what Write accepts (parquet is written by DuckDB itself:
// see CopyParquet).
var Formats = []string{"table", "csv", "json", "jsonl", "markdown", "parquet"}

func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case []byte:
		return string(x)
	case string:
		return x
	case map[string]any, []any:
		b, _ := json.Marshal(x)
		return string(b)
	}
	return fmt.Sprint(v)
}

func jsonValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []byte:
		return string(x)
	case string:
		// JSON columns come back as text holding JSON: keep them as JSON.
		if len(x) > 1 && (x[0] == '{' || x[0] == '[') && json.Valid([]byte(x)) {
			return json.RawMessage(x)
		}
		return x
	}
	return v
}

// Write renders r in format; width bounds table output (0: no limit).
func (r *Result) Write(w io.Writer, format string, width int) error {
	switch format {
	case "table", "":
		return r.writeTable(w, width)
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write(r.Columns)
		for _, row := range r.Rows {
			rec := make([]string, len(row))
			for i, v := range row {
				rec[i] = cell(v)
			}
			cw.Write(rec)
		}
		cw.Flush()
		return cw.Error()
	case "json", "jsonl":
		objs := make([]map[string]any, 0, len(r.Rows))
		for _, row := range r.Rows {
			o := make(map[string]any, len(row))
			for i, v := range row {
				o[r.Columns[i]] = jsonValue(v)
			}
			objs = append(objs, o)
		}
		enc := json.NewEncoder(w)
		if format == "json" {
			enc.SetIndent("", "  ")
			return enc.Encode(objs)
		}
		for _, o := range objs {
			if err := enc.Encode(o); err != nil {
				return err
			}
		}
		return nil
	case "markdown":
		fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(r.Columns, " | "), strings.Repeat("---|", len(r.Columns)))
		for _, row := range r.Rows {
			parts := make([]string, len(row))
			for i, v := range row {
				parts[i] = strings.NewReplacer("|", "\\|", "\n", " ").Replace(cell(v))
			}
			fmt.Fprintf(w, "| %s |\n", strings.Join(parts, " | "))
		}
		return nil
	}
	return fmt.Errorf("format %q: want one of %s", format, strings.Join(Formats, ", "))
}

// minCell is the narrowest a table column gets before columns are dropped.
const minCell = 6

func (r *Result) writeTable(w io.Writer, width int) error {
	widths := make([]int, len(r.Columns))
	cells := make([][]string, len(r.Rows))
	for i, c := range r.Columns {
		widths[i] = utf8.RuneCountInString(c)
	}
	for ri, row := range r.Rows {
		cells[ri] = make([]string, len(row))
		for i, v := range row {
			s := strings.Map(func(r rune) rune {
				if r == '\n' || r == '\r' || r == '\t' {
					return ' '
				}
				return r
			}, cell(v))
			cells[ri][i] = s
			widths[i] = max(widths[i], utf8.RuneCountInString(s))
		}
	}
	shown := len(widths)
	total := func() int {
		t := 1
		for _, x := range widths[:shown] {
			t += x + 3
		}
		return t
	}
	// Fit the terminal: shrink the widest columns first, never below
	// minCell; then drop columns from the right (a row never wraps).
	if width > 0 {
		for total() > width {
			wi := 0
			for i := range widths[:shown] {
				if widths[i] > widths[wi] {
					wi = i
				}
			}
			if widths[wi] <= minCell {
				if shown == 1 {
					widths[0] = max(1, width-4)
					break
				}
				shown--
				continue
			}
			widths[wi] = max(minCell, widths[wi]-(total()-width))
		}
	}
	line := func(vals []string) {
		var b strings.Builder
		b.WriteString("│")
		for i, v := range vals[:shown] {
			v = clip(v, widths[i])
			b.WriteString(" " + v + strings.Repeat(" ", widths[i]-utf8.RuneCountInString(v)) + " │")
		}
		fmt.Fprintln(w, b.String())
	}
	sep := func(l, m, r string) {
		var b strings.Builder
		b.WriteString(l)
		for i, x := range widths[:shown] {
			b.WriteString(strings.Repeat("─", x+2))
			if i < shown-1 {
				b.WriteString(m)
			}
		}
		fmt.Fprintln(w, b.String()+r)
	}
	sep("┌", "┬", "┐")
	line(r.Columns)
	sep("├", "┼", "┤")
	for _, row := range cells {
		line(row)
	}
	sep("└", "┴", "┘")
	rows := "rows"
	if len(r.Rows) == 1 {
		rows = "row"
	}
	if hidden := len(r.Columns) - shown; hidden > 0 {
		fmt.Fprintf(w, "%d %s; %d columns not shown: %s\n", len(r.Rows), rows, hidden, clip(strings.Join(r.Columns[shown:], ", "), max(10, width-30)))
	} else {
		fmt.Fprintf(w, "%d %s\n", len(r.Rows), rows)
	}
	return nil
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 1 {
		return "…"
	}
	rs := []rune(s)
	return string(rs[:n-1]) + "…"
}

// CopyParquet writes a query's result to a Parquet file with DuckDB. The
// statement goes through the same read-only check as Run; a sandboxed DB
// must list path in Options.WritableFiles.
func (d *DB) CopyParquet(ctx context.Context, stmt, path string) error {
	stmt = trimStatement(stmt)
	if err := d.prepared(ctx, stmt, func(*duckdb.Stmt) error { return nil }); err != nil {
		return err
	}
	q := fmt.Sprintf("COPY (%s) TO %s (FORMAT parquet, COMPRESSION zstd)", stmt, lit(path))
	if _, err := d.ExecContext(ctx, q); err != nil {
		return d.explain(err)
	}
	return nil
}
