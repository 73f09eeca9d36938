package sigma

import "time"

// Kind says which of the three Sigma document types a Document holds.
type Kind int

const (
	// KindRule is a detection rule.
	KindRule Kind = iota + 1
	// KindCorrelation is a correlation (meta) rule.
	KindCorrelation
	// KindFilter is a meta filter that applies to other rules.
	KindFilter
)

func (k Kind) String() string {
	switch k {
	case KindRule:
		return "rule"
	case KindCorrelation:
		return "correlation"
	case KindFilter:
		return "filter"
	}
	return "unknown"
}

// Document is one YAML document of a rule file: exactly one of Rule,
// Correlation and Filter is set, as Kind says.
type Document struct {
	Kind Kind
	Pos  Pos
	// Errs are the problems Parse found in this document. Backends refuse
	// documents with problems (and report them again).
	Errs        Errors
	Rule        *Rule
	Correlation *Correlation
	Filter      *Filter
}

// Meta holds the descriptive attributes shared by all document types.
type Meta struct {
	Title       string
	ID          string
	Name        string
	Status      string
	Description string
	Author      string
	Date        string
	Modified    string
	Level       string
	References  []string
	Tags        []string
	// Pos is the position of the document's first key.
	Pos Pos
}

// Logsource is the logsource section of a rule.
type Logsource struct {
	Product  string
	Service  string
	Category string
	Pos      Pos
	// Set reports whether the rule had a logsource section at all.
	Set bool
}

// Rule is a parsed Sigma detection rule.
type Rule struct {
	Meta
	Logsource     Logsource
	Detection     Detection
	Fields        []string
	FalsePositive []string
}

// Detection is the detection section of a rule: named searches and the
// condition that combines them.
type Detection struct {
	// Searches maps a search identifier to its definition.
	Searches map[string]*Search
	// Order lists the search identifiers in file order.
	Order []string
	// Conditions holds one or more conditions (a list means "any of").
	Conditions []*Condition
	// Timeframe is the legacy detection.timeframe, zero if absent.
	Timeframe    time.Duration
	TimeframePos Pos
	Pos          Pos
}

// Search is one named search: either a list of field maps (any of them
// must match, each map is a conjunction) or a list of keywords.
type Search struct {
	Name string
	Pos  Pos
	// Maps are alternatives; a single mapping yields one element.
	Maps [][]*FieldMatch
	// Keywords is set for keyword searches (a YAML list of plain values).
	Keywords *FieldMatch
}

// FieldMatch is one "field|mod|mod: values" entry.
type FieldMatch struct {
	// Field is the dotted field name; empty for keywords.
	Field     string
	Modifiers []Modifier
	Values    []Value
	Pos       Pos
}

// Modifier is one value modifier as written, with its position.
type Modifier struct {
	Name string
	Pos  Pos
}

// ValueKind is the YAML type of a rule value.
type ValueKind int

const (
	ValueString ValueKind = iota + 1
	ValueNumber
	ValueBool
	ValueNull
)

// Value is one rule value. Str holds the text for strings, numbers and
// booleans (as written in YAML); it is empty for null.
type Value struct {
	Kind ValueKind
	Str  string
	Pos  Pos
}

// Condition is a parsed condition expression with an optional legacy
// aggregation ("selection | count() by x > 5").
type Condition struct {
	Source string
	Expr   Expr
	Agg    *Aggregation
	Pos    Pos
}

// Expr is a node of a condition. It is a closed set: *AndExpr, *OrExpr,
// *NotExpr, *IdentExpr and *OfExpr.
type Expr interface {
	Position() Pos
	isExpr()
}

// AndExpr is a conjunction.
type AndExpr struct {
	Args []Expr
	Pos  Pos
}

// OrExpr is a disjunction.
type OrExpr struct {
	Args []Expr
	Pos  Pos
}

// NotExpr negates its argument.
type NotExpr struct {
	Arg Expr
	Pos Pos
}

// IdentExpr names a search.
type IdentExpr struct {
	Name string
	Pos  Pos
}

// OfExpr is "N of pattern", "all of pattern", "N of them", "all of them".
// Count is 0 for "all".
type OfExpr struct {
	Count   int
	Pattern string // "them" for all searches
	Pos     Pos
}

func (e *AndExpr) Position() Pos   { return e.Pos }
func (e *OrExpr) Position() Pos    { return e.Pos }
func (e *NotExpr) Position() Pos   { return e.Pos }
func (e *IdentExpr) Position() Pos { return e.Pos }
func (e *OfExpr) Position() Pos    { return e.Pos }
func (*AndExpr) isExpr()           {}
func (*OrExpr) isExpr()            {}
func (*NotExpr) isExpr()           {}
func (*IdentExpr) isExpr()         {}
func (*OfExpr) isExpr()            {}

// Aggregation is the legacy "| count(field) by group > N" suffix.
type Aggregation struct {
	Func    string // "count"
	Field   string // distinct-count field, empty for count()
	GroupBy string
	Op      string // > >= < <= = (and != )
	Value   int64
	Pos     Pos
}

// Correlation is a parsed Sigma correlation rule.
type Correlation struct {
	Meta
	Type     string // event_count, value_count, temporal, temporal_ordered
	Rules    []RuleRef
	GroupBy  []string
	Timespan time.Duration
	// Condition is a conjunction of comparisons against the count. Field is
	// the value_count field.
	Condition []CountCond
	Field     string
	// Aliases maps an alias to a map from rule name (or id) to field.
	Aliases  map[string]map[string]string
	Generate bool
	// GroupByPos and AliasPos locate group-by entries and aliases.
	GroupByPos []Pos
	AliasPos   map[string]Pos
	Pos        Pos
	// legacy marks a correlation synthesised from a legacy aggregation.
	legacy bool
	// parsed marks correlations from Parse, which already validated type
	// and timespan.
	parsed bool
}

// RuleRef is a reference to a rule by id or name.
type RuleRef struct {
	Ref string
	Pos Pos
}

// CountCond is one comparison of a correlation condition.
type CountCond struct {
	Op    string // gt gte lt lte eq neq
	Value float64
	Pos   Pos
}

// Filter is a parsed Sigma meta filter: its detection is combined (AND) with
// the condition of each rule it names.
type Filter struct {
	Meta
	Logsource Logsource
	Rules     []RuleRef
	Detection Detection
}
