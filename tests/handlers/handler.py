#!/usr/bin/env python3
"""A handler for the exec sink's tests, speaking protocol 1 (docs/HANDLERS.md).

    handler.py MODE OUT [ARG]

Every line read is appended to OUT; after each read the count of lines handled
so far goes to standard output, except in the modes that break the protocol:
  copy     as above
  crash    the first time (no file ARG yet): after 5 lines appended and not
           acknowledged, makes ARG and exits with status 3
  poison   exits with status 4 at a line holding "poison", acknowledging nothing
  garbage  writes "hello" where the count belongs
  silent   acknowledges nothing
  env      also appends the protocol's environment variables to OUT, first
"""
import os
import sys

mode, out_path = sys.argv[1], sys.argv[2]
arg = sys.argv[3] if len(sys.argv) > 3 else None
out = open(out_path, "ab")
print(f"handler {mode} started", file=sys.stderr, flush=True)
if mode == "env":
    for name in ("PGCDC_HANDLER_PROTOCOL", "PGCDC_FORMAT"):
        out.write(f"{name}={os.environ.get(name)}\n".encode())
handled = 0
rest = b""
while True:
    data = os.read(0, 65536)
    if not data:
        break
    *lines, rest = (rest + data).split(b"\n")
    for line in lines:
        if mode == "crash" and handled == 5 and not os.path.exists(arg):
            out.flush()
            open(arg, "w").close()
            os._exit(3)
        if mode == "poison" and b"poison" in line:
            out.flush()
            os._exit(4)
        out.write(line + b"\n")
        handled += 1
    out.flush()
    if mode == "garbage":
        os.write(1, b"hello\n")
    elif mode != "silent":
        os.write(1, b"%d\n" % handled)
print(f"handler {mode} read {handled} lines", file=sys.stderr, flush=True)
