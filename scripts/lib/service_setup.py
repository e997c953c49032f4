#!/usr/bin/env python3
"""Helpers for scripts/services: free ports, readiness, and the setup object_store cannot do.

    service_setup.py free-port
    service_setup.py wait URL SECONDS
    service_setup.py moto-setup ENDPOINT BUCKET...     (run with the moto venv's python: boto3)
    service_setup.py azurite-container BLOB_URL ACCOUNT KEY CONTAINER
    service_setup.py gcs-bucket BASE_URL BUCKET           (fake-gcs-server's JSON API)

moto-setup creates the buckets, an IAM user with an access key allowed everything, then makes
unauthenticated calls until moto starts enforcing credentials (INITIAL_NO_AUTH_ACTION_COUNT),
and prints `KEY_ID SECRET` for the tests. azurite-container sends the one SharedKey-signed
`PUT ?restype=container` that object_store cannot send.
"""
import base64
import datetime
import hashlib
import hmac
import json
import socket
import sys
import time
import urllib.error
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])


def wait(url, seconds):
    deadline = time.time() + float(seconds)
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return  # it answers: up
        except Exception:
            time.sleep(0.2)
    sys.exit(f"{url} did not answer within {seconds}s")


def moto_setup(endpoint, *buckets):
    import boto3
    from botocore.exceptions import ClientError

    def client(service, key="testing", secret="testing"):
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=key,
            aws_secret_access_key=secret,
        )

    for bucket in buckets:
        client("s3").create_bucket(Bucket=bucket)
    iam = client("iam")
    iam.create_user(UserName="collectors-test")
    iam.put_user_policy(
        UserName="collectors-test",
        PolicyName="all",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )
    created = iam.create_access_key(UserName="collectors-test")["AccessKey"]
    # Use up the unauthenticated calls moto allows, so wrong credentials fail from now on.
    bogus = client("s3", "AKIAWRONGWRONGWRONG0", "wrong-secret")
    for _ in range(20):
        try:
            bogus.list_buckets()
        except ClientError:
            break
    else:
        sys.exit("moto never started enforcing credentials")
    good = client("s3", created["AccessKeyId"], created["SecretAccessKey"])
    good.head_bucket(Bucket=buckets[0])
    print(created["AccessKeyId"], created["SecretAccessKey"])


def azurite_container(blob_url, account, key, container):
    import http.client
    import urllib.parse

    url = urllib.parse.urlparse(f"{blob_url.rstrip('/')}/{container}")
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")
    version = "2021-08-06"
    # VERB, then 11 standard headers (all empty: Content-Length is empty when 0), then the
    # x-ms- headers, then the resource: the emulator's path already starts with the account.
    to_sign = "PUT\n" + "\n" * 11
    to_sign += f"x-ms-date:{date}\nx-ms-version:{version}\n"
    to_sign += f"/{account}{url.path}\nrestype:container"
    signature = base64.b64encode(
        hmac.new(base64.b64decode(key), to_sign.encode(), hashlib.sha256).digest()
    ).decode()
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    connection.request(
        "PUT",
        f"{url.path}?restype=container",
        body=b"",
        headers={
            "x-ms-date": date,
            "x-ms-version": version,
            "Content-Length": "0",
            "Authorization": f"SharedKey {account}:{signature}",
        },
    )
    response = connection.getresponse()
    body = response.read()
    if response.status not in (201, 409):  # 409: already there
        sys.exit(f"creating container {container}: {response.status} {body[:500]!r}")


def gcs_bucket(base_url, bucket):
    request = urllib.request.Request(
        f"{base_url}/storage/v1/b",
        method="POST",
        data=json.dumps({"name": bucket}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        urllib.request.urlopen(request, timeout=10)
    except urllib.error.HTTPError as e:
        if e.code != 409:
            sys.exit(f"creating bucket {bucket}: {e.code} {e.read()[:500]!r}")


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    {
        "free-port": free_port,
        "wait": wait,
        "moto-setup": moto_setup,
        "azurite-container": azurite_container,
        "gcs-bucket": gcs_bucket,
    }[command](*args)
