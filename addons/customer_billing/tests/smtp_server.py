# This file is part of the customer_billing module.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and license
# terms.
"""A real SMTP server on loopback for the tests (aiosmtpd).

Run as ``python -m trytond.modules.customer_billing.tests.smtp_server
DIRECTORY [PORT]``: it listens on PORT (a free one by default) of 127.0.0.1,
prints the port on stdout, writes each message received as DIRECTORY/<n>.eml and rejects with
554 the messages containing the text of DIRECTORY/REJECT (all when empty)
while that file exists.
Use :class:`SMTPServer` to start, drive and stop it from a test; ``halt()``
and ``start()`` stop and start the process on the same port (nothing listens
in between)."""
import email
import email.policy
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from trytond import config


class Handler:

    def __init__(self, directory):
        self.directory = directory
        # a restarted server numbers after the messages already received
        self.count = len(
            [n for n in os.listdir(directory) if n.endswith('.eml')])

    async def handle_DATA(self, server, session, envelope):
        reject = os.path.join(self.directory, 'REJECT')
        if os.path.exists(reject):
            with open(reject, 'rb') as fp:
                pattern = fp.read()
            if pattern in envelope.original_content:
                return '554 5.0.0 Rejected by the test server'
        self.count += 1
        path = os.path.join(self.directory, '%04d.eml' % self.count)
        with open(path + '.tmp', 'wb') as fp:
            fp.write(envelope.original_content)
        os.rename(path + '.tmp', path)
        return '250 OK'


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def main(directory, port=None):
    from aiosmtpd.controller import Controller
    port = int(port) if port else free_port()
    controller = Controller(
        Handler(directory), hostname='127.0.0.1', port=port)
    controller.start()
    print(port, flush=True)
    try:
        sys.stdin.read()  # until the parent closes stdin
    finally:
        controller.stop()


class SMTPServer:
    "An SMTP server subprocess capturing messages; configures trytond"

    def __init__(self, start=True):
        self.directory = tempfile.mkdtemp(prefix='css-smtp-')
        self.process = None
        self.port = free_port()
        self.uri = 'smtp://127.0.0.1:%s' % self.port
        self._previous = config.get('email', 'uri')
        config.set('email', 'uri', self.uri)
        config.set('email', 'retry', '0')
        if start:
            self.start()

    def start(self):
        "Start the server process on the port"
        self.process = subprocess.Popen(
            [sys.executable, '-m', __name__, self.directory, str(self.port)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert int(self.process.stdout.readline()) == self.port

    def halt(self):
        "Stop the server process: nothing listens on the port"
        if self.process:
            self.process.stdin.close()
            self.process.wait(timeout=10)
            self.process.stdout.close()
            self.process = None

    def reject(self, value=True, containing=''):
        "Reject the messages containing the text (all by default)"
        path = os.path.join(self.directory, 'REJECT')
        if value:
            with open(path, 'w') as fp:
                fp.write(containing)
        elif os.path.exists(path):
            os.remove(path)

    def messages(self):
        "Return the email.message.EmailMessage received, oldest first"
        result = []
        for name in sorted(os.listdir(self.directory)):
            if name.endswith('.eml'):
                with open(os.path.join(self.directory, name), 'rb') as fp:
                    result.append(email.message_from_binary_file(
                            fp, policy=email.policy.default))
        return result

    def wait(self, count, timeout=10):
        "Wait until count messages are received and return them"
        end = time.monotonic() + timeout
        while len(messages := self.messages()) < count:
            if time.monotonic() > end:
                break
            time.sleep(0.05)
        return messages

    def stop(self):
        self.halt()
        config.set('email', 'uri', self._previous)
        shutil.rmtree(self.directory, ignore_errors=True)


if __name__ == '__main__':
    main(*sys.argv[1:3])
