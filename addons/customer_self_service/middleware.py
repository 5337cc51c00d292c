# This file is part of the customer_self_service module.  The COPYRIGHT file
# at the top level of this repository contains the full copyright notices and
# license terms.
"""A WSGI middleware answering the HTTP errors raised outside any route.

trytond refuses a foreign ``Origin`` header with ``abort(403)`` before it
dispatches the request, and the exception reaches the WSGI server, which
answers *500*.  Configured as::

    [wsgi middleware]
    http_errors = trytond.modules.customer_self_service.middleware.HTTPErrors

it answers the error itself: under ``/<database>/customer_portal/`` with the
portal's translated error page (in the language of the request), elsewhere
with werkzeug's page."""
import logging
import re

from werkzeug.exceptions import HTTPException

logger = logging.getLogger(__name__)
PORTAL_PATH = re.compile(r'^/(?P<database>[^/]+)/customer_portal(/|$)')


class HTTPErrors:
    "Answer the HTTPException raised by the application as its response"

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        try:
            return self.app(environ, start_response)
        except HTTPException as exception:
            response = None
            if 400 <= (exception.code or 0) < 500:
                response = self._portal_page(environ, exception.code)
            if response is None:
                response = exception
            return response(environ, start_response)

    @staticmethod
    def _portal_page(environ, status):
        "Return the portal page of the error or None outside the portal"
        from trytond.pool import Pool
        from trytond.protocols.wrappers import Request

        from .routes import error_response
        match = PORTAL_PATH.match(environ.get('PATH_INFO', ''))
        if not match:
            return None
        database_name = match.group('database')
        if database_name not in Pool.database_list():
            # Only a database the server has already opened
            return None
        try:
            return error_response(
                Request(environ), Pool(database_name), status)
        except Exception:
            logger.exception("portal error page of %s failed", status)
            return None
