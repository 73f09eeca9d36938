package query

import (
	"fmt"
	"reflect"
	"strings"
)

// Engines lists what DDL supports.
var Engines = []string{"athena", "trino", "spark"}

// DDL returns the statement that makes the lake's events queryable by
// engine at location (s3://bucket/prefix/events/), derived from the
// Parquet schema itself (ingest.Event) so the two cannot drift.
func DDL(engine, table, location string) (string, error) {
	if table == "" {
		table = "cloudtrail_lake"
	}
	if !strings.HasSuffix(location, "/") {
		location += "/"
	}
	t := eventType
	var cols []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("parquet"), ",")[0]
		typ := hiveType(f.Type, engine)
		switch engine {
		case "trino":
			cols = append(cols, fmt.Sprintf("  %q %s", name, typ))
		default:
			cols = append(cols, fmt.Sprintf("  `%s` %s", name, typ))
		}
	}
	switch engine {
	case "athena":
		return fmt.Sprintf(`CREATE EXTERNAL TABLE IF NOT EXISTS %s (
%s
)
PARTITIONED BY (`+"`account`"+` string, `+"`region`"+` string, `+"`event_date`"+` string)
STORED AS PARQUET
LOCATION '%s'
TBLPROPERTIES (
  'parquet.compression' = 'ZSTD',
  'projection.enabled' = 'true',
  'projection.account.type' = 'injected',
  'projection.region.type' = 'injected',
  'projection.event_date.type' = 'date',
  'projection.event_date.format' = 'yyyy-MM-dd',
  'projection.event_date.range' = '2013-01-01,NOW',
  'storage.location.template' = '%saccount=${account}/region=${region}/event_date=${event_date}'
);
-- Partition projection needs account and region in the WHERE clause
-- (injected). Without projection: remove the projection.* properties
-- and run MSCK REPAIR TABLE %s;
`, table, strings.Join(cols, ",\n"), location, location, table), nil
	case "spark":
		return fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
%s,
  `+"`account`"+` STRING,
  `+"`region`"+` STRING,
  `+"`event_date`"+` STRING
)
USING PARQUET
PARTITIONED BY (account, region, event_date)
LOCATION '%s';
MSCK REPAIR TABLE %s;
`, table, strings.Join(cols, ",\n"), location, table), nil
	case "trino":
		return fmt.Sprintf(`CREATE TABLE IF NOT EXISTS hive.default.%s (
%s,
  "account" varchar,
  "region" varchar,
  "event_date" varchar
)
WITH (
  external_location = '%s',
  format = 'PARQUET',
  partitioned_by = ARRAY['account', 'region', 'event_date']
);
CALL hive.system.sync_partition_metadata('default', '%s', 'FULL');
`, table, strings.Join(cols, ",\n"), location, table), nil
	}
	return "", fmt.Errorf("engine %q: want one of %s", engine, strings.Join(Engines, ", "))
}

func hiveType(t reflect.Type, engine string) string {
	trino := engine == "trino"
	switch {
	case t == timeType:
		if trino {
			return "timestamp(3) with time zone"
		}
		return "timestamp"
	case t == rawType:
		if trino {
			return "varchar" // JSON text; json_extract_scalar works on it
		}
		return "string"
	case t.Kind() == reflect.Pointer:
		return hiveType(t.Elem(), engine)
	case t.Kind() == reflect.String:
		if trino {
			return "varchar"
		}
		return "string"
	case t.Kind() == reflect.Bool:
		return "boolean"
	case t.Kind() == reflect.Int64:
		return "bigint"
	case t.Kind() == reflect.Slice:
		if trino {
			return "array(" + hiveType(t.Elem(), engine) + ")"
		}
		return "array<" + hiveType(t.Elem(), engine) + ">"
	case t.Kind() == reflect.Struct:
		var fs []string
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name := strings.Split(f.Tag.Get("parquet"), ",")[0]
			if trino {
				fs = append(fs, fmt.Sprintf("%q %s", name, hiveType(f.Type, engine)))
			} else {
				fs = append(fs, fmt.Sprintf("`%s`:%s", name, hiveType(f.Type, engine)))
			}
		}
		if trino {
			return "row(" + strings.Join(fs, ", ") + ")"
		}
		return "struct<" + strings.Join(fs, ",") + ">"
	}
	return "string"
}
