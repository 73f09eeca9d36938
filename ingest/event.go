package ingest

import (
	"encoding/json"
	"time"
)

// Event is one CloudTrail record, typed, as the lake stores it. Top-level
// fields keep CloudTrail's names. Free-form parts (requestParameters,
// responseElements, additionalEventData, serviceEventDetails ...) stay
// JSON, and any top-level field this version does not know is kept in
// ExtraFields, so no input is ever dropped. docs/schema.md documents every
// column.
//
// String fields are empty when the record lacks them; the lake stores an
// empty string as NULL.
type Event struct {
	EventVersion                 string          `parquet:"eventVersion,optional,dict" json:"eventVersion,omitempty"`
	EventTime                    time.Time       `parquet:"eventTime,optional,timestamp(millisecond:utc)" json:"eventTime"`
	EventSource                  string          `parquet:"eventSource,optional,dict" json:"eventSource,omitempty"`
	EventName                    string          `parquet:"eventName,optional,dict" json:"eventName,omitempty"`
	AWSRegion                    string          `parquet:"awsRegion,optional,dict" json:"awsRegion,omitempty"`
	SourceIPAddress              string          `parquet:"sourceIPAddress,optional" json:"sourceIPAddress,omitempty"`
	UserAgent                    string          `parquet:"userAgent,optional,dict" json:"userAgent,omitempty"`
	ErrorCode                    string          `parquet:"errorCode,optional,dict" json:"errorCode,omitempty"`
	ErrorMessage                 string          `parquet:"errorMessage,optional" json:"errorMessage,omitempty"`
	RequestID                    string          `parquet:"requestID,optional" json:"requestID,omitempty"`
	EventID                      string          `parquet:"eventID,optional" json:"eventID,omitempty"`
	ReadOnly                     *bool           `parquet:"readOnly,optional" json:"readOnly,omitempty"`
	EventType                    string          `parquet:"eventType,optional,dict" json:"eventType,omitempty"`
	APIVersion                   string          `parquet:"apiVersion,optional,dict" json:"apiVersion,omitempty"`
	ManagementEvent              *bool           `parquet:"managementEvent,optional" json:"managementEvent,omitempty"`
	RecipientAccountID           string          `parquet:"recipientAccountId,optional,dict" json:"recipientAccountId,omitempty"`
	SharedEventID                string          `parquet:"sharedEventID,optional" json:"sharedEventID,omitempty"`
	VPCEndpointID                string          `parquet:"vpcEndpointId,optional,dict" json:"vpcEndpointId,omitempty"`
	VPCEndpointAccountID         string          `parquet:"vpcEndpointAccountId,optional,dict" json:"vpcEndpointAccountId,omitempty"`
	EventCategory                string          `parquet:"eventCategory,optional,dict" json:"eventCategory,omitempty"`
	SessionCredentialFromConsole string          `parquet:"sessionCredentialFromConsole,optional,dict" json:"sessionCredentialFromConsole,omitempty"`
	UserIdentity                 *UserIdentity   `parquet:"userIdentity,optional" json:"userIdentity,omitempty"`
	TLSDetails                   *TLSDetails     `parquet:"tlsDetails,optional" json:"tlsDetails,omitempty"`
	Resources                    []Resource      `parquet:"resources,optional,list" json:"resources,omitempty"`
	RequestParameters            json.RawMessage `parquet:"requestParameters,optional,json" json:"requestParameters,omitempty"`
	ResponseElements             json.RawMessage `parquet:"responseElements,optional,json" json:"responseElements,omitempty"`
	AdditionalEventData          json.RawMessage `parquet:"additionalEventData,optional,json" json:"additionalEventData,omitempty"`
	ServiceEventDetails          json.RawMessage `parquet:"serviceEventDetails,optional,json" json:"serviceEventDetails,omitempty"`
	Addendum                     json.RawMessage `parquet:"addendum,optional,json" json:"addendum,omitempty"`
	EdgeDeviceDetails            json.RawMessage `parquet:"edgeDeviceDetails,optional,json" json:"edgeDeviceDetails,omitempty"`
	InsightDetails               json.RawMessage `parquet:"insightDetails,optional,json" json:"insightDetails,omitempty"`
	ExtraFields                  json.RawMessage `parquet:"extraFields,optional,json" json:"extraFields,omitempty"`
	SourceBucket                 string          `parquet:"source_bucket,optional,dict" json:"source_bucket,omitempty"`
	SourceKey                    string          `parquet:"source_key,optional,dict" json:"source_key,omitempty"`
	RecordIndex                  int64           `parquet:"record_index" json:"record_index"`
}

// UserIdentity is the userIdentity element.
type UserIdentity struct {
	Type             string          `parquet:"type,optional,dict" json:"type,omitempty"`
	PrincipalID      string          `parquet:"principalId,optional" json:"principalId,omitempty"`
	ARN              string          `parquet:"arn,optional" json:"arn,omitempty"`
	AccountID        string          `parquet:"accountId,optional,dict" json:"accountId,omitempty"`
	AccessKeyID      string          `parquet:"accessKeyId,optional" json:"accessKeyId,omitempty"`
	UserName         string          `parquet:"userName,optional" json:"userName,omitempty"`
	InvokedBy        string          `parquet:"invokedBy,optional,dict" json:"invokedBy,omitempty"`
	IdentityProvider string          `parquet:"identityProvider,optional" json:"identityProvider,omitempty"`
	CredentialID     string          `parquet:"credentialId,optional" json:"credentialId,omitempty"`
	OnBehalfOf       *OnBehalfOf     `parquet:"onBehalfOf,optional" json:"onBehalfOf,omitempty"`
	SessionContext   *SessionContext `parquet:"sessionContext,optional" json:"sessionContext,omitempty"`
}

// OnBehalfOf is userIdentity.onBehalfOf (IAM Identity Center).
type OnBehalfOf struct {
	UserID           string `parquet:"userId,optional" json:"userId,omitempty"`
	IdentityStoreARN string `parquet:"identityStoreArn,optional" json:"identityStoreArn,omitempty"`
}

// SessionContext is userIdentity.sessionContext.
type SessionContext struct {
	SessionIssuer       *SessionIssuer       `parquet:"sessionIssuer,optional" json:"sessionIssuer,omitempty"`
	WebIDFederationData *WebIDFederationData `parquet:"webIdFederationData,optional" json:"webIdFederationData,omitempty"`
	Attributes          *SessionAttributes   `parquet:"attributes,optional" json:"attributes,omitempty"`
	SourceIdentity      string               `parquet:"sourceIdentity,optional" json:"sourceIdentity,omitempty"`
	EC2RoleDelivery     string               `parquet:"ec2RoleDelivery,optional" json:"ec2RoleDelivery,omitempty"`
	AssumedRoot         string               `parquet:"assumedRoot,optional" json:"assumedRoot,omitempty"`
}

// SessionIssuer is userIdentity.sessionContext.sessionIssuer.
type SessionIssuer struct {
	Type        string `parquet:"type,optional" json:"type,omitempty"`
	PrincipalID string `parquet:"principalId,optional" json:"principalId,omitempty"`
	ARN         string `parquet:"arn,optional" json:"arn,omitempty"`
	AccountID   string `parquet:"accountId,optional" json:"accountId,omitempty"`
	UserName    string `parquet:"userName,optional" json:"userName,omitempty"`
}

// WebIDFederationData is userIdentity.sessionContext.webIdFederationData.
type WebIDFederationData struct {
	FederatedProvider string          `parquet:"federatedProvider,optional" json:"federatedProvider,omitempty"`
	Attributes        json.RawMessage `parquet:"attributes,optional,json" json:"attributes,omitempty"`
}

// SessionAttributes is userIdentity.sessionContext.attributes.
type SessionAttributes struct {
	CreationDate     string `parquet:"creationDate,optional" json:"creationDate,omitempty"`
	MFAAuthenticated string `parquet:"mfaAuthenticated,optional,dict" json:"mfaAuthenticated,omitempty"`
}

// TLSDetails is the tlsDetails element.
type TLSDetails struct {
	TLSVersion               string `parquet:"tlsVersion,optional,dict" json:"tlsVersion,omitempty"`
	CipherSuite              string `parquet:"cipherSuite,optional,dict" json:"cipherSuite,omitempty"`
	ClientProvidedHostHeader string `parquet:"clientProvidedHostHeader,optional,dict" json:"clientProvidedHostHeader,omitempty"`
}

// Resource is one element of resources.
type Resource struct {
	ARN       string `parquet:"ARN,optional" json:"ARN,omitempty"`
	AccountID string `parquet:"accountId,optional" json:"accountId,omitempty"`
	Type      string `parquet:"type,optional" json:"type,omitempty"`
}
