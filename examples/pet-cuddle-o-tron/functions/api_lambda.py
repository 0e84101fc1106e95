"""api_lambda: behind POST /petcuddleotron (Lambda proxy integration).

Reads {"email", "message", "waitSeconds"} from the request body and starts an execution of the
state machine (STATE_MACHINE_ARN), which waits and then emails the reminder. Every answer carries
the CORS header, as the page calling it is served from another origin (the S3 website).
"""

import json
import os

import boto3

sfn = boto3.client("stepfunctions")
STATE_MACHINE_ARN = os.environ["STATE_MACHINE_ARN"]
HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Allow-Methods": "OPTIONS,POST",
    "Content-Type": "application/json",
}


def respond(status, body):
    return {"statusCode": status, "headers": HEADERS, "body": json.dumps(body)}


def lambda_handler(event, context):
    print("Received event: " + json.dumps(event))
    try:
        data = json.loads(event.get("body") or "{}")
        reminder = {
            "email": str(data["email"]).strip(),
            "message": str(data["message"]),
            "waitSeconds": int(data["waitSeconds"]),
        }
    except (ValueError, TypeError, KeyError) as error:
        return respond(400, {"Status": "Error", "Error": f"bad request: {error}"})
    if not reminder["email"] or not 0 <= reminder["waitSeconds"] <= 31_536_000:
        return respond(400, {"Status": "Error", "Error": "an email and 0-31536000 seconds, please"})

    execution = sfn.start_execution(stateMachineArn=STATE_MACHINE_ARN, input=json.dumps(reminder))
    return respond(200, {"Status": "Success", "executionArn": execution["executionArn"]})
