package sigma

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// LoadFiles reads Sigma rule files. A path may be a file or a folder,
// which is walked for *.yml and *.yaml files (in lexical order). It
// returns every document that parsed and every problem found (as Errors);
// one bad file does not stop the others.
func LoadFiles(paths ...string) ([]*Document, error) {
	var docs []*Document
	var errs Errors
	for _, root := range paths {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				errs.add(Pos{File: p}, CodeYAML, "%v", err)
				return nil
			}
			if d.IsDir() {
				return nil
			}
			if p != root && !(strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml")) {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				errs.add(Pos{File: p}, CodeYAML, "%v", err)
				return nil
			}
			if info.Size() > MaxFileSize {
				errs.add(Pos{File: p}, CodeTooLarge, "file is %d bytes; the limit is %d", info.Size(), MaxFileSize)
				return nil
			}
			src, err := os.ReadFile(p)
			if err != nil {
				errs.add(Pos{File: p}, CodeYAML, "%v", err)
				return nil
			}
			ds, err := Parse(p, src)
			docs = append(docs, ds...)
			errs.appendErr(Pos{File: p}, CodeYAML, err)
			return nil
		})
		if err != nil {
			errs.add(Pos{File: root}, CodeYAML, "%v", err)
		}
	}
	return docs, errs.errOrNil()
}

// Check validates documents as the backends will use them: it compiles
// every rule for the Go matcher and for SQL and resolves correlations and
// filters. It returns nil or Errors listing every problem.
func Check(docs []*Document, opts CompileOptions) error {
	var errs Errors
	rs, err := NewRuleSet(docs, opts)
	errs.appendErr(Pos{}, CodeUnsupported, err)
	if rs != nil {
		// Both backends compile from the same form; building the SQL makes
		// sure it renders.
		for i := range rs.rules {
			if _, err := rs.RuleSQL(i, SQLOptions{}); err != nil {
				errs.add(rs.rules[i].rule.Meta.Pos, CodeUnsupported, "sql: %v", err)
			}
		}
		for i := range rs.corrs {
			if _, err := rs.CorrelationSQL(i, SQLOptions{}); err != nil {
				errs.add(rs.corrs[i].c.Pos, CodeUnsupported, "sql: %v", err)
			}
		}
	}
	return errs.errOrNil()
}

// Query is the SQL of one rule or correlation.
type Query struct {
	// Kind is KindRule or KindCorrelation.
	Kind   Kind
	Title  string
	ID     string
	Author string
	Level  string
	// Standalone is false for rules that only feed correlations.
	Standalone bool
	SQL        string
}

// ConvertSQL compiles documents to DuckDB queries: one per detection rule,
// then one per correlation. It returns the queries it could build and
// Errors for the rest.
func ConvertSQL(docs []*Document, opts SQLOptions) ([]Query, error) {
	var errs Errors
	rs, err := NewRuleSet(docs, opts.CompileOptions)
	errs.appendErr(Pos{}, CodeUnsupported, err)
	var out []Query
	for i, m := range rs.rules {
		q, err := rs.RuleSQL(i, opts)
		if err != nil {
			errs.add(m.rule.Meta.Pos, CodeUnsupported, "%v", err)
			continue
		}
		r := m.rule
		out = append(out, Query{Kind: KindRule, Title: r.Title, ID: r.ID, Author: r.Author, Level: r.Level, Standalone: rs.standalone[i], SQL: q})
	}
	for i, cc := range rs.corrs {
		q, err := rs.CorrelationSQL(i, opts)
		if err != nil {
			errs.add(cc.c.Pos, CodeUnsupported, "%v", err)
			continue
		}
		c := cc.c
		out = append(out, Query{Kind: KindCorrelation, Title: c.Title, ID: c.ID, Author: c.Author, Level: c.Level, Standalone: true, SQL: q})
	}
	return out, errs.errOrNil()
}

// Finding is one match of a standalone detection rule.
type Finding struct {
	RuleIndex int
	Rule      *Rule
	EventID   string
	File      string
	Record    int // index of the record in its file
}

// TestReport is the result of RunFiles.
type TestReport struct {
	Events       int
	Rejected     []RecordError
	Findings     []Finding
	Correlations []CorrelationResult
	// Dropped counts correlation matches the stream had to drop.
	Dropped int
}

// RecordError is a record that could not be parsed.
type RecordError struct {
	File   string
	Record int
	Err    error
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("%s: record %d: %v", e.File, e.Record, e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }

// RunFiles runs a RuleSet over CloudTrail event files: JSON arrays of
// records, {"Records":[...]} files, or newline-delimited JSON, each
// optionally gzip-compressed (as CloudTrail delivers them). Records
// that do not parse are reported and skipped. Correlations are evaluated
// in file order with a Correlator and flushed at the end.
func RunFiles(rs *RuleSet, paths ...string) (*TestReport, error) {
	rep := &TestReport{}
	c := rs.NewCorrelator(CorrelatorOptions{})
	var p EventParser
	var idx []int
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			return rep, err
		}
		err = readRecords(f, func(i int, raw []byte) {
			rep.Events++
			ev, err := p.Parse(raw)
			if err != nil {
				rep.Rejected = append(rep.Rejected, RecordError{File: path, Record: i, Err: err})
				return
			}
			idx = rs.Match(ev, idx[:0])
			for _, ri := range idx {
				if rs.standalone[ri] {
					rep.Findings = append(rep.Findings, Finding{RuleIndex: ri, Rule: rs.rules[ri].rule, EventID: ev.EventID(), File: path, Record: i})
				}
				rep.Correlations = append(rep.Correlations, c.AddIndex(ri, ev)...)
			}
		})
		f.Close()
		if err != nil {
			return rep, fmt.Errorf("read %s: %w", path, err)
		}
	}
	rep.Correlations = append(rep.Correlations, c.Flush()...)
	sortResults(rep.Correlations)
	rep.Dropped = c.Dropped()
	sort.SliceStable(rep.Findings, func(i, j int) bool {
		a, b := rep.Findings[i], rep.Findings[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Record != b.Record {
			return a.Record < b.Record
		}
		return a.RuleIndex < b.RuleIndex
	})
	return rep, nil
}

// readRecords streams the records of one file to fn.
func readRecords(r io.Reader, fn func(i int, raw []byte)) error {
	br := bufio.NewReaderSize(r, 1<<16)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return err
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 1<<16)
	}
	first, err := peekNonSpace(br)
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return err
	}
	dec := json.NewDecoder(br)
	i := 0
	switch first {
	case '[':
		if _, err := dec.Token(); err != nil {
			return err
		}
		for dec.More() {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return err
			}
			fn(i, raw)
			i++
		}
		return nil
	case '{':
		// Either {"Records":[...]} or NDJSON; decide on the first key.
		var obj map[string]json.RawMessage
		for {
			var raw json.RawMessage
			err := dec.Decode(&raw)
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if i == 0 {
				if err := json.Unmarshal(raw, &obj); err == nil {
					if recs, ok := obj["Records"]; ok && len(obj) <= 2 {
						var list []json.RawMessage
						if err := json.Unmarshal(recs, &list); err != nil {
							return err
						}
						for j, r := range list {
							fn(j, r)
						}
						return nil
					}
				}
			}
			fn(i, bytes.TrimSpace(raw))
			i++
		}
	}
	return fmt.Errorf("not a CloudTrail file (starts with %q)", first)
}

func peekNonSpace(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		if b != ' ' && b != '\n' && b != '\r' && b != '\t' {
			return b, br.UnreadByte()
		}
	}
}
