# This file is part of the customer_project module.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and license
# terms.
"""Billing requests hold against a client calling any RPC method.

Each test acts as a user through ``_check_access`` (what trytond's RPC
dispatcher sets for a client call); each abuse was accepted before the
server checked it: the field states of the views were the only guard."""
import datetime as dt
import unittest
from contextlib import contextmanager
from decimal import Decimal

from trytond.model.exceptions import AccessButtonError, AccessError
from trytond.modules.company.tests import create_company, set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction
from trytond.transaction import Transaction


class BillingRequestAccessTestCase(unittest.TestCase):
    "Test the server-side guarantees of billing requests"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('customer_project')

    def _setup(self):
        pool = Pool()
        User = pool.get('res.user')
        Data = pool.get('ir.model.data')
        Work = pool.get('project.work')
        Request = pool.get('project.billing.request')
        company = create_company()
        group = Data.get_id('customer_project', 'group_customer_project')
        users = {}
        for login, groups in [('manager', [group]), ('other', [])]:
            users[login], = User.create([{
                        'login': login, 'name': login,
                        'groups': [('add', groups)],
                        'companies': [('add', [company.id])],
                        'company': company.id,
                        }])
        with set_company(company):
            project, = Work.create([{
                        'name': "Website", 'type': 'project',
                        'company': company.id,
                        'children': [('create', [{
                                        'name': "Design", 'type': 'task',
                                        'company': company.id,
                                        }])],
                        }])
            released, draft = Request.create([{
                        'company': company.id, 'project': project.id,
                        'date': dt.date(2026, 2, 28),
                        } for _ in range(2)])
        return company, users, project, released, draft

    def _lines(self, request, project, actions):
        "Insert one line of 100 per action into request as collect does"
        pool = Pool()
        Line = pool.get('project.billing.request.line')
        Line.insert_items([{
                    'request': request.id, 'project': project.id,
                    'customer_account': None, 'kind': 'fee',
                    'origin': 'project.billing.fee,%s' % i,
                    'item_date': dt.date(2026, 2, 1),
                    'description': '%s %s' % (action, i), 'product': None,
                    'quantity': 1, 'unit_price': Decimal(100),
                    'amount': Decimal(100), 'original_quantity': 1,
                    'original_amount': Decimal(100), 'action': action,
                    } for i, action in enumerate(actions, request.id * 10)])
        return Line.search([('request', '=', request.id)])

    def _milestone(self, project):
        "Return a milestone of project (as the server, before acting)"
        pool = Pool()
        Template = pool.get('product.template')
        Uom = pool.get('product.uom')
        Milestone = pool.get('project.billing.milestone')
        with Transaction().set_user(0), \
                Transaction().set_context(_check_access=False):
            template, = Template.create([{
                        'name': "Design", 'type': 'service',
                        'default_uom': Uom.search(
                            [('name', '=', "Unit")])[0].id,
                        'products': [('create', [{}])],
                        }])
            milestone, = Milestone.create([{
                        'project': project.id,
                        'work_package': project.children[0].id,
                        'name': "Design", 'product': template.products[0].id,
                        'amount': Decimal(500),
                        'planned_date': dt.date(2026, 1, 1),
                        }])
        return milestone

    def _release(self, request):
        "Release request as the server does, without billing"
        pool = Pool()
        Request = pool.get('project.billing.request')
        Line = pool.get('project.billing.request.line')
        Request.write([request], {'state': 'released'})
        Line.set_settled([request], True)

    @contextmanager
    def _as(self, user, company):
        "Act as user would through RPC"
        transaction = Transaction()
        with transaction.set_user(user.id), \
                transaction.set_context(
                    _check_access=True, company=company.id,
                    companies=[company.id]):
            yield

    @with_transaction()
    def test_released_immutable(self):
        "Nothing of a released request or of its lines is written by a client"
        pool = Pool()
        Request = pool.get('project.billing.request')
        Line = pool.get('project.billing.request.line')
        company, users, project, released, draft = self._setup()
        postponed, written_off = self._lines(
            released, project, ['postpone', 'write_off'])
        Line.write([postponed], {'postpone_date': dt.date(2026, 3, 31)})
        self._release(released)
        with self._as(users['manager'], company):
            for values in [
                    {'date': dt.date(2026, 1, 31)},
                    {'lines': [('delete', [postponed.id])]},
                    ]:
                with self.subTest(values=values), \
                        self.assertRaises(AccessError):
                    Request.write([released], values)
            for values in [
                    {'postpone_date': dt.date(2027, 1, 1)},
                    {'action': 'bill'}, {'description': "changed"},
                    ]:
                with self.subTest(values=values), \
                        self.assertRaises(AccessError):
                    Line.write([postponed], values)
            # the postponed line keeps the item out of the next requests
            for records in [[postponed], [written_off]]:
                with self.assertRaises(AccessError):
                    Line.delete(records)
            with self.assertRaises(AccessError):
                Request.delete([released])
        postponed = Line(postponed.id)
        self.assertEqual(
            (postponed.action, postponed.postpone_date, postponed.request),
            ('postpone', dt.date(2026, 3, 31), released))
        self.assertEqual(Line(written_off.id).settled, True)

    @with_transaction()
    def test_server_fields(self):
        "A client writes neither settled lines nor lines of others requests"
        pool = Pool()
        Line = pool.get('project.billing.request.line')
        company, users, project, released, draft = self._setup()
        line, = self._lines(draft, project, ['bill'])
        self._release(released)
        with self._as(users['manager'], company):
            for values in [
                    {'settled': True}, {'unit_price': Decimal(1)},
                    {'origin': 'project.billing.fee,1'},
                    {'request': released.id},
                    ]:
                with self.subTest(values=values), \
                        self.assertRaises(AccessError):
                    Line.write([line], values)
            # a line made up by the client, complete and valid
            with self.assertRaises(AccessError):
                Line.create([{
                            'request': draft.id, 'project': project.id,
                            'kind': 'milestone',
                            'origin': str(self._milestone(project)),
                            'item_date': dt.date(2026, 1, 1),
                            'quantity': 1, 'unit_price': Decimal(-500),
                            'amount': Decimal(-500), 'action': 'bill',
                            }])
            # the biller's choices on a draft request stay open
            Line.write([line], {'action': 'write_off', 'reason': "Goodwill"})
        line = Line(line.id)
        self.assertEqual(
            (line.action, line.settled, line.unit_price, line.request),
            ('write_off', False, Decimal(100), draft))
        # the server's own billing still writes them
        Line.write([line], {'settled': True})
        self.assertEqual(Line(line.id).settled, True)

    @with_transaction()
    def test_buttons_groups(self):
        "Only the Customer Projects group clicks the buttons of requests"
        pool = Pool()
        Request = pool.get('project.billing.request')
        Work = pool.get('project.work')
        company, users, project, released, draft = self._setup()
        with self._as(users['other'], company):
            for button in [
                    Request.collect, Request.release, Request.cancel]:
                with self.subTest(button=button.__name__), \
                        self.assertRaises(AccessButtonError):
                    button([Request(draft.id)])
            for button in [Work.prepare_contract, Work.complete]:
                with self.subTest(button=button.__name__), \
                        self.assertRaises(AccessButtonError):
                    button([Work(project.id)])
        with self._as(users['manager'], company):
            Request.cancel([Request(draft.id)])
            Request.draft([Request(draft.id)])
            Work.prepare_contract([Work(project.id)])
        self.assertEqual(Request(draft.id).state, 'draft')
        self.assertEqual(Work(project.id).stage, 'contract')
