#!/usr/bin/env python3
"""Hostile HTTP clients against a running nebula-serve, while a well-behaved client keeps calling a function
on its own connections and must keep succeeding throughout.

    python3 Utilities/hostile-http.py [PORT]      (default 8080; the server must serve functions/fib.wasm)

Attacks: slowloris (many connections, each trickling header bytes), request smuggling variants (CL+TE,
duplicated CL, `Transfer-Encoding: chunked, identity`, obs-fold), invalid chunk sizes, 1 MB header lines,
non-ASCII garbage, half-closed sockets, pipelined floods. Each expects a given status (or a closed
connection) and the connection closed after an error. Prints one line per attack and a summary; exit status
1 if any expectation or any well-behaved request failed."""
import random, socket, sys, threading, time

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
failures = []
lock = threading.Lock()

def fail(message):
    with lock:
        failures.append(message)
    print("  FAIL: " + message, flush=True)

def connect(timeout=10):
    s = socket.create_connection(("127.0.0.1", PORT), timeout=timeout)
    s.settimeout(timeout)
    return s

def read_response(s):
    """(status, headers, body) of one response, or None if the connection closed first."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, headers, rest[:length]

def closed_by_server(s, timeout=5):
    s.settimeout(timeout)
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return True
    except (socket.timeout, TimeoutError):
        return False
    except ConnectionResetError:
        return True

# A well-behaved client on its own connections, all along.
stop = threading.Event()
good = {"ok": 0, "bad": 0}

def well_behaved():
    while not stop.is_set():
        try:
            s = connect()
            for _ in range(20):
                s.sendall(b"POST /functions/fib HTTP/1.1\r\nHost: good\r\nContent-Length: 2\r\n\r\n10")
                r = read_response(s)
                if r and r[0] == 200 and r[2] == b"[0, 1, 1, 2, 3, 5, 8, 13, 21, 34]\n":
                    good["ok"] += 1
                else:
                    good["bad"] += 1
                    fail("a well-behaved request got %r" % (r,))
                    break
            s.close()
        except Exception as e:
            good["bad"] += 1
            fail("a well-behaved request failed: %s" % e)
        time.sleep(0.01)

def expect_status(name, payload, status, close=True):
    s = connect()
    try:
        s.sendall(payload)
        r = read_response(s)
        if r is None or r[0] != status:
            fail("%s: expected %d, got %r" % (name, status, r and r[0]))
            return
        if close and not closed_by_server(s):
            fail("%s: connection left open after the error" % name)
            return
        print("  ok  %-45s %d%s" % (name, status, ", closed" if close else ""), flush=True)
    except (ConnectionResetError, BrokenPipeError) as e:
        fail("%s: %s before a response" % (name, e))
    finally:
        s.close()

def slowloris(connections=200, seconds=8):
    """Many connections trickle one header byte each second: each is cut off by the header timeout or kept
    waiting, and none stops the well-behaved client."""
    sockets = []
    for _ in range(connections):
        try:
            s = connect()
            s.sendall(b"POST /functions/fib HTTP/1.1\r\nHost: slow\r\n")
            sockets.append(s)
        except OSError as e:
            fail("slowloris: connect failed: %s" % e)
            break
    end = time.time() + seconds
    while time.time() < end:
        for s in sockets:
            try:
                s.sendall(b"X")
            except OSError:
                pass
        time.sleep(1)
    for s in sockets:
        s.close()
    print("  ok  %-45s %d connections for %d s" % ("slowloris", len(sockets), seconds), flush=True)

def half_closed():
    """The client shuts down its sending side after a complete request: it still gets its response."""
    s = connect()
    s.sendall(b"POST /functions/fib HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\n3")
    s.shutdown(socket.SHUT_WR)
    r = read_response(s)
    if not r or r[0] != 200:
        fail("half-closed after a full request: got %r" % (r and r[0]))
    else:
        print("  ok  %-45s 200" % "half-closed after a full request", flush=True)
    s.close()
    # Half a request, then the write side closed: the server must give up on it (400 or a close), not wait.
    s = connect()
    s.sendall(b"POST /functions/fib HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n12")
    s.shutdown(socket.SHUT_WR)
    start = time.time()
    r = None
    try:
        r = read_response(s)
    except OSError:
        pass
    if time.time() - start > 35:
        fail("half-closed mid-body: the server waited %d s" % (time.time() - start))
    else:
        print("  ok  %-45s %s after %.1f s" % ("half-closed mid-body", r[0] if r else "closed", time.time() - start), flush=True)
    s.close()

def pipelined_flood(count=2000):
    """Thousands of pipelined requests in one write: all answered, in order."""
    s = connect(timeout=60)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n" * count)
    answered = 0
    data = b""
    deadline = time.time() + 60
    while answered < count and time.time() < deadline:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        data += chunk
        answered = data.count(b"HTTP/1.1 200")
    s.close()
    if answered != count:
        fail("pipelined flood: %d of %d answered" % (answered, count))
    else:
        print("  ok  %-45s %d answered" % ("pipelined flood", count), flush=True)

def garbage(rounds=50):
    rng = random.Random(7)
    for i in range(rounds):
        blob = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4096)))
        s = connect()
        try:
            s.sendall(blob + b"\r\n\r\n")
            r = read_response(s)
            if r is not None and r[0] not in (400, 405, 404, 413, 414, 431, 501, 505):
                fail("garbage %d: unexpected status %d" % (i, r[0]))
        except (ConnectionResetError, BrokenPipeError):
            pass
        finally:
            s.close()
    print("  ok  %-45s %d blobs rejected" % ("non-ASCII garbage", rounds), flush=True)

worker = threading.Thread(target=well_behaved, daemon=True)
worker.start()
started = time.time()
F = b"POST /functions/fib HTTP/1.1\r\nHost: t\r\n"
expect_status("smuggling: Content-Length + Transfer-Encoding", F + b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400)
expect_status("smuggling: duplicated Content-Length", F + b"Content-Length: 1\r\nContent-Length: 2\r\n\r\n10", 400)
expect_status("smuggling: differing Content-Length list", F + b"Content-Length: 1, 2\r\n\r\n10", 400)
expect_status("smuggling: Transfer-Encoding: chunked, identity", F + b"Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", 400)
expect_status("smuggling: Transfer-Encoding: identity", F + b"Transfer-Encoding: identity\r\n\r\n", 400)
expect_status("smuggling: obs-fold header", F + b"Content-Length: 2\r\nX-A: b\r\n c\r\n\r\n10", 400)
expect_status("smuggling: space before colon", F + b"Content-Length : 2\r\n\r\n10", 400)
expect_status("smuggling: bare LF line endings", b"POST /functions/fib HTTP/1.1\nHost: t\nContent-Length: 2\n\n10", 400)
expect_status("invalid chunk size (hex garbage)", F + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", 400)
expect_status("invalid chunk size (negative)", F + b"Transfer-Encoding: chunked\r\n\r\n-1\r\n", 400)
expect_status("invalid chunk size (overflowing)", F + b"Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\n", 400)
expect_status("chunk without its CRLF", F + b"Transfer-Encoding: chunked\r\n\r\n2\r\n10XX0\r\n\r\n", 400)
expect_status("1 MB header line", b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"b" * (1 << 20) + b"\r\n\r\n", 431)
expect_status("1 MB request target", b"GET /" + b"a" * (1 << 20) + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414)
expect_status("non-ASCII in a header name", b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-\xff\xfe: 1\r\n\r\n", 400)
expect_status("NUL in a header value", b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-A: a\x00b\r\n\r\n", 400)
expect_status("unsupported version", b"GET /healthz HTTP/3.0\r\nHost: t\r\n\r\n", 505)
expect_status("body over the limit", F + b"Content-Length: 999999999999\r\n\r\n", 413)
garbage()
half_closed()
pipelined_flood()
slowloris()
stop.set()
worker.join(timeout=15)
print("well-behaved client: %d requests succeeded, %d failed, over %.0f s of attacks" % (good["ok"], good["bad"], time.time() - started))
if good["ok"] == 0:
    fail("the well-behaved client never got through")
print("%d failures" % len(failures))
sys.exit(1 if failures else 0)
