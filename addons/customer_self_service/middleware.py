# This file is part of the customer_self_service module.  The COPYRIGHT file
# at the top level of this repository contains the full copyright notices and
# license terms.
"""A WSGI middleware answering the HTTP errors raised outside any route.

trytond refuses a foreign ``Origin`` header with ``abort(403)`` before it
dispatches the request, and the exception reaches the WSGI server, which
answers *500*.  Configured as::

    [wsgi middleware]
    http_errors = trytond.modules.customer_self_service.middleware.HTTPErrors

it answers the error itself (*403 Forbidden*)."""
from werkzeug.exceptions import HTTPException


class HTTPErrors:
    "Answer the HTTPException raised by the application as its response"

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        try:
            return self.app(environ, start_response)
        except HTTPException as exception:
            return exception(environ, start_response)
