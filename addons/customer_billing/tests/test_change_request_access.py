# This file is part of Tryton.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Change requests hold against a client calling any RPC method.

Each test acts as a user through ``_check_access`` (what trytond's RPC
dispatcher sets for a client call) and tries one of the abuses found in
issue 13; each was accepted before the server checked it."""
import unittest
from contextlib import contextmanager

from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError
from trytond.modules.company.tests import create_company, set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction
from trytond.transaction import Transaction


class ChangeRequestAccessTestCase(unittest.TestCase):
    "Test the server-side guarantees of party change requests"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('customer_billing')

    def _setup(self):
        pool = Pool()
        User = pool.get('res.user')
        Data = pool.get('ir.model.data')
        Party = pool.get('party.party')
        company = create_company()
        approver_group = Data.get_id(
            'customer_billing', 'group_party_change_approver')
        clerk_group = Data.get_id('customer_billing', 'group_billing_admin')
        users = {}
        for login, groups in [
                ('clerk', [clerk_group]),
                ('approver', [approver_group]),
                ('approver2', [approver_group])]:
            users[login], = User.create([{
                        'login': login, 'name': login,
                        'groups': [('add', groups)],
                        'companies': [('add', [company.id])],
                        'company': company.id,
                        }])
        with set_company(company):
            party, = Party.create([{'name': "ACME"}])
        return company, users, party

    @contextmanager
    def _as(self, user, company):
        "Act as user would through RPC"
        transaction = Transaction()
        with transaction.set_user(user.id), \
                transaction.set_context(
                    _check_access=True, company=company.id,
                    companies=[company.id]):
            yield

    def _submitted(self, user, company, party, **values):
        Request = Pool().get('party.change.request')
        with self._as(user, company):
            request, = Request.create([{
                        'kind': 'modify', 'company': company.id,
                        'party': party.id, **values}])
            Request.submit([request])
        return Request(request.id)

    @with_transaction()
    def test_state_not_writable(self):
        "A user without the approver group cannot write state approved"
        Request = Pool().get('party.change.request')
        company, users, party = self._setup()
        request = self._submitted(
            users['clerk'], company, party, email='new@acme.example')
        with self._as(users['clerk'], company):
            for values in [
                    {'state': 'approved'},
                    {'approved_by': users['approver'].id},
                    {'submitted_by': users['approver'].id}]:
                with self.subTest(values=values), \
                        self.assertRaises(AccessError):
                    Request.write([request], values)
            with self.assertRaises(UserError):
                # the button is restricted to the approver group
                Request.approve([request])
        self.assertEqual(Request(request.id).state, 'submitted')

    @with_transaction()
    def test_workflow_fields_not_creatable(self):
        "A client cannot create a request already approved or applied"
        Request = Pool().get('party.change.request')
        company, users, party = self._setup()
        with self._as(users['approver'], company):
            for values in [
                    {'state': 'approved'},
                    {'submitted_by': users['approver2'].id},
                    {'before': '{}'}]:
                with self.subTest(values=values), \
                        self.assertRaises(AccessError):
                    Request.create([{
                                'kind': 'modify', 'company': company.id,
                                'party': party.id, **values}])

    @with_transaction()
    def test_self_approval(self):
        "An approver cannot approve a request they created or submitted"
        Request = Pool().get('party.change.request')
        company, users, party = self._setup()
        own = self._submitted(
            users['approver'], company, party, email='own@acme.example')
        with self._as(users['approver'], company):
            # rewriting the submitter is refused
            with self.assertRaises(AccessError):
                Request.write([own], {'submitted_by': users['clerk'].id})
            with self.assertRaises(UserError):
                Request.approve([own])
        # created by the approver, submitted by the clerk: still refused
        with self._as(users['approver'], company):
            drafted, = Request.create([{
                        'kind': 'modify', 'company': company.id,
                        'party': party.id, 'city': 'Namur'}])
        with self._as(users['clerk'], company):
            Request.submit([drafted])
        with self._as(users['approver'], company):
            with self.assertRaises(UserError):
                Request.approve([Request(drafted.id)])
        self.assertEqual(Request(own.id).state, 'submitted')
        self.assertEqual(Request(drafted.id).state, 'submitted')

    @with_transaction()
    def test_approved_values_frozen(self):
        "After approval the proposed values are frozen and applied as is"
        pool = Pool()
        Request = pool.get('party.change.request')
        Line = pool.get('party.change.request.contact_mechanism')
        company, users, party = self._setup()
        request = self._submitted(
            users['clerk'], company, party, email='approved@acme.example',
            contact_mechanisms=[('create', [{
                            'type': 'phone', 'value': '+3222345678'}])])
        with self._as(users['approver'], company):
            Request.approve([request])
        request = Request(request.id)
        line, = request.contact_mechanisms
        with self._as(users['clerk'], company):
            with self.assertRaises(AccessError):
                Request.write([request], {'email': 'evil@attacker.example'})
            with self.assertRaises(AccessError):
                Request.write([request], {'contact_mechanisms': [
                            ('create', [{'type': 'email',
                                        'value': 'evil@attacker.example'}])]})
            with self.assertRaises(AccessError):
                Line.write([line], {'value': '+3200000000'})
            with self.assertRaises(AccessError):
                Line.delete([line])
        with self._as(users['approver2'], company):
            Request.apply([request])
        party = pool.get('party.party')(party.id)
        self.assertEqual(party.email, 'approved@acme.example')
        # party stores phone numbers formatted (phonenumbers)
        self.assertEqual(
            sorted(m.value for m in party.contact_mechanisms),
            ['+32 2 234 56 78', 'approved@acme.example'])

    @with_transaction()
    def test_applied_immutable(self):
        "An applied request cannot be rewritten, reset or deleted"
        Request = Pool().get('party.change.request')
        company, users, party = self._setup()
        request = self._submitted(
            users['clerk'], company, party, city='Liège')
        with self._as(users['approver'], company):
            Request.approve([request])
            Request.apply([request])
        request = Request(request.id)
        self.assertEqual(request.state, 'applied')
        audit = (request.before, request.after, request.approved_by)
        for user in [users['clerk'], users['approver'], users['approver2']]:
            with self._as(user, company):
                for values in [
                        {'before': '{}'}, {'after': '{}'},
                        {'approved_by': user.id}, {'state': 'draft'},
                        {'rejection_reason': "late"}]:
                    with self.subTest(user=user.login, values=values), \
                            self.assertRaises(AccessError):
                        Request.write([request], values)
                with self.assertRaises(AccessError):
                    Request.delete([request])
                with self.assertRaises(UserError):
                    Request.draft([request])
        # even code running without access checks cannot rewrite it
        with self.assertRaises(AccessError):
            Request.write([request], {'after': '{}'})
        request = Request(request.id)
        self.assertEqual(request.state, 'applied')
        self.assertEqual(
            (request.before, request.after, request.approved_by), audit)

