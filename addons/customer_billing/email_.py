# This file is part of the customer_billing module.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and license
# terms.
import datetime as dt
import email
import email.policy
import email.utils
import logging
import smtplib
from collections import defaultdict
from email.utils import getaddresses

import trytond.config as config
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Workflow, fields
from trytond.model.exceptions import AccessError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.sendmail import send_message
from trytond.transaction import Transaction, without_check_access

from .exceptions import EDocumentError

logger = logging.getLogger(__name__)

DELIVERY_STATES = [
    ('queued', "Queued"),
    ('sent', "Sent"),
    ('failed', "Failed"),
    ]


def delivery_state(deliveries):
    """Return the state of a group of deliveries: failed when one failed,
    queued while one is queued, sent when all are sent, else None"""
    states = {d.state for d in deliveries}
    for state in ['failed', 'queued', 'sent']:
        if state in states:
            return state


class Email(metaclass=PoolMeta):
    __name__ = 'ir.email'

    customer_message = fields.Binary("Message", readonly=True,
        help="The message as sent, kept to send it again.")
    customer_deliveries = fields.One2Many(
        'customer.email.delivery', 'email', "Deliveries", readonly=True)

    @classmethod
    def copy(cls, emails, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('customer_deliveries')
        return super().copy(emails, default=default)


class EmailDelivery(Workflow, ModelSQL, ModelView):
    __name__ = 'customer.email.delivery'

    email = fields.Many2One(
        'ir.email', "Email", required=True, readonly=True,
        ondelete='CASCADE')
    address = fields.Char("Address", required=True, readonly=True)
    resource = fields.Function(fields.Reference(
            "Resource", selection='get_resources'),
        'get_email_field', searcher='search_email_field')
    subject = fields.Function(
        fields.Char("Subject"),
        'get_email_field', searcher='search_email_field')
    state = fields.Selection(
        DELIVERY_STATES, "State", readonly=True, required=True, sort=False)
    attempts = fields.Integer("Attempts", readonly=True)
    max_attempts = fields.Integer(
        "Maximum Attempts", readonly=True, required=True,
        help="The attempts made before the delivery fails for good.")
    next_attempt = fields.DateTime(
        "Next Attempt", readonly=True,
        states={
            'invisible': Eval('state') != 'queued',
            })
    sent_at = fields.DateTime(
        "Sent At", readonly=True,
        states={
            'invisible': Eval('state') != 'sent',
            })
    error = fields.Text(
        "Error", readonly=True,
        states={
            'invisible': ~Eval('error'),
            },
        help="The answer of the mail server to the last attempt.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls.__access__.add('email')
        cls._sql_indexes.update({
                Index(t, (t.email, Index.Range())),
                Index(t,
                    (t.state, Index.Equality(cardinality='low')),
                    (t.next_attempt, Index.Range()),
                    where=t.state == 'queued'),
                })
        cls._order = [('create_date', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('queued', 'sent'),
            ('queued', 'failed'),
            ('failed', 'queued'),
            }
        cls._buttons.update({
                'retry': {
                    'invisible': Eval('state') != 'failed',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'queued'

    @classmethod
    def default_attempts(cls):
        return 0

    @classmethod
    def default_max_attempts(cls):
        return config.getint('customer_billing', 'email_attempts', default=5)

    @classmethod
    def get_resources(cls):
        pool = Pool()
        Email = pool.get('ir.email')
        return Email.get_models()

    @classmethod
    def get_email_field(cls, deliveries, names):
        result = {n: {} for n in names}
        for delivery in deliveries:
            for name in names:
                value = getattr(delivery.email, name)
                if name == 'resource' and value:
                    value = str(value)
                result[name][delivery.id] = value
        return result

    @classmethod
    def search_email_field(cls, name, clause):
        return [('email.' + clause[0], *clause[1:])]

    def get_rec_name(self, name):
        return '%s: %s' % (self.address, self.email.subject or '')

    @classmethod
    def create(cls, vlist):
        # a delivery is made by the server (queue_message), never by a client
        # (ir.email's access, which reads follow, lets any user create)
        if Transaction().check_access:
            raise AccessError(gettext(
                    'ir.msg_access_rule_error', **cls.__names__()))
        return super().create(vlist)

    @classmethod
    def queue_message(cls, message, resource, max_attempts=None):
        """Store the message as an email of the resource with one queued
        delivery per recipient, sent by a queue task after commit;
        return the deliveries"""
        deliveries = cls.create_message(message, resource, max_attempts)
        if deliveries:
            cls.__queue__.send(deliveries)
        return deliveries

    @classmethod
    def create_message(cls, message, resource, max_attempts=None):
        "Store the message with a queued delivery per recipient"
        pool = Pool()
        Email = pool.get('ir.email')
        if not message['Message-ID']:
            message['Message-ID'] = email.utils.make_msgid()
        if 'Date' not in message:
            message['Date'] = email.utils.formatdate()
        addresses = [a for _, a in getaddresses(filter(None, (
                        message['To'], message['Cc'], message['Bcc'])))
            if a]
        record = Email.from_message(
            message, resource=resource, body=cls._get_body(message),
            customer_message=message.as_bytes())
        values = {}
        if max_attempts is not None:
            values['max_attempts'] = max_attempts
        record.customer_deliveries = [
            cls(address=a, **values) for a in addresses]
        with without_check_access():
            record.save()
        return list(record.customer_deliveries)

    @classmethod
    def record_failure(cls, resource, address, subject, error):
        """Store an email of the resource that was not sent because its
        document was refused, with a failed delivery showing the error;
        its retry asks resource.redeliver_document for the message"""
        pool = Pool()
        Email = pool.get('ir.email')
        record = Email(
            resource=resource, recipients=address, subject=subject,
            customer_deliveries=[cls(
                    address=address, state='failed', error=error)])
        with without_check_access():
            record.save()
        return list(record.customer_deliveries)

    @staticmethod
    def _get_body(message):
        "Return the text body of the message or None"
        part = message.get_body(preferencelist=('plain', 'html'))
        return part.get_content() if part else None

    @classmethod
    def send(cls, deliveries):
        """Queued: send each queued delivery that is due and record the
        outcome"""
        now = dt.datetime.now()
        cls.lock(deliveries)
        deliveries = [d for d in cls.browse([d.id for d in deliveries])
            if d.state == 'queued'
            and (not d.next_attempt or d.next_attempt <= now)]
        sent, failed, retried = [], [], []
        for delivery in deliveries:
            delivery.attempts = (delivery.attempts or 0) + 1
            try:
                delivery._send()
            except EDocumentError as exception:
                # a refused document fails at once: the clerk must fix it
                delivery.error = exception.message
                failed.append(delivery)
            except (smtplib.SMTPException, OSError) as exception:
                logger.info(
                    "email delivery %s failed: %s", delivery.id, exception)
                delivery.error = cls._error_text(exception)
                if delivery.attempts >= delivery.max_attempts:
                    failed.append(delivery)
                else:
                    delivery.next_attempt = now + cls._get_backoff(
                        delivery.attempts)
                    retried.append(delivery)
            else:
                delivery.error = None
                delivery.sent_at = now
                sent.append(delivery)
        cls.save(deliveries)
        cls.succeed(sent)
        cls.fail(failed)
        cls._schedule(retried)
        cls._notify(sent + failed + retried)

    def _send(self):
        "Send the stored message to the address; raise on failure"
        message = self._get_message()
        if message is not None:
            send_message(message, to_addrs=[self.address], strict=True)

    def _get_message(self):
        """Return the message to send or None when the resource delivered
        its document itself (a delivery recorded by record_failure)"""
        if not self.email.customer_message:
            return self.email.resource.redeliver_document(self)
        return email.message_from_bytes(
            self.email.customer_message, policy=email.policy.default)

    @staticmethod
    def _error_text(exception):
        "Return the text of the SMTP or network error"
        if isinstance(exception, smtplib.SMTPResponseException):
            error = exception.smtp_error
            if isinstance(error, bytes):
                error = error.decode('utf-8', 'replace')
            return '%s %s' % (exception.smtp_code, error)
        if isinstance(exception, smtplib.SMTPRecipientsRefused):
            return '; '.join('%s: %s %s' % (
                        a, c, e.decode('utf-8', 'replace')
                        if isinstance(e, bytes) else e)
                for a, (c, e) in exception.recipients.items())
        return str(exception) or exception.__class__.__name__

    @staticmethod
    def _get_backoff(attempts):
        "Return the delay before the attempt after the attempts made"
        delay = config.getint(
            'customer_billing', 'email_retry_delay', default=300)
        return dt.timedelta(seconds=delay * 2 ** (attempts - 1))

    @classmethod
    def _schedule(cls, deliveries):
        """Queue the next attempt of the deliveries at their next attempt
        (the send_due cron sends them when no worker runs the queue)"""
        if not config.getboolean('queue', 'worker', default=False):
            return
        transaction = Transaction()
        now = dt.datetime.now()
        by_date = defaultdict(list)
        for delivery in deliveries:
            by_date[delivery.next_attempt].append(delivery)
        for date, records in by_date.items():
            with transaction.set_context(
                    queue_scheduled_at=max(date - now, dt.timedelta())):
                cls.__queue__.send(records)

    @classmethod
    def send_due(cls):
        "Cron: send the queued deliveries whose next attempt is due"
        deliveries = cls.search([
                ('state', '=', 'queued'),
                ['OR',
                    ('next_attempt', '=', None),
                    ('next_attempt', '<=', dt.datetime.now()),
                    ],
                ], order=[('id', 'ASC')])
        if deliveries:
            cls.send(deliveries)

    @classmethod
    def _notify(cls, deliveries):
        """Call the email_delivery_changed method of the models of the
        resources with the deliveries whose state changed"""
        pool = Pool()
        by_model = defaultdict(list)
        for delivery in deliveries:
            if delivery.email.resource:
                by_model[delivery.email.resource.__name__].append(delivery)
        for name, records in by_model.items():
            Model = pool.get(name)
            if hasattr(Model, 'email_delivery_changed'):
                Model.email_delivery_changed(records)

    @classmethod
    @Workflow.transition('sent')
    def succeed(cls, deliveries):
        pass

    @classmethod
    @Workflow.transition('failed')
    def fail(cls, deliveries):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('queued')
    def retry(cls, deliveries):
        "Queue the failed deliveries for a new round of attempts"
        cls.write(list(deliveries), {
                'attempts': 0,
                'next_attempt': None,
                })
        cls.__queue__.send(deliveries)


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('customer.email.delivery|send_due',
                "Send Due Email Deliveries"))


def latest_deliveries(resources):
    """Return the deliveries of the latest email of each resource by
    resource"""
    pool = Pool()
    Delivery = pool.get('customer.email.delivery')
    result = defaultdict(list)
    if not resources:
        return result
    latest = {}
    for delivery in Delivery.search([
                ('email.resource', 'in', [str(r) for r in resources]),
                ], order=[('email', 'DESC'), ('id', 'ASC')]):
        resource = delivery.email.resource
        if latest.setdefault(resource, delivery.email) == delivery.email:
            result[resource].append(delivery)
    return result
