// Package sigma parses Sigma detection rules (specification v2: rules,
// correlation rules and meta filters) for AWS CloudTrail, validates them,
// and compiles them to two backends that agree with each other: a Go
// matcher over raw CloudTrail records and DuckDB SQL over the lake view
// "events".
//
// # Three steps
//
// Parse turns YAML into a typed AST with positions. Compile (or NewRuleSet)
// resolves everything once — modifiers, regular expressions, CIDRs, field
// paths, lower-cased patterns — into a backend-neutral form. The Go
// backend evaluates that form (Matcher.Match, RuleSet.Match); the SQL
// backend renders it (ToSQL, RuleSet.RuleSQL, RuleSet.CorrelationSQL).
// Because both walk the same compiled form, a rule cannot mean one thing
// in Go and another in SQL; the test corpus in testdata/sigma/cases and a
// differential fuzz test check that they return the same events.
//
//	docs, err := sigma.LoadFiles("rules/")          // or sigma.Parse(name, src)
//	rs, err := sigma.NewRuleSet(docs, sigma.CompileOptions{})
//	var p sigma.EventParser
//	ev, err := p.Parse(rawRecord)                    // one CloudTrail record, JSON
//	hits := rs.Match(ev, buf[:0])                    // indices of matching rules
//
// Errors are located and coded: an *Error prints as
// "file:line:col: code: message", and functions that validate return
// Errors listing every problem, sorted, not just the first.
//
// # Supported subset
//
// Detection: selections as maps and lists of maps, keyword lists (full-text
// "contains" search over every string value of the event), null and empty
// values, wildcards * and ? with \ escapes, case-insensitive matching by
// default; modifiers contains, startswith, endswith, all, cased, re (with
// i, m, s), cidr (IPv4), base64, base64offset, utf16le/utf16be/utf16/wide,
// windash, exists, fieldref (also with contains/startswith/endswith), gt,
// gte, lt, lte, expand (placeholders from CompileOptions.Placeholders).
// Conditions: and, or, not, parentheses, "N of pattern", "all of pattern",
// "1 of them", "all of them". Legacy aggregations "| count() by f > N" and
// "| count(g) by f > N" with detection.timeframe become event_count and
// value_count correlations; "| near" is rejected with a located error.
//
// Correlations: event_count, value_count, temporal, temporal_ordered with
// rules (by id or name), group-by, timespan, condition (gt, gte, lt, lte,
// eq, neq and ranges), aliases and generate. value_sum, value_avg,
// value_percentile and value_median are rejected. Correlations of
// correlations are rejected.
//
// Meta filters apply to the rules they name by id or name: the rule
// matches when its condition AND the filter's condition hold.
//
// Only logsource product: aws / service: cloudtrail is accepted; other
// log sources are rejected with CodeLogsource unless
// CompileOptions.AnyLogsource is set.
//
// # Events and fields
//
// An Event is one CloudTrail record parsed from raw JSON by an EventParser,
// which reuses its buffers: parsing and matching do not allocate once the
// parser is warm. Dotted field names reach into nested JSON
// (userIdentity.sessionContext.sessionIssuer.arn) and are case-sensitive;
// arrays met on the way fan out one level ("any element matches").
// Values compare as text: numbers as DuckDB prints JSON numbers, booleans
// as true/false, so the rule value false matches JSON false and the string
// "false". A field that reaches an object matches through every scalar
// inside it. Names are checked against the lake schema: a member that the
// schema does not have (userIdentity.Type) is a compile error; unknown
// top-level fields live in the extraFields column. See docs/sigma.md for
// the full mapping and the SQL translation rules.
//
// # Concurrency
//
// Matcher and RuleSet are immutable after construction and safe for
// concurrent use. An Event belongs to the EventParser that produced it and
// is valid until that parser's next Parse; use one EventParser per
// goroutine. A Correlator is not safe for concurrent use.
//
// # Correlation windows
//
// Both the streaming Correlator and the SQL use tumbling windows of the
// correlation's timespan aligned to the Unix epoch. The Correlator
// tolerates events out of order by up to one timespan and keeps memory
// bounded by the open windows; see Correlator.
//
// # Licence of rules
//
// The SigmaHQ rules in testdata are under the Detection Rule License 1.1:
// findings derived from them must credit the rule's author (Rule.Author).
package sigma
