package integrity

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
)

// SDKListPublicKeys adapts aws-sdk-go-v2 CloudTrail clients (one per
// region, from client) to ListPublicKeysFunc.
func SDKListPublicKeys(client func(region string) *cloudtrail.Client) ListPublicKeysFunc {
	return func(ctx context.Context, region string, start, end *time.Time, next string) ([]RawPublicKey, string, error) {
		in := &cloudtrail.ListPublicKeysInput{StartTime: start, EndTime: end}
		if next != "" {
			in.NextToken = aws.String(next)
		}
		out, err := client(region).ListPublicKeys(ctx, in)
		if err != nil {
			return nil, "", err
		}
		var list []RawPublicKey
		for _, k := range out.PublicKeyList {
			list = append(list, RawPublicKey{Value: k.Value, Fingerprint: aws.ToString(k.Fingerprint),
				ValidityStartTime: aws.ToTime(k.ValidityStartTime), ValidityEndTime: aws.ToTime(k.ValidityEndTime)})
		}
		return list, aws.ToString(out.NextToken), nil
	}
}
