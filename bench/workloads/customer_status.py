"""Workloads of customer_status (PostgreSQL)

customer_status.status_one
    The figures of one customer owning about 50,000 receivable lines: the
    generator's big customer from scale 10,000 or, below, the customer with
    the most lines given the lines and invoices of the next ones in the
    (rolled back, untimed) setup.
customer_status.recalculate
    The figures of every customer of the main company (10,000 customers and
    about 1,000,000 lines at ``--scale 10000``) and the refresh of their
    snapshots.

Each compares the module (``get_figures``: a fixed number of grouped queries
per batch of 1000 customers) with a naive per-record ORM computation and
with a hand-written SQL floor computing the same aggregates (balance,
overdue, oldest overdue maturity, longest and weighted delay, highest
balance and its date, revenue, previous revenue, first, last and largest
purchase dates/amounts; the floor leaves out the invoice ids, the credit
limits and the returned checks/protests counts, which are tiny queries).
Every one of these figures must be equal in the three variants.

The naive computation takes about 10-30 ms per line here, so it runs on a
sample of about ``NAIVE_SAMPLE_LINES`` lines (environment variable
``BENCH_NAIVE_SAMPLE_LINES``, default 3000) and its time and queries are
extrapolated per line to the full job: the variant's name says so and the
JSON keeps the sample's own figures.
"""
import datetime as dt
import os
from collections import defaultdict
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from bench.harness import workload

TARGET_LINES = 50_000
# Lines the naive per-record ORM computation is run on (then extrapolated)
NAIVE_SAMPLE_LINES = int(os.environ.get('BENCH_NAIVE_SAMPLE_LINES', 3000))

FLOOR_LINES = """
WITH l AS (
    SELECT ml.party, m.date, ml.maturity_date, ml.debit,
        ml.debit - ml.credit AS amount, r.date AS rdate,
        (ml.reconciliation IS NULL OR r.date > %(end)s::date) AS open
    FROM account_move_line ml
    JOIN account_move m ON m.id = ml.move
    JOIN account_account a ON a.id = ml.account
    JOIN account_account_type t ON t.id = a.type
    LEFT JOIN account_move_reconciliation r ON r.id = ml.reconciliation
    WHERE t.receivable AND m.state = 'posted' AND m.date <= %(end)s::date
        AND a.company = %(company)s AND ml.party = ANY(%(parties)s)),
agg AS (
    SELECT party, SUM(amount) AS balance,
        GREATEST(SUM(amount) FILTER (WHERE open
            AND COALESCE(maturity_date, date) < %(end)s::date), 0)
            AS overdue,
        MIN(maturity_date) FILTER (WHERE open AND debit > 0
            AND maturity_date < %(end)s::date) AS oldest,
        MAX(GREATEST(CASE WHEN open THEN %(end)s::date ELSE rdate END
                - maturity_date, 0)) FILTER (WHERE debit > 0
            AND maturity_date <= %(end)s::date
            AND (open OR rdate >= %(start)s::date)) AS longest,
        SUM(GREATEST(rdate - maturity_date, 0) * debit) FILTER (
            WHERE debit > 0 AND maturity_date IS NOT NULL AND NOT open
            AND rdate >= %(start)s::date) AS weighted,
        SUM(debit) FILTER (
            WHERE debit > 0 AND maturity_date IS NOT NULL AND NOT open
            AND rdate >= %(start)s::date) AS weight
    FROM l GROUP BY party),
daily AS (SELECT party, date, SUM(amount) AS amount FROM l
    GROUP BY party, date),
running AS (SELECT party, date, SUM(amount) OVER (
        PARTITION BY party ORDER BY date) AS balance FROM daily),
high AS (SELECT DISTINCT ON (party) party, balance, date FROM running
    ORDER BY party, balance DESC, date)
SELECT agg.party, agg.balance, agg.overdue, agg.oldest, agg.longest,
    agg.weighted, agg.weight, high.balance, high.date
FROM agg LEFT JOIN high ON high.party = agg.party
"""

FLOOR_INVOICES = """
WITH inv AS (
    SELECT i.id, i.party, i.invoice_date AS date,
        SUM(ml.debit - ml.credit) AS amount
    FROM account_invoice i
    JOIN account_move_line ml ON ml.move = i.move AND ml.account = i.account
    WHERE i.type = 'out' AND i.state IN ('posted', 'paid')
        AND i.company = %(company)s AND i.party = ANY(%(parties)s)
        AND i.invoice_date <= %(end)s::date
    GROUP BY i.id, i.party, i.invoice_date)
SELECT party,
    SUM(amount) FILTER (WHERE date >= %(start)s::date),
    SUM(amount) FILTER (WHERE date >= %(previous)s::date
        AND date < %(start)s::date),
    MIN(date) FILTER (WHERE amount > 0),
    MAX(date) FILTER (WHERE amount > 0),
    MAX(amount) FILTER (WHERE amount > 0 AND date >= %(start)s::date)
FROM inv GROUP BY party
"""


def period(ctx):
    from trytond.pool import Pool
    with ctx.transaction():
        end = Pool().get('ir.date').today()
    return end - relativedelta(years=1) + dt.timedelta(days=1), end


def floor_figures(party_ids, company_id, start, end):
    "Hand-written SQL: two statements whatever the number of customers"
    from trytond.transaction import Transaction
    cursor = Transaction().connection.cursor()
    params = {
        'parties': list(party_ids), 'company': company_id, 'start': start,
        'end': end, 'previous': start - (end - start + dt.timedelta(days=1)),
        }
    result = defaultdict(dict)
    cursor.execute(FLOOR_LINES, params)
    for (party, balance, overdue, oldest, longest, weighted, weight,
            highest, highest_date) in cursor:
        result[party].update({
                'balance': balance, 'overdue': overdue,
                'oldest_overdue_date': oldest, 'longest_delay': longest,
                'average_delay': (
                    (weighted / weight).quantize(Decimal('0.1'))
                    if weight else None),
                'highest_balance': highest,
                'highest_balance_date': highest_date,
                })
    cursor.execute(FLOOR_INVOICES, params)
    for party, revenue, previous, first, last, largest in cursor:
        result[party].update({
                'revenue': revenue, 'previous_revenue': previous,
                'first_purchase_date': first, 'last_purchase_date': last,
                'largest_purchase': largest,
                })
    return result


def naive_figures(pool, party_ids, company, start, end):
    "Per-customer, per-record ORM computation of the same figures"
    Line = pool.get('account.move.line')
    Invoice = pool.get('account.invoice')
    length = end - start + dt.timedelta(days=1)
    result = {}
    for party_id in party_ids:
        lines = Line.search([
                ('party', '=', party_id),
                ('account.type.receivable', '=', True),
                ('move.state', '=', 'posted'),
                ('move.date', '<=', end),
                ('move.company', '=', company.id),
                ])
        balance = overdue = weighted = weight = Decimal(0)
        longest = oldest = None
        daily = defaultdict(Decimal)
        for line in lines:
            amount = line.debit - line.credit
            balance += amount
            date = line.move.date
            daily[date] += amount
            rdate = line.reconciliation.date if line.reconciliation else None
            open_ = rdate is None or rdate > end
            if open_ and (line.maturity_date or date) < end:
                overdue += amount
                if line.debit > 0 and line.maturity_date:
                    oldest = min(oldest or line.maturity_date,
                        line.maturity_date)
            if (line.debit > 0 and line.maturity_date
                    and (open_ or rdate >= start)):
                delay = max(
                    ((end if open_ else rdate) - line.maturity_date).days, 0)
                if line.maturity_date <= end:
                    longest = max(longest or 0, delay)
                if not open_:
                    # settled in the period, even early before a maturity
                    # after the end (delay 0)
                    weighted += delay * line.debit
                    weight += line.debit
        running, highest = Decimal(0), (None, None)
        for date in sorted(daily):
            running += daily[date]
            if highest[0] is None or running > highest[0]:
                highest = (running, date)
        revenue = previous = Decimal(0)
        first = last = largest = None
        for invoice in Invoice.search([
                    ('type', '=', 'out'), ('party', '=', party_id),
                    ('company', '=', company.id),
                    ('state', 'in', ['posted', 'paid']),
                    ('invoice_date', '<=', end),
                    ]):
            amount = sum(l.debit - l.credit for l in invoice.move.lines
                if l.account == invoice.account)
            date = invoice.invoice_date
            if date >= start:
                revenue += amount
            elif date >= start - length:
                previous += amount
            if amount > 0:
                first = min(first or date, date)
                last = max(last or date, date)
                if date >= start:
                    largest = max(largest or amount, amount)
        result[party_id] = {
            'balance': balance, 'overdue': max(overdue, Decimal(0)),
            'oldest_overdue_date': oldest, 'longest_delay': longest,
            'average_delay': (
                (weighted / weight).quantize(Decimal('0.1'))
                if weight else None),
            'highest_balance': highest[0],
            'highest_balance_date': highest[1],
            'revenue': revenue, 'previous_revenue': previous,
            'first_purchase_date': first, 'last_purchase_date': last,
            'largest_purchase': largest,
            }
    return result


# Every figure the floor and the naive variant compute
CHECKED = ['balance', 'overdue', 'oldest_overdue_date', 'longest_delay',
    'average_delay', 'highest_balance', 'highest_balance_date', 'revenue',
    'previous_revenue', 'first_purchase_date', 'last_purchase_date',
    'largest_purchase']


def check(module, other, name):
    "The variants must agree on the figures they share"
    for party, values in other.items():
        for figure in CHECKED:
            expected = values.get(figure)
            got = module.get(party, {}).get(figure)
            if expected is None and got in {None, 0}:
                continue
            assert got == expected, (name, party, figure, got, expected)


def line_counts(ctx):
    from trytond.transaction import Transaction
    with ctx.transaction():
        cursor = Transaction().connection.cursor()
        cursor.execute("""
            SELECT ml.party, COUNT(*) FROM account_move_line ml
            JOIN account_account a ON a.id = ml.account
            JOIN account_account_type t ON t.id = a.type
            WHERE t.receivable AND a.company = %s AND ml.party IS NOT NULL
            GROUP BY ml.party ORDER BY COUNT(*) DESC, ml.party""",
            (ctx.company,))
        return cursor.fetchall()


def gather(counts, lines):
    "Return the parties of counts whose lines add up to lines, and the sum"
    parties, total = [], 0
    for party, count in counts:
        if total >= lines:
            break
        parties.append(party)
        total += count
    return parties, total


def merger(ctx, target, donors):
    "Return a setup giving the lines and invoices of donors to target"
    from trytond.transaction import Transaction
    Company = ctx.pool.get('company.company')

    def setup():
        others = [d for d in donors if d != target]
        if others:
            cursor = Transaction().connection.cursor()
            for table in ['account_move_line', 'account_invoice']:
                cursor.execute(
                    f'UPDATE {table} SET party = %s WHERE party = ANY(%s)',
                    (target, others))
        return Company(ctx.company)
    return setup


def check_sample(ctx, naive, setup, start, end):
    "Check the naive figures of a sample against the module's"
    Status = ctx.pool.get('customer.status')
    with ctx.transaction():
        company = setup()
        check(Status.get_figures(list(naive), [company], start, end),
            naive, 'naive')


@workload('customer_status.status_one', modules=['customer_status'],
    description="figures of one customer with ~50,000 receivable lines")
def status_one(ctx):
    """The customer with the most lines (the generator's big customer from
    scale 10,000) or, below TARGET_LINES, the lines of the next ones given
    to it in the (rolled back, untimed) setup.  The naive ORM computation
    runs on a customer given NAIVE_SAMPLE_LINES lines the same way and is
    extrapolated per line."""
    pool = ctx.pool
    Status = pool.get('customer.status')
    counts = line_counts(ctx)
    if not counts:
        ctx.skip("no receivable line")
    donors, total = gather(counts, TARGET_LINES)
    target = donors[0]
    setup = merger(ctx, target, donors)
    start, end = period(ctx)

    def module(company):
        return Status.get_figures([target], [company], start, end)

    def floor(company):
        return floor_figures([target], company.id, start, end)

    batch = Status._batch_size
    result = ctx.measure(f'get_figures, 1 customer, {total} lines '
        f'(batch of {batch})', module, setup=setup)
    check(result, ctx.measure('SQL floor', floor, baseline='floor',
            setup=setup), 'floor')

    rest = counts[len(donors):] or counts
    sample, sample_lines = gather(rest, min(NAIVE_SAMPLE_LINES, total))
    factor = total / sample_lines
    sample_setup = merger(ctx, sample[0], sample)

    def naive(company):
        return naive_figures(pool, [sample[0]], company, start, end)

    naive_result = ctx.measure(f'per-record ORM, {sample_lines} lines',
        naive, baseline='naive', setup=sample_setup,
        extrapolate=factor if factor > 1.05 else None)
    check_sample(ctx, naive_result, sample_setup, start, end)


@workload('customer_status.recalculate', modules=['customer_status'],
    description="figures and snapshots of every customer")
def recalculate(ctx):
    """Every customer of the main company; the naive ORM computation runs
    on customers spread over the list (not the biggest) adding up to about
    NAIVE_SAMPLE_LINES lines and is extrapolated per line."""
    pool = ctx.pool
    Company = pool.get('company.company')
    Status = pool.get('customer.status')
    Snapshot = pool.get('customer.status.snapshot')
    counts = line_counts(ctx)
    if not counts:
        ctx.skip("no receivable line")
    party_ids = sorted(p for p, _ in counts)
    lines = sum(c for _, c in counts)
    start, end = period(ctx)

    def company():
        return Company(ctx.company)

    def module(company):
        return Status.get_figures(party_ids, [company], start, end)

    def refresh(company):
        Snapshot.refresh(companies=[company], date=end)

    def floor(company):
        return floor_figures(party_ids, company.id, start, end)

    batches = -(-len(party_ids) // Status._batch_size)
    label = (f'{len(party_ids)} customers, {lines} lines, '
        f'{batches} batches')
    result = ctx.measure(f'get_figures, {label}', module, setup=company)
    ctx.measure(f'refresh snapshots, {label}', refresh, setup=company)
    check(result, ctx.measure('SQL floor', floor, baseline='floor',
            setup=company), 'floor')

    ordinary = sorted(counts[1:] or counts)
    average = lines / len(counts)
    step = max(1, round(len(ordinary) * average / NAIVE_SAMPLE_LINES))
    sample = ordinary[::step]
    sample_ids = [p for p, _ in sample]
    sample_lines = sum(c for _, c in sample)
    factor = lines / sample_lines

    def naive(company):
        return naive_figures(pool, sample_ids, company, start, end)

    naive_result = ctx.measure(
        f'per-record ORM, {len(sample_ids)} customers, {sample_lines} lines',
        naive, baseline='naive', setup=company,
        extrapolate=factor if factor > 1.05 else None)
    check(result, naive_result, 'naive')
