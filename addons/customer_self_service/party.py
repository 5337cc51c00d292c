# This file is part of the customer_self_service module.  The COPYRIGHT file
# at the top level of this repository contains the full copyright notices and
# license terms.
import datetime
import logging
import re
from email.message import EmailMessage
from functools import wraps

import email_validator
from sql import Cast, Literal, Null
from sql.operators import Concat

import trytond.config as config
from trytond import backend
from trytond.i18n import gettext
from trytond.model import ModelView, Unique, Workflow, fields
from trytond.modules.party.exceptions import EraseError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction
from trytond.tools.email_ import (
    EmailNotValidError, normalize_email, set_from_header, validate_email)

from .exceptions import (
    EmailError, LoginError, PrimaryAccountError, StatusError)
from .self_service import CSS_STATUSES

logger = logging.getLogger(__name__)

LOGIN_RE = re.compile(r'^[a-z0-9][a-z0-9._@+-]{2,63}$')


def css_check_status(statuses, action):
    """Decorator of a transition: raise StatusError unless every party has
    one of the statuses (Workflow.transition would skip them silently)"""
    def decorator(func):
        @wraps(func)
        def wrapper(cls, parties, *args, **kwargs):
            cls._css_check_status(parties, statuses, action)
            return func(cls, parties, *args, **kwargs)
        return wrapper
    return decorator


class Party(Workflow, metaclass=PoolMeta):
    __name__ = 'party.party'
    _transition_state = 'css_status'

    css_status = fields.Selection(
        CSS_STATUSES, "Self-Service Status", readonly=True, required=True,
        help="Customer Self Service status.")
    css_status_string = css_status.translated('css_status')
    css_login = fields.Char(
        "Self-Service User ID",
        states={
            'readonly': Eval('css_status').in_(
                ['registration_sent', 'registered', 'disabled']),
            },
        help="The login of the portal user.")
    css_login_updated = fields.Timestamp(
        "Self-Service User ID Updated", readonly=True)
    css_type = fields.Many2One(
        'customer.self_service.type', "Self-Service Type", ondelete='RESTRICT',
        states={
            'readonly': Eval('css_status').in_(['registered', 'disabled']),
            })
    css_email = fields.Char(
        "Self-Service Email Address",
        states={
            'readonly': Eval('css_status').in_(
                ['registration_sent', 'registered', 'disabled']),
            })
    css_primary_account = fields.Many2One(
        'customer.account', "Primary Self-Service Account",
        ondelete='RESTRICT',
        domain=[
            ('party', '=', Eval('id', -1)),
            ],
        help="The account the portal user lands on.")
    css_account_comment = fields.Text("Self-Service Account Comment")
    css_status_date = fields.Timestamp(
        "Self-Service Status Last Action Date", readonly=True)
    css_user = fields.Many2One(
        'web.user', "Self-Service Portal User", readonly=True,
        ondelete='RESTRICT')
    css_error = fields.Char(
        "Self-Service Email Error", readonly=True,
        help="The last failure to send an email; "
        "the status is advanced only once the email is sent.")
    css_log = fields.Function(fields.Many2Many(
            'ir.model.log', None, None, "Self-Service History",
            help="The transitions of the self-service status."),
        'get_css_log')
    css_history = fields.One2Many(
        'customer.self_service.history', 'party',
        "Self-Service History Before Log",
        readonly=True,
        states={
            'invisible': ~Eval('css_history'),
            },
        help="The history kept before the status changes were logged.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('css_login_unique', Unique(t, t.css_login),
                'customer_self_service.msg_css_login_unique'),
            ]
        cls._transitions |= {
            ('not_requested', 'requested'),
            ('disabled', 'requested'),
            ('requested', 'registration_sent'),
            ('registration_sent', 'registered'),
            ('requested', 'disabled'),
            ('registration_sent', 'disabled'),
            ('registered', 'disabled'),
            # A merged party gives its portal access to the destination
            # (css_reset, css_take_over)
            ('requested', 'not_requested'),
            ('registration_sent', 'not_requested'),
            ('registered', 'not_requested'),
            ('disabled', 'not_requested'),
            ('not_requested', 'registration_sent'),
            ('not_requested', 'registered'),
            ('not_requested', 'disabled'),
            }
        cls._buttons.update({
                'css_request': {
                    'invisible': ~Eval('css_status').in_(
                        ['not_requested', 'disabled']),
                    'depends': ['css_status'],
                    },
                'css_create_user': {
                    'invisible': Eval('css_status') != 'requested',
                    'depends': ['css_status'],
                    },
                'css_retry_email': {
                    'invisible': ~Eval('css_error'),
                    'depends': ['css_error'],
                    },
                'css_disable': {
                    'invisible': Eval('css_status').in_(
                        ['not_requested', 'disabled']),
                    'depends': ['css_status'],
                    },
                })

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        cls._upgrade_css_history()

    @classmethod
    def _upgrade_css_history(cls):
        """Copy the status changes of the former history into the model log
        once (the history itself is kept with its comments and emails)"""
        pool = Pool()
        History = pool.get('customer.self_service.history')
        Log = pool.get('ir.model.log')
        cursor = Transaction().connection.cursor()
        if not backend.TableHandler.table_exist(History._table):
            return
        history = History.__table__()
        log = Log.__table__()
        resource = Concat(cls.__name__ + ',', Cast(history.party, 'VARCHAR'))
        target = Concat('css_status:', history.to_status)
        cursor.execute(*log.select(log.id,
                where=log.target.like('css_status:%')
                & log.resource.like(cls.__name__ + ',%'),
                limit=1))
        if cursor.fetchone():
            return
        cursor.execute(*log.insert(
                [log.create_date, log.create_uid, log.resource, log.event,
                    log.target, log.user],
                history.select(
                    history.date, history.user, resource,
                    Literal('transition'), target, history.user,
                    where=(history.from_status == Null)
                    | (history.from_status != history.to_status))))

    @classmethod
    def default_css_status(cls):
        return 'not_requested'

    @classmethod
    def get_css_log(cls, parties, name):
        pool = Pool()
        Log = pool.get('ir.model.log')
        logs = {p.id: [] for p in parties}
        for log in Log.search([
                    ('resource', 'in', [str(p) for p in parties]),
                    ('event', '=', 'transition'),
                    ('target', 'like', 'css_status:%'),
                    ], order=[('create_date', 'DESC'), ('id', 'DESC')]):
            logs[log.resource.id].append(log.id)
        return logs

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if values.get('css_login'):
            values['css_login'] = values['css_login'].strip().lower()
        if values.get('css_email'):
            values['css_email'] = normalize_email(
                values['css_email'].strip()).lower()
        if 'css_login' in values:
            values['css_login_updated'] = datetime.datetime.now()
        return values

    @classmethod
    def validate_fields(cls, parties, field_names):
        super().validate_fields(parties, field_names)
        cls.check_css_login(parties, field_names)
        cls.check_css_email(parties, field_names)
        cls.check_css_primary_account(parties, field_names)

    @classmethod
    def check_css_login(cls, parties, field_names=None):
        if field_names and 'css_login' not in field_names:
            return
        for party in parties:
            if party.css_login and not LOGIN_RE.match(party.css_login):
                raise LoginError(gettext(
                        'customer_self_service.msg_css_login_invalid',
                        login=party.css_login, party=party.rec_name))

    @classmethod
    def check_css_email(cls, parties, field_names=None):
        if field_names and 'css_email' not in field_names:
            return
        for party in parties:
            if party.css_email:
                try:
                    validate_email(party.css_email)
                except EmailNotValidError as e:
                    raise EmailError(gettext(
                            'customer_self_service.msg_css_email_invalid',
                            email=party.css_email,
                            party=party.rec_name)) from e

    @classmethod
    def check_css_primary_account(cls, parties, field_names=None):
        if field_names and 'css_primary_account' not in field_names:
            return
        for party in parties:
            account = party.css_primary_account
            if account and account.party != party:
                raise PrimaryAccountError(gettext(
                        'customer_self_service.msg_css_primary_account_party',
                        account=account.rec_name, party=party.rec_name))

    @classmethod
    def copy(cls, parties, default=None):
        default = default.copy() if default is not None else {}
        for fname in [
                'css_login', 'css_login_updated', 'css_user', 'css_error',
                'css_status_date', 'css_primary_account', 'css_history']:
            default.setdefault(fname, None)
        default.setdefault('css_status', 'not_requested')
        return super().copy(parties, default=default)

    @classmethod
    def _css_stamp(cls, parties):
        "Write the date of the status change of the parties"
        cls.write(list(parties), {
                'css_status_date': datetime.datetime.now(),
                'css_error': None,
                })

    @classmethod
    def _css_check_status(cls, parties, statuses, action):
        for party in parties:
            if party.css_status not in statuses:
                raise StatusError(gettext(
                        'customer_self_service.msg_css_status_wrong',
                        party=party.rec_name, action=action,
                        status=party.css_status_string))

    @classmethod
    @ModelView.button
    @css_check_status({'not_requested', 'disabled'}, 'request')
    @Workflow.transition('requested')
    def css_request(cls, parties):
        cls._css_stamp(parties)

    @classmethod
    @ModelView.button
    def css_create_user(cls, parties):
        "Create (or update) the portal user and queue the emails"
        pool = Pool()
        WebUser = pool.get('web.user')
        cls._css_check_status(parties, {'requested'}, 'create user')
        for party in parties:
            party._css_check_registration()
        to_create, to_write = [], []
        for party in parties:
            values = party._css_user_values()
            if party.css_user:
                to_write.extend(([party.css_user], values))
            else:
                to_create.append(values)
        if to_write:
            WebUser.write(*to_write)
        users = iter(WebUser.create(to_create))
        to_link = []
        for party in parties:
            values = {}
            if not party.css_user:
                values['css_user'] = next(users).id
            if not party.css_primary_account:
                account = party._css_default_account()
                if account:
                    values['css_primary_account'] = account.id
            if values:
                to_link.extend(([party], values))
        if to_link:
            cls.write(*to_link)
        cls.__queue__.css_send_emails(parties)

    def _css_default_account(self):
        "Return the customer account to set as primary or None"
        pool = Pool()
        CustomerAccount = pool.get('customer.account')
        return CustomerAccount.get_default(self)

    def _css_check_registration(self):
        pool = Pool()
        WebUser = pool.get('web.user')
        if not self.css_login:
            raise LoginError(gettext(
                    'customer_self_service.msg_css_login_required',
                    party=self.rec_name))
        if not self.css_email:
            raise EmailError(gettext(
                    'customer_self_service.msg_css_email_required',
                    party=self.rec_name))
        if not self.css_type:
            raise StatusError(gettext(
                    'customer_self_service.msg_css_type_required',
                    party=self.rec_name))
        mine = [self.css_user.id] if self.css_user else []
        domain = [('id', 'not in', mine), ['OR',
                ('login', '=', self.css_login),
                ('email', '=', self.css_email),
                ]]
        if WebUser.search(domain, limit=1):
            raise LoginError(gettext(
                    'customer_self_service.msg_css_login_taken',
                    login=self.css_login, email=self.css_email,
                    party=self.rec_name))

    def _css_user_values(self):
        "Return the values of the portal user (web.user) of the customer"
        return {
            'login': self.css_login,
            'email': self.css_email,
            'party': self.id,
            'css_type': self.css_type.id,
            'css_password_change': True,
            'active': True,
            }

    @classmethod
    def css_send_emails(cls, parties):
        """Queued: send the pending email of each customer and advance its
        status only when the email is sent"""
        parties = [p for p in parties if p.css_user
            and p.css_status in {'requested', 'registration_sent'}]
        for status, next_status in [
                ('requested', 'registration_sent'),
                ('registration_sent', 'registered')]:
            todo = [p for p in parties if p.css_status == status]
            sent, failed, deliveries = [], [], {}
            for party in todo:
                try:
                    deliveries[party] = party._css_send_email(status)
                except Exception as exception:
                    failed.append(party)
                    party.css_error = party._css_error_message(exception)
                    continue
                if deliveries[party].state == 'sent':
                    sent.append(party)
                else:
                    failed.append(party)
                    party.css_error = gettext(
                        'customer_self_service.msg_css_email_failed',
                        error=deliveries[party].error)
            cls.save(failed)
            if next_status == 'registration_sent':
                cls.css_registration_sent(sent)
            else:
                cls.css_register(sent)
            parties = [p for p in parties if p not in failed]

    @classmethod
    @Workflow.transition('registration_sent')
    def css_registration_sent(cls, parties):
        "The credentials email of the parties is sent"
        cls._css_stamp(parties)

    @classmethod
    @Workflow.transition('registered')
    def css_register(cls, parties):
        "The welcome email of the parties is sent"
        cls._css_stamp(parties)

    def _css_error_message(self, exception):
        logger.warning(
            "customer self-service email to party %s failed: %s",
            self.id, exception.__class__.__name__)
        return gettext(
            'customer_self_service.msg_css_email_failed',
            error=str(exception)[:200])

    def _css_send_email(self, status):
        """Send the email of the self-service type due at the status through an
        email delivery with one attempt and return the delivery (the
        retry makes a new token)"""
        pool = Pool()
        Delivery = pool.get('customer.email.delivery')
        Type = pool.get('customer.self_service.type')
        WebUser = pool.get('web.user')
        user = WebUser(self.css_user.id)
        if status == 'requested':
            user.set_reset_password_token()
            user.save()
            template = self.css_type.credentials_template
            extra = {
                'login': user.login,
                'set_password_url': user.get_email_reset_password_url(),
                # In whole minutes: formatted without seconds
                'expire_delay': datetime.timedelta(minutes=round((
                            user.reset_password_token_expire
                            - datetime.datetime.now()).total_seconds() / 60)),
                }
        else:
            template = self.css_type.welcome_template
            extra = {'login': user.login}
        subject, body = Type.render(template, user, **extra)
        msg = EmailMessage()
        msg.set_content(body)
        from_ = config.get('email', 'from')
        set_from_header(msg, from_, from_)
        msg['To'] = user.email
        msg['Subject'] = subject
        delivery, = Delivery.create_message(msg, self, max_attempts=1)
        Delivery.send([delivery])
        return Delivery(delivery.id)

    @classmethod
    @ModelView.button
    def css_retry_email(cls, parties):
        cls._css_check_status(
            parties, {'requested', 'registration_sent'}, 'retry')
        cls.write(list(parties), {'css_error': None})
        cls.__queue__.css_send_emails(parties)

    @classmethod
    @ModelView.button
    @css_check_status(
        {'requested', 'registration_sent', 'registered'}, 'disable')
    @Workflow.transition('disabled')
    def css_disable(cls, parties):
        pool = Pool()
        WebUser = pool.get('web.user')
        Session = pool.get('web.user.session')
        users = [p.css_user for p in parties if p.css_user]
        Session.delete(Session.search([('user', 'in', users)]))
        WebUser.write(users, {'active': False})
        cls._css_stamp(parties)

    @classmethod
    @Workflow.transition('not_requested')
    def css_reset(cls, parties):
        "The parties give their portal access to another party (merge)"

    @classmethod
    def css_take_over(cls, parties, status):
        """The parties, reset to not requested, take over a portal access
        of the status (merge): a declared transition from not requested"""
        cls.css_reset(parties)
        transition = {
            'requested': cls.css_request,
            'registration_sent': cls.css_registration_sent,
            'registered': cls.css_register,
            'disabled': cls._css_take_over_disabled,
            }.get(status)
        if transition:
            transition(parties)

    @classmethod
    @Workflow.transition('disabled')
    def _css_take_over_disabled(cls, parties):
        "The parties take over a disabled portal access (merge)"

    @classmethod
    def css_request_access(cls, code, invoice_number, email):
        """Set the customer matching the code, the number of one of its
        invoices and an email address already on file as requested.
        Never write a contact address; return nothing to not reveal whether
        it matched."""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        if not code or not invoice_number:
            return
        # Syntax only: an anonymous form must not trigger DNS lookups
        try:
            email = email_validator.validate_email(
                email, check_deliverability=False).normalized.lower()
        except email_validator.EmailNotValidError:
            return
        invoices = Invoice.search([
                ('type', '=', 'out'),
                ('number', '=', invoice_number),
                ('state', 'in', ['posted', 'paid']),
                ('party.code', '=', code),
                ('party.css_status', '=', 'not_requested'),
                ], limit=1)
        for invoice in invoices:
            party = invoice.party
            if email not in party._css_emails_on_file():
                continue
            values = {}
            if not party.css_email:
                # An address the customer already gave to the staff
                values['css_email'] = email
            if values:
                cls.write([party], values)
            cls.css_request([party])

    def _css_emails_on_file(self):
        "Return the lower-case email addresses already on file"
        emails = {m.value for m in self.contact_mechanisms
            if m.type == 'email' and m.value}
        if self.css_email:
            emails = {self.css_email}
        return {normalize_email(e).lower() for e in emails}


class CustomerAccount(metaclass=PoolMeta):
    __name__ = 'customer.account'

    css_status = fields.Function(fields.Selection(
            CSS_STATUSES, "Self-Service Status"), 'get_css')
    css_primary = fields.Function(fields.Boolean(
            "Primary Self-Service Account"), 'get_css')
    css_user = fields.Function(fields.Many2One(
            'web.user', "Self-Service Portal User"), 'get_css')

    @classmethod
    def get_css(cls, accounts, names):
        result = {n: {} for n in names}
        for account in accounts:
            party = account.party
            values = {
                'css_status': party.css_status,
                'css_primary': party.css_primary_account == account,
                'css_user': party.css_user.id if party.css_user else None,
                }
            for name in names:
                result[name][account.id] = values[name]
        return result


class Replace(metaclass=PoolMeta):
    __name__ = 'party.replace'

    _css_fields = [
        'css_login', 'css_login_updated', 'css_type', 'css_email',
        'css_status_date', 'css_error', 'css_user', 'css_primary_account']

    @classmethod
    def fields_to_replace(cls):
        return super().fields_to_replace() + [
            ('customer.self_service.history', 'party'),
            ]

    def transition_replace(self):
        pool = Pool()
        Party = pool.get('party.party')
        state = super().transition_replace()
        source, destination = self.ask.source, self.ask.destination
        if not source.css_user:
            return state
        if destination.css_user:
            # web_user moved the source's portal user to the destination:
            # the destination keeps its own portal access only
            Party.css_disable([source])
        else:
            values = {f: getattr(source, f) for f in self._css_fields}
            values = {f: v.id if hasattr(v, 'id') else v
                for f, v in values.items()}
            status = source.css_status
            Party.css_reset([source])
            Party.write([source], {f: None for f in self._css_fields})
            Party.css_take_over([destination], status)
            Party.write([destination], values)
        return state


class Erase(metaclass=PoolMeta):
    __name__ = 'party.erase'

    def check_erase(self, party):
        super().check_erase(party)
        if party.css_status in {
                'requested', 'registration_sent', 'registered'}:
            raise EraseError(gettext(
                    'customer_self_service.msg_erase_party_portal_access',
                    party=party.rec_name))

    def to_erase(self, party_id):
        pool = Pool()
        Party = pool.get('party.party')
        History = pool.get('customer.self_service.history')
        return super().to_erase(party_id) + [
            (Party, [('id', '=', party_id)], False,
                ['css_login', 'css_email', 'css_error'], [None] * 3),
            (History, [('party', '=', party_id)], False,
                ['comment'], [None]),
            ]
