"""gunicorn settings of the suite's web processes.

Serves trytond's WSGI application (``trytond.application:app``) with
several worker processes::

    TRYTOND_CONFIG=config/trytond-postgresql.conf \\
    TRYTOND_DATABASE_NAMES=tryton \\
    gunicorn -c config/gunicorn.conf.py

Environment (a command line option wins over this file, e.g. ``-w 4``):

``TRYTOND_CONFIG``
    trytond's configuration file; several files separated by ``:`` are
    read in that order (a later one overrides), as ``trytond -c a b``
    would (trytond alone reads one file from this variable).
``TRYTOND_DATABASE_NAMES``
    databases whose pool every worker loads before it accepts requests
    (comma separated); otherwise the first request of a database loads it.
``TRYTOND_LOGGING_CONFIG``
    the logging configuration file (``config/logging.conf``).
``GUNICORN_BIND``, ``WEB_CONCURRENCY``, ``GUNICORN_THREADS``,
``GUNICORN_TIMEOUT``, ``FORWARDED_ALLOW_IPS``
    address (default ``127.0.0.1:8000``), worker processes (default the
    number of cores), threads per worker (default 1: sync workers),
    seconds a request may take (default 120: more than the PDF
    conversion's ``[customer_self_service] pdf_timeout`` of 60), addresses
    of the proxies whose ``X-Forwarded-Proto`` gunicorn trusts (default
    ``127.0.0.1``; trytond reads the ``X-Forwarded-*`` headers of
    ``[web] num_proxies`` proxies itself).
"""
import multiprocessing
import os

_files = os.environ.get('TRYTOND_CONFIG', '')
if os.pathsep in _files:
    # Read here, in the master, before trytond.config reads the variable
    # as one file name; the workers are forked with this configuration
    del os.environ['TRYTOND_CONFIG']
    from trytond import config as _config
    _config.update_etc(_files.split(os.pathsep))

wsgi_app = 'trytond.application:app'
bind = os.environ.get('GUNICORN_BIND', '127.0.0.1:8000')
workers = int(os.environ.get('WEB_CONCURRENCY') or multiprocessing.cpu_count())
threads = int(os.environ.get('GUNICORN_THREADS') or 1)
timeout = int(os.environ.get('GUNICORN_TIMEOUT') or 120)
graceful_timeout = 30
keepalive = 5
forwarded_allow_ips = os.environ.get('FORWARDED_ALLOW_IPS', '127.0.0.1')
# Each worker loads the pool itself: no application loaded in the master
preload_app = False
