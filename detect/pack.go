package detect

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/trailscope/trailscope/sigma"
)

// The built-in rule pack: Sigma rules in rules/<area>/*.yml, each with
// positive and look-alike negative test events in rules/tests/<name>.yml
// (see docs/rules.md).
//
//go:embed rules
var packFS embed.FS

// builtinPrefix marks the file names of built-in rules in positions.
const builtinPrefix = "builtin:"

// BuiltinFS is the pack's file tree (rules/...).
func BuiltinFS() fs.FS { return packFS }

// Builtin parses the built-in pack. Its rules are tested; an error here is
// a build defect.
func Builtin() ([]*sigma.Document, error) {
	var docs []*sigma.Document
	var errs sigma.Errors
	err := fs.WalkDir(packFS, "rules", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "tests" {
				return fs.SkipDir
			}
			return nil
		}
		if ext := path.Ext(p); ext != ".yml" && ext != ".yaml" {
			return nil
		}
		src, err := packFS.ReadFile(p)
		if err != nil {
			return err
		}
		ds, err := sigma.Parse(builtinPrefix+p, src)
		if err != nil {
			if es, ok := err.(sigma.Errors); ok {
				errs = append(errs, es...)
			} else {
				return fmt.Errorf("%s: %w", p, err)
			}
		}
		docs = append(docs, ds...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		return docs, errs
	}
	return docs, nil
}

// isBuiltin reports whether a position is in the built-in pack.
func isBuiltin(file string) bool { return strings.HasPrefix(file, builtinPrefix) }
