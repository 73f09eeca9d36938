// Command duckraw runs a query with DuckDB straight over the raw .json.gz
// files of a CloudTrail folder, for comparison with querying the lake.
// The records are exposed as the table r (one row per event, typed with
// the robust recipe: Records as JSON[] and the needed fields extracted).
// Usage: duckraw DIR "SELECT ... FROM r ..."
package main

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"

	_ "github.com/duckdb/duckdb-go/v2"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: duckraw DIR SQL")
		os.Exit(3)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		panic(err)
	}
	db.SetMaxOpenConns(1)
	glob := filepath.Join(os.Args[1], "**", "*.json.gz")
	_, err = db.Exec(fmt.Sprintf(`CREATE VIEW r AS SELECT x->>'eventID' AS eventID, (x->>'eventTime')::TIMESTAMPTZ AS eventTime,
		x->>'eventName' AS eventName, {'accessKeyId': x->'userIdentity'->>'accessKeyId', 'arn': x->'userIdentity'->>'arn'} AS userIdentity,
		x->>'sourceIPAddress' AS sourceIPAddress
		FROM (SELECT unnest(Records) AS x FROM read_json('%s', columns = {Records: 'JSON[]'}, maximum_object_size = 1073741824))`, glob))
	if err != nil {
		panic(err)
	}
	rows, err := db.Query(os.Args[2])
	if err != nil {
		panic(err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	fmt.Println(n, "rows")
}
