# This file is part of the customer_invoicing_run module.  The COPYRIGHT file
# at the top level of this repository contains the full copyright notices and
# license terms.
import datetime as dt
from decimal import Decimal

from trytond.model.exceptions import AccessError
from trytond.modules.company.tests import (
    CompanyTestMixin, create_company, set_company)
from trytond.modules.customer_billing.tests.tools import (
    check_text_column_posted)
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction


class CustomerInvoicingRunTestCase(CompanyTestMixin, ModuleTestCase):
    "Test Customer Invoicing Run module"
    module = 'customer_invoicing_run'
    # the views and records of the optional sources are checked too
    extras = ['sale_subscription', 'customer_project']

    def _run(self):
        Run = Pool().get('customer.invoicing.run')
        run, = Run.create([{'cutoff_date': dt.date(2025, 3, 31),
                    'invoice_date': dt.date(2025, 3, 31)}])
        return run

    def _item(self, company, run):
        "Create a pending item of run billing a manual item"
        pool = Pool()
        Party = pool.get('party.party')
        Profile = pool.get('customer.billing.profile')
        Account = pool.get('customer.account')
        Template = pool.get('product.template')
        Uom = pool.get('product.uom')
        ManualItem = pool.get('customer.invoicing.manual_item')
        Item = pool.get('customer.invoicing.run.item')
        party, = Party.create([{'name': "Customer"}])
        profile, = Profile.create([{
                    'code': 'P', 'name': "Profile", 'company': company.id,
                    'grouping': 'account', 'cycle': 'immediate',
                    'channel': 'print', 'bill_to': 'customer'}])
        account, = Account.create([{
                    'code': 'A', 'party': party.id, 'profile': profile.id,
                    'company': company.id, 'state': 'active'}])
        unit, = Uom.search([('name', '=', 'Unit')])
        template, = Template.create([{
                    'name': "Service", 'type': 'service', 'salable': True,
                    'default_uom': unit.id, 'sale_uom': unit.id,
                    'list_price': Decimal(10),
                    'products': [('create', [{}])]}])
        source, = ManualItem.create([{
                    'customer_account': account.id, 'party': party.id,
                    'product': template.products[0].id, 'quantity': 1,
                    'unit': unit.id, 'unit_price': Decimal(10),
                    'currency': company.currency.id,
                    'date': dt.date(2025, 3, 1)}])
        item, = Item.create([{
                    'run': run.id, 'company': company.id,
                    'source': str(source), 'state': 'pending',
                    'party': party.id, 'invoice_party': party.id,
                    'currency': company.currency.id}])
        return item

    @with_transaction()
    def test_item_transitions(self):
        "An item's state changes go through its transitions, in the log"
        pool = Pool()
        Item = pool.get('customer.invoicing.run.item')
        company = create_company()
        with set_company(company):
            run = self._run()
            item = self._item(company, run)
            Item.fail([item], {item.id: "No price"})
            self.assertEqual(
                (item.state, item.error, item.active_source),
                ('failed', "No price", None))
            # not a transition from failed: nothing happens
            Item.bill([item])
            self.assertEqual(item.state, 'failed')
            Item.reset([item])
            Item.bill([item])
            self.assertEqual(item.state, 'done')
            logs = [(l.resource, l.event, l.target)
                for l in Transaction().log_records if l.resource == item]
            self.assertEqual(logs, [
                    (item, 'transition', 'state:failed'),
                    (item, 'transition', 'state:pending'),
                    (item, 'transition', 'state:done'),
                    ])

    @with_transaction()
    def test_billed_item_immutable(self):
        "A billed item is neither modified nor deleted, nor is its run"
        pool = Pool()
        Run = pool.get('customer.invoicing.run')
        Item = pool.get('customer.invoicing.run.item')
        Party = pool.get('party.party')
        company = create_company()
        with set_company(company):
            run = self._run()
            item = self._item(company, run)
            Item.bill([item])
            other, = Party.create([{'name': "Other"}])
            with self.assertRaises(AccessError):
                Item.write([item], {'invoice_party': other.id})
            with self.assertRaises(AccessError):
                Item.delete([item])
            # a cancelled run keeps its billed items
            Run.write([run], {'state': 'cancelled'})
            with self.assertRaises(AccessError) as cm:
                Run.delete([run])
            self.assertIn('billed items', cm.exception.message)
            # its invoice cancelled, the item is released and may go
            Item.cancel([item], {item.id: "Released"})
            self.assertEqual(
                (item.state, item.error), ('cancelled', "Released"))
            Run.delete([run])
            self.assertEqual(Item.search([('id', '=', item.id)]), [])

    @with_transaction()
    def test_run_log_upgrade(self):
        "The text log of a run made before the chat becomes one chat post"
        company = create_company()
        with set_company(company):
            run = self._run()
        check_text_column_posted(self, run, self.module, 'run_log',
            "2025-03-31 10:00:00: 3 items collected.")


del ModuleTestCase
