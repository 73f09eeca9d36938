package sigma_test

import (
	"fmt"

	"github.com/trailscope/trailscope/sigma"
)

func Example() {
	rule := []byte(`title: CloudTrail logging stopped
author: trailscope
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventSource: cloudtrail.amazonaws.com
        eventName:
            - StopLogging
            - DeleteTrail
    condition: selection
`)
	docs, err := sigma.Parse("stop.yml", rule)
	if err != nil {
		fmt.Println(err)
		return
	}
	rs, err := sigma.NewRuleSet(docs, sigma.CompileOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	var p sigma.EventParser
	for _, raw := range []string{
		`{"eventID":"1","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging"}`,
		`{"eventID":"2","eventSource":"cloudtrail.amazonaws.com","eventName":"StartLogging"}`,
	} {
		ev, err := p.Parse([]byte(raw))
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, i := range rs.Match(ev, nil) {
			r := rs.Rule(i).Rule()
			fmt.Printf("event %s: %s (by %s)\n", ev.EventID(), r.Title, r.Author)
		}
	}
	// Output:
	// event 1: CloudTrail logging stopped (by trailscope)
}

func ExampleToSQL() {
	r, err := sigma.ParseRule("root.yml", []byte(`title: root
logsource: {product: aws, service: cloudtrail}
detection:
    selection:
        userIdentity.type: Root
    condition: selection
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	q, err := sigma.ToSQL(r, sigma.SQLOptions{Table: "events"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(q)
	// Output:
	// SELECT t."eventID", t."eventTime"
	// FROM "events" AS t
	// WHERE ((lower(t."userIdentity"."type") = 'root'))
	// ORDER BY t."eventTime", t."eventID"
}

func ExampleError() {
	_, err := sigma.Parse("bad.yml", []byte(`title: bad
logsource: {product: aws, service: cloudtrail}
detection:
    selection:
        eventName: x
    condition: selection and missing
`))
	fmt.Println(err)
	// Output:
	// bad.yml:6:30: undefined_identifier: condition references undefined search "missing"
}
