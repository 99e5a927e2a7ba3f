package gen

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
)

// BigCloudTrail writes a {"Records":[…]} file of n CloudTrail events of
// about size bytes each: request parameters holding a long string of
// random letters (about as compressible as base64). Tests and the
// benchmark use it for records larger than DuckDB handles in one piece.
func BigCloudTrail(w io.Writer, n, size int) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	rng := rand.New(rand.NewPCG(uint64(n), uint64(size)))
	const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	blob := make([]byte, size)
	bw.WriteString(`{"Records":[`)
	for i := range n {
		if i > 0 {
			bw.WriteByte(',')
		}
		for j := 0; j < len(blob); j += 10 {
			v := rng.Uint64()
			for k := j; k < min(j+10, len(blob)); k, v = k+1, v>>6 {
				blob[k] = letters[v&63]
			}
		}
		fmt.Fprintf(bw, `{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","accountId":"111122223333","userName":"big-%d"},`+
			`"eventTime":"2026-11-02T%02d:%02d:%02dZ","eventSource":"s3.amazonaws.com","eventName":"PutBucketPolicy",`+
			`"awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","eventID":"big-%08d","eventType":"AwsApiCall",`+
			`"recipientAccountId":"111122223333","requestParameters":{"policy":"%s"}}`,
			i%10, i/3600%24, i/60%60, i%60, i, blob)
	}
	bw.WriteString(`]}`)
	return bw.Flush()
}
