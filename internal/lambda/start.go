package lambda

import (
	"context"

	awslambda "github.com/aws/aws-lambda-go/lambda"
)

// RuntimeAPIEnv is set by Lambda to the address of its runtime API; a
// process started with it set is a Lambda function.
const RuntimeAPIEnv = "AWS_LAMBDA_RUNTIME_API"

// Start serves invocations from the Lambda runtime API named by
// AWS_LAMBDA_RUNTIME_API with h, for as long as the process lives: it
// asks for the next event, invokes h with the invocation's deadline, and
// posts the response or the error. It does not return; if the runtime
// API fails, it exits the process, and Lambda starts another.
func Start(ctx context.Context, h *Handler) {
	awslambda.StartWithOptions(h.Invoke, awslambda.WithContext(ctx))
}
