"""The local cloud's AWS-like consistency mode: between calls it behaves as AWS does.

Turn it on with `awslab local start --like-aws`, or `AWSLAB_LIKE_AWS=1` for any command that
starts the local cloud (`awslab up` included). A local cloud already running without the mode (or
with other delays) is not reused when the mode is asked for: the command says to stop it first.
`awslab local status` and the health document (`like_aws`) show whether it is on, with its delays.

What it reproduces (each module cites AWS's docs and botocore's models for codes and messages):
- iam.py: IAM propagation. For AWSLAB_LIKE_AWS_IAM_SECONDS (8) after CreateRole /
  UpdateAssumeRolePolicy, CreateFunction / UpdateFunctionConfiguration naming the role fail (400
  InvalidParameterValueException) and so do CreateStateMachine / UpdateStateMachine (400
  AccessDeniedException); after a role's policies change, CreateEventSourceMapping from SQS for a
  function with that role fails (400 InvalidParameterValueException).
- lambda_states.py: a new function is Pending for AWSLAB_LIKE_AWS_LAMBDA_PENDING_SECONDS (3);
  after an update LastUpdateStatus is InProgress for AWSLAB_LIKE_AWS_LAMBDA_UPDATE_SECONDS (2);
  invokes, updates and PublishVersion conflict meanwhile (409 ResourceConflictException).
- dynamodb.py: CREATING for AWSLAB_LIKE_AWS_DYNAMODB_CREATING_SECONDS (5), DELETING for
  AWSLAB_LIKE_AWS_DYNAMODB_DELETING_SECONDS (4), with AWS's errors meanwhile.
- apigw_quotas.py: API Gateway's control-plane quotas (CreateRestApi 1 per 3 s, DeleteRestApi 1
  per 30 s, CreateDeployment 1 per 5 s, ..., 10 per s in total, burst 40): 429
  TooManyRequestsException with Retry-After. AWSLAB_LIKE_AWS_APIGW_QUOTAS=0 turns them off.
- names.py: a deleted queue's name cannot be reused for AWSLAB_LIKE_AWS_SQS_NAME_REUSE_SECONDS
  (60); a deleted state machine is DELETING for AWSLAB_LIKE_AWS_SFN_DELETING_SECONDS (5).
- Log groups: every invoke writes to `/aws/lambda/<name>`, creating it if missing, and
  DeleteFunction leaves it behind, as on AWS (the executor does it in both modes).

Every window counts from the arrival of the call that opens it, as AWS's do: the time moto takes
to answer that call is the emulator's own and does not lengthen it.

AWSLAB_LIKE_AWS_SCALE (1) multiplies every delay and every quota interval, so tests can run with
0.1 or less (0 turns every behaviour off but keeps the mode on). Times are the typical ones on AWS;
AWS's own vary (IAM propagation sometimes takes much longer).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from awslab.local.like_aws.settings import DEFAULT_SECONDS, SCALE_ENV, SWITCH_ENV, LikeAws, seconds_env

if TYPE_CHECKING:  # imported when the mode is on: the daemon imports this package's settings only
    from awslab.local.like_aws.middleware import LikeAwsMiddleware

__all__ = ["DEFAULT_SECONDS", "SCALE_ENV", "SWITCH_ENV", "LikeAws", "like_aws_app", "seconds_env"]


def like_aws_app(moto_app: object, settings: LikeAws) -> LikeAwsMiddleware:
    """moto's WSGI app behind the AWS-like layer."""
    from awslab.local.like_aws.middleware import LikeAwsMiddleware

    return LikeAwsMiddleware(moto_app, settings)
