"""Workloads of customer_billing

customer_billing.hq_invoicing
    Invoicing 1,000 confirmed branch sales orders (one service line each)
    under 20 headquarters whose billing profile bills the headquarter, one
    invoice per headquarter per monthly cycle: ``sale.sale.process`` adds
    the lines of all orders of a cycle to 20 draft invoices in batch
    (``_process_billing_invoice``).  Measured with 50 and with 1,000
    branches: the SQL statements per invoice must not grow with the number
    of branches.  The stock baseline processes the same 1,000 orders without
    customer accounts, so stock Tryton issues one invoice per order to each
    branch.

The parties, accounts and orders are created in the (untimed, rolled back)
setup of each variant.
"""
from decimal import Decimal

from bench.harness import workload

ORDERS = 1000
HEADQUARTERS = 20


def _prepare(ctx, branches, billed=True):
    "Create headquarters, branches and confirmed orders; return the orders"
    pool = ctx.pool
    Party = pool.get('party.party')
    Profile = pool.get('customer.billing.profile')
    Account = pool.get('customer.account')
    Product = pool.get('product.product')
    Sale = pool.get('sale.sale')
    Date = pool.get('ir.date')

    product, = Product.search([
            ('salable', '=', True),
            ('type', '=', 'service'),
            ], limit=1)
    address = [('create', [{'street': "1 Bench Street", 'city': "Liège"}])]
    hqs = Party.create([{'name': f"Bench HQ {i}", 'addresses': address}
            for i in range(HEADQUARTERS)])
    parties = Party.create([{
                'name': f"Bench Branch {i}",
                'headquarter': hqs[i % HEADQUARTERS].id,
                'addresses': address,
                } for i in range(branches)])
    accounts = {}
    if billed:
        profile, = Profile.create([{
                    'code': 'BENCH-HQ', 'name': "Bench headquarter",
                    'company': ctx.company, 'grouping': 'headquarter',
                    'bill_to': 'headquarter', 'cycle': 'monthly',
                    'cycle_day': 1}])
        accounts = {a.party.id: a.id for a in Account.create([{
                        'code': f'BENCH-{p.id}', 'party': p.id,
                        'company': ctx.company, 'profile': profile.id}
                    for p in parties])}
    vlist = []
    for i in range(ORDERS):
        party = parties[i % branches]
        vlist.append({
                'company': ctx.company,
                'party': party.id,
                'customer_account': accounts.get(party.id),
                'invoice_address': party.addresses[0].id,
                'shipment_address': party.addresses[0].id,
                'invoice_method': 'order',
                'lines': [('create', [{
                                'product': product.id,
                                'quantity': 1 + i % 3,
                                'unit': product.sale_uom.id,
                                'unit_price': Decimal('10'),
                                }])],
                })
    sales = Sale.create(vlist)
    Sale.quote(sales)
    # as Sale.confirm without pushing the processing to the queue
    Sale.write(sales, {'state': 'confirmed', 'sale_date': Date.today()})
    return Sale.browse([s.id for s in sales])


@workload('customer_billing.hq_invoicing', modules=['customer_billing'],
    description="invoice 1,000 branch orders under 20 headquarters")
def hq_invoicing(ctx):
    Sale = ctx.pool.get('sale.sale')
    Invoice = ctx.pool.get('account.invoice')

    def process(sales):
        Sale.process(sales)
        invoices = Invoice.search([
                ('lines.origin.sale', 'in', [s.id for s in sales],
                    'sale.line'),
                ])
        return len(invoices)

    for branches in [50, 1000]:
        count = ctx.measure(f'hq invoices, {branches} branches', process,
            setup=lambda b=branches: _prepare(ctx, b))
        assert count == HEADQUARTERS, count
    count = ctx.measure('stock: branch invoices, 1000 branches', process,
        baseline='stock',
        setup=lambda: _prepare(ctx, 1000, billed=False))
    assert count == ORDERS, count
