package sigma

import (
	"fmt"
	"strings"
)

// colKind is the DuckDB type of a lake column or struct member.
type colKind int

const (
	colString colKind = iota + 1
	colBool
	colTime
	colStruct
	colStructList
	colJSON
)

type column struct {
	name     string
	kind     colKind
	children []*column
}

func (c *column) child(name string) *column {
	for _, ch := range c.children {
		if ch.name == name {
			return ch
		}
	}
	return nil
}

func str(name string) *column { return &column{name: name, kind: colString} }
func js(name string) *column  { return &column{name: name, kind: colJSON} }
func strs(names ...string) []*column {
	out := make([]*column, len(names))
	for i, n := range names {
		out[i] = str(n)
	}
	return out
}

// lakeSchema is the CloudTrail part of the lake view "events"; see
// docs/sigma.md. Provenance and partition columns are deliberately absent:
// they are not part of an event, so rules cannot reach them.
var lakeSchema = &column{kind: colStruct, children: append(append(strs(
	"eventVersion"), &column{name: "eventTime", kind: colTime}), append(strs(
	"eventSource", "eventName", "awsRegion", "sourceIPAddress", "userAgent", "errorCode",
	"errorMessage", "requestID", "eventID"),
	&column{name: "readOnly", kind: colBool},
	str("eventType"), str("apiVersion"),
	&column{name: "managementEvent", kind: colBool},
	str("recipientAccountId"), str("sharedEventID"), str("vpcEndpointId"), str("vpcEndpointAccountId"),
	str("eventCategory"), str("sessionCredentialFromConsole"),
	&column{name: "userIdentity", kind: colStruct, children: append(strs(
		"type", "principalId", "arn", "accountId", "accessKeyId", "userName", "invokedBy",
		"identityProvider", "credentialId"),
		&column{name: "onBehalfOf", kind: colStruct, children: strs("userId", "identityStoreArn")},
		&column{name: "sessionContext", kind: colStruct, children: []*column{
			{name: "sessionIssuer", kind: colStruct, children: strs("type", "principalId", "arn", "accountId", "userName")},
			{name: "webIdFederationData", kind: colStruct, children: []*column{str("federatedProvider"), js("attributes")}},
			{name: "attributes", kind: colStruct, children: strs("creationDate", "mfaAuthenticated")},
			str("sourceIdentity"), str("ec2RoleDelivery"), str("assumedRoot"),
		}},
	)},
	&column{name: "tlsDetails", kind: colStruct, children: strs("tlsVersion", "cipherSuite", "clientProvidedHostHeader")},
	&column{name: "resources", kind: colStructList, children: strs("ARN", "accountId", "type")},
	js("requestParameters"), js("responseElements"), js("additionalEventData"), js("serviceEventDetails"),
	js("addendum"), js("edgeDeviceDetails"), js("insightDetails"),
)...)}

// extraFieldsColumn holds the top-level fields the schema does not list.
const extraFieldsColumn = "extraFields"

// fieldPath is a field name resolved against the event and the lake
// schema. Both backends use it, so they agree on what a name means.
type fieldPath struct {
	raw  string
	segs []string // dotted segments, used by the Go matcher on raw JSON
	top  int      // slot of segs[0] (see topSlot), or -1
	// SQL side.
	structPath []string // column and struct members ("userIdentity","arn")
	leafKind   colKind  // kind of the last struct-path element
	listChild  string   // for colStructList: the member
	jsonPath   []string // JSON segments below a JSON column (may be empty)
}

// maxFieldSegments caps the depth of a field name. The SQL backend expands
// every combination of "array or not" below a JSON column.
const maxFieldSegments = 8

// resolveField resolves a dotted field name. Field names are
// case-sensitive, as in CloudTrail.
func resolveField(name string) (*fieldPath, error) {
	if name == "" {
		return nil, fmt.Errorf("empty field name")
	}
	segs := strings.Split(name, ".")
	if len(segs) > maxFieldSegments {
		return nil, fmt.Errorf("field %q has more than %d segments", name, maxFieldSegments)
	}
	for _, s := range segs {
		if s == "" {
			return nil, fmt.Errorf("field %q has an empty segment", name)
		}
		for _, r := range s {
			if !(r == '_' || r == '-' || r == '@' || r == ':' || r == '$' || r == '/' ||
				r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return nil, fmt.Errorf("field %q: character %q is not allowed in field names", name, r)
			}
		}
	}
	fp := &fieldPath{raw: name, segs: segs, top: topSlot(segs[0])}
	col := lakeSchema
	for i, s := range segs {
		switch col.kind {
		case colJSON:
			fp.jsonPath = segs[i:]
			return fp, fp.checkJSONDepth()
		case colStructList:
			if fp.listChild != "" {
				return nil, fmt.Errorf("field %q: %s.%s is a string and has no member %q", name, strings.Join(fp.structPath, "."), fp.listChild, s)
			}
			if col.child(s) == nil {
				return nil, fmt.Errorf("field %q: %s has no member %q (members: %s)", name, strings.Join(fp.structPath, "."), s, memberNames(col))
			}
			fp.listChild = s
			continue
		case colString, colBool, colTime:
			return nil, fmt.Errorf("field %q: %s is a scalar and has no member %q", name, strings.Join(fp.structPath, "."), s)
		}
		ch := col.child(s)
		if ch == nil {
			if i == 0 {
				// An unknown top-level field lives in extraFields.
				fp.structPath = []string{extraFieldsColumn}
				fp.leafKind = colJSON
				fp.jsonPath = segs
				return fp, fp.checkJSONDepth()
			}
			return nil, fmt.Errorf("field %q: %s has no member %q (members: %s)", name, strings.Join(fp.structPath, "."), s, memberNames(col))
		}
		fp.structPath = append(fp.structPath, s)
		fp.leafKind = ch.kind
		col = ch
	}
	return fp, nil
}

func memberNames(c *column) string {
	names := make([]string, len(c.children))
	for i, ch := range c.children {
		names[i] = ch.name
	}
	return strings.Join(names, ", ")
}

// isStructLeaf reports whether the path ends on a struct (not a value).
func (fp *fieldPath) isStructLeaf() bool {
	return (fp.leafKind == colStruct) || (fp.leafKind == colStructList && fp.listChild == "")
}

// maxJSONSegments caps the segments below a JSON column: the SQL backend
// expands 2^(n+1) array/non-array combinations.
const maxJSONSegments = 5

func (fp *fieldPath) checkJSONDepth() error {
	if len(fp.jsonPath) > maxJSONSegments {
		return fmt.Errorf("field %q has more than %d segments below %s", fp.raw, maxJSONSegments, strings.Join(fp.structPath, "."))
	}
	return nil
}
