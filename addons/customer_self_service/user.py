# This file is part of the customer_self_service module.  The COPYRIGHT file
# at the top level of this repository contains the full copyright notices and
# license terms.
import hashlib
import urllib.parse
import weakref

from sql import Literal
from sql.operators import Equal

import trytond.config as config
from trytond.model import Exclude, fields
from trytond.modules.web_user.user import _add_params
from trytond.pool import PoolMeta
from trytond.transaction import Transaction
from trytond.url import http_host

# The clear reset tokens generated in a transaction: only the hash is stored
_clear_tokens = weakref.WeakKeyDictionary()


def hash_token(token):
    "Return the digest stored in place of the reset password token"
    return hashlib.sha256(token.encode('utf-8')).hexdigest()


def portal_url(path=''):
    "Return the absolute URL of the portal page at path"
    base = config.get('customer_self_service', 'portal_url')
    if not base:
        database = Transaction().database.name
        base = f'{http_host()}/{urllib.parse.quote(database)}/customer_portal'
    return base.rstrip('/') + '/' + path.lstrip('/')


class User(metaclass=PoolMeta):
    __name__ = 'web.user'

    login = fields.Char(
        "Login", strip=True,
        help="The CSS user id; the portal accepts it in place of the email.")
    css_type = fields.Many2One(
        'customer.self_service.type', "CSS Type", ondelete='RESTRICT')
    css_password_change = fields.Boolean(
        "Password Change Required",
        help="Ask for a new password at the next portal login.")

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
        return super().copy(users, default=default)

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
    def css_authenticate(cls, login, password):
        """Authenticate a portal user by login or email with web_user's
        rate limited authentication"""
        user = cls.css_find(login)
        if user and not user.css_type:
            user = None
        # Unknown logins go through the same path to not reveal them
        email = user.email if user else (login or '').strip().lower()
        return cls.authenticate(email, password) if email else None

    # Reset tokens: only their digest is stored, the clear value lives in the
    # transaction that generated it (to build the email link)

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
            url = portal_url('set-password')
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
            cls.write(list(users), {'css_password_change': change})
