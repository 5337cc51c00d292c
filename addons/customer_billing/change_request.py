# This file is part of the customer_billing module.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and license
# terms.
import datetime as dt
import json
import re

from stdnum import iban

from trytond.i18n import gettext
from trytond.model import (
    ModelSQL, ModelView, Workflow, fields, sequence_ordered)
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.pyson import Bool, Eval, If
from trytond.transaction import Transaction

from .exceptions import ChangeRequestError, DuplicatePartyWarning

PROPOSED = [
    'name', 'email', 'phone', 'website', 'street', 'postal_code', 'city',
    'country', 'tax_identifier_type', 'tax_identifier']
PROPOSED_LINES = ['addresses', 'contact_mechanisms', 'bank_accounts']
# the fields only the workflow writes: never through RPC
WORKFLOW_FIELDS = [
    'state', 'submitted_by', 'approved_by', 'applied_date', 'before', 'after',
    'origin']


class PartyChangeRequest(Workflow, ModelSQL, ModelView):
    __name__ = 'party.change.request'

    _states = {
        'readonly': Eval('state') != 'draft',
        }

    kind = fields.Selection([
            ('create', "Creation"),
            ('modify', "Modification"),
            ], "Kind", required=True, states=_states)
    company = fields.Many2One(
        'company.company', "Company", required=True, states=_states)
    party = fields.Many2One(
        'party.party', "Party", ondelete='RESTRICT',
        states={
            'readonly': (
                (Eval('state') != 'draft') | (Eval('kind') == 'create')),
            'required': Eval('kind') == 'modify',
            },
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    origin = fields.Reference(
        "Origin", selection='get_origins', readonly=True)
    name = fields.Char("Name", states=_states)
    email = fields.Char("Email", states=_states)
    phone = fields.Char("Phone", states=_states)
    website = fields.Char("Website", states=_states)
    street = fields.Text("Street", states=_states)
    postal_code = fields.Char("Postal Code", states=_states)
    city = fields.Char("City", states=_states)
    country = fields.Many2One('country.country', "Country", states=_states)
    tax_identifier_type = fields.Selection(
        'get_identifier_types', "Tax Identifier Type", states=_states)
    tax_identifier = fields.Char("Tax Identifier", states=_states)
    addresses = fields.One2Many(
        'party.change.request.address', 'request', "Other Addresses",
        states=_states,
        help="The addresses to add to the party or to change on it.")
    contact_mechanisms = fields.One2Many(
        'party.change.request.contact_mechanism', 'request',
        "Other Contact Mechanisms", states=_states,
        help="The contact mechanisms to add to the party "
        "or to change on it.")
    bank_accounts = fields.One2Many(
        'party.change.request.bank_account', 'request', "Bank Accounts",
        states=_states,
        help="The bank accounts the party owns.")
    customer = fields.Boolean(
        "Customer", states=_states,
        help="Open a customer account for the party.")
    billing_profile = fields.Many2One(
        'customer.billing.profile', "Billing Profile",
        domain=[
            ('company', '=', Eval('company', -1)),
            ],
        states={
            'readonly': Eval('state') != 'draft',
            'invisible': ~Eval('customer'),
            'required': Bool(Eval('customer')) & (Eval('kind') == 'create'),
            })
    account_code = fields.Char(
        "Account Code", states={
            'readonly': Eval('state') != 'draft',
            'invisible': ~Eval('customer'),
            },
        help="The code of the customer account to open.\n"
        "Leave empty to use the party code.")
    supplier = fields.Boolean(
        "Supplier", states=_states,
        help="Set the supplier payment term of the party.")
    supplier_payment_term = fields.Many2One(
        'account.invoice.payment_term', "Supplier Payment Term",
        states={
            'readonly': Eval('state') != 'draft',
            'invisible': ~Eval('supplier'),
            })
    state = fields.Selection([
            ('draft', "Draft"),
            ('submitted', "Submitted"),
            ('approved', "Approved"),
            ('applied', "Applied"),
            ('rejected', "Rejected"),
            ], "State", readonly=True, required=True, sort=False)
    submitted_by = fields.Many2One('res.user', "Submitted by", readonly=True)
    submitter = fields.Function(fields.Char(
            "Submitter",
            help="The user who submitted the request, or where it comes "
            "from (e.g. the portal user) when the system submitted it."),
        'get_submitter')
    current = fields.Function(fields.Text(
            "Current Values",
            states={
                'invisible': Eval('kind') != 'modify',
                },
            help="The values of the party now, to compare with the "
            "proposed ones."), 'get_current')
    changes = fields.Function(fields.Text(
            "Changes",
            states={
                'invisible': Eval('state') != 'applied',
                },
            help="The values the request changed on the party: "
            "before → after."), 'get_changes')
    approved_by = fields.Many2One('res.user', "Approved by", readonly=True)
    rejection_reason = fields.Text(
        "Rejection Reason",
        states={
            'readonly': ~Eval('state').in_(['submitted', 'approved']),
            'invisible': ~Eval('state').in_(
                ['submitted', 'approved', 'rejected']),
            })
    applied_date = fields.DateTime("Applied Date", readonly=True)
    before = fields.Text(
        "Before", readonly=True,
        states={
            'invisible': Eval('state') != 'applied',
            },
        help="The values of the party before the request was applied.")
    after = fields.Text(
        "After", readonly=True,
        states={
            'invisible': Eval('state') != 'applied',
            },
        help="The values of the party after the request was applied.")
    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('id', 'DESC')]
        cls._transitions |= {
            ('draft', 'submitted'),
            ('submitted', 'draft'),
            ('submitted', 'approved'),
            ('submitted', 'rejected'),
            ('approved', 'applied'),
            ('approved', 'rejected'),
            ('rejected', 'draft'),
            }
        cls._buttons.update({
                'draft': {
                    'invisible': ~Eval('state').in_(['submitted', 'rejected']),
                    'icon': If(Eval('state') == 'rejected',
                        'tryton-undo', 'tryton-back'),
                    'depends': ['state'],
                    },
                'submit': {
                    'invisible': Eval('state') != 'draft',
                    'icon': 'tryton-forward',
                    'depends': ['state'],
                    },
                'approve': {
                    'invisible': Eval('state') != 'submitted',
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'reject': {
                    'invisible': ~Eval('state').in_(['submitted', 'approved']),
                    'icon': 'tryton-cancel',
                    'depends': ['state'],
                    },
                'apply': {
                    'invisible': Eval('state') != 'approved',
                    'icon': 'tryton-launch',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_kind(cls):
        return 'modify'

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def _get_origin_models(cls):
        "Return the models a request can come from"
        return ['party.party']

    @classmethod
    def get_origins(cls):
        pool = Pool()
        IrModel = pool.get('ir.model')
        models = cls._get_origin_models()
        return [(None, '')] + [(m, IrModel.get_name(m)) for m in models]

    def get_submitter(self, name):
        "The staff user, or the origin of a request submitted by the system"
        if self.submitted_by:
            return self.submitted_by.rec_name
        if self.origin and self.origin.id >= 0:
            return self.origin.rec_name

    def get_current(self, name):
        if self.kind == 'modify' and self.party and self.state != 'applied':
            return self._format_snapshot(self._snapshot(self.party))

    def get_changes(self, name):
        if self.state != 'applied' or not self.after:
            return
        before = json.loads(self.before or '{}')
        after = json.loads(self.after)
        labels = self._snapshot_labels()
        lines = []
        for key, value in after.items():
            old = before.get(key)
            if old != value:
                lines.append(f'{labels.get(key, key)}: '
                    f'{self._format_value(old)} → {self._format_value(value)}')
        return '\n'.join(lines)

    @classmethod
    def _snapshot_labels(cls):
        "Return the translated label of each key of the snapshot"
        pool = Pool()
        Party = pool.get('party.party')
        labels = {n: f['string'] for n, f in cls.fields_get(PROPOSED).items()}
        # the lists of the snapshot are all the party has
        labels.update((n, f['string']) for n, f in Party.fields_get(
                PROPOSED_LINES + ['customer_accounts']).items())
        return labels

    def _format_snapshot(self, snapshot):
        labels = self._snapshot_labels()
        return '\n'.join(
            f'{labels.get(k, k)}: {self._format_value(v)}'
            for k, v in snapshot.items())

    @staticmethod
    def _format_value(value):
        "Return the value of the snapshot as a person reads it"
        if value is None:
            return '—'
        if isinstance(value, list):
            return '; '.join(', '.join(str(i) for i in v if i)
                if isinstance(v, list) else str(v) for v in value) or '—'
        return str(value)

    @classmethod
    def get_identifier_types(cls):
        pool = Pool()
        Identifier = pool.get('party.identifier')
        return Identifier.get_types()

    def get_rec_name(self, name):
        label = self.name or (self.party.rec_name if self.party else '')
        return f'#{self.id} {label}'

    @classmethod
    def check_modification(cls, mode, requests, values=None, external=False):
        super().check_modification(
            mode, requests, values=values, external=external)
        if mode == 'delete':
            for request in requests:
                if request.state != 'draft':
                    raise AccessError(gettext(
                            'customer_billing.msg_change_request_delete_draft',
                            request=request.rec_name))
        elif mode == 'write':
            for request in requests:
                if request.state == 'applied':
                    raise AccessError(gettext(
                            'customer_billing.msg_change_request_applied',
                            request=request.rec_name))
            if external:
                cls._check_external_write(requests, values)
        elif mode == 'create' and external:
            for request in requests:
                written = [f for f in WORKFLOW_FIELDS
                    if getattr(request, f) and f != 'state']
                if request.state != 'draft':
                    written.append('state')
                if written:
                    raise AccessError(gettext(
                            'customer_billing'
                            '.msg_change_request_workflow_field',
                            field=cls.__names__(written[0])['field'],
                            request=request.rec_name))

    @classmethod
    def _check_external_write(cls, requests, values):
        "Check a client writes only the values its request state allows"
        for name in values:
            if name in WORKFLOW_FIELDS:
                raise AccessError(gettext(
                        'customer_billing.msg_change_request_workflow_field',
                        field=cls.__names__(name)['field'],
                        request=requests[0].rec_name if requests else ''))
        proposed = set(values) - {'rejection_reason'}
        for request in requests:
            if proposed and request.state != 'draft':
                raise AccessError(gettext(
                        'customer_billing.msg_change_request_frozen',
                        request=request.rec_name))
            if ('rejection_reason' in values
                    and request.state not in {'submitted', 'approved'}):
                raise AccessError(gettext(
                        'customer_billing.msg_change_request_frozen',
                        request=request.rec_name))

    @classmethod
    def validate_fields(cls, requests, field_names):
        super().validate_fields(requests, field_names)
        for request in requests:
            if request.kind == 'modify' and not request.party:
                raise ChangeRequestError(gettext(
                        'customer_billing.msg_change_request_party_required',
                        request=request.rec_name))

    @classmethod
    def propose_modification(cls, party, values, origin=None):
        "Create and submit a request to modify party with values"
        request = cls._from_values('modify', values, party=party,
            origin=origin)
        request.save()
        cls.submit([request])
        return request

    @classmethod
    def propose_creation(cls, values, origin=None):
        "Create and submit a request to create a party with values"
        request = cls._from_values('create', values, origin=origin)
        request.save()
        cls.submit([request])
        return request

    @classmethod
    def _from_values(cls, kind, values, party=None, origin=None):
        allowed = set(PROPOSED) | set(PROPOSED_LINES) | {
            'customer', 'billing_profile', 'account_code', 'supplier',
            'supplier_payment_term', 'company'}
        for name in values:
            if name not in allowed:
                raise ChangeRequestError(gettext(
                        'customer_billing.msg_change_request_unknown_value',
                        name=name))
        return cls(kind=kind, party=party, origin=origin, **values)

    @classmethod
    @ModelView.button
    @Workflow.transition('draft')
    def draft(cls, requests):
        cls.write(requests, {
                'submitted_by': None,
                'approved_by': None,
                })

    @classmethod
    @ModelView.button
    @Workflow.transition('submitted')
    def submit(cls, requests):
        for request in requests:
            if request.kind == 'create' and not request.name:
                raise ChangeRequestError(gettext(
                        'customer_billing.msg_change_request_name_required',
                        request=request.rec_name))
            if (request.kind == 'create' and request.customer
                    and not request.billing_profile):
                raise ChangeRequestError(gettext(
                        'customer_billing'
                        '.msg_change_request_billing_profile_company',
                        request=request.rec_name))
        # root is the system (the portal, a queued task), not a person: the
        # request's origin says who submitted it then
        user = Transaction().user
        cls.write(requests, {
                'submitted_by': user or None,
                'rejection_reason': None,
                })

    @classmethod
    @ModelView.button
    @Workflow.transition('approved')
    def approve(cls, requests):
        user = Transaction().user
        for request in requests:
            if user in request._get_authors():
                raise ChangeRequestError(gettext(
                        'customer_billing.msg_change_request_own_approval',
                        request=request.rec_name))
        cls._check_duplicates(requests)
        cls.write(requests, {'approved_by': user})

    @classmethod
    @ModelView.button
    @Workflow.transition('rejected')
    def reject(cls, requests):
        for request in requests:
            if not (request.rejection_reason or '').strip():
                raise ChangeRequestError(gettext(
                        'customer_billing.msg_change_request_reject_reason',
                        request=request.rec_name))

    @classmethod
    @ModelView.button
    @Workflow.transition('applied')
    def apply(cls, requests):
        pool = Pool()
        Party = pool.get('party.party')
        for request in requests:
            if request.kind == 'create':
                party = request._create_party()
                request.party = party
                request.before = json.dumps({})
            else:
                request.before = json.dumps(
                    request._snapshot(request.party), sort_keys=True,
                    ensure_ascii=False, indent=1)
                request._modify_party()
            party = Party(request.party.id)
            request.after = json.dumps(
                request._snapshot(party), sort_keys=True,
                ensure_ascii=False, indent=1)
            request.applied_date = dt.datetime.now()
        cls.save(requests)

    def _get_authors(self):
        "Return the ids of the users who created or submitted the request"
        authors = {self.create_uid.id} if self.create_uid else set()
        if self.submitted_by:
            authors.add(self.submitted_by.id)
        return authors

    @classmethod
    def _check_duplicates(cls, requests):
        "Warn when a request looks like another party"
        pool = Pool()
        Warning = pool.get('res.user.warning')
        for request in requests:
            duplicates = request._get_duplicates()
            if duplicates:
                key = Warning.format('party_change_duplicate', [request])
                if Warning.check(key):
                    raise DuplicatePartyWarning(key, gettext(
                            'customer_billing.msg_change_request_duplicate',
                            request=request.rec_name,
                            parties=', '.join(
                                p.rec_name for p in duplicates[:5])))

    def _get_duplicates(self):
        "Return the parties with the same name, tax identifier or IBAN"
        pool = Pool()
        Party = pool.get('party.party')
        Identifier = pool.get('party.identifier')
        domain = []
        if self.name:
            domain.append(('name', 'ilike', self.name.strip()))
        if self.tax_identifier:
            identifier = Identifier(
                type=self.tax_identifier_type, code=self.tax_identifier)
            code = identifier.on_change_with_code() or self.tax_identifier
            codes = list({code, self.tax_identifier,
                    identifier.compute_fields().get('code_compact', code),
                    re.sub(r'[\W_]', '', code).upper()})
            domain.append(('identifiers.code_compact', 'in', codes))
        numbers = [iban.compact(l.number) for l in self.bank_accounts]
        if numbers:
            domain.append(
                ('bank_accounts.numbers.number_compact', 'in', numbers))
        if not domain:
            return []
        parties = Party.search(['OR'] + domain, limit=10)
        return [p for p in parties if p != self.party]

    def _snapshot(self, party):
        "Return the audited values of party"
        address = party.address_get()
        identifier = self._get_identifier(party)
        return {
            'name': party.name,
            'email': party.email or None,
            'phone': party.phone or None,
            'website': party.website or None,
            'street': address.street if address else None,
            'postal_code': address.postal_code if address else None,
            'city': address.city if address else None,
            'country': address.country.code
            if address and address.country else None,
            'tax_identifier_type': identifier.type if identifier else None,
            'tax_identifier': identifier.code if identifier else None,
            'customer_accounts': [a.code for a in party.customer_accounts],
            'addresses': [[
                    a.street, a.postal_code, a.city,
                    a.country.code if a.country else None]
                for a in party.addresses],
            'contact_mechanisms': [
                [m.type, m.value] for m in party.contact_mechanisms],
            'bank_accounts': [
                a.iban or a.rec_name for a in party.bank_accounts],
            }

    def _get_identifier(self, party):
        for identifier in party.identifiers:
            if (not self.tax_identifier_type
                    or identifier.type == self.tax_identifier_type):
                return identifier

    def _create_party(self):
        "Create the proposed party"
        pool = Pool()
        Party = pool.get('party.party')
        party = Party(name=self.name)
        party.addresses = []
        party.contact_mechanisms = []
        party.identifiers = []
        party.save()
        self._fill_party(party)
        return party

    def _modify_party(self):
        "Write the proposed changes on the party"
        self._fill_party(self.party)

    def _fill_party(self, party):
        pool = Pool()
        Party = pool.get('party.party')
        Address = pool.get('party.address')
        Mechanism = pool.get('party.contact_mechanism')
        Identifier = pool.get('party.identifier')
        Account = pool.get('customer.account')
        BankAccount = pool.get('bank.account')

        if self.name and self.name != party.name:
            party.name = self.name
        if self.supplier and self.supplier_payment_term:
            party.supplier_payment_term = self.supplier_payment_term
        party.save()

        if any(getattr(self, f) for f in [
                    'street', 'postal_code', 'city', 'country']):
            address = party.address_get() or Address(party=party)
            for fname in ['street', 'postal_code', 'city', 'country']:
                if getattr(self, fname):
                    setattr(address, fname, getattr(self, fname))
            address.save()

        Address.save([l.get_address(party) for l in self.addresses])

        mechanisms = []
        for type_ in ['email', 'phone', 'website']:
            value = getattr(self, type_)
            if not value:
                continue
            mechanism = party.contact_mechanism_get(type_) or Mechanism(
                party=party, type=type_)
            mechanism.value = value
            mechanisms.append(mechanism)
        mechanisms.extend(
            l.get_contact_mechanism(party) for l in self.contact_mechanisms)
        Mechanism.save(mechanisms)

        BankAccount.save(self._get_bank_accounts(party))

        if self.tax_identifier:
            identifier = self._get_identifier(party) or Identifier(
                party=party, type=self.tax_identifier_type)
            identifier.code = self.tax_identifier
            identifier.save()

        if self.customer and self.billing_profile and not any(
                a.company == self.company for a in Party(
                    party.id).customer_accounts):
            Account.save([Account(
                        party=party,
                        company=self.company,
                        profile=self.billing_profile,
                        code=self.account_code or party.code)])

    def _get_bank_accounts(self, party):
        "Return the bank accounts to save for the proposed numbers"
        pool = Pool()
        Number = pool.get('bank.account.number')
        lines = {iban.compact(l.number): l for l in self.bank_accounts}
        # an active IBAN is unique: the party joins the owners of its account
        existing = {n.number_compact: n.account for n in Number.search([
                    ('type', '=', 'iban'),
                    ('number_compact', 'in', list(lines)),
                    ])}
        accounts = []
        for compact, line in lines.items():
            account = existing.get(compact)
            if account is None:
                accounts.append(line.get_bank_account(party))
            elif party not in account.owners:
                account.owners += (party,)
                accounts.append(account)
        return accounts


class _RequestLineMixin(sequence_ordered()):
    __slots__ = ()
    request = fields.Many2One(
        'party.change.request', "Request", required=True, ondelete='CASCADE')

    # the name of the field naming the party's record to change
    _changed_record = None

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('request')

    @classmethod
    def check_modification(cls, mode, lines, values=None, external=False):
        super().check_modification(
            mode, lines, values=values, external=external)
        if external:
            for line in lines:
                if line.request.state != 'draft':
                    raise AccessError(gettext(
                            'customer_billing.msg_change_request_frozen',
                            request=line.request.rec_name))

    @classmethod
    def validate_fields(cls, lines, field_names):
        super().validate_fields(lines, field_names)
        if cls._changed_record:
            cls._check_changed_record(lines)

    @classmethod
    def _check_changed_record(cls, lines):
        "Check the changed record of the lines belongs to the request party"
        for line in lines:
            record = getattr(line, cls._changed_record)
            if record and record.party != line.request.party:
                raise ChangeRequestError(gettext(
                        'customer_billing.msg_change_request_other_party',
                        record=record.rec_name,
                        request=line.request.rec_name))


class ChangeRequestAddress(_RequestLineMixin, ModelSQL, ModelView):
    "An address proposed by a party change request"
    __name__ = 'party.change.request.address'
    _changed_record = 'address'

    address = fields.Many2One(
        'party.address', "Address", ondelete='SET NULL',
        domain=[
            ('party', '=', Eval('_parent_request', {}).get('party', -1)),
            ],
        help="The address of the party to change.\n"
        "Leave empty to add a new address.")
    street = fields.Text("Street")
    postal_code = fields.Char("Postal Code")
    city = fields.Char("City")
    country = fields.Many2One('country.country', "Country")
    invoice = fields.Boolean("Invoice", help="Use the address for invoices.")

    def get_address(self, party):
        "Return the address of party with the proposed values"
        pool = Pool()
        Address = pool.get('party.address')
        address = self.address or Address(party=party)
        for fname in ['street', 'postal_code', 'city', 'country']:
            if getattr(self, fname) or not self.address:
                setattr(address, fname, getattr(self, fname))
        address.invoice = self.invoice
        return address


class ChangeRequestContactMechanism(_RequestLineMixin, ModelSQL, ModelView):
    "A contact mechanism proposed by a party change request"
    __name__ = 'party.change.request.contact_mechanism'
    _changed_record = 'contact_mechanism'

    contact_mechanism = fields.Many2One(
        'party.contact_mechanism', "Contact Mechanism", ondelete='SET NULL',
        domain=[
            ('party', '=', Eval('_parent_request', {}).get('party', -1)),
            ],
        help="The contact mechanism of the party to change.\n"
        "Leave empty to add a new one.")
    type = fields.Selection('get_types', "Type", required=True, sort=False)
    value = fields.Char("Value", required=True)
    invoice = fields.Boolean(
        "Invoice", help="Send the invoices to this contact.")

    @classmethod
    def get_types(cls):
        pool = Pool()
        Mechanism = pool.get('party.contact_mechanism')
        return Mechanism.fields_get(['type'])['type']['selection']

    @classmethod
    def default_type(cls):
        return 'email'

    def get_contact_mechanism(self, party):
        "Return the contact mechanism of party with the proposed values"
        pool = Pool()
        Mechanism = pool.get('party.contact_mechanism')
        mechanism = self.contact_mechanism or Mechanism(party=party)
        mechanism.type = self.type
        mechanism.value = self.value
        mechanism.invoice = self.invoice
        return mechanism


class ChangeRequestBankAccount(_RequestLineMixin, ModelSQL, ModelView):
    "A bank account proposed by a party change request"
    __name__ = 'party.change.request.bank_account'

    number = fields.Char(
        "IBAN", required=True,
        help="The IBAN of the bank account.\n"
        "An account with the same IBAN gets the party as owner.")
    bank = fields.Many2One('bank', "Bank", ondelete='RESTRICT')
    currency = fields.Many2One(
        'currency.currency', "Currency", ondelete='RESTRICT')

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if values.get('number') and iban.is_valid(values['number']):
            values['number'] = iban.format(values['number'])
        return values

    @classmethod
    def validate_fields(cls, lines, field_names):
        super().validate_fields(lines, field_names)
        if 'number' in field_names:
            for line in lines:
                if not iban.is_valid(line.number):
                    raise ChangeRequestError(gettext(
                            'customer_billing.msg_change_request_iban_invalid',
                            number=line.number,
                            request=line.request.rec_name))

    def get_bank_account(self, party):
        "Return a new bank account of party with the proposed IBAN"
        pool = Pool()
        Account = pool.get('bank.account')
        Number = pool.get('bank.account.number')
        return Account(
            owners=[party], bank=self.bank, currency=self.currency,
            numbers=[Number(type='iban', number=self.number)])
