package query

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"

	"github.com/trailscope/trailscope/ingest"
)

// The lake's schema is read from ingest.Event's parquet tags, so the empty
// events view, the column suggestions, tab completion and the DDL for
// other engines cannot drift from what ingest writes.

var (
	timeType  = reflect.TypeOf(time.Time{})
	rawType   = reflect.TypeOf(json.RawMessage{})
	eventType = reflect.TypeOf(ingest.Event{})
)

// partitionColumns are the Hive partition keys of DIR/events/, all VARCHAR
// (event_date is 'YYYY-MM-DD', which orders and compares like a date).
var partitionColumns = []string{"account", "region", "event_date"}

func parquetName(f reflect.StructField) string { return strings.Split(f.Tag.Get("parquet"), ",")[0] }

// duckType is the DuckDB type DuckDB reads for a column written from t.
func duckType(t reflect.Type) string {
	switch {
	case t == timeType:
		return "TIMESTAMP WITH TIME ZONE"
	case t == rawType:
		return "JSON"
	case t.Kind() == reflect.Pointer:
		return duckType(t.Elem())
	case t.Kind() == reflect.String:
		return "VARCHAR"
	case t.Kind() == reflect.Bool:
		return "BOOLEAN"
	case t.Kind() == reflect.Int64:
		return "BIGINT"
	case t.Kind() == reflect.Slice:
		return duckType(t.Elem()) + "[]"
	case t.Kind() == reflect.Struct:
		var fs []string
		for i := 0; i < t.NumField(); i++ {
			fs = append(fs, quoteIdent(parquetName(t.Field(i)))+" "+duckType(t.Field(i).Type))
		}
		return "STRUCT(" + strings.Join(fs, ", ") + ")"
	}
	return "VARCHAR"
}

// emptyEventsSQL selects no rows with exactly the lake's columns.
func emptyEventsSQL() string {
	var cols []string
	for i := 0; i < eventType.NumField(); i++ {
		f := eventType.Field(i)
		cols = append(cols, "NULL::"+duckType(f.Type)+" AS "+quoteIdent(parquetName(f)))
	}
	for _, p := range partitionColumns {
		cols = append(cols, "NULL::VARCHAR AS "+p)
	}
	return "SELECT " + strings.Join(cols, ", ") + " WHERE false"
}

// LakeColumns lists the events view's columns and every nested struct
// field as a dotted path (userIdentity.sessionContext.sessionIssuer.arn).
var LakeColumns = func() []string {
	var out []string
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || t == timeType {
			return
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name := prefix + parquetName(f)
			out = append(out, name)
			walk(name+".", f.Type)
		}
	}
	walk("", eventType)
	return append(out, partitionColumns...)
}()
