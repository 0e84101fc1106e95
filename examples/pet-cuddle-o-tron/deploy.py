"""The serverless "Pet Cuddle-O-Tron", deployed with plain boto3 — unchanged against AWS or cloudlet.

The tutorial's stages, one function each:

1. SES: verify the sender address.
2. email_reminder_lambda: sends the reminder with SES.
3. The PetCuddleOTron state machine: waits `waitSeconds`, then invokes email_reminder_lambda.
4. api_lambda and the petcuddleotron REST API: POST /petcuddleotron starts an execution;
   CORS enabled as the console's "Enable CORS" does it; deployed to the `prod` stage.
5. The static front end in an S3 website bucket, with config.js pointing it at the API.

    cloudlet start --ephemeral &
    AWS_ENDPOINT_URL=http://127.0.0.1:4566 python examples/pet-cuddle-o-tron/deploy.py

Against AWS leave AWS_ENDPOINT_URL unset and set SENDER_EMAIL (and, while your SES account is in
the sandbox, CUSTOMER_EMAIL) to addresses you can read: SES mails each a verification link.
"""

from __future__ import annotations

import io
import json
import os
import time
import urllib.request
import uuid
import zipfile
from pathlib import Path

import boto3
from botocore.exceptions import ClientError

HERE = Path(__file__).parent
REGION = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
SENDER_EMAIL = os.environ.get("SENDER_EMAIL", "cuddles@petcuddleotron.example.com")
CUSTOMER_EMAIL = os.environ.get("CUSTOMER_EMAIL", "")

LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
STATES_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "states.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
# What the functions call: SES (email_reminder_lambda) and Step Functions (api_lambda).
LAMBDA_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["ses:SendEmail", "ses:SendRawEmail"], "Resource": "*"},
        {"Effect": "Allow", "Action": "states:StartExecution", "Resource": "*"},
    ],
}
# What the state machine does: invoke the email function and deliver its logs.
STATE_MACHINE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "*"},
        {
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogDelivery",
                "logs:GetLogDelivery",
                "logs:UpdateLogDelivery",
                "logs:DeleteLogDelivery",
                "logs:ListLogDeliveries",
                "logs:PutResourcePolicy",
                "logs:DescribeResourcePolicies",
                "logs:DescribeLogGroups",
            ],
            "Resource": "*",
        },
    ],
}
CONTENT_TYPES = {".html": "text/html", ".js": "application/javascript", ".css": "text/css"}
# Regions whose S3 website endpoints are `s3-website-<region>`; newer ones use `s3-website.<region>`.
WEBSITE_DASH_REGIONS = {
    "us-east-1",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "sa-east-1",
}


def client(service: str):
    return boto3.client(service, region_name=REGION)


def zipped(module: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.write(HERE / "functions" / f"{module}.py", "lambda_function.py")
    return buffer.getvalue()


def url_forms() -> dict[str, str]:
    """Where the website and the API are served. On AWS, AWS's own URLs; on cloudlet (a local
    AWS_ENDPOINT_URL), the forms its /_cloudlet/info lists that need no DNS."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "").rstrip("/")
    if endpoint:
        try:
            with urllib.request.urlopen(endpoint + "/_cloudlet/info", timeout=5) as response:
                urls = json.load(response)["urls"]
            return {"website": urls["s3_website_path"], "api": urls["apigateway_invoke_url_path"]}
        except (OSError, ValueError, KeyError):
            pass  # not cloudlet: assume the endpoint serves AWS's URLs
    dash = "-" if REGION in WEBSITE_DASH_REGIONS else "."
    return {
        "website": f"http://{{bucket}}.s3-website{dash}{REGION}.amazonaws.com/",
        "api": f"https://{{api_id}}.execute-api.{REGION}.amazonaws.com/{{stage}}/",
    }


def while_role_propagates(call, **kwargs):
    """A role just created takes a few seconds to be usable by Lambda and Step Functions on AWS."""
    for attempt in range(30):
        try:
            return call(**kwargs)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            role_not_ready = code in ("InvalidParameterValueException", "AccessDeniedException")
            if not role_not_ready or "role" not in str(error).lower() or attempt == 29:
                raise
            time.sleep(2)


# -- stage 1: SES ---------------------------------------------------------------------------------


def verify_email_identities() -> None:
    ses = client("ses")
    for address in filter(None, (SENDER_EMAIL, CUSTOMER_EMAIL)):
        ses.verify_email_identity(EmailAddress=address)


# -- IAM ------------------------------------------------------------------------------------------


def create_role(name: str, trust: dict, policy: dict, managed: list[str]) -> str:
    """A role its service can assume, with AWS managed policies and an inline one."""
    iam = client("iam")
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    for arn in managed:
        iam.attach_role_policy(RoleName=name, PolicyArn=arn)
    iam.put_role_policy(
        RoleName=name, PolicyName=f"{name}Permissions", PolicyDocument=json.dumps(policy)
    )
    return role["Arn"]


# -- stages 2 and 4: the functions ----------------------------------------------------------------


def create_function(name: str, module: str, role_arn: str, variables: dict[str, str]) -> str:
    lam = client("lambda")
    function = while_role_propagates(
        lam.create_function,
        FunctionName=name,
        Runtime="python3.12",
        Role=role_arn,
        Handler="lambda_function.lambda_handler",
        Code={"ZipFile": zipped(module)},
        Timeout=10,
        Environment={"Variables": variables},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    return function["FunctionArn"]


# -- stage 3: the state machine -------------------------------------------------------------------


def create_state_machine(name: str, role_arn: str, email_lambda_arn: str) -> str:
    definition = (
        (HERE / "statemachine.json").read_text().replace("EMAIL_LAMBDA_ARN", email_lambda_arn)
    )
    log_group = f"/aws/vendedlogs/states/{name}"
    logs = client("logs")
    logs.create_log_group(logGroupName=log_group)
    [group] = [
        g
        for g in logs.describe_log_groups(logGroupNamePrefix=log_group)["logGroups"]
        if g["logGroupName"] == log_group
    ]
    machine = while_role_propagates(
        client("stepfunctions").create_state_machine,
        name=name,
        type="STANDARD",
        roleArn=role_arn,
        definition=definition,
        loggingConfiguration={
            "level": "ALL",
            "includeExecutionData": True,
            "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": group["arn"]}}],
        },
    )
    return machine["stateMachineArn"]


# -- stage 4: the REST API ------------------------------------------------------------------------


def create_api(name: str, api_lambda_arn: str) -> str:
    apigw, lam = client("apigateway"), client("lambda")
    api = apigw.create_rest_api(name=name, endpointConfiguration={"types": ["REGIONAL"]})
    api_id = api["id"]
    resource = apigw.create_resource(
        restApiId=api_id, parentId=api["rootResourceId"], pathPart="petcuddleotron"
    )
    resource_id = resource["id"]

    # POST /petcuddleotron -> api_lambda, as a Lambda proxy integration.
    apigw.put_method(
        restApiId=api_id, resourceId=resource_id, httpMethod="POST", authorizationType="NONE"
    )
    apigw.put_integration(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod="POST",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{api_lambda_arn}/invocations",
    )
    account = api_lambda_arn.split(":")[4]
    lam.add_permission(
        FunctionName=api_lambda_arn,
        StatementId=f"apigateway-{api_id}-post",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{REGION}:{account}:{api_id}/*/POST/petcuddleotron",
    )

    # "Enable CORS": OPTIONS answered by a MOCK integration with the Access-Control-* headers.
    apigw.put_method(
        restApiId=api_id, resourceId=resource_id, httpMethod="OPTIONS", authorizationType="NONE"
    )
    apigw.put_method_response(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod="OPTIONS",
        statusCode="200",
        responseModels={"application/json": "Empty"},
        responseParameters={
            "method.response.header.Access-Control-Allow-Headers": False,
            "method.response.header.Access-Control-Allow-Methods": False,
            "method.response.header.Access-Control-Allow-Origin": False,
        },
    )
    apigw.put_integration(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod="OPTIONS",
        type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )
    apigw.put_integration_response(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod="OPTIONS",
        statusCode="200",
        responseTemplates={"application/json": ""},
        responseParameters={
            "method.response.header.Access-Control-Allow-Headers": (
                "'Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token'"
            ),
            "method.response.header.Access-Control-Allow-Methods": "'OPTIONS,POST'",
            "method.response.header.Access-Control-Allow-Origin": "'*'",
        },
    )

    apigw.create_deployment(restApiId=api_id, stageName="prod", stageDescription="prod")
    return api_id


# -- stage 5: the front end -----------------------------------------------------------------------


def create_website(bucket: str, api_endpoint: str) -> None:
    s3 = client("s3")
    if REGION == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_website(
        Bucket=bucket, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}}
    )
    # Public read, as the tutorial does: lift the Public Access Block, then a bucket policy.
    s3.delete_public_access_block(Bucket=bucket)
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "PublicRead",
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{bucket}/*",
                    }
                ],
            }
        ),
    )
    for path in sorted((HERE / "site").iterdir()):
        s3.put_object(
            Bucket=bucket,
            Key=path.name,
            Body=path.read_bytes(),
            ContentType=CONTENT_TYPES[path.suffix],
        )
    config = f"const API_ENDPOINT = {json.dumps(api_endpoint)};\n"
    s3.put_object(
        Bucket=bucket,
        Key="config.js",
        Body=config.encode(),
        ContentType="application/javascript",
        CacheControl="no-cache",
    )


def deploy(prefix: str = "") -> dict[str, str]:
    verify_email_identities()
    lambda_role = create_role(
        f"{prefix}LambdaRole",
        LAMBDA_TRUST,
        LAMBDA_POLICY,
        ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
    )
    state_machine_role = create_role(
        f"{prefix}StateMachineRole", STATES_TRUST, STATE_MACHINE_POLICY, []
    )
    email_lambda = create_function(
        f"{prefix}email_reminder_lambda",
        "email_reminder",
        lambda_role,
        {"FROM_EMAIL_ADDRESS": SENDER_EMAIL},
    )
    state_machine = create_state_machine(
        f"{prefix}PetCuddleOTron", state_machine_role, email_lambda
    )
    api_lambda = create_function(
        f"{prefix}api_lambda", "api_lambda", lambda_role, {"STATE_MACHINE_ARN": state_machine}
    )
    api_id = create_api(f"{prefix}petcuddleotron", api_lambda)

    urls = url_forms()
    invoke_url = urls["api"].format(api_id=api_id, stage="prod")
    api_endpoint = invoke_url + "petcuddleotron"
    bucket = f"{prefix.lower()}petcuddleotron-{uuid.uuid4().hex[:12]}"
    create_website(bucket, api_endpoint)
    return {
        "website_url": urls["website"].format(bucket=bucket),
        "invoke_url": invoke_url,
        "api_endpoint": api_endpoint,
        "bucket": bucket,
        "state_machine_arn": state_machine,
        "sender": SENDER_EMAIL,
    }


if __name__ == "__main__":
    deployed = deploy()
    print(f"Website:    {deployed['website_url']}")
    print(f"Invoke URL: {deployed['invoke_url']}")
    print(f"API:        POST {deployed['api_endpoint']}")
