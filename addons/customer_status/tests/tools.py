"""Hand-built ledger used by the tests and the benchmarks of customer_status

The ledger itself and the derivation of every expected figure are in
test_figures.py.
"""
import datetime as dt
from decimal import Decimal

from trytond.modules.account.tests import create_chart, get_fiscalyear
from trytond.modules.account_invoice.tests import set_invoice_sequences
from trytond.modules.company.tests import create_company, set_company
from trytond.modules.currency.tests import add_currency_rate, create_currency
from trytond.pool import Pool
from trytond.transaction import Transaction

D = dt.date


def create_fiscalyears(company, years):
    pool = Pool()
    FiscalYear = pool.get('account.fiscalyear')
    for year in years:
        fiscalyear = set_invoice_sequences(
            get_fiscalyear(company, today=D(year, 1, 1)))
        fiscalyear.save()
        FiscalYear.create_period([fiscalyear])


def get_accounts(company):
    pool = Pool()
    Account = pool.get('account.account')
    Journal = pool.get('account.journal')
    accounts = {}
    for kind in ['receivable', 'revenue', 'expense']:
        accounts[kind], = Account.search([
                ('type.%s' % kind, '=', True),
                ('company', '=', company.id),
                ('closed', '!=', True),
                ], limit=1)
    accounts['cash'], = Account.search([
            ('code', '=', '1.1.1'),
            ('company', '=', company.id),
            ])
    accounts['journal_revenue'], = Journal.search([('type', '=', 'revenue')])
    accounts['journal_cash'], = Journal.search([('type', '=', 'cash')])
    return accounts


def create_invoice(
        company, party, date, maturity, untaxed, taxes=(), origin=None,
        post=True, **values):
    """Create and post (unless post is False) a customer invoice (credit
    note if untaxed < 0); origin is the origin of its line"""
    pool = Pool()
    Invoice = pool.get('account.invoice')
    Line = pool.get('account.invoice.line')
    accounts = get_accounts(company)
    invoice = Invoice(
        type='out', company=company, party=party, currency=company.currency,
        invoice_date=date, payment_term_date=maturity,
        account=accounts['receivable'],
        journal=accounts['journal_revenue'],
        invoice_address=party.addresses[0], **values)
    invoice.lines = [Line(
            type='line', company=company, currency=company.currency,
            account=accounts['revenue'], description="Goods",
            quantity=1 if untaxed > 0 else -1,
            unit_price=abs(Decimal(untaxed)), taxes=list(taxes),
            origin=origin)]
    invoice.save()
    if post:
        with Transaction().set_context(_skip_warnings=True):
            Invoice.post([invoice])
    return invoice


def create_sale(company, party, quantity, unit_price, **values):
    "Create a sale of one line without product, invoiced manually"
    pool = Pool()
    Sale = pool.get('sale.sale')
    Line = pool.get('sale.line')
    sale = Sale(
        company=company, party=party, currency=company.currency,
        invoice_address=party.addresses[0],
        shipment_address=party.addresses[0],
        invoice_method='manual', shipment_method='order', **values)
    sale.lines = [Line(
            type='line', description="Service", quantity=quantity,
            unit_price=Decimal(unit_price))]
    sale.save()
    return sale


def receivable_line(move, party=None):
    return [l for l in move.lines
        if l.account.type.receivable and (party is None or l.party == party)
        ][0]


def invoice_line(invoice):
    return receivable_line(invoice.move)


def create_move(
        company, party, date, amount, counterpart='cash', post=True):
    """Create and post (unless post is False) a move with a receivable line
    of amount (debit if positive) against the counterpart account; return
    the receivable line"""
    pool = Pool()
    Move = pool.get('account.move')
    Period = pool.get('account.period')
    accounts = get_accounts(company)
    amount = Decimal(amount)
    debit, credit = (amount, 0) if amount > 0 else (0, -amount)
    move = Move(
        company=company, journal=accounts['journal_cash'], date=date,
        period=Period.find(company, date=date))
    move.lines = [{
            'account': accounts['receivable'], 'party': party,
            'debit': debit, 'credit': credit,
            }, {
            'account': accounts[counterpart],
            'debit': credit, 'credit': debit,
            }]
    move.save()
    if post:
        Move.post([move])
    return receivable_line(move)


def create_tax(company, rate):
    pool = Pool()
    Tax = pool.get('account.tax')
    Account = pool.get('account.account')
    account, = Account.search([
            ('code', '=', '6.3.4'), ('company', '=', company.id)])
    tax, = Tax.create([{
                'name': 'VAT %s' % rate,
                'description': 'VAT',
                'type': 'percentage',
                'rate': Decimal(rate),
                'invoice_account': account.id,
                'credit_note_account': account.id,
                'company': company.id,
                }])
    return tax


__all__ = [
    'D', 'add_currency_rate', 'create_chart', 'create_company',
    'create_currency', 'create_fiscalyears', 'create_invoice', 'create_move',
    'create_sale',
    'create_tax', 'get_accounts', 'invoice_line', 'receivable_line',
    'set_company']
