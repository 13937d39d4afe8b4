"""moto's server, handling one request at a time.

moto runs each TransactWriteItems on a deep copy of the whole table and, when one of its
conditions fails, puts that copy back — undoing every write other requests committed while it
ran. DynamoDB's transactions are atomic whatever runs at once; so that moto's are too, this
server takes one request at a time (connections stay open, they just queue).

That copy also took the table's stream: every record ever written, with its old and new image.
A transaction's cost grew with every write before it, and a test that writes a few thousand items
made the server answer everyone else's requests seconds late. The copy now shares the records
(moto never changes one after appending it) and copies only the list that holds them, so a
rolled-back transaction still leaves no record behind. Usage:
    python scripts/moto-server.py -H 127.0.0.1 -p <port>
"""

import argparse
import copy
import os
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


class OneAtATime:
    """A WSGI application that lets one request through at a time, its whole body included, in
    the order they arrived: a plain lock lets a busy client's requests overtake a quiet one's
    again and again (a test's one call waited more than 20 s behind another test's hundreds)."""

    def __init__(self, app):
        self.app = app
        self.turns = threading.Condition()
        self.next_ticket = 0
        self.serving = 0

    def __call__(self, environ, start_response):
        with self.turns:
            ticket = self.next_ticket
            self.next_ticket += 1
            self.turns.wait_for(lambda: self.serving == ticket)
        try:
            body = self.app(environ, start_response)
            try:
                return [b"".join(body)]
            finally:
                close = getattr(body, "close", None)
                if close is not None:
                    close()
        finally:
            with self.turns:
                self.serving += 1
                self.turns.notify_all()


def copy_table_sharing_stream_records(table, memo):
    """`copy.deepcopy` of a moto table, except that its stream's records are shared."""
    copied = table.__class__.__new__(table.__class__)
    memo[id(table)] = copied
    for name, value in table.__dict__.items():
        if name != "stream_shard":
            setattr(copied, name, copy.deepcopy(value, memo))
    shard = table.__dict__.get("stream_shard")
    if shard is not None:
        shard = copy.copy(shard)
        shard.table = copied
        shard.items = list(shard.items)
    copied.stream_shard = shard
    return copied


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    from moto.dynamodb.models.table import Table

    Table.__deepcopy__ = copy_table_sharing_stream_records
    os.environ.setdefault("MOTO_PORT", str(args.port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, OneAtATime(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
