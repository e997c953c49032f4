#!/usr/bin/env python3
"""A test-only proxy in front of fake-gcs-server for object_store's GCS client.

    gcs_upload_shim.py LISTEN_PORT UPSTREAM_PORT

object_store talks to GCS through the XML API; fake-gcs-server answers its gets, heads,
range reads, single-page lists and deletes, but not XML uploads. This proxy forwards every
request unchanged except a plain XML upload (`PUT /bucket/object` without a query), which it
turns into fake-gcs-server's JSON media upload, copying the ETag and generation back.
Multipart uploads and conditional puts are not emulated: they are answered 501, and the
suite leaves them out for GCS (the README's testing section lists the gaps).
"""
import http.client
import json
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

UPSTREAM = ("127.0.0.1", int(sys.argv[2]))
HOP = {"connection", "keep-alive", "transfer-encoding", "host", "content-length"}


class Shim(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def reply(self, status, headers, body):
        self.send_response(status)
        length = str(len(body))
        for k, v in headers:
            if k.lower() == "content-length" and self.command == "HEAD":
                length = v  # a HEAD answers the object's length, with no body
            elif k.lower() not in HOP:
                self.send_header(k, v)
        self.send_header("Content-Length", length)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def forward(self, method, path, body, headers):
        connection = http.client.HTTPConnection(*UPSTREAM, timeout=60)
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        connection.close()
        return response.status, response.getheaders(), data

    def passthrough(self):
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        status, response_headers, data = self.forward(self.command, self.path, self.body(), headers)
        self.reply(status, response_headers, data)

    do_GET = do_HEAD = do_DELETE = do_POST = passthrough

    def do_PUT(self):
        url = urllib.parse.urlsplit(self.path)
        data = self.body()
        if url.query or any(h.lower().startswith("x-goog-if-") for h in self.headers) \
                or "x-goog-copy-source" in (h.lower() for h in self.headers):
            self.reply(501, [("Content-Type", "text/plain")], b"not emulated by the test shim")
            return
        bucket, _, name = url.path.lstrip("/").partition("/")
        bucket, name = urllib.parse.unquote(bucket), urllib.parse.unquote(name)
        query = urllib.parse.urlencode({"uploadType": "media", "name": name})
        headers = {"Content-Type": self.headers.get("Content-Type", "application/octet-stream")}
        status, _, answer = self.forward(
            "POST", f"/upload/storage/v1/b/{urllib.parse.quote(bucket)}/o?{query}", data, headers
        )
        if status != 200:
            self.reply(status, [("Content-Type", "text/plain")], answer)
            return
        created = json.loads(answer)
        self.reply(
            200,
            [("ETag", f'"{created["etag"]}"'), ("x-goog-generation", created["generation"])],
            b"",
        )


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Shim).serve_forever()
