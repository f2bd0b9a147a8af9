"""moto's server mode, answering one DynamoDB request at a time.

DynamoDB applies every request to an item atomically: a conditional write is checked and made
as one step, and a transaction is all-or-nothing. moto's server runs each request in its own
thread with no lock around the check and the write (`Table.put_item` reads the current item,
evaluates the condition, then stores), so under load two conditional writers of one item can
both pass the check: a race DynamoDB cannot have. This wrapper gives moto DynamoDB's guarantee
by running requests one after another (moto holds the GIL throughout, so little concurrency is
lost). Each request body is read before the lock is taken, so a slow client holds nobody up;
moto's own control endpoints (/moto-api: its recorder replays by sending requests to this very
server) are not serialized.

Usage: python serial_server.py [moto_server's arguments], e.g. -H 127.0.0.1 -p 8000
"""

import io
import threading

import moto.server

_serve = moto.server.run_simple


def _serialized(app):
    lock = threading.Lock()

    def serve_one(environ, start_response):
        if environ.get("PATH_INFO", "").startswith("/moto-api"):
            return app(environ, start_response)
        if environ.get("wsgi.input_terminated"):  # chunked: werkzeug ends the stream
            body = environ["wsgi.input"].read()
        else:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        with lock:
            # the whole answer is made inside the lock: moto builds it from the backend's state
            return list(app(environ, start_response))

    return serve_one


def _run_serialized(host, port, app, **kwargs):
    return _serve(host, port, _serialized(app), **kwargs)


moto.server.run_simple = _run_serialized

if __name__ == "__main__":
    moto.server.main()
