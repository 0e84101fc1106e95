"""email_reminder_lambda: email the reminder the state machine hands over.

The event is the execution's input, {"email", "message", "waitSeconds"}; the sender is the SES
identity verified in stage 1 of the tutorial (FROM_EMAIL_ADDRESS).
"""

import os

import boto3

ses = boto3.client("ses")
FROM_EMAIL_ADDRESS = os.environ["FROM_EMAIL_ADDRESS"]


def lambda_handler(event, context):
    ses.send_email(
        Source=FROM_EMAIL_ADDRESS,
        Destination={"ToAddresses": [event["email"]]},
        Message={
            "Subject": {"Data": "Whiskers Commands You to attend!"},
            "Body": {"Text": {"Data": event["message"]}},
        },
    )
    return "Success!"
