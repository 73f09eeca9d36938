package sigma

// Top-level CloudTrail fields get a fixed slot, filled in one pass when an
// event is parsed, so rule leaves reach them without scanning the object.

const numTopSlots = 31

var topSlotNames = [numTopSlots]string{"eventVersion", "eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress", "userAgent", "errorCode", "errorMessage", "requestID", "eventID", "readOnly", "eventType", "apiVersion", "managementEvent", "recipientAccountId", "sharedEventID", "vpcEndpointId", "vpcEndpointAccountId", "eventCategory", "sessionCredentialFromConsole", "userIdentity", "tlsDetails", "resources", "requestParameters", "responseElements", "additionalEventData", "serviceEventDetails", "addendum", "edgeDeviceDetails", "insightDetails"}

// topSlot returns the slot of a top-level field name, or -1.
func topSlot(k string) int {
	switch k {
	case "eventVersion":
		return 0
	case "eventTime":
		return 1
	case "eventSource":
		return 2
	case "eventName":
		return 3
	case "awsRegion":
		return 4
	case "sourceIPAddress":
		return 5
	case "userAgent":
		return 6
	case "errorCode":
		return 7
	case "errorMessage":
		return 8
	case "requestID":
		return 9
	case "eventID":
		return 10
	case "readOnly":
		return 11
	case "eventType":
		return 12
	case "apiVersion":
		return 13
	case "managementEvent":
		return 14
	case "recipientAccountId":
		return 15
	case "sharedEventID":
		return 16
	case "vpcEndpointId":
		return 17
	case "vpcEndpointAccountId":
		return 18
	case "eventCategory":
		return 19
	case "sessionCredentialFromConsole":
		return 20
	case "userIdentity":
		return 21
	case "tlsDetails":
		return 22
	case "resources":
		return 23
	case "requestParameters":
		return 24
	case "responseElements":
		return 25
	case "additionalEventData":
		return 26
	case "serviceEventDetails":
		return 27
	case "addendum":
		return 28
	case "edgeDeviceDetails":
		return 29
	case "insightDetails":
		return 30
	}
	return -1
}

var slotEventName = topSlot("eventName")
