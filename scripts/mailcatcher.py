#!/usr/bin/env python3
"""The demo's local mail catcher: a real SMTP server on loopback.

    mailcatcher.py --port PORT DIRECTORY

listens on 127.0.0.1:PORT (aiosmtpd, pinned in requirements/constraints.txt)
and stores each message received as DIRECTORY/<n>.eml (numbering goes on
from the files already there), readable with any mail client or a text
editor.  SIGTERM or SIGINT stops it.  ``scripts/demo`` starts it before the
database is built and stops it with the servers.
"""
import argparse
import os
import signal
import sys

from trytond.modules.customer_billing.tests.smtp_server import Handler


class FolderHandler(Handler):
    "Handler going on with the numbering of the messages already stored"

    def __init__(self, directory):
        super().__init__(directory)
        numbers = [int(n[:-4]) for n in os.listdir(directory)
            if n.endswith('.eml') and n[:-4].isdigit()]
        self.count = max(numbers, default=0)


def main():
    from aiosmtpd.controller import Controller
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--port', type=int, default=8025)
    parser.add_argument('directory')
    args = parser.parse_args()
    os.makedirs(args.directory, exist_ok=True)
    controller = Controller(FolderHandler(args.directory),
        hostname='127.0.0.1', port=args.port)
    controller.start()
    print(f"mail catcher on 127.0.0.1:{args.port}, messages in "
        f"{args.directory}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            signal.pause()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        controller.stop()


if __name__ == '__main__':
    main()
