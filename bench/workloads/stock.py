"""Baselines on stock Tryton only: every suite module compares to these."""
from sql import Literal, Null
from sql.aggregate import Sum
from sql.conditionals import Coalesce

from bench.harness import workload


def customer_ids(ctx):
    "Ids of the parties that are not companies (the generated customers)."
    Party = ctx.pool.get('party.party')
    Company = ctx.pool.get('company.company')
    with ctx.transaction():
        companies = {c.party.id for c in Company.search([])}
        return [p.id for p in Party.search([], order=[('id', 'ASC')])
            if p.id not in companies]


def receivable_floor(ctx, company):
    "Raw SQL equivalent of party.party receivable/payable for all parties."
    from trytond.transaction import Transaction
    pool = ctx.pool
    line = pool.get('account.move.line').__table__()
    account = pool.get('account.account').__table__()
    type_ = pool.get('account.account.type').__table__()
    query = (line
        .join(account, condition=line.account == account.id)
        .join(type_, condition=account.type == type_.id)
        .select(line.party,
            Coalesce(Sum(line.debit - line.credit,
                    filter_=type_.receivable), Literal(0)),
            Coalesce(Sum(line.debit - line.credit,
                    filter_=type_.payable), Literal(0)),
            where=(line.reconciliation == Null)
            & (account.company == company)
            & (line.party != Null),
            group_by=line.party))
    cursor = Transaction().connection.cursor()
    cursor.execute(*query)
    return {party: (receivable, payable)
        for party, receivable, payable in cursor}


@workload('stock.receivable', description="receivable and payable balance "
    "of every customer (party.party Function fields)")
def receivable(ctx):
    Party = ctx.pool.get('party.party')
    ids = customer_ids(ctx)
    names = ['receivable', 'payable']

    def batch():
        return {r['id']: r['receivable'] for r in Party.read(ids, names)}

    def naive():
        return {i: Party.read([i], names)[0]['receivable'] for i in ids}

    def floor():
        return receivable_floor(ctx, ctx.company)

    result = ctx.measure(f'Function field, one read of {len(ids)}', batch,
        baseline='stock')
    naive_result = ctx.measure('per-party read', naive, baseline='naive')
    floor_result = ctx.measure('SQL aggregate', floor, baseline='floor')
    # The three variants must agree
    assert result == naive_result
    assert all(result[p] == floor_result.get(p, (0, 0))[0] for p in result)


def sales_count(ctx):
    "1,000 sales from 10,000 customers on, a tenth of the customers below."
    return min(1000, max(50, ctx.scale // 10))


def quotations(ctx, limit=None):
    "Confirm the generated quotations (setup, not measured)."
    limit = limit or sales_count(ctx)
    Sale = ctx.pool.get('sale.sale')
    sales = Sale.search([('state', '=', 'quotation')], limit=limit,
        order=[('id', 'ASC')])
    if not sales:
        ctx.skip("no quotation in the database")
    Sale.confirm(sales)
    return sales


@workload('stock.sale_invoicing', modules=['sale'],
    description="process 1,000 confirmed sales (a tenth of the customers "
    "below 10,000) with invoice method 'order' and post their invoices")
def sale_invoicing(ctx):
    pool = ctx.pool
    Sale = pool.get('sale.sale')
    Invoice = pool.get('account.invoice')

    def batch(sales):
        Sale.process(sales)
        # Several sales may share an invoice (invoice grouping)
        invoices = Invoice.browse(sorted(
                {i.id for s in Sale.browse(sales) for i in s.invoices}))
        Invoice.post(invoices)
        return len(invoices)

    def naive(sales):
        count = 0
        for sale in sales:
            Sale.process([sale])
            invoices = [i for i in Sale(sale.id).invoices
                if i.state == 'draft']
            Invoice.post(invoices)
            count += len(invoices)
        return count

    ctx.measure('Sale.process + Invoice.post, batch', batch,
        baseline='stock', setup=lambda: quotations(ctx))
    ctx.measure('per sale', naive, baseline='naive',
        setup=lambda: quotations(ctx))
