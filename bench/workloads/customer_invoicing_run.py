"""Workloads of customer_invoicing_run (PostgreSQL)

customer_invoicing_run.sales
    10,000 processing sales orders (manual invoice method, one line each,
    ``BENCH_INVOICING_RUN_SALES`` to change the number) of 100 customers
    invoiced:

    * by one invoicing run: the collection of the items and every batch of
      500 items, as the queue worker runs them (``_collect`` then
      ``_process_items(_claim_items(500))`` until none is pending), in one
      transaction;
    * by stock Tryton, order by order: ``sale.sale.manual_invoice`` (the sale
      processing with the manual invoice) of each sale (``[stock]``); above
      1,000 sales (``BENCH_INVOICING_RUN_STOCK_SAMPLE``) the first 1,000 of
      them are invoiced and the time and queries extrapolated (each sale is
      invoiced alone, so its cost does not depend on the others);
    * by raw SQL (``[floor]``): the items collected in the setup billed by
      five statements (invoices per grouping key, lines from the sale lines,
      their taxes, the invoice taxes summed, the items marked); its
      invoices, lines, untaxed and tax totals are checked equal to the
      run's;
    * one batch of 100 and one batch of 500 items alone (after the
      collection, in the setup): their numbers of queries show that a
      batch's queries do not depend on its lines, only on its invoices
      (the number of invoices of each batch is in the variant's name; the
      query count per number of lines is asserted by the module's
      ``scenario_invoicing_run_batch_queries.rst``).

    The run never holds more than one batch of items (and 1,000 candidate
    rows while collecting), so its memory is bounded by the batch size: the
    ``traced`` variant runs the whole run again under ``tracemalloc`` and
    records its peak (``peak_mib`` in the JSON and in the variant's name),
    which does not grow with the number of sales; the one-batch variants
    record theirs too with ``BENCH_INVOICING_RUN_TRACE_BATCHES=1``.

The sales are created in the (untimed, rolled back) setup of each variant:
100 through the ORM (quoted, confirmed, processed), cloned with
``INSERT ... SELECT`` to reach the number of sales.
"""
import datetime as dt
import os
import tracemalloc
from decimal import Decimal

from bench.harness import workload

SALES = int(os.environ.get('BENCH_INVOICING_RUN_SALES', 10_000))
STOCK_SAMPLE = int(os.environ.get('BENCH_INVOICING_RUN_STOCK_SAMPLE', 1_000))
TEMPLATES = 100


def _cursor():
    from trytond.transaction import Transaction
    return Transaction().connection.cursor()


def _columns(table, skip):
    cursor = _cursor()
    cursor.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = %s ORDER BY ordinal_position", (table,))
    return [c for c, in cursor if c not in skip]


def _create_sales(ctx):
    "Create SALES processing sales with manual invoicing; return their ids"
    pool = ctx.pool
    Sale = pool.get('sale.sale')
    Party = pool.get('party.party')
    Product = pool.get('product.product')
    Date = pool.get('ir.date')
    today = Date.today()
    parties = Party.search([
            ('customer_accounts', '!=', None),
            ('addresses', '!=', None),
            ], limit=TEMPLATES, order=[('id', 'ASC')])
    if not parties:
        parties = Party.search(
            [('addresses', '!=', None)], limit=TEMPLATES,
            order=[('id', 'ASC')])
    products = Product.search([
            ('salable', '=', True),
            ('type', '=', 'service'),
            ], limit=1)
    if not parties or not products:
        ctx.skip("no customer or salable service in the database")
    product, = products
    vlist = []
    for i in range(min(TEMPLATES, SALES)):
        party = parties[i % len(parties)]
        vlist.append({
                'company': ctx.company,
                'party': party.id,
                'invoice_address': party.address_get(type='invoice').id,
                'sale_date': today - dt.timedelta(days=1),
                'invoice_method': 'manual',
                'lines': [('create', [{
                                'type': 'line',
                                'product': product.id,
                                'quantity': 1 + i % 5,
                                'unit': product.sale_uom.id,
                                'unit_price': Decimal('12.50'),
                                'description': product.rec_name,
                                'taxes': [('add', [
                                            t.id for t in
                                            product.customer_taxes_used])],
                                }])],
                })
    sales = Sale.create(vlist)
    Sale.quote(sales)
    Sale.confirm(sales)
    Sale.process(sales)
    template_ids = [s.id for s in sales]
    copies = (SALES - len(template_ids)) // len(template_ids)
    if copies:
        _clone_sales(template_ids, copies)
    cursor = _cursor()
    cursor.execute(
        "SELECT id FROM sale_sale WHERE state = 'processing' "
        "AND invoice_method = 'manual' ORDER BY id")
    return [i for i, in cursor]


def _clone_sales(template_ids, copies):
    "Clone the sales, their lines and line taxes copies times"
    cursor = _cursor()
    cursor.execute(
        "CREATE TEMP TABLE bench_sale_map ON COMMIT DROP AS "
        "SELECT s.id AS old, nextval('sale_sale_id_seq') AS new "
        "FROM sale_sale s, generate_series(1, %s) g "
        "WHERE s.id = ANY(%s)", (copies, template_ids))
    columns = _columns('sale_sale', {'id'})
    cursor.execute(
        "INSERT INTO sale_sale (id, %s) SELECT m.new, %s "
        "FROM sale_sale s JOIN bench_sale_map m ON s.id = m.old" % (
            ', '.join(columns), ', '.join('s.' + c for c in columns)))
    cursor.execute(
        "CREATE TEMP TABLE bench_line_map ON COMMIT DROP AS "
        "SELECT l.id AS old, m.new AS sale, "
        "nextval('sale_line_id_seq') AS new "
        "FROM sale_line l JOIN bench_sale_map m ON l.sale = m.old")
    columns = _columns('sale_line', {'id', 'sale'})
    cursor.execute(
        "INSERT INTO sale_line (id, sale, %s) SELECT m.new, m.sale, %s "
        "FROM sale_line l JOIN bench_line_map m ON l.id = m.old" % (
            ', '.join(columns), ', '.join('l.' + c for c in columns)))
    cursor.execute(
        'INSERT INTO "sale_line-account_tax" (id, line, tax) '
        "SELECT nextval('\"sale_line-account_tax_id_seq\"'), m.new, t.tax "
        'FROM "sale_line-account_tax" t '
        "JOIN bench_line_map m ON t.line = m.old")


def _new_run(ctx):
    pool = ctx.pool
    Run = pool.get('customer.invoicing.run')
    Date = pool.get('ir.date')
    run = Run(company=ctx.company, cutoff_date=Date.today(),
        invoice_date=Date.today(), sources=['sale'])
    run.save()
    return run


def _setup_collected(ctx):
    sale_ids = _create_sales(ctx)
    run = _new_run(ctx)
    run._collect()
    return run, len(sale_ids)


@workload('customer_invoicing_run.sales',
    modules=['customer_invoicing_run'],
    description="invoice 10,000 sales orders: one run vs order by order")
def sales(ctx):
    pool = ctx.pool
    Sale = pool.get('sale.sale')
    Invoice = pool.get('account.invoice')
    with ctx.transaction():
        if not Sale.search([], limit=1) and not pool.get(
                'party.party').search([], limit=1):
            ctx.skip("empty database")

    def setup_run():
        _create_sales(ctx)
        return _new_run(ctx)

    def run_all(run):
        count = run._collect()
        while items := run._claim_items(500):
            run._process_items(items)
        return count, Invoice.search_count([('invoicing_run', '=', run.id)])

    def totals(run):
        "Invoices, lines, untaxed and tax amounts the run created"
        cursor = _cursor()
        cursor.execute(
            "SELECT COUNT(DISTINCT i.id), COUNT(l.id), "
            "SUM(CAST(l.quantity AS NUMERIC) * l.unit_price) "
            "FROM account_invoice i "
            "JOIN account_invoice_line l ON l.invoice = i.id "
            "WHERE i.invoicing_run = %s", (run.id,))
        invoices, lines, untaxed = cursor.fetchone()
        cursor.execute(
            "SELECT SUM(t.amount) FROM account_invoice_tax t "
            "JOIN account_invoice i ON t.invoice = i.id "
            "WHERE i.invoicing_run = %s", (run.id,))
        tax, = cursor.fetchone()
        return invoices, lines, round(untaxed, 2), round(tax, 2)

    def run_totals(run):
        run_all(run)
        return totals(run)

    expected = ctx.measure('run: collect and bill every batch of 500',
        run_totals, setup=setup_run, repeat=1)

    def setup_floor():
        run, _ = _setup_collected(ctx)
        journal = pool.get('account.journal').find({'type': 'revenue'})
        product, = pool.get('product.product').search([
                ('salable', '=', True), ('type', '=', 'service')], limit=1)
        receivable = pool.get('account.configuration')(1).get_multivalue(
            'default_account_receivable', company=ctx.company)
        return run, journal.id, receivable.id, product.account_revenue_used.id

    def floor(args):
        run, journal, receivable, revenue = args
        _bill_floor(run, journal, receivable, revenue)
        return totals(run)

    floor_totals = ctx.measure(
        'SQL floor: insert the invoices, lines and taxes', floor,
        baseline='floor', setup=setup_floor, repeat=1)
    if floor_totals != expected:
        raise AssertionError(
            f"floor {floor_totals} differs from the run {expected}")
    _measure_traced(ctx, 'run: collect and bill every batch of 500',
        run_all, setup=setup_run)

    def setup_stock():
        from trytond.transaction import Transaction
        sale_ids = _create_sales(ctx)
        # Sale.process locks its sales: as they are created (or cloned) in
        # this transaction no lock is needed, tell trytond so that it does
        # not restart the whole measure once per sale
        Transaction().create_records['sale.sale'].extend(sale_ids)
        return sale_ids[:STOCK_SAMPLE]

    def stock(sale_ids):
        # each sale browsed alone, as a clerk opens them one by one (a
        # browse of all of them would reload the whole list after each
        # invoice, as every write clears the cache)
        for sale_id in sale_ids:
            Sale.manual_invoice([Sale(sale_id)])
        return len(sale_ids)

    # each sale is invoiced on its own: the time of a sample of them
    # extrapolates linearly (a sample of 0 skips the stock variant)
    if STOCK_SAMPLE:
        ctx.measure('sale processing order by order', stock,
            baseline='stock', setup=setup_stock, repeat=1,
            extrapolate=(
                SALES / STOCK_SAMPLE if SALES > STOCK_SAMPLE else None))

    for size in [100, 500]:
        def one_batch(collected, size=size):
            run, _ = collected
            run._process_items(run._claim_items(size))
        ctx.measure(f'one batch of {size} items', one_batch,
            setup=lambda: _setup_collected(ctx), repeat=1)
        # what the batch's queries depend on: its invoices (Tryton validates
        # the domains of each new invoice's address and customer account),
        # not its lines
        with ctx.transaction():
            run, _ = _setup_collected(ctx)
            run._process_items(run._claim_items(size))
            invoices = Invoice.search_count([('invoicing_run', '=', run.id)])
        ctx.variants[-1]['invoices'] = invoices
        ctx.variants[-1]['variant'] += f' ({invoices} invoices)'
        if os.environ.get('BENCH_INVOICING_RUN_TRACE_BATCHES'):
            _measure_traced(ctx, f'one batch of {size} items', one_batch,
                setup=lambda: _setup_collected(ctx))


def _bill_floor(run, journal, receivable, revenue):
    """Bill the pending items of run with raw SQL: one draft invoice per
    grouping key, the lines from the sale lines with their taxes, the
    invoice taxes summed per invoice and tax (the journal, receivable and
    revenue accounts are given: the generated customers and the product all
    use the defaults)"""
    cursor = _cursor()
    cursor.execute(
        "INSERT INTO account_invoice (company, type, party, invoice_address, "
        "currency, account, journal, invoice_date, state, invoicing_run, "
        "invoicing_key, invoicing_sent, create_uid, create_date) "
        "SELECT i.company, 'out', i.invoice_party, "
        "(SELECT a.id FROM party_address a WHERE a.party = i.invoice_party "
        "AND a.active ORDER BY a.sequence, a.id LIMIT 1), "
        "i.currency, %s, %s, CURRENT_DATE, 'draft', i.run, i.group_key, "
        "false, 0, now() "
        "FROM (SELECT DISTINCT ON (group_key) company, invoice_party, "
        "currency, run, group_key FROM customer_invoicing_run_item "
        "WHERE run = %s AND state = 'pending' ORDER BY group_key, id) i",
        (receivable, journal, run.id))
    cursor.execute(
        "INSERT INTO account_invoice_line (invoice, type, invoice_type, "
        "company, currency, product, quantity, unit, unit_price, account, "
        "description, origin, invoicing_item, create_uid, create_date) "
        "SELECT v.id, 'line', 'out', i.company, i.currency, l.product, "
        "l.quantity, l.unit, l.unit_price, %s, l.description, "
        "'sale.line,' || l.id, i.id, 0, now() "
        "FROM customer_invoicing_run_item i "
        "JOIN sale_line l ON l.id = split_part(i.source, ',', 2)::integer "
        "JOIN account_invoice v ON v.invoicing_run = i.run "
        "AND v.invoicing_key = i.group_key "
        "WHERE i.run = %s AND i.state = 'pending'", (revenue, run.id))
    cursor.execute(
        'INSERT INTO "account_invoice_line-account_tax" '
        "(line, tax, create_uid, create_date) "
        "SELECT l.id, t.tax, 0, now() FROM account_invoice_line l "
        "JOIN account_invoice v ON l.invoice = v.id "
        'JOIN "sale_line-account_tax" t '
        "ON t.line = split_part(l.origin, ',', 2)::integer "
        "WHERE v.invoicing_run = %s", (run.id,))
    cursor.execute(
        "INSERT INTO account_invoice_tax (invoice, tax, base, amount, "
        "account, description, manual, create_uid, create_date) "
        "SELECT l.invoice, x.id, "
        "SUM(CAST(l.quantity AS NUMERIC) * l.unit_price), "
        "ROUND(SUM(CAST(l.quantity AS NUMERIC) * l.unit_price) * x.rate, 2), "
        "x.invoice_account, x.description, false, 0, now() "
        "FROM account_invoice_line l "
        "JOIN account_invoice v ON l.invoice = v.id "
        'JOIN "account_invoice_line-account_tax" lt ON lt.line = l.id '
        "JOIN account_tax x ON x.id = lt.tax "
        "WHERE v.invoicing_run = %s GROUP BY l.invoice, x.id", (run.id,))
    cursor.execute(
        "UPDATE customer_invoicing_run_item SET state = 'done' "
        "WHERE run = %s AND state = 'pending'", (run.id,))


def _measure_traced(ctx, variant, func, setup):
    """Measure func under tracemalloc (slower: its time is not comparable)
    and record its peak of allocated memory"""
    def traced(*args):
        tracemalloc.start()
        try:
            result = func(*args)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        traced.peak = peak
        return result
    ctx.measure(f'{variant} [traced]', traced, setup=setup, repeat=1)
    entry = ctx.variants[-1]
    entry['peak_mib'] = round(traced.peak / 2 ** 20, 1)
    entry['variant'] += f' peak {entry["peak_mib"]} MiB'
