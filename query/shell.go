package query

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/peterh/liner"
	"golang.org/x/term"
)

// ShellOptions configure a Shell.
type ShellOptions struct {
	// In is read for statements. When it is the process's terminal
	// (os.Stdin on a tty, with Out a tty too) the shell edits lines
	// (arrows, Ctrl-R, history, TAB completion); otherwise it reads plain
	// lines and prints no prompts, so scripts can be piped in.
	In       io.Reader
	Out, Err io.Writer
	// HistoryFile keeps statements across sessions ("" for none): it is
	// loaded at start and every statement is appended as it runs.
	HistoryFile string
	// Width gives the table width for the screen (nil or 0: no limit);
	// it is asked before each result, so a resized terminal is followed.
	Width func() int
	// Interrupts delivers Ctrl-C while a query runs: it cancels the query
	// (DuckDB is interrupted) and the shell carries on.
	Interrupts <-chan os.Signal
}

// Shell is an interactive SQL session over a lake: statements end with
// ';' and may span lines; dot commands (.help) need no ';'. A Shell is not
// safe for concurrent use.
type Shell struct {
	db    *DB
	o     ShellOptions
	mode  string
	timer bool
	out   io.Writer // the screen or an .output file
	file  *os.File
	cols  map[string][]string // completion: columns per table
	words []string            // completion: keywords and functions
}

// NewShell returns a shell on db.
func NewShell(db *DB, o ShellOptions) *Shell {
	if o.Err == nil {
		o.Err = o.Out
	}
	return &Shell{db: db, o: o, mode: "table", out: o.Out}
}

// DefaultHistoryFile is where the shell keeps its history:
// $XDG_STATE_HOME/trailscope/history when XDG_STATE_HOME is set, else
// ~/.trailscope_history ("" if there is no home).
func DefaultHistoryFile() string {
	if x := os.Getenv("XDG_STATE_HOME"); x != "" {
		return filepath.Join(x, "trailscope", "history")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".trailscope_history")
	}
	return ""
}

// errInterrupted is a line reader's report of Ctrl-C at the prompt.
var errInterrupted = errors.New("interrupted")

type lineReader interface {
	readLine(prompt string) (string, error)
	addHistory(line string)
	close()
}

type plainReader struct{ sc *bufio.Scanner }

func (p plainReader) readLine(string) (string, error) {
	if p.sc.Scan() {
		return p.sc.Text(), nil
	}
	if err := p.sc.Err(); err != nil {
		return "", err
	}
	return "", io.EOF
}
func (plainReader) addHistory(string) {}
func (plainReader) close()            {}

type linerReader struct{ l *liner.State }

func (r linerReader) readLine(prompt string) (string, error) {
	s, err := r.l.Prompt(prompt)
	if errors.Is(err, liner.ErrPromptAborted) {
		return "", errInterrupted
	}
	return s, err
}
func (r linerReader) addHistory(line string) { r.l.AppendHistory(line) }
func (r linerReader) close()                 { r.l.Close() }

func isTTY(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// interactive reports whether the shell owns the process's terminal.
func (s *Shell) interactive() bool {
	f, ok := s.o.In.(*os.File)
	return ok && f.Fd() == os.Stdin.Fd() && isTTY(f) && isTTY(s.o.Out)
}

func (s *Shell) newReader() lineReader {
	if !s.interactive() {
		sc := bufio.NewScanner(s.o.In)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		return plainReader{sc}
	}
	l := liner.NewLiner()
	l.SetCtrlCAborts(true)
	l.SetTabCompletionStyle(liner.TabPrints)
	l.SetWordCompleter(s.Complete)
	if s.o.HistoryFile != "" {
		if f, err := os.Open(s.o.HistoryFile); err == nil {
			l.ReadHistory(f)
			f.Close()
		}
	}
	return linerReader{l}
}

const (
	prompt     = "trailscope> "
	contPrompt = "        ...> "
)

// Run reads and executes statements until end of input or .quit.
func (s *Shell) Run(ctx context.Context) error {
	lr := s.newReader()
	defer lr.close()
	defer s.closeOutput()
	if s.interactive() {
		fmt.Fprintf(s.o.Out, "trailscope SQL over %s (views: %s)\n.help for help; end statements with ; (TAB completes, Ctrl-C cancels a query)\n",
			s.db.Lake, strings.Join(s.db.Views, ", "))
	}
	var buf strings.Builder
	for {
		p := prompt
		if buf.Len() > 0 {
			p = contPrompt
		}
		line, err := lr.readLine(p)
		if errors.Is(err, errInterrupted) {
			if buf.Len() == 0 {
				fmt.Fprintln(s.o.Err, "(.quit or Ctrl-D to leave)")
			}
			buf.Reset()
			continue
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		trim := strings.TrimSpace(line)
		if buf.Len() == 0 && strings.HasPrefix(trim, ".") {
			s.remember(lr, trim)
			if quit := s.dot(ctx, trim); quit {
				return nil
			}
			continue
		}
		if buf.Len() == 0 && trim == "" {
			continue
		}
		buf.WriteString(line)
		buf.WriteString("\n")
		stmts, rest := SplitStatements(buf.String())
		if len(stmts) == 0 {
			continue
		}
		s.remember(lr, strings.Join(strings.Fields(buf.String()), " "))
		buf.Reset()
		buf.WriteString(rest)
		for _, st := range stmts {
			s.exec(ctx, st, nil)
		}
	}
}

// remember adds a line to the editor's history and appends it to the
// history file at once (a killed shell loses nothing).
func (s *Shell) remember(lr lineReader, line string) {
	lr.addHistory(line)
	if s.o.HistoryFile == "" {
		return
	}
	os.MkdirAll(filepath.Dir(s.o.HistoryFile), 0o700)
	f, err := os.OpenFile(s.o.HistoryFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	fmt.Fprintln(f, line)
	f.Close()
}

// SplitStatements returns the complete statements of text (each ending
// with a ';' outside quotes, comments and $$ strings; the ';' dropped,
// empty ones skipped) and what follows the last of them.
func SplitStatements(text string) (stmts []string, rest string) {
	start := 0
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(text) && text[j] != c {
				j++
			}
			i = j // a doubled quote closes and reopens: same result
		case c == '-' && strings.HasPrefix(text[i:], "--"):
			for i < len(text) && text[i] != '\n' {
				i++
			}
		case c == '/' && strings.HasPrefix(text[i:], "/*"):
			if end := strings.Index(text[i+2:], "*/"); end >= 0 {
				i += end + 3
			} else {
				i = len(text)
			}
		case c == '$' && strings.HasPrefix(text[i:], "$$"):
			if end := strings.Index(text[i+2:], "$$"); end >= 0 {
				i += end + 3
			} else {
				i = len(text)
			}
		case c == ';':
			if st := strings.TrimSpace(text[start:i]); st != "" {
				stmts = append(stmts, st)
			}
			start = i + 1
		}
	}
	if start > len(text) {
		start = len(text)
	}
	return stmts, strings.TrimLeft(text[start:], " \t\r\n")
}

func (s *Shell) width() int {
	if s.out != s.o.Out || s.o.Width == nil {
		return 0
	}
	return s.o.Width()
}

// exec runs one statement; Ctrl-C (Interrupts) cancels it.
func (s *Shell) exec(ctx context.Context, stmt string, args []any) {
	qctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if s.o.Interrupts != nil {
		// A Ctrl-C typed just before the query started (it was already
		// on its way) cancels it too.
		done := make(chan struct{})
		stopped := make(chan struct{})
		go func() {
			defer close(stopped)
			select {
			case <-s.o.Interrupts:
				cancel()
			case <-done:
			}
		}()
		defer func() {
			close(done)
			<-stopped
			// More Ctrl-C pressed for this query are spent with it.
			for len(s.o.Interrupts) > 0 {
				<-s.o.Interrupts
			}
		}()
	}
	start := time.Now()
	res, err := s.db.Run(qctx, stmt, args...)
	if err != nil {
		if qctx.Err() != nil && ctx.Err() == nil {
			fmt.Fprintf(s.o.Err, "query cancelled after %.1fs\n", time.Since(start).Seconds())
			return
		}
		fmt.Fprintln(s.o.Err, "Error:", err)
		return
	}
	if err := res.Write(s.out, s.mode, s.width()); err != nil {
		fmt.Fprintln(s.o.Err, "Error:", err)
	}
	if s.timer {
		fmt.Fprintf(s.o.Err, "run time: %.3fs\n", time.Since(start).Seconds())
	}
}

const shellHelp = `Statements end with ; and may span lines. TAB completes tables, columns
(userIdentity.<TAB> for nested fields), keywords and functions. Ctrl-C
cancels a running query; Ctrl-D or .quit leaves.

.tables                 list the views and tables
.schema [TABLE]         columns and types (default: events)
.mode MODE              table (default), csv, json, jsonl or markdown
.timer on|off           print run times
.output [FILE]          send results to FILE; no FILE: back to the screen
.preset                 list the investigation presets
.preset NAME [k=v ...]  run one, e.g. .preset timeline who=AKIA...
.help                   this text
.quit                   leave
`

var dotCommands = []string{".exit", ".help", ".mode", ".output", ".preset", ".quit", ".schema", ".tables", ".timer"}

func (s *Shell) closeOutput() {
	if s.file != nil {
		s.file.Close()
		s.file = nil
	}
	s.out = s.o.Out
}

// dot runs a dot command and reports whether to quit.
func (s *Shell) dot(ctx context.Context, line string) bool {
	f, err := splitArgs(line)
	if err != nil {
		fmt.Fprintln(s.o.Err, "Error:", err)
		return false
	}
	switch f[0] {
	case ".quit", ".exit":
		return true
	case ".help":
		fmt.Fprint(s.o.Out, shellHelp)
	case ".tables":
		fmt.Fprintln(s.out, strings.Join(s.tables(ctx), "  "))
	case ".schema":
		t := "events"
		if len(f) > 1 {
			t = f[1]
		}
		s.exec(ctx, "SELECT column_name, column_type FROM (DESCRIBE "+quoteIdent(t)+")", nil)
	case ".mode":
		if len(f) != 2 || !validMode(f[1]) {
			fmt.Fprintf(s.o.Err, "usage: .mode table|csv|json|jsonl|markdown (now %s)\n", s.mode)
		} else {
			s.mode = f[1]
		}
	case ".timer":
		if len(f) != 2 || (f[1] != "on" && f[1] != "off") {
			fmt.Fprintln(s.o.Err, "usage: .timer on|off")
		} else {
			s.timer = f[1] == "on"
		}
	case ".output":
		s.closeOutput()
		if len(f) > 1 {
			fh, err := os.Create(f[1])
			if err != nil {
				fmt.Fprintln(s.o.Err, "Error:", err)
			} else {
				s.file, s.out = fh, fh
			}
		}
	case ".preset":
		if len(f) == 1 {
			for _, n := range PresetNames() {
				p := Presets[n]
				params := ""
				for _, q := range p.Params {
					params += " " + q.Name + "="
				}
				fmt.Fprintf(s.o.Out, "%-15s %s%s\n", n, p.Doc, params)
			}
			break
		}
		q, vals, err := BindPreset(f[1], f[2:])
		if err != nil {
			fmt.Fprintln(s.o.Err, "Error:", err)
			break
		}
		s.exec(ctx, q, vals)
	default:
		fmt.Fprintf(s.o.Err, "unknown command %s (.help lists them)\n", f[0])
	}
	return false
}

// splitArgs splits a dot command into words; "double" or 'single' quotes
// keep spaces (for values such as user agents).
func splitArgs(line string) ([]string, error) {
	var out []string
	var cur strings.Builder
	in, quote, has := false, byte(0), false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case in && c == quote:
			in = false
		case in:
			cur.WriteByte(c)
		case c == '"' || c == '\'':
			in, quote, has = true, c, true
		case c == ' ' || c == '\t':
			if has {
				out = append(out, cur.String())
				cur.Reset()
				has = false
			}
		default:
			cur.WriteByte(c)
			has = true
		}
	}
	if in {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if has {
		out = append(out, cur.String())
	}
	return out, nil
}

func validMode(m string) bool {
	for _, f := range Formats {
		if f == m && m != "parquet" {
			return true
		}
	}
	return false
}

// tables lists the views and any tables made in the session.
func (s *Shell) tables(ctx context.Context) []string {
	res, err := s.db.Run(ctx, `SELECT view_name FROM duckdb_views() WHERE NOT internal UNION SELECT table_name FROM duckdb_tables() ORDER BY 1`)
	if err != nil {
		return s.db.Views
	}
	var out []string
	for _, r := range res.Rows {
		out = append(out, fmt.Sprint(r[0]))
	}
	return out
}

// Complete is the TAB completer: given the line and the cursor, it
// returns the text before the word being completed, the candidates for
// that word and the text after the cursor. It completes dot commands and
// their arguments, tables, columns (with nested fields:
// userIdentity.sessionContext.<TAB>), SQL keywords and functions.
func (s *Shell) Complete(line string, pos int) (head string, completions []string, tail string) {
	if pos > len(line) {
		pos = len(line)
	}
	before, tail := line[:pos], line[pos:]
	start := len(before)
	for start > 0 && isWordByte(before[start-1]) {
		start--
	}
	head, word := before[:start], before[start:]
	trimmed := strings.TrimLeft(head, " \t")
	switch {
	case strings.HasPrefix(strings.TrimSpace(before), ".") && !strings.Contains(strings.TrimSpace(before), " "):
		head, word = before[:strings.IndexByte(before, '.')], strings.TrimSpace(before)
		return head, prefixed(dotCommands, word, false), tail
	case strings.HasPrefix(trimmed, ".preset ") && strings.Count(strings.TrimSpace(trimmed), " ") == 0:
		return head, prefixed(PresetNames(), word, false), tail
	case strings.HasPrefix(trimmed, ".schema "):
		return head, prefixed(s.tables(context.Background()), word, false), tail
	case strings.HasPrefix(trimmed, ".mode "):
		return head, prefixed([]string{"table", "csv", "json", "jsonl", "markdown"}, word, false), tail
	case strings.HasPrefix(trimmed, ".timer "):
		return head, prefixed([]string{"on", "off"}, word, false), tail
	case strings.HasPrefix(trimmed, ".preset "):
		if p, ok := Presets[strings.Fields(trimmed)[1]]; ok {
			var ks []string
			for _, q := range p.Params {
				ks = append(ks, q.Name+"=")
			}
			return head, prefixed(ks, word, false), tail
		}
		return head, nil, tail
	}
	if word == "" {
		return head, nil, tail
	}
	var cands []string
	if dot := strings.LastIndexByte(word, '.'); dot >= 0 {
		// A nested field, or alias.column: complete what follows the
		// dot from the lake's paths, keeping what the user typed.
		path, rest := word[:dot], word[dot+1:]
		for _, c := range s.columns() {
			if strings.HasPrefix(strings.ToLower(c), strings.ToLower(path)+".") {
				if sub := c[len(path)+1:]; !strings.Contains(sub, ".") && strings.HasPrefix(strings.ToLower(sub), strings.ToLower(rest)) {
					cands = append(cands, path+"."+sub)
				}
			}
		}
		if len(cands) == 0 { // alias.column
			for _, c := range s.columns() {
				if !strings.Contains(c, ".") && strings.HasPrefix(strings.ToLower(c), strings.ToLower(rest)) {
					cands = append(cands, path+"."+c)
				}
			}
		}
		return head, dedupe(cands), tail
	}
	if f := strings.Fields(head); len(f) > 0 {
		switch strings.ToUpper(f[len(f)-1]) {
		case "FROM", "JOIN", "INTO", "TABLE", "DESCRIBE", "SUMMARIZE", "UPDATE":
			return head, prefixed(s.tables(context.Background()), word, false), tail
		}
	}
	var top []string
	for _, c := range s.columns() {
		if !strings.Contains(c, ".") {
			top = append(top, c)
		}
	}
	cands = append(cands, prefixed(s.tables(context.Background()), word, false)...)
	cands = append(cands, prefixed(top, word, false)...)
	cands = append(cands, prefixed(s.keywords(), word, true)...)
	return head, dedupe(cands), tail
}

func isWordByte(c byte) bool {
	return c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// prefixed keeps the words that start with prefix (case-insensitively);
// with matchCase, they take the prefix's case (select → select, SEL → SELECT).
func prefixed(words []string, prefix string, matchCase bool) []string {
	var out []string
	lp := strings.ToLower(prefix)
	lower := prefix == lp
	for _, w := range words {
		if strings.HasPrefix(strings.ToLower(w), lp) {
			if matchCase {
				if lower {
					w = strings.ToLower(w)
				} else {
					w = strings.ToUpper(w)
				}
			}
			out = append(out, w)
		}
	}
	return out
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}

// columns lists the lake's columns and nested paths, and the columns of
// the other views and tables (asked of DuckDB once).
func (s *Shell) columns() []string {
	if s.cols == nil {
		s.cols = map[string][]string{"events": LakeColumns}
		res, err := s.db.Run(context.Background(), `SELECT table_name, column_name FROM duckdb_columns() WHERE table_name <> 'events' AND NOT internal`)
		if err == nil {
			for _, r := range res.Rows {
				t, c := fmt.Sprint(r[0]), fmt.Sprint(r[1])
				s.cols[t] = append(s.cols[t], c)
			}
		}
	}
	var out []string
	for _, cs := range s.cols {
		out = append(out, cs...)
	}
	return out
}

// keywords lists DuckDB's SQL keywords and function names.
func (s *Shell) keywords() []string {
	if s.words == nil {
		res, err := s.db.Run(context.Background(), `SELECT keyword_name FROM duckdb_keywords() UNION SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_name NOT LIKE '%\_%' ESCAPE '\' OR function_name LIKE 'json%' OR function_name LIKE 'list%' OR function_name LIKE 'regexp%' OR function_name LIKE 'date%' OR function_name LIKE 'string%' OR function_name LIKE 'str%'`)
		if err == nil {
			for _, r := range res.Rows {
				if w := fmt.Sprint(r[0]); len(w) > 1 && !strings.HasPrefix(w, "__") {
					s.words = append(s.words, w)
				}
			}
		}
		if len(s.words) == 0 {
			s.words = strings.Fields("SELECT FROM WHERE GROUP BY ORDER HAVING LIMIT AND OR NOT IN LIKE ILIKE IS NULL AS DISTINCT COUNT WITH JOIN LEFT ON UNION ALL")
		}
	}
	return s.words
}
