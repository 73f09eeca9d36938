package sigma

import (
	"fmt"
	"strconv"
	"strings"
)

type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokNum
	tokLParen
	tokRParen
	tokPipe
	tokOp // > >= < <= = == !=
	tokComma
)

type token struct {
	kind tokKind
	text string
	off  int
}

func lexCondition(s string) ([]token, int, error) {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{tokLParen, "(", i})
			i++
		case c == ')':
			toks = append(toks, token{tokRParen, ")", i})
			i++
		case c == '|':
			toks = append(toks, token{tokPipe, "|", i})
			i++
		case c == ',':
			toks = append(toks, token{tokComma, ",", i})
			i++
		case c == '>' || c == '<' || c == '=' || c == '!':
			j := i + 1
			if j < len(s) && s[j] == '=' {
				j++
			}
			op := s[i:j]
			if op == "!" {
				return nil, i, fmt.Errorf("unexpected %q", op)
			}
			toks = append(toks, token{tokOp, op, i})
			i = j
		case c >= '0' && c <= '9':
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			if j < len(s) && isIdentByte(s[j]) {
				for j < len(s) && isIdentByte(s[j]) {
					j++
				}
				toks = append(toks, token{tokIdent, s[i:j], i})
			} else {
				toks = append(toks, token{tokNum, s[i:j], i})
			}
			i = j
		case isIdentByte(c):
			j := i
			for j < len(s) && isIdentByte(s[j]) {
				j++
			}
			toks = append(toks, token{tokIdent, s[i:j], i})
			i = j
		default:
			return nil, i, fmt.Errorf("unexpected character %q", rune(c))
		}
	}
	toks = append(toks, token{tokEOF, "", len(s)})
	return toks, 0, nil
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '*' || c == '.' || c == '-' || c == '@' ||
		(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

type condParser struct {
	src   string
	toks  []token
	i     int
	base  Pos
	exact bool
	errs  Errors
	depth int
}

// parseCondition parses a condition string. base is the position of the
// string's first character; offsets are added to the column when exact.
func parseCondition(s string, base Pos, exact bool) (*Condition, Errors) {
	p := &condParser{src: s, base: base, exact: exact}
	toks, off, err := lexCondition(s)
	if err != nil {
		p.errs.add(p.at(off), CodeCondition, "%v", err)
		return nil, p.errs
	}
	p.toks = toks
	cond := &Condition{Source: s, Pos: base}
	cond.Expr = p.or()
	if cond.Expr == nil {
		return nil, p.errs
	}
	if p.peek().kind == tokPipe {
		p.i++
		cond.Agg = p.aggregation()
	}
	if t := p.peek(); t.kind != tokEOF && len(p.errs) == 0 {
		p.errs.add(p.at(t.off), CodeCondition, "unexpected %q", t.text)
	}
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	return cond, nil
}

func (p *condParser) at(off int) Pos {
	pos := p.base
	if p.exact {
		pos.Col += off
	}
	return pos
}

func (p *condParser) peek() token { return p.toks[p.i] }

func (p *condParser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *condParser) isKeyword(t token, kw string) bool {
	return t.kind == tokIdent && strings.EqualFold(t.text, kw)
}

func (p *condParser) fail(t token, format string, args ...any) Expr {
	if len(p.errs) == 0 {
		what := fmt.Sprintf("%q", t.text)
		if t.kind == tokEOF {
			what = "end of condition"
		}
		p.errs.add(p.at(t.off), CodeCondition, "%s at %s", fmt.Sprintf(format, args...), what)
	}
	return nil
}

func (p *condParser) or() Expr {
	first := p.peek()
	left := p.and()
	if left == nil {
		return nil
	}
	args := []Expr{left}
	for p.isKeyword(p.peek(), "or") {
		p.next()
		r := p.and()
		if r == nil {
			return nil
		}
		args = append(args, r)
	}
	if len(args) == 1 {
		return left
	}
	return &OrExpr{Args: args, Pos: p.at(first.off)}
}

func (p *condParser) and() Expr {
	first := p.peek()
	left := p.not()
	if left == nil {
		return nil
	}
	args := []Expr{left}
	for p.isKeyword(p.peek(), "and") {
		p.next()
		r := p.not()
		if r == nil {
			return nil
		}
		args = append(args, r)
	}
	if len(args) == 1 {
		return left
	}
	return &AndExpr{Args: args, Pos: p.at(first.off)}
}

func (p *condParser) not() Expr {
	t := p.peek()
	if p.isKeyword(t, "not") {
		p.next()
		p.depth++
		if p.depth > maxDepth {
			return p.fail(t, "condition nests too deeply")
		}
		a := p.not()
		p.depth--
		if a == nil {
			return nil
		}
		return &NotExpr{Arg: a, Pos: p.at(t.off)}
	}
	return p.primary()
}

func (p *condParser) primary() Expr {
	t := p.next()
	switch {
	case t.kind == tokLParen:
		p.depth++
		if p.depth > maxDepth {
			return p.fail(t, "condition nests too deeply")
		}
		e := p.or()
		p.depth--
		if e == nil {
			return nil
		}
		if c := p.next(); c.kind != tokRParen {
			return p.fail(c, "expected \")\"")
		}
		return e
	case t.kind == tokNum || p.isKeyword(t, "all"):
		count := 0
		if t.kind == tokNum {
			n, err := strconv.Atoi(t.text)
			if err != nil || n < 1 || n > 1000 {
				return p.fail(t, "the count of an \"of\" expression must be between 1 and 1000")
			}
			count = n
		}
		if of := p.next(); !p.isKeyword(of, "of") {
			return p.fail(of, "expected \"of\"")
		}
		pat := p.next()
		if pat.kind != tokIdent || isReserved(pat.text) && !strings.EqualFold(pat.text, "them") {
			return p.fail(pat, "expected a search identifier pattern or \"them\"")
		}
		name := pat.text
		if strings.EqualFold(name, "them") {
			name = "them"
		}
		return &OfExpr{Count: count, Pattern: name, Pos: p.at(t.off)}
	case t.kind == tokIdent && !isReserved(t.text):
		if strings.Contains(t.text, "*") {
			return p.fail(t, "wildcards are only allowed after \"1 of\" or \"all of\"")
		}
		return &IdentExpr{Name: t.text, Pos: p.at(t.off)}
	}
	return p.fail(t, "expected a search identifier, \"not\", \"(\" or \"N of\"")
}

func isReserved(s string) bool {
	switch strings.ToLower(s) {
	case "and", "or", "not", "of", "all", "them", "by", "near":
		return true
	}
	return false
}

// aggregation parses the legacy "count(field) by group op N" suffix.
func (p *condParser) aggregation() *Aggregation {
	t := p.next()
	if p.isKeyword(t, "near") {
		p.fail(t, "the legacy \"near\" aggregation is not supported; write a temporal correlation rule")
		return nil
	}
	if !p.isKeyword(t, "count") {
		p.fail(t, "unsupported aggregation function (only count() is supported)")
		return nil
	}
	agg := &Aggregation{Func: "count", Pos: p.at(t.off)}
	if l := p.next(); l.kind != tokLParen {
		p.fail(l, "expected \"(\"")
		return nil
	}
	if f := p.peek(); f.kind == tokIdent {
		agg.Field = f.text
		p.next()
	}
	if r := p.next(); r.kind != tokRParen {
		p.fail(r, "expected \")\"")
		return nil
	}
	if p.isKeyword(p.peek(), "by") {
		p.next()
		g := p.next()
		if g.kind != tokIdent {
			p.fail(g, "expected a field name after \"by\"")
			return nil
		}
		agg.GroupBy = g.text
	}
	op := p.next()
	if op.kind != tokOp {
		p.fail(op, "expected a comparison (>, >=, <, <=, =)")
		return nil
	}
	agg.Op = op.text
	n := p.next()
	if n.kind != tokNum {
		p.fail(n, "expected a number")
		return nil
	}
	v, err := strconv.ParseInt(n.text, 10, 64)
	if err != nil {
		p.fail(n, "bad number")
		return nil
	}
	agg.Value = v
	return agg
}
