"""moto's server, handling one request at a time.

moto runs each TransactWriteItems on a deep copy of the whole table and, when one of its
conditions fails, puts that copy back — undoing every write other requests committed while it
ran. DynamoDB's transactions are atomic whatever runs at once; so that moto's are too, this
server takes one request at a time (connections stay open, they just queue).

That copy is of every table the transaction names, with every item and every stream record ever
written: its cost grew with each write, to seconds per transaction in a test's big table, and
every other test's calls waited behind it. This server keeps moto's transactions but backs up
only the items a transaction names (and the stream's length), and puts those back when moto
cancels it: the same outcome, at the cost of the items touched.
Usage:
    python scripts/moto-server.py -H 127.0.0.1 -p <port>
"""

import argparse
import collections
import copy
import io
import os
import re
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


# The table a request is about: DynamoDB names it, a stream's ARN holds it.
TABLE = re.compile(rb'"TableName"\s*:\s*"([^"]+)"|:table/([^/"]+)/stream/')


class OneAtATime:
    """A WSGI application that lets one request through at a time, its whole body included.

    Each table (each test's own) has a lane; turns go round the lanes with requests waiting, in
    arrival order within a lane. With one plain lock, a test that sends a hundred calls at once
    made another test's single call wait more than 20 s behind them."""

    def __init__(self, app):
        self.app = app
        self.guard = threading.Lock()
        self.busy = False
        self.lanes = collections.defaultdict(collections.deque)
        self.queued = collections.deque()

    def enter(self, lane):
        with self.guard:
            if not self.busy:
                self.busy = True
                return
            turn = threading.Lock()
            turn.acquire()
            if not self.lanes[lane]:
                self.queued.append(lane)
            self.lanes[lane].append(turn)
        # The request before this one hands its turn over (`busy` stays set).
        turn.acquire()

    def leave(self):
        with self.guard:
            if not self.queued:
                self.busy = False
                return
            lane = self.queued.popleft()
            turn = self.lanes[lane].popleft()
            if self.lanes[lane]:
                self.queued.append(lane)
            else:
                del self.lanes[lane]
            turn.release()

    def __call__(self, environ, start_response):
        # A body of known length is read here to find its table (a chunked one is left to moto).
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = b""
        if length > 0:
            body = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(body)
        named = TABLE.search(body)
        self.enter(next(filter(None, named.groups())) if named else b"")
        try:
            answer = self.app(environ, start_response)
            try:
                return [b"".join(answer)]
            finally:
                close = getattr(answer, "close", None)
                if close is not None:
                    close()
        finally:
            self.leave()


class Journal:
    """While set, moto's backup copy of a table is the table itself: the journal restores it."""

    active = False


def table_copy(table, memo):
    """`copy.deepcopy` of a moto table; the table itself while a journal stands in for it."""
    if Journal.active:
        return table
    copied = table.__class__.__new__(table.__class__)
    memo[id(table)] = copied
    for name, value in table.__dict__.items():
        setattr(copied, name, copy.deepcopy(value, memo))
    return copied


def transaction_key(table, operation, body):
    if operation == "Put":
        item = body["Item"]
        key = {table.hash_key_attr: item[table.hash_key_attr]}
        if table.range_key_attr is not None:
            key[table.range_key_attr] = item[table.range_key_attr]
        return key
    return body["Key"]


def remove_item(table, item):
    if table.range_key_attr is not None:
        table.items[item.hash_key].pop(item.range_key, None)
    else:
        table.items.pop(item.hash_key, None)


def put_back(table, item):
    if table.range_key_attr is not None:
        table.items[item.hash_key][item.range_key] = item
    else:
        table.items[item.hash_key] = item


def journalled(transact_write_items):
    """moto's `transact_write_items`, backed up by the items it names instead of whole tables."""

    def run(backend, transact_items):
        try:
            touched = []
            for entry in transact_items:
                operation, body = next(iter(entry.items()))
                table = backend.get_table(body["TableName"])
                touched.append((table, transaction_key(table, operation, body)))
            saved = [(table, key, copy.deepcopy(backend.get_item(table.name, key))) for table, key in touched]
        except Exception:
            # Something moto will refuse before writing: its own path reports it.
            return transact_write_items(backend, transact_items)
        streams = [
            (table.stream_shard, len(table.stream_shard.items))
            for table in {id(table): table for table, _ in touched}.values()
            if table.stream_shard is not None
        ]
        Journal.active = True
        try:
            return transact_write_items(backend, transact_items)
        except Exception:
            for table, key, before in saved:
                now = backend.get_item(table.name, key)
                if now is not None:
                    remove_item(table, now)
                if before is not None:
                    put_back(table, before)
            for shard, length in streams:
                del shard.items[length:]
            raise
        finally:
            Journal.active = False

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    Table.__deepcopy__ = table_copy
    DynamoDBBackend.transact_write_items = journalled(DynamoDBBackend.transact_write_items)
    os.environ.setdefault("MOTO_PORT", str(args.port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, OneAtATime(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
