#!/usr/bin/env python3
"""A webhook receiver for pgcdc's http sink tests (standard library only).

Listens on 127.0.0.1 on a free port and prints the port on its first line of
stdout.  Every request to any path but /_control is appended to the store file
as one JSON line: {"n", "path", "headers" (lower-case names), "body", "status",
"verified"}.  With --secret (whsec_...), the Standard Webhooks signature is
checked independently and a request that fails the check gets 401.

POST /_control takes a JSON object:
  {"rules": [{...}, ...]}  answers for the next requests, in order, each one of
      {"status": 503, "retry_after": "1"}, {"drop": true} (the connection is
      closed without an answer), {"delay_ms": 2000} (then 200, or "status");
  {"hold": true|false}     hold every request unanswered until released;
and answers {"requests": N, "held": N, "rules": N}.
With --cert and --key it speaks TLS.
"""

import argparse
import base64
import hashlib
import hmac
import http.server
import json
import os
import socket
import ssl
import sys
import threading
import time


class State:
    def __init__(self, store, secret):
        self.lock = threading.Lock()
        self.rules = []
        self.released = threading.Event()
        self.released.set()
        self.held = 0
        self.count = 0
        self.store = open(store, "a", encoding="utf-8")
        self.key = base64.b64decode(secret[len("whsec_"):] + "==") if secret else None

    def record(self, entry):
        with self.lock:
            self.store.write(json.dumps(entry) + "\n")
            self.store.flush()


def verify(key, headers, body):
    """The Standard Webhooks check: id, timestamp within 5 minutes, a v1 signature that matches."""
    msg_id = headers.get("webhook-id")
    stamp = headers.get("webhook-timestamp")
    sigs = headers.get("webhook-signature")
    if not msg_id or not stamp or not sigs or not stamp.isdigit():
        return False
    if abs(time.time() - int(stamp)) > 300:
        return False
    signed = msg_id.encode() + b"." + stamp.encode() + b"." + body
    want = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for sig in sigs.split(" "):
        version, _, value = sig.partition(",")
        if version == "v1" and hmac.compare_digest(value, want):
            return True
    return False


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without this, Nagle and the
    # client's delayed ACK hold every answer for tens of milliseconds.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):  # quiet
        pass

    def answer(self, status, body=b"", extra=None):
        self.send_response(status)
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def control(self, st, body):
        cmd = json.loads(body or b"{}")
        with st.lock:
            st.rules.extend(cmd.get("rules", []))
            if cmd.get("hold") is True:
                st.released.clear()
            elif cmd.get("hold") is False:
                st.released.set()
            out = {"requests": st.count, "held": st.held, "rules": len(st.rules)}
        self.answer(200, json.dumps(out).encode())

    def do_POST(self):
        st = self.server.state
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/_control":
            self.control(st, body)
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        with st.lock:
            st.count += 1
            n = st.count
            rule = st.rules.pop(0) if st.rules else {}
            st.held += 1
        while not st.released.wait(0.05):
            pass
        with st.lock:
            st.held -= 1
        verified = verify(st.key, headers, body) if st.key is not None else None
        entry = {"n": n, "path": self.path, "headers": headers,
                 "body": body.decode("utf-8", "replace"), "verified": verified}
        if rule.get("delay_ms"):
            time.sleep(rule["delay_ms"] / 1000.0)
        if rule.get("drop"):
            entry["status"] = "dropped"
            st.record(entry)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        status = rule.get("status", 200)
        if verified is False:
            status = 401
        entry["status"] = status
        st.record(entry)
        extra = {}
        if "retry_after" in rule:
            extra["Retry-After"] = rule["retry_after"]
        reply = b'{"ok":true}' if status < 300 else b'{"error":"the test said so"}'
        if verified is False:
            reply = b'{"error":"bad signature"}'
        self.answer(status, reply, extra)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # A client that hung up (a timeout, a refused certificate) is part of the tests.
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", required=True)
    ap.add_argument("--secret")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    args = ap.parse_args()
    server = Server(("127.0.0.1", 0), Handler)
    server.state = State(args.store, args.secret)
    if args.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        # The handshake happens in the request's thread, so a client that
        # refuses the certificate never stalls the accepting one.
        server.socket = ctx.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
    print(server.server_address[1], flush=True)
    # A test that dies (a failed assertion, a crash) takes its receiver along.
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
