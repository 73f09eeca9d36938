package sigma

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

// checkFile runs everything a user's "check" runs on one file.
func checkFile(path string) string {
	src, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	name := filepath.Base(path)
	var errs Errors
	docs, err := Parse(name, src)
	errs.appendErr(Pos{}, "", err)
	errs.appendErr(Pos{}, "", Check(docs, CompileOptions{}))
	if err := errs.errOrNil(); err != nil {
		return err.Error() + "\n"
	}
	return "ok\n"
}

// TestCheckErrors compares the errors for each file in
// testdata/sigma/errors with its .golden file (go test -update rewrites
// them). Every problem of a file must be reported, with its position.
func TestCheckErrors(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(testdataDir, "errors", "*.yml"))
	if len(files) < 10 {
		t.Fatalf("found %d error inputs", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			got := checkFile(f)
			golden := strings.TrimSuffix(f, ".yml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("check %s (-want +got):\n%s", filepath.Base(f), diff)
			}
			if got == "ok\n" {
				t.Errorf("check %s reported no problem", filepath.Base(f))
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	e := &Error{Pos: Pos{File: "r.yml", Line: 14, Col: 9}, Code: CodeUnknownModifier, Msg: `unknown modifier "containz"`}
	if got, want := e.Error(), `r.yml:14:9: unknown_modifier: unknown modifier "containz"`; got != want {
		t.Errorf("Error() = %q; want %q", got, want)
	}
	es := Errors{
		{Pos: Pos{File: "b.yml", Line: 1, Col: 1}, Code: "x", Msg: "m"},
		{Pos: Pos{File: "a.yml", Line: 9, Col: 1}, Code: "x", Msg: "m"},
		{Pos: Pos{File: "a.yml", Line: 2, Col: 5}, Code: "x", Msg: "m"},
	}
	es.Sort()
	if got, want := es.Error(), "a.yml:2:5: x: m\na.yml:9:1: x: m\nb.yml:1:1: x: m"; got != want {
		t.Errorf("Errors.Error() = %q; want %q", got, want)
	}
	var target Errors
	if !errors.As(error(es), &target) || len(target) != 3 {
		t.Errorf("errors.As(Errors) failed")
	}
}

// TestHostileInput checks the limits: nothing panics or hangs, and each
// input is rejected with the right code.
func TestHostileInput(t *testing.T) {
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for i := 0; i < 9; i++ {
		name := string(rune('b' + i))
		bomb += name + ": &" + name + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n"
		prev = name
	}
	bomb += "title: t\nlogsource: {product: aws}\ndetection:\n  selection:\n    eventName: *" + prev + "\n  condition: selection\n"
	deep := "title: t\nlogsource: {product: aws}\ndetection:\n  selection:\n    eventName: x\n  condition: " + strings.Repeat("(", 200) + "selection" + strings.Repeat(")", 200) + "\n"
	notnot := "title: t\nlogsource: {product: aws}\ndetection:\n  selection:\n    eventName: x\n  condition: " + strings.Repeat("not ", 500) + "selection\n"
	tests := []struct {
		name string
		src  string
		code string
	}{
		{"alias bomb", bomb, CodeTooLarge},
		{"too large", "title: " + strings.Repeat("x", MaxFileSize), CodeTooLarge},
		{"deep parentheses", deep, CodeCondition},
		{"deep not", notnot, CodeCondition},
		{"long regexp", "title: t\nlogsource: {product: aws}\ndetection:\n  selection:\n    eventName|re: '" + strings.Repeat("a", MaxRegexpLen+1) + "'\n  condition: selection\n", CodeRegexp},
		{"lookahead", "title: t\nlogsource: {product: aws}\ndetection:\n  selection:\n    eventName|re: 'a(?=b)'\n  condition: selection\n", CodeRegexp},
		{"not a mapping", "- just\n- a list\n", CodeType},
		{"deep flow list", "title: t\ndetection:\n  s:\n    eventName: " + strings.Repeat("[", 100000) + "\n", CodeYAML},
		{"deep flow map", "title: t\ndetection:\n  s: " + strings.Repeat("{a: ", 50000) + "x" + strings.Repeat("}", 50000) + "\n", CodeYAML},
		{"deep value", "title: t\nlogsource: {product: aws}\ndetection:\n  s:\n    eventName: [[[x]]]\n  condition: s\n", CodeType},
		{"merge key", "base: &b {eventName: x}\ntitle: t\nlogsource: {product: aws}\ndetection:\n  selection:\n    <<: *b\n  condition: selection\n", CodeUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := Parse("h.yml", []byte(tt.src))
			if err == nil {
				err = Check(docs, CompileOptions{})
			}
			if !hasCode(err, tt.code) {
				t.Errorf("Parse/Check = %v; want code %s", err, tt.code)
			}
		})
	}
}
