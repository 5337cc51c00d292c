# This file is part of the customer_self_service module.  The COPYRIGHT file
# at the top level of this repository contains the full copyright notices and
# license terms.
import datetime
import hashlib
import hmac
import urllib.parse
import weakref
from secrets import token_hex

from sql import Literal
from sql.aggregate import Count, Max
from sql.operators import Equal

import trytond.config as config
from trytond.exceptions import RateLimitException
from trytond.model import Exclude, Index, ModelSQL, ModelView, fields
from trytond.modules.web_user.user import _add_params
from trytond.pool import Pool, PoolMeta
from trytond.res.user import PASSWORD_HASH
from trytond.tools.email_ import set_from_header
from trytond.transaction import Transaction
from trytond.url import HOSTNAME

# The clear reset tokens generated in a transaction: only the hash is stored
_clear_tokens = weakref.WeakKeyDictionary()


def hash_token(token):
    "Return the digest stored in place of the reset password token"
    return hashlib.sha256(token.encode('utf-8')).hexdigest()


def portal_url(path=''):
    """Return the absolute URL of the portal page at path, built only from
    the configuration (never from the Host header of the request)"""
    base = config.get('customer_self_service', 'portal_url')
    if not base:
        database = Transaction().database.name
        base = urllib.parse.urlunsplit((
                'https' if _ssl() else 'http', HOSTNAME,
                f'/{urllib.parse.quote(database)}/customer_portal', '', ''))
    return base.rstrip('/') + '/' + path.lstrip('/')


def _ssl():
    return bool(config.get('ssl', 'certificate')
        or config.get('ssl', 'privatekey'))


_dummy_hash = []


def dummy_hash():
    "Return the hash verified in place of an unknown user's, for timing"
    if not _dummy_hash:
        _dummy_hash.append(PASSWORD_HASH.hash(token_hex(16)))
    return _dummy_hash[0]


def backoff(failures, last, free, now=None):
    """Return the seconds to wait after the failures, the last at last:
    free failures, then 2, 4, 8 ... seconds up to
    [customer_self_service] max_backoff (default 300)"""
    if failures < free or not last:
        return 0
    cap = config.getint('customer_self_service', 'max_backoff', default=300)
    wait = min(2 ** min(failures - free + 1, 30), cap)
    now = now or datetime.datetime.now()
    return max(0, (last + datetime.timedelta(seconds=wait) - now
            ).total_seconds())


class User(metaclass=PoolMeta):
    __name__ = 'web.user'

    login = fields.Char(
        "Login", strip=True,
        help="The self-service user id; the portal accepts it in place of "
        "the email.")
    css_type = fields.Many2One(
        'customer.self_service.type', "Self-Service Type", ondelete='RESTRICT')
    css_password_change = fields.Boolean(
        "Password Change Required",
        help="Ask for a new password at the next portal login.")
    css_temporary_hash = fields.Char(
        "Temporary Password Hash", readonly=True, strip=False,
        help="The hash of the last password set by the staff: "
        "the customer may not choose it again.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('login_exclude',
                Exclude(t, (t.login, Equal),
                    where=t.active == Literal(True)),
                'customer_self_service.msg_css_login_unique'),
            ]

    @classmethod
    def default_css_password_change(cls):
        return False

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if values.get('login'):
            values['login'] = values['login'].strip().lower()
        return values

    @classmethod
    def copy(cls, users, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('login', None)
        default.setdefault('css_temporary_hash', None)
        return super().copy(users, default=default)

    @classmethod
    def on_modification(cls, mode, users, field_names=None):
        super().on_modification(mode, users, field_names=field_names)
        if mode == 'write' and field_names and (
                field_names & {'password_hash', 'active', 'email'}):
            cls.css_revoke_sessions(users)

    @classmethod
    def css_revoke_sessions(cls, users):
        "End every portal session of the users"
        pool = Pool()
        Session = pool.get('web.user.session')
        Session.delete(Session.search([('user', 'in', [u.id for u in users])]))

    @property
    def css_parties(self):
        "The parties the portal user may see"
        parties = [self.party] if self.party else []
        parties.extend(p for p in self.secondary_parties if p not in parties)
        return parties

    @classmethod
    def css_find(cls, login):
        "Return the active portal user of the login or email or None"
        login = (login or '').strip().lower()
        if not login:
            return None
        users = cls.search(['OR',
                ('login', '=', login),
                ('email', '=', login),
                ], limit=1)
        return users[0] if users else None

    @classmethod
    def check_password(cls, password, hash_):
        # A portal user created by Create User Record has no password until
        # it follows the link of its email: refuse instead of failing on the
        # missing hash (TypeError of the hasher)
        if not hash_:
            return False, None
        return super().check_password(password, hash_)

    @classmethod
    def css_authenticate(cls, login, password, device_cookie=None):
        """Return the portal user of the login or email and password or None.
        Raise RateLimitException while the login or the client network must
        wait; unknown logins take the same work (a dummy hash is verified).
        The failures of the login count per device: a valid device_cookie
        of the login (see web.user.device) is not slowed by the failures
        that came without it"""
        pool = Pool()
        Attempt = pool.get('web.user.authenticate.attempt')
        Device = pool.get('web.user.device')
        user = cls.css_find(login)
        if user and not user.css_type:
            user = None
        key = cls.css_attempt_key('login', user.email if user else login)
        device_cookie = Device.get_valid_cookie(key, device_cookie)
        cls.css_check_rate(key, device_cookie)
        hash_ = user.password_hash if user and user.password_hash else None
        valid, new_hash = super().check_password(
            password or '', hash_ or dummy_hash())
        if user and hash_ and valid:
            if new_hash:
                cls.write([user], {'password_hash': new_hash})
            Attempt.remove(key, device_cookie)
            return user
        Attempt.add(key, device_cookie)

    def css_renew_device(self, cookie):
        "Return a new device cookie of the user replacing cookie"
        Device = Pool().get('web.user.device')
        return Device.renew(
            self.css_attempt_key('login', self.email), cookie)

    @staticmethod
    def css_attempt_key(kind, login):
        "Return the key of the attempts of the kind for the login"
        return f'css-{kind}:' + (login or '').strip().lower()[:200]

    @classmethod
    def css_check_rate(cls, key, device_cookie=None):
        """Raise RateLimitException while the failures of the key (from the
        device) or of the client network ask to wait"""
        pool = Pool()
        Attempt = pool.get('web.user.authenticate.attempt')
        table = Attempt.__table__()
        cursor = Transaction().connection.cursor()
        _, network = Transaction().remote_address()
        network = str(network) if network else None
        since = Attempt.delay()
        checks = [
            ((table.login == key[:Attempt.login.size])
                & (table.device_cookie == device_cookie),
                config.getint('session', 'max_attempt', default=5)),
            (table.ip_network == network, config.getint(
                    'session', 'max_attempt_ip_network', default=300)),
            ]
        for where, free in checks:
            cursor.execute(*table.select(
                    Count(), Max(table.create_date),
                    where=where & (table.create_date >= since)))
            failures, last = cursor.fetchone()
            if isinstance(last, str):
                last = datetime.datetime.fromisoformat(last)
            if backoff(failures, last, free):
                raise RateLimitException()

    @classmethod
    def css_token_user(cls, email, token):
        "Return the user of the email whose reset token is valid or None"
        email, token = (email or '').strip().lower(), token or ''
        users = cls.search([('email', '=', email)], limit=1) if email else []
        digest = hash_token(token)
        for user in users:
            expire = user.reset_password_token_expire
            if (token and user.reset_password_token
                    and hmac.compare_digest(
                        user.reset_password_token, digest)
                    and expire and expire > datetime.datetime.now()):
                return user

    def css_is_temporary(self, password):
        "Whether the password is the last one the staff set"
        if not self.css_temporary_hash:
            return False
        return super().check_password(password, self.css_temporary_hash)[0]

    # Reset tokens: only their digest is stored, the clear value lives in the
    # transaction that generated it (to build the email link)

    @classmethod
    @ModelView.button
    def reset_password(cls, users, from_=None):
        """Reset the passwords as stock does, the emails queued as email
        deliveries (retried, and listed when they fail)"""
        pool = Pool()
        Delivery = pool.get('customer.email.delivery')
        now = datetime.datetime.now()
        # Prevent abusive reset
        users = [u for u in users if not (u.reset_password_token_expire
                and u.reset_password_token_expire > now)]
        for user in users:
            user.set_reset_password_token()
        cls.save(users)
        from_cfg = config.get('email', 'from')
        for user in users:
            msg, title = user.get_email_reset_password()
            set_from_header(msg, from_cfg, from_ or from_cfg)
            msg['To'] = user.email
            msg['Subject'] = title
            Delivery.queue_message(msg, user.party or user)

    def set_reset_password_token(self, nbytes=None):
        super().set_reset_password_token(nbytes=nbytes)
        clear = self.reset_password_token
        _clear_tokens.setdefault(Transaction(), {})[self.id] = clear
        self.reset_password_token = hash_token(clear)

    def get_email_reset_password_url(self, url=None):
        clear = _clear_tokens.get(Transaction(), {}).get(self.id)
        if clear is None:
            return ''
        if url is None and self.css_type:
            # In the fragment: browsers never send it, so the token never
            # reaches an access log; the page posts it with the form
            return portal_url('set-password') + '#' + urllib.parse.urlencode(
                [('email', self.email), ('token', clear)])
        if url is None:
            url = config.get('web', 'reset_password_url')
        if url is None:
            return ''
        return _add_params(url, token=clear, email=self.email)

    @classmethod
    def set_password_token(cls, email, token, password):
        if not email or not token:
            return False
        with Transaction().set_context(css_self_password=True):
            return super().set_password_token(
                email, hash_token(token), password)

    @classmethod
    def set_password(cls, users, name, value):
        super().set_password(users, name, value)
        if value and value != 'x' * 10:
            change = not Transaction().context.get('css_self_password')
            values = {'css_password_change': change}
            to_write = [list(users), values]
            if change:
                # Remember what the staff gave to refuse it as a choice
                to_write = []
                for user in users:
                    to_write.extend(([user], dict(values,
                                css_temporary_hash=cls(
                                    user.id).password_hash)))
            cls.write(*to_write)


class UserDevice(ModelSQL):
    "Portal User Device"
    # A browser where a portal user logged in (Tryton's res.user.device for
    # the portal): the failed logins that came without its cookie do not
    # slow the logins that come with it
    __name__ = 'web.user.device'

    login = fields.Char("Login", required=True)
    cookie = fields.Char("Cookie", readonly=True, required=True, strip=False)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t, (t.login, Index.Equality()),
                (t.cookie, Index.Equality())))

    @classmethod
    def get_valid_cookie(cls, login, cookie):
        "Return cookie if it is a device cookie of login, else None"
        if not cookie or not isinstance(cookie, str):
            return None
        devices = cls.search([
                ('login', '=', login),
                ('cookie', '=', cookie),
                ], limit=1)
        return devices[0].cookie if devices else None

    @classmethod
    def renew(cls, login, cookie):
        """Return a new cookie for the device of login with cookie (a new
        device if it is not one of login)"""
        new_cookie = token_hex(32)
        devices = cls.search([
                ('login', '=', login),
                ('cookie', '=', cookie or ''),
                ], limit=1)
        if devices:
            cls.write(devices, {'cookie': new_cookie})
        else:
            cls.create([{'login': login, 'cookie': new_cookie}])
        return new_cookie
