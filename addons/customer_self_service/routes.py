# This file is part of the customer_self_service module.  The COPYRIGHT file
# at the top level of this repository contains the full copyright notices and
# license terms.
"""The customer portal: server-rendered pages under
/<database>/customer_portal/ served by trytond itself."""
import hmac
import os
from functools import wraps
from http import HTTPStatus
from secrets import token_hex

import email_validator
from genshi.core import Markup
from genshi.filters import Translator
from genshi.template import TemplateLoader
from werkzeug.exceptions import HTTPException

from trytond.exceptions import RateLimitException, UserError
from trytond.i18n import gettext
from trytond.modules.customer_billing.exceptions import EDocumentError
from trytond.pool import Pool
from trytond.protocols.wrappers import (
    Response, abort, redirect, with_pool, with_transaction)
from trytond.tools import grouped_slice
from trytond.transaction import Transaction
from trytond.wsgi import app

from .exceptions import PDFError
from .user import portal_url

SESSION_COOKIE = 'css_session'
CSRF_COOKIE = 'css_csrf'
LANG_COOKIE = 'css_lang'
DEVICE_COOKIE = 'css_device'
DEVICE_MAX_AGE = 365 * 24 * 60 * 60
# The largest id of the database's integer columns
MAX_ID = 2 ** 31 - 1
ERROR_MESSAGES = {
    HTTPStatus.NOT_FOUND: 'customer_self_service.msg_portal_not_found',
    HTTPStatus.FORBIDDEN: 'customer_self_service.msg_portal_forbidden',
    HTTPStatus.TOO_MANY_REQUESTS: (
        'customer_self_service.msg_portal_rate_limit'),
    }
ERROR_TITLES = {
    HTTPStatus.BAD_REQUEST: 'customer_self_service.msg_portal_status_400',
    HTTPStatus.UNAUTHORIZED: 'customer_self_service.msg_portal_status_401',
    HTTPStatus.FORBIDDEN: 'customer_self_service.msg_portal_status_403',
    HTTPStatus.NOT_FOUND: 'customer_self_service.msg_portal_status_404',
    HTTPStatus.METHOD_NOT_ALLOWED: (
        'customer_self_service.msg_portal_status_405'),
    HTTPStatus.TOO_MANY_REQUESTS: (
        'customer_self_service.msg_portal_status_429'),
    }
PREFIX = '/<database_name>/customer_portal'


class _Translate:
    """The translations of the portal template: the strings of the report
    of the same name (customer_self_service.portal.<template>), collected by
    Tryton's Set Translations like those of any HTML report"""

    def __init__(self, report_name):
        self.report_name = report_name

    def gettext(self, text):
        return Pool().get('ir.translation').get_report(
            self.report_name, text)

    def ngettext(self, text, text_plural, n):
        return Pool().get('ir.translation').get_report(
            self.report_name, text, text_plural, n)


def _translator(template):
    "Translate the template as trytond's Report translates its templates"
    name = os.path.splitext(os.path.basename(template.filename))[0]
    Translator(_Translate(f'customer_self_service.portal.{name}')).setup(
        template)


_loader = TemplateLoader(
    os.path.join(os.path.dirname(__file__), 'portal'), auto_reload=False,
    callback=_translator)


def _msg(name):
    "Return the text of message customer_self_service.msg_portal_<name>"
    return gettext('customer_self_service.msg_portal_' + name)


def _base(pool):
    return f'/{pool.database_name}/customer_portal'


def _installed(pool):
    try:
        pool.get('customer.self_service.type')
    except KeyError:
        abort(HTTPStatus.NOT_FOUND)


def _csrf(request):
    "Return the CSRF token of the browser (double-submit cookie)"
    token = request.cookies.get(CSRF_COOKIE, '')
    if len(token) != 32:
        token = request.environ.setdefault('css.csrf', token_hex(16))
    return token


def _check_csrf(request):
    cookie = request.cookies.get(CSRF_COOKIE, '')
    form = request.form.get('csrf', '')
    return bool(cookie) and hmac.compare_digest(cookie, form)


def _cookie(response, request, pool, name, value, max_age=None):
    response.set_cookie(
        name, value, max_age=max_age, path=_base(pool),
        secure=_secure(request), httponly=True, samesite='Strict')


def _secure(request):
    """Whether the cookies are Secure: the request came by HTTPS (through
    the proxies of [web] num_proxies) or the portal's URL is HTTPS"""
    return request.is_secure or portal_url().startswith('https:')


def _parse_id(value):
    "Return the record id of the text or None (ASCII digits, in range)"
    value = value or ''
    if not (value.isascii() and value.isdigit()) or len(value) > 10:
        return None
    value = int(value)
    return value if 0 < value <= MAX_ID else None


def _error_page(request, pool, status, user=None, error=None):
    """Return the page of the HTTP error status with a translated message,
    in the language of the request"""
    status = HTTPStatus(status)
    language = request.environ.get('css.language') or _language(
        request, pool)
    with Transaction().set_context(language=language):
        if error is None:
            error = gettext(ERROR_MESSAGES.get(
                    status, 'customer_self_service.msg_portal_bad_request'))
        title = gettext(ERROR_TITLES.get(
                status, 'customer_self_service.msg_portal_error'))
        return render(request, pool, 'message.html', title,
            user=user, status=status, error=error,
            links=[(_base(pool) + '/', _msg('back'))])


def error_response(request, pool, status):
    """Return the portal page of the HTTP error status raised outside the
    routes (the middleware's answer), in a read-only transaction"""
    with Transaction().start(pool.database_name, 0, readonly=True):
        try:
            pool.get('customer.self_service.type')
        except KeyError:
            return None
        return _error_page(request, pool, status)


def _http_errors(func):
    """Decorate a route to answer its HTTP errors with a portal page; the
    route runs in the language of the request"""
    @wraps(func)
    def wrapper(request, pool, *args, **kwargs):
        _installed(pool)
        try:
            with Transaction().set_context(
                    language=_language(request, pool)):
                return func(request, pool, *args, **kwargs)
        except HTTPException as e:
            if e.code >= 500 or e.code < 400:
                raise
            Transaction().rollback()
            return _error_page(request, pool, e.code)
    return wrapper


def _languages(request, pool):
    """Return the [(code, name)] of the languages of the portal (Tryton's
    translatable languages), each name in its own language"""
    Lang = pool.get('ir.lang')
    if 'css.languages' not in request.environ:
        languages = []
        for lang in Lang.search([('translatable', '=', True)],
                order=[('code', 'ASC')]):
            with Transaction().set_context(language=lang.code):
                languages.append((lang.code, Lang(lang.id).name))
        request.environ['css.languages'] = languages
    return request.environ['css.languages']


def _language(request, pool, user=None):
    """Return the code of the language of the page: the one chosen with the
    switch (lang parameter, then cookie), else the party language of the
    portal user, else the best of the browser's Accept-Language, else the
    default language; remembered in the request for its error pages"""
    Configuration = pool.get('ir.configuration')
    codes = [c for c, _ in _languages(request, pool)]
    language = None
    for choice in [request.args.get('lang'),
            request.cookies.get(LANG_COOKIE)]:
        if choice in codes:
            language = choice
            break
    else:
        if (user and user.party and user.party.lang
                and user.party.lang.code in codes):
            language = user.party.lang.code
        else:
            tags = {c.replace('_', '-'): c for c in codes}
            best = request.accept_languages.best_match(list(tags))
            language = tags.get(best) or Configuration.get_language()
    request.environ['css.language'] = language
    return language


def render(request, pool, template, title, user=None, status=200,
        error=None, info=None, **values):
    "Return the HTML response of the portal page"
    base = _base(pool)
    caps = user.css_type.capabilities if user and user.css_type else set()
    nonce = token_hex(16)
    language = Transaction().language
    values.update(base=base, user=user, caps=caps, csrf=_csrf(request),
        nonce=nonce, language=language, languages=_languages(request, pool))
    content = _loader.load(template).generate(**values).render('html')
    page = _loader.load('layout.html').generate(
        title=title, content=Markup(content), error=error, info=info,
        has_projects=_has_projects(pool),
        has_service_units=_has_service_units(pool), **values).render(
            'html', doctype='html5')
    response = Response(
        page, status=status, content_type='text/html; charset=utf-8')
    _secure_headers(response, nonce)
    if request.cookies.get(CSRF_COOKIE) != values['csrf']:
        _cookie(response, request, pool, CSRF_COOKIE, values['csrf'])
    if request.args.get('lang') == language:
        # The choice of the switch, kept for the next pages
        _cookie(response, request, pool, LANG_COOKIE, language,
            max_age=365 * 24 * 60 * 60)
    return response


def _secure_headers(response, nonce=None):
    response.headers['X-Frame-Options'] = 'DENY'
    response.headers['X-Content-Type-Options'] = 'nosniff'
    response.headers['Referrer-Policy'] = 'same-origin'
    response.headers['Cache-Control'] = 'no-store'
    script = f"; script-src 'nonce-{nonce}'" if nonce else ''
    response.headers['Content-Security-Policy'] = (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; "
        "form-action 'self'; frame-ancestors 'none'" + script)


def _redirect(pool, path):
    response = redirect(_base(pool) + path, code=HTTPStatus.SEE_OTHER)
    _secure_headers(response)
    return response


def _has_model(pool, name):
    try:
        pool.get(name)
    except KeyError:
        return False
    return True


def _has_projects(pool):
    return _has_model(pool, 'project.work')


def _has_service_units(pool):
    "Whether customer_project is activated"
    return _has_model(pool, 'project.service.unit')


def _session_user(request, pool):
    "Return the active portal user of the session cookie or None"
    WebUser = pool.get('web.user')
    key = request.cookies.get(SESSION_COOKIE)
    if not key:
        return None
    user = WebUser.get_user(key)
    if (not user or not user.active or not user.css_type
            or not user.party
            or user.party.css_status not in {
                'registration_sent', 'registered'}):
        return None
    return user


def portal_page(capability=None, password_check=True):
    """Decorate a route of a logged in portal user granted the capability;
    the user is passed as argument"""
    def decorator(func):
        @wraps(func)
        @_http_errors
        def wrapper(request, pool, *args, **kwargs):
            user = _session_user(request, pool)
            if user is None:
                return _redirect(pool, '/login')
            if password_check and user.css_password_change:
                return _redirect(pool, '/change-password')
            if capability and capability not in user.css_type.capabilities:
                abort(HTTPStatus.FORBIDDEN)
            if request.method == 'POST' and not _check_csrf(request):
                abort(HTTPStatus.FORBIDDEN)
            with Transaction().set_context(_company_context(pool, user)):
                # Read the records in the company context (the party
                # language is a company value), then in the language
                user = user.__class__(user.id)
                with Transaction().set_context(
                        language=_language(request, pool, user)):
                    user = user.__class__(user.id)
                    return func(request, pool, user, *args, **kwargs)
        return wrapper
    return decorator


def _company_context(pool, user):
    Company = pool.get('company.company')
    account = user.party.css_primary_account
    if account:
        company = account.company
    else:
        companies = Company.search([], limit=1, order=[('id', 'ASC')])
        company = companies[0] if companies else None
    if not company:
        return {}
    return {'company': company.id, 'currency': company.currency.id}


def _public_form(func):
    "Decorate a public route: checks CSRF of POST"
    @wraps(func)
    @_http_errors
    def wrapper(request, pool, *args, **kwargs):
        if request.method == 'POST' and not _check_csrf(request):
            return render(request, pool, 'message.html',
                _msg('error'),
                status=HTTPStatus.FORBIDDEN, links=[],
                error=gettext('customer_self_service.msg_portal_csrf'))
        return func(request, pool, *args, **kwargs)
    return wrapper


def _rate_limited(pool, kind, login):
    """Return the key of the attempt of the kind for the login or None if
    the login or the client network must wait"""
    WebUser = pool.get('web.user')
    key = WebUser.css_attempt_key(kind, login)
    try:
        WebUser.css_check_rate(key)
    except RateLimitException:
        return None
    return key


def _too_many(pool):
    return gettext('customer_self_service.msg_portal_rate_limit')


# Public pages


@app.route(PREFIX + '/login', methods=['GET', 'POST'])
@with_pool
@with_transaction()
@_public_form
def login(request, pool):
    WebUser = pool.get('web.user')
    error, status, login = None, HTTPStatus.OK, ''
    if request.method == 'POST':
        login = request.form.get('login', '')[:200]
        password = request.form.get('password', '')[:1000]
        device = request.cookies.get(DEVICE_COOKIE)
        try:
            user = WebUser.css_authenticate(login, password, device)
        except RateLimitException:
            user = None
            status = HTTPStatus.TOO_MANY_REQUESTS
            error = _too_many(pool)
        if user and user.css_type:
            response = _logged_in(request, pool, user, '/')
            # the failures of others for this login do not slow this browser
            _cookie(response, request, pool, DEVICE_COOKIE,
                user.css_renew_device(device), max_age=DEVICE_MAX_AGE)
            return response
        if not error:
            error = gettext('customer_self_service.msg_portal_login_failed')
            status = HTTPStatus.UNAUTHORIZED
    return render(request, pool, 'login.html', _msg('log_in'),
        status=status, error=error, login=login)


def _logged_in(request, pool, user, path):
    "Redirect to path in a new session of the user"
    response = _redirect(pool, path)
    _cookie(response, request, pool, SESSION_COOKIE, user.new_session())
    return response


@app.route(PREFIX + '/logout', methods=['POST'])
@with_pool
@with_transaction()
@_public_form
def logout(request, pool):
    Session = pool.get('web.user.session')
    key = request.cookies.get(SESSION_COOKIE)
    if key:
        Session.remove(key)
    response = _redirect(pool, '/login')
    response.delete_cookie(SESSION_COOKIE, path=_base(pool))
    return response


def _form(request, pool, title, form_id, inputs, submit, status=200,
        hidden=(), links=(), error=None, info=None, user=None):
    return render(request, pool, 'form.html', title, user=user,
        status=status, error=error, info=info, form_id=form_id,
        action=request.path, inputs=inputs, submit=submit, hidden=hidden,
        links=links)


@app.route(PREFIX + '/set-password', methods=['GET', 'POST'])
@with_pool
@with_transaction()
@_public_form
def set_password(request, pool):
    """The page of the link sent by email: the email and the token come in
    the fragment of the link and are posted with the form"""
    error = None
    email = request.form.get('email', '')[:200]
    if request.method == 'POST':
        error = _set_password(request, pool, email)
        if not error:
            return render(request, pool, 'message.html',
                _msg('password_set_title'),
                info=gettext(
                    'customer_self_service.msg_portal_password_set'),
                links=[(_base(pool) + '/login', _msg('log_in'))])
    return render(request, pool, 'form.html', _msg('set_password_title'),
        error=error, status=error_status(error), form_id='password-form',
        action=request.path, submit=_msg('set_password'), links=(),
        inputs=[
            ('password', _msg('new_password'), 'password', '', 'new-password'),
            ('confirm', _msg('confirm_password'), 'password', '',
                'new-password')],
        hidden=[('email', email), ('token', '')], fragment=True)


def error_status(error):
    if error == gettext('customer_self_service.msg_portal_rate_limit'):
        return HTTPStatus.TOO_MANY_REQUESTS
    return HTTPStatus.BAD_REQUEST if error else HTTPStatus.OK


def _set_password(request, pool, email):
    """Set the password of the reset token posted and return None or the
    error; unknown emails and missing tokens get the same answer"""
    User = pool.get('res.user')
    WebUser = pool.get('web.user')
    Attempt = pool.get('web.user.authenticate.attempt')
    token = request.form.get('token', '')[:200]
    password = request.form.get('password', '')[:1000]
    key = _rate_limited(pool, 'set', email)
    if not key:
        return _too_many(pool)
    user = WebUser.css_token_user(email, token)
    if not user:
        Attempt.add(key)
        return gettext('customer_self_service.msg_portal_token_invalid')
    if password != request.form.get('confirm'):
        return gettext('customer_self_service.msg_portal_password_mismatch')
    if user.css_is_temporary(password):
        return gettext('customer_self_service.msg_portal_password_temporary')
    try:
        User.validate_password(password, [user])
    except UserError as e:
        return e.message
    if not WebUser.set_password_token(email, token, password):
        return gettext('customer_self_service.msg_portal_token_invalid')
    Attempt.remove(key)


@app.route(PREFIX + '/reset', methods=['GET', 'POST'])
@with_pool
@with_transaction()
@_public_form
def reset(request, pool):
    WebUser = pool.get('web.user')
    Attempt = pool.get('web.user.authenticate.attempt')
    info = error = None
    if request.method == 'POST':
        login = request.form.get('login', '')[:200]
        key = _rate_limited(pool, 'reset', login)
        if not key:
            error = _too_many(pool)
        else:
            # Counted whether the login exists (the reset is not a failure
            # but must not be sent in a loop)
            Attempt.add(key)
            user = WebUser.css_find(login)
            if user and user.css_type:
                WebUser.reset_password([user])
            info = gettext('customer_self_service.msg_portal_reset_sent')
    return _form(request, pool, _msg('forgotten_password'), 'reset-form',
        [('login', _msg('login_label'), 'text', '', 'username')],
        _msg('send_link'), info=info, error=error,
        status=error_status(error),
        links=[(_base(pool) + '/login', _msg('log_in'))])


@app.route(PREFIX + '/request-access', methods=['GET', 'POST'])
@with_pool
@with_transaction()
@_public_form
def request_access(request, pool):
    "Let a customer ask for access; reveals nothing about the match"
    Party = pool.get('party.party')
    Attempt = pool.get('web.user.authenticate.attempt')
    info = error = None
    if request.method == 'POST':
        code = request.form.get('code', '').strip()[:100]
        key = _rate_limited(pool, 'request', code)
        if not key:
            error = _too_many(pool)
        else:
            Attempt.add(key)
            Party.css_request_access(
                code,
                request.form.get('invoice', '').strip()[:100],
                request.form.get('email', '').strip()[:200])
            info = gettext(
                'customer_self_service.msg_portal_request_received')
    return _form(request, pool, _msg('request_access'), 'request-form',
        [('code', _msg('customer_code'), 'text', '', 'off'),
            ('invoice', _msg('invoice_number'), 'text', '', 'off'),
            ('email', _msg('email'), 'email', '', 'email')],
        _msg('request_access'), info=info, error=error,
        status=error_status(error),
        links=[(_base(pool) + '/login', _msg('log_in'))])


# Pages of logged in users


@app.route(PREFIX + '/change-password', methods=['GET', 'POST'])
@with_pool
@with_transaction()
@portal_page(password_check=False)
def change_password(request, pool, user):
    User = pool.get('res.user')
    WebUser = pool.get('web.user')
    error = None
    if request.method == 'POST':
        current = request.form.get('current', '')[:1000]
        password = request.form.get('password', '')[:1000]
        valid, _ = WebUser.check_password(current, user.password_hash)
        if not user.password_hash or not valid:
            error = gettext('customer_self_service.msg_portal_password_wrong')
        elif password != request.form.get('confirm'):
            error = gettext(
                'customer_self_service.msg_portal_password_mismatch')
        elif password == current:
            error = gettext('customer_self_service.msg_portal_password_same')
        elif user.css_is_temporary(password):
            error = gettext(
                'customer_self_service.msg_portal_password_temporary')
        else:
            try:
                User.validate_password(password, [user])
            except UserError as e:
                error = e.message
        if not error:
            with Transaction().set_context(css_self_password=True):
                # Ends every session of the user, this one is renewed
                WebUser.write([user], {'password': password})
            return _logged_in(request, pool, user, '/')
    return _form(request, pool, _msg('change_password_title'),
        'password-form',
        [('current', _msg('current_password'), 'password', '',
                'current-password'),
            ('password', _msg('new_password'), 'password', '', 'new-password'),
            ('confirm', _msg('confirm_password'), 'password', '',
                'new-password')],
        _msg('change_password'), user=user, error=error,
        status=HTTPStatus.BAD_REQUEST if error else HTTPStatus.OK)


@app.route(PREFIX + '/', methods=['GET'])
@with_pool
@with_transaction()
@portal_page()
def dashboard(request, pool, user):
    Account = pool.get('customer.account')
    parties = user.css_parties
    figures = _party_figures(pool, parties) if (
        'portal_dashboard' in user.css_type.capabilities) else {}
    rows = []
    for party in parties:
        row = {'party': party, 'accounts': Account.search(
                [('party', '=', party.id)], order=[('code', 'ASC')])}
        row.update(figures.get(party.id, {}))
        rows.append(row)
    return render(request, pool, 'dashboard.html', _msg('my_account'),
        user=user, rows=rows)


def _party_figures(pool, parties):
    """Return balance, overdue and available credit per party id, as the
    customer status window computes them today"""
    Status = pool.get('customer.status')
    Company = pool.get('company.company')
    Date = pool.get('ir.date')
    Lang = pool.get('ir.lang')
    context = Transaction().context
    if not context.get('company'):
        return {}
    company = Company(context['company'])
    lang = Lang.get()
    today = Date.today()
    # The status window's own definition: its documented extension point
    # (posted receivable lines up to today; overdue when the maturity date,
    # else the move date, is before today)
    raw = {p.id: Status._default_raw() for p in parties}
    for sub in grouped_slice(list(raw), Status._batch_size):
        Status._figures_lines(raw, list(sub), {company.id: 1}, today, today)
    figures = {}
    for party in parties:
        balance, overdue = (company.currency.round(raw[party.id][k])
            for k in ['balance', 'overdue'])
        limit = getattr(party, 'credit_limit_amount', None)
        credit = '—'
        if limit is not None:
            credit = lang.currency(
                limit - party.credit_amount, company.currency, grouping=True)
        figures[party.id] = {
            'balance': lang.currency(
                balance, company.currency, grouping=True),
            'overdue': lang.currency(
                overdue, company.currency, grouping=True),
            'credit': credit,
            }
    return figures


def _invoice_domain(user):
    "The domain of the invoices the portal user may see"
    parties = [p.id for p in user.css_parties]
    return [
        ('type', '=', 'out'),
        ('state', 'in', ['posted', 'paid']),
        ['OR',
            ('party', 'in', parties),
            ('customer_account.party', 'in', parties),
            ],
        ]


def _fmt(pool):
    Lang = pool.get('ir.lang')
    lang = Lang.get()
    return lambda amount, invoice: lang.currency(
        amount, invoice.currency, grouping=True)


def _date(pool):
    "Return the function formatting a date by the language, '' for None"
    lang = pool.get('ir.lang').get()
    return lambda value: lang.strftime(value) if value else ''


@app.route(PREFIX + '/invoices', methods=['GET'])
@with_pool
@with_transaction()
@portal_page('portal_invoices')
def invoices(request, pool, user):
    Invoice = pool.get('account.invoice')
    records = Invoice.search(_invoice_domain(user),
        order=[('invoice_date', 'DESC'), ('id', 'DESC')], limit=200)
    return render(request, pool, 'invoices.html', _msg('invoices'),
        user=user, invoices=records, fmt=_fmt(pool), date=_date(pool),
        due=None,
        pdf='portal_invoice_pdf' in user.css_type.capabilities)


@app.route(PREFIX + '/pending', methods=['GET'])
@with_pool
@with_transaction()
@portal_page('portal_pending')
def pending(request, pool, user):
    Invoice = pool.get('account.invoice')
    records = Invoice.search(_invoice_domain(user) + [
            ('state', '=', 'posted'),
            ], order=[('invoice_date', 'ASC'), ('id', 'ASC')], limit=200)

    def due(invoice):
        dates = [l.maturity_date for l in invoice.lines_to_pay
            if not l.reconciliation and l.maturity_date]
        return min(dates) if dates else None
    return render(request, pool, 'invoices.html', _msg('pending'),
        user=user, invoices=records, fmt=_fmt(pool), date=_date(pool),
        due=due,
        pdf='portal_invoice_pdf' in user.css_type.capabilities)


@app.route(PREFIX + '/invoices/<invoice>/download', methods=['GET'])
@with_pool
# Not read-only: like Tryton's print, the first rendering of the report of an
# issued invoice is stored on the invoice
@with_transaction(readonly=False)
@portal_page('portal_invoice_pdf')
def invoice_download(request, pool, user, invoice):
    "Return the PDF of the invoice report of an invoice of the user, else 404"
    Invoice = pool.get('account.invoice')
    invoice = _parse_id(invoice)
    if invoice is None:
        abort(HTTPStatus.NOT_FOUND)
    records = Invoice.search(
        [('id', '=', invoice)] + _invoice_domain(user), limit=1)
    if not records:
        abort(HTTPStatus.NOT_FOUND)
    invoice, = records
    try:
        filename, content = invoice.get_css_pdf()
    except PDFError as e:
        return render(request, pool, 'message.html', _msg('invoice'),
            user=user, status=HTTPStatus.SERVICE_UNAVAILABLE, error=e.message,
            links=[(_base(pool) + '/invoices', _msg('invoices'))])
    response = Response(content, mimetype='application/pdf')
    response.headers['Content-Disposition'] = (
        f'attachment; filename="{filename}"')
    _secure_headers(response)
    return response


@app.route(PREFIX + '/invoices/<invoice>/einvoice', methods=['GET'])
@with_pool
@with_transaction(readonly=False)
@portal_page('portal_invoice_pdf')
def invoice_edocument(request, pool, user, invoice):
    """Return the e-invoice (UBL, Peppol or Factur-X) of an invoice of the
    user, else 404"""
    Invoice = pool.get('account.invoice')
    invoice = _parse_id(invoice)
    if invoice is None:
        abort(HTTPStatus.NOT_FOUND)
    records = Invoice.search(
        [('id', '=', invoice)] + _invoice_domain(user), limit=1)
    if not records or records[0].get_edocument_format() == 'pdf':
        abort(HTTPStatus.NOT_FOUND)
    invoice, = records
    try:
        filename, content, mimetype = invoice.get_css_edocument()
    except EDocumentError as e:
        return render(request, pool, 'message.html', _msg('invoice'),
            user=user, status=HTTPStatus.SERVICE_UNAVAILABLE, error=e.message,
            links=[(_base(pool) + '/invoices', _msg('invoices'))])
    response = Response(content, mimetype=mimetype)
    response.headers['Content-Disposition'] = (
        f'attachment; filename="{filename}"')
    _secure_headers(response)
    return response


def _project_domain(user):
    "The domain of the projects the portal user may see"
    return [
        ('type', '=', 'project'),
        ('party', 'in', [p.id for p in user.css_parties]),
        ]


@app.route(PREFIX + '/projects', methods=['GET'])
@with_pool
@with_transaction()
@portal_page('portal_projects')
def projects(request, pool, user):
    if not _has_projects(pool):
        abort(HTTPStatus.NOT_FOUND)
    Work = pool.get('project.work')
    works = Work.search(_project_domain(user),
        order=[('name', 'ASC'), ('id', 'ASC')], limit=200)
    lang = pool.get('ir.lang').get()
    return render(request, pool, 'projects.html', _msg('projects'),
        user=user,
        works=[_work_row(lang, w) for w in works],
        units=('portal_service_units' in user.css_type.capabilities
            and _has_service_units(pool)))


def _work_row(lang, work):
    "Return the values shown for a project, formatted by the language"
    effort = getattr(work, 'total_effort', None)
    progress = getattr(work, 'total_progress', None)
    return {
        'id': work.id,
        'name': work.rec_name,
        'status': work.status.rec_name if work.status else '',
        'effort': lang.format_number(effort.total_seconds() / 3600, digits=2)
        if effort else '',
        'progress': lang.format_number(progress * 100, digits=0) + '\u00a0%'
        if progress else '',
        }


# The service units shown at most, the most recent first
UNIT_LIMIT = 500


@app.route(PREFIX + '/service-units', methods=['GET'])
@with_pool
@with_transaction()
@portal_page('portal_service_units')
def service_units(request, pool, user):
    """The service units of the projects of the user, per project; the
    project parameter restricts them to one of its projects, else 404"""
    if not _has_service_units(pool):
        abort(HTTPStatus.NOT_FOUND)
    Work = pool.get('project.work')
    Unit = pool.get('project.service.unit')
    Lang = pool.get('ir.lang')
    domain = _project_domain(user)
    project = request.args.get('project')
    if project is not None:
        project = _parse_id(project)
        if project is None:
            abort(HTTPStatus.NOT_FOUND)
        domain.append(('id', '=', project))
    works = Work.search(domain, order=[('name', 'ASC'), ('id', 'ASC')],
        limit=200)
    if project is not None and not works:
        abort(HTTPStatus.NOT_FOUND)
    units = Unit.search([
            ('project', 'in', [w.id for w in works]),
            ], order=[('date', 'DESC'), ('id', 'DESC')],
        limit=UNIT_LIMIT)
    lang = Lang.get()
    rows = {w.id: [] for w in works}
    # Reading billable_quantity of the instances computes it for all the
    # units in one query (Tryton's read of function fields)
    for unit in units:
        rows[unit.project.id].append({
                'id': unit.id,
                'type': unit.type.rec_name,
                'date': lang.strftime(unit.date),
                'quantity': _quantity(lang, unit.quantity),
                'billable': _quantity(lang, unit.billable_quantity),
                })
    return render(request, pool, 'service_units.html', _msg('service_units'),
        user=user, projects=[(w, rows[w.id]) for w in works],
        truncated=len(units) == UNIT_LIMIT, project=project)


def _quantity(lang, value):
    "Format the quantity with at most 4 decimals, without trailing zeros"
    text = lang.format_number(value or 0, digits=4)
    point = lang.decimal_point
    if point in text:
        text = text.rstrip('0').rstrip(point)
    return text


# The label of each field is the message msg_portal_<name>
DETAIL_FIELDS = [
    ('name', 'text', 'organization'),
    ('email', 'email', 'email'),
    ('phone', 'text', 'tel'),
    ('street', 'text', 'street-address'),
    ('postal_code', 'text', 'postal-code'),
    ('city', 'text', 'address-level2'),
    ('tax_identifier', 'text', 'off'),
    ]


def _party_details(party):
    address = party.addresses[0] if party.addresses else None
    identifier = party.tax_identifier
    return {
        'name': party.name or '',
        'email': party.email or '',
        'phone': party.phone or '',
        'street': (address.street or '') if address else '',
        'postal_code': (address.postal_code or '') if address else '',
        'city': (address.city or '') if address else '',
        'tax_identifier': identifier.code if identifier else '',
        }


@app.route(PREFIX + '/details', methods=['GET', 'POST'])
@with_pool
@with_transaction()
@portal_page('portal_details')
def details(request, pool, user):
    "Propose a modification of the customer details to the staff"
    Request = pool.get('party.change.request')
    Attempt = pool.get('web.user.authenticate.attempt')
    party = user.party
    current = _party_details(party)
    values, info, error = dict(current), None, None
    if request.method == 'POST':
        values = {k: request.form.get(k, '').strip()[:200] for k in current}
        changes = {k: v for k, v in values.items() if v != current[k]}
        key = _rate_limited(pool, 'details', str(user.id))
        error = _check_details(values, changes)
        if not key:
            error = _too_many(pool)
        elif not error:
            try:
                Request.propose_modification(party, changes)
            except UserError as e:
                error = e.message
                Transaction().rollback()
            else:
                # Each request counts: a burst must wait
                Attempt.add(key)
                info = gettext(
                    'customer_self_service.msg_portal_details_sent')
    return _form(request, pool, _msg('my_details'), 'details-form',
        [(n, _msg(n), t, values[n], a) for n, t, a in DETAIL_FIELDS],
        _msg('send_approval'), user=user, info=info, error=error,
        status=error_status(error))


def _check_details(values, changes):
    "Return the error of the details proposed or None"
    if not changes:
        return gettext('customer_self_service.msg_portal_details_empty')
    if not values['name']:
        return gettext('customer_self_service.msg_portal_name_required')
    if 'email' in changes and values['email']:
        try:
            # Syntax only: no DNS lookup from a portal request
            email_validator.validate_email(
                values['email'], check_deliverability=False)
        except email_validator.EmailNotValidError:
            return gettext('customer_self_service.msg_portal_email_invalid',
                email=values['email'])
