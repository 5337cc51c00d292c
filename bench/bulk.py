"""Bulk cloning of ORM-built rows on PostgreSQL.

Used by :class:`bench.generator.Generator` (see its docstring).  The ORM
creates a record once (with everything its modules add to it); the rows it
inserted are captured as an id range ``(before, after]`` per table (one
process, id sequences) and cloned with one ``INSERT ... SELECT`` per table:
a clone of rank ``k`` is the same range moved to a reserved id block,
``new_id = old_id - before - 1 + block + k * span``; foreign keys and
``model,id`` references into the captured rows are moved the same way.

:class:`RecordCloner` clones records of any table (customers: parties,
addresses, contact mechanisms, multi-values, customer accounts ...) with
per-clone values given for some columns.  :class:`BundleCloner` clones
document *bundles*: every row the ORM inserted in the ``account*`` tables
while one invoice was created, posted, paid, reconciled ..., for another
customer and shifted in time; only the document tables
(``account_invoice*``, ``account_move*``, ``account_tax_line*``) are
cloned and the journal periods the ORM would create for the moves' periods
are added afterwards.
"""
import contextlib
import re

REFERENCE = re.compile(r'^([a-z_.]+),(-?\d+)$')
NO_SHIFT = {'post_date'}  # set by the ORM to the day of posting


def _quote(name):
    return '"%s"' % name.replace('"', '""')


class _Cloner:
    "Capture the rows the ORM inserts and clone them (see module docstring)"

    def __init__(self, pool):
        self.pool = pool
        self._tables = None
        self._columns = {}
        self._fks = None

    @property
    def cursor(self):
        from trytond.transaction import Transaction
        return Transaction().connection.cursor()

    def _table_filter(self):
        "SQL condition on c.relname of the tables to capture"
        return 'TRUE'

    def tables(self):
        if self._tables is None:
            cursor = self.cursor
            cursor.execute(
                "SELECT c.relname FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "JOIN pg_attribute a ON a.attrelid = c.oid "
                "AND a.attname = 'id' "
                "WHERE c.relkind = 'r' AND n.nspname = current_schema() "
                f"AND ({self._table_filter()})")
            self._tables = sorted(r for r, in cursor)
        return self._tables

    def max_ids(self):
        cursor = self.cursor
        query = ' UNION ALL '.join(
            f"SELECT '{t}', COALESCE(MAX(id), 0) FROM {_quote(t)}"
            for t in self.tables())
        cursor.execute(query)
        return dict(cursor)

    @contextlib.contextmanager
    def capture(self):
        before = self.max_ids()
        bundle = {}
        yield bundle
        after = self.max_ids()
        bundle['ranges'] = {t: (before[t], after[t])
            for t in after if after[t] > before[t]}

    def columns(self, table):
        if table not in self._columns:
            cursor = self.cursor
            cursor.execute(
                "SELECT column_name, data_type "
                "FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = %s "
                "ORDER BY ordinal_position", (table,))
            self._columns[table] = list(cursor)
        return self._columns[table]

    def foreign_keys(self):
        if self._fks is None:
            cursor = self.cursor
            cursor.execute(
                "SELECT src.relname, a.attname, dst.relname "
                "FROM pg_constraint c "
                "JOIN pg_class src ON src.oid = c.conrelid "
                "JOIN pg_class dst ON dst.oid = c.confrelid "
                "JOIN pg_attribute a ON a.attrelid = c.conrelid "
                "AND a.attnum = c.conkey[1] "
                "WHERE c.contype = 'f'")
            self._fks = {(s, c): d for s, c, d in cursor}
        return self._fks

    def _models(self):
        return {cls._table: name
            for name, cls in self.pool.iterobject()
            if getattr(cls, '_table', None)}

    def _reference_columns(self, table, ranges, bundle_range, models):
        "Columns of table holding 'model,id' references into the bundle."
        cursor = self.cursor
        result = {}
        before, after = bundle_range
        for name, type_ in self.columns(table):
            if type_ != 'character varying':
                continue
            cursor.execute(
                f"SELECT DISTINCT {_quote(name)} FROM {_quote(table)} "
                "WHERE id > %s AND id <= %s", (before, after))
            targets = set()
            for value, in cursor:
                match = value and REFERENCE.match(value)
                if match:
                    targets.add(match.group(1))
            targets = {m for m in targets
                if any(models.get(t) == m for t in ranges)}
            if targets:
                result[name] = targets
        return result

    def _order(self, ranges):
        "Tables of the bundle, referenced ones first."
        fks = self.foreign_keys()
        cursor = self.cursor
        deps = {t: set() for t in ranges}
        for (source, column), target in fks.items():
            if (source in ranges and target in ranges
                    and target != source):
                # Columns empty in the bundle do not constrain the order
                # (e.g. account_move_reconciliation.delegate_to)
                cursor.execute(
                    f"SELECT 1 FROM {_quote(source)} "
                    f"WHERE id > %s AND id <= %s AND {_quote(column)} "
                    "IS NOT NULL LIMIT 1", ranges[source])
                if cursor.fetchone():
                    deps[source].add(target)
        ordered = []
        while deps:
            ready = sorted(t for t, d in deps.items() if not d - set(ordered))
            if not ready:
                raise ValueError(f"cyclic foreign keys among {sorted(deps)}")
            ordered.extend(ready)
            for t in ready:
                del deps[t]
        return ordered

    def _reserve(self, table, count):
        cursor = self.cursor
        cursor.execute(
            "SELECT pg_get_serial_sequence(%s, 'id')", (_quote(table),))
        sequence, = cursor.fetchone()
        cursor.execute("SELECT nextval(%s)", (sequence,))
        first, = cursor.fetchone()
        if count > 1:
            cursor.execute("SELECT setval(%s, %s)",
                (sequence, first + count - 1))
        return first

    def _fill(self, table, columns, rows):
        "(Re)create the temporary table of the clones' values"
        cursor = self.cursor
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(f"CREATE TEMP TABLE {table} (%s)" % ', '.join(
                f'{_quote(n)} {t}' for n, t in columns))
        with cursor.copy(f"COPY {table} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def _clone(self, bundle, count, models, special, source):
        """Insert count clones of the bundle's rows, one per row of the
        temporary table source (alias p, rank p.k); special(table, name,
        type_, column, names) returns the expression of a column or None.
        Return the offsets: {table: (before, after, offset, span)}."""
        cursor = self.cursor
        ranges = bundle['ranges']
        fks = self.foreign_keys()
        offsets = {}
        for table, (before, after) in ranges.items():
            span = after - before
            block = self._reserve(table, count * span)
            offsets[table] = (before, after, block - before - 1, span)

        def remap(expression, table):
            before, after, offset, span = offsets[table]
            return (f"CASE WHEN {expression} > {before} "
                f"AND {expression} <= {after} "
                f"THEN {expression} + {offset} + p.k * {span} "
                f"ELSE {expression} END")
        for table in self._order(ranges):
            before, after, offset, span = offsets[table]
            references = self._reference_columns(
                table, ranges, (before, after), models)
            names = [c for c, _ in self.columns(table)]
            expressions = []
            for name, type_ in self.columns(table):
                column = f't.{_quote(name)}'
                target = fks.get((table, name))
                if name == 'id':
                    expr = f"t.id + {offset} + p.k * {span}"
                elif target in ranges:
                    expr = remap(column, target)
                elif (expr := special(table, name, type_, column, names)
                        ) is not None:
                    pass
                elif name in references:
                    expr = column
                    for model in references[name]:
                        target_table = next(t for t in ranges
                            if models.get(t) == model)
                        number = f"split_part({column}, ',', 2)::INTEGER"
                        expr = (f"CASE WHEN {column} LIKE '{model},%%' "
                            f"THEN '{model},' || "
                            f"({remap(number, target_table)})::TEXT "
                            f"ELSE {expr} END")
                else:
                    expr = column
                expressions.append(expr)
            cursor.execute(
                f"INSERT INTO {_quote(table)} "
                f"({', '.join(_quote(n) for n in names)}) "
                f"SELECT {', '.join(expressions)} "
                f"FROM {_quote(table)} t CROSS JOIN {source} p "
                f"WHERE t.id > {before} AND t.id <= {after}")
        return offsets


class RecordCloner(_Cloner):
    """Clone the rows the ORM inserted (in any table) for a record.

    ``columns`` are the (name, SQL type) of the per-clone values and
    ``overrides`` ``{table: {column: SQL expression}}`` their use: the
    expressions read the template row as ``t`` and the clone's values as
    ``p`` (``p.k`` is the clone's rank)."""

    def __init__(self, pool, columns, overrides):
        super().__init__(pool)
        self.value_columns = [('k', 'INTEGER')] + list(columns)
        self.overrides = overrides

    def _table_filter(self):
        # Not the queue, whose tasks run (or are deleted) after the
        # transaction, nor the sessions and caches of trytond
        return ("c.relname NOT IN ('ir_queue', 'ir_session', "
            "'ir_cache', 'ir_session_wizard')")

    def clone(self, bundle, rows):
        """Clone the bundle once per row of rows (tuples of the values of
        ``columns``) and return {table: [id of the clone of the first
        captured row, ...]} in the order of rows."""
        for table, overrides in self.overrides.items():
            missing = set(overrides) - {n for n, _ in self.columns(table)}
            if missing:
                raise ValueError(f"no column {sorted(missing)} in {table}")
        models = self._models()
        self._fill('bench_record', self.value_columns,
            ((k, *row) for k, row in enumerate(rows)))

        def special(table, name, type_, column, names):
            return self.overrides.get(table, {}).get(name)
        offsets = self._clone(
            bundle, len(rows), models, special, 'bench_record')
        self.cursor.execute("DROP TABLE bench_record")
        for table in offsets:
            self.cursor.execute(f"ANALYZE {_quote(table)}")
        return {table: [before + 1 + offset + k * span
                for k in range(len(rows))]
            for table, (before, after, offset, span) in offsets.items()}


class BundleCloner(_Cloner):

    def __init__(self, generator):
        super().__init__(generator.pool)
        self.generator = generator
        self.template = generator.customers[0]

    def _table_filter(self):
        return ("(c.relname LIKE 'account_invoice%%' "
            "OR c.relname LIKE 'account_move%%' "
            "OR c.relname LIKE 'account_tax_line%%') "
            "AND c.relname NOT LIKE 'account_move_template%%'")

    def clone(self, clones):
        """Insert the clones: a list of (bundle, customer, delta days)."""
        cursor = self.cursor
        by_bundle = {}
        for bundle, customer, delta in clones:
            by_bundle.setdefault(id(bundle), (bundle, []))[1].append(
                (customer, delta))
        models = self._models()
        template = self.template
        customer_values = {
            'party_party': (template['id'], 'p.party'),
            'party_address': (template['address'], 'p.address'),
            }
        if template.get('account'):
            customer_values['customer_account'] = (
                template['account'], 'p.account')

        def special(table, name, type_, column, names):
            target = self.foreign_keys().get((table, name))
            if target in customer_values:
                value, param = customer_values[target]
                return (f"CASE WHEN {column} = {value} THEN {param} "
                    f"ELSE {column} END")
            elif target == 'account_period' and 'date' in names:
                return ("(SELECT pp.id FROM account_period pp "
                    "JOIN account_fiscalyear fy "
                    "ON fy.id = pp.fiscalyear "
                    "WHERE fy.company = t.company "
                    "AND pp.type = 'standard' "
                    "AND pp.start_date <= t.date + p.delta "
                    "AND pp.end_date >= t.date + p.delta)")
            elif type_ == 'date' and name not in NO_SHIFT:
                return f"{column} + p.delta"
        columns = [('k', 'INTEGER'), ('party', 'INTEGER'),
            ('address', 'INTEGER'), ('account', 'INTEGER'),
            ('delta', 'INTEGER')]
        for bundle, rows in by_bundle.values():
            self._fill('bench_clone', columns, (
                    (k, c['id'], c['address'], c['account'], delta)
                    for k, (c, delta) in enumerate(rows)))
            self._clone(bundle, len(rows), models, special, 'bench_clone')
        cursor.execute("DROP TABLE bench_clone")
        # The ORM creates a journal period for each journal and period
        # that receives a move
        cursor.execute(
            "INSERT INTO account_journal_period "
            "(journal, period, state, create_uid, create_date) "
            "SELECT DISTINCT m.journal, m.period, 'open', 0, "
            "CURRENT_TIMESTAMP FROM account_move m "
            "WHERE NOT EXISTS (SELECT 1 FROM account_journal_period jp "
            "WHERE jp.journal = m.journal AND jp.period = m.period)")
        for table in self.tables():
            cursor.execute(f"ANALYZE {_quote(table)}")

    # -- renumbering -------------------------------------------------------

    def _number_sql(self, sequence, n='r.n'):
        prefix = sequence.prefix or ''
        suffix = sequence.suffix or ''
        if '$' in prefix + suffix:
            raise ValueError(f"sequence {sequence.name} has a dated prefix")
        padding = sequence.padding or 0
        number = (f"lpad({n}::TEXT, GREATEST({padding}, "
            f"length({n}::TEXT)), '0')")
        return f"%s || {number} || %s", [prefix, suffix]

    def renumber(self, company):
        """Number posted moves, invoices and reconciliations in date order
        from their sequences and set the sequences' next numbers."""
        pool = self.generator.pool
        FiscalYear = pool.get('account.fiscalyear')
        Configuration = pool.get('account.configuration')
        cursor = self.cursor
        for fiscalyear in FiscalYear.search([('company', '=', company)]):
            sequence = fiscalyear.move_sequence
            number, params = self._number_sql(sequence)
            cursor.execute(
                f"UPDATE account_move m SET number = {number} "
                "FROM (SELECT m2.id, row_number() OVER "
                "(ORDER BY m2.date, m2.id) AS n FROM account_move m2 "
                "JOIN account_period pp ON pp.id = m2.period "
                "WHERE pp.fiscalyear = %s AND m2.state = 'posted') r "
                "WHERE m.id = r.id", params + [fiscalyear.id])
            self._set_next(sequence, cursor.rowcount)
            for invoice_sequence in fiscalyear.invoice_sequences:
                for type_, sequence in [
                        ('invoice', invoice_sequence.out_invoice_sequence),
                        ('credit_note',
                            invoice_sequence.out_credit_note_sequence)]:
                    number, params = self._number_sql(sequence)
                    cursor.execute(
                        f"UPDATE account_invoice i SET number = {number}, "
                        "sequence = %s "
                        "FROM (SELECT i2.id, row_number() OVER "
                        "(ORDER BY COALESCE(i2.accounting_date, "
                        "i2.invoice_date), i2.id) AS n "
                        "FROM account_invoice i2 "
                        "WHERE i2.company = %s AND i2.type = 'out' "
                        "AND i2.number IS NOT NULL "
                        "AND i2.sequence_type_cache = %s "
                        "AND COALESCE(i2.accounting_date, i2.invoice_date) "
                        "BETWEEN %s AND %s) r "
                        "WHERE i.id = r.id",
                        params + [sequence.id, company, type_,
                            fiscalyear.start_date, fiscalyear.end_date])
                    self._set_next(sequence, cursor.rowcount)
        cursor.execute(
            "UPDATE account_invoice SET "
            "number_alnum = regexp_replace(number, '[\\W_]', '', 'g'), "
            "number_digit = NULLIF(right(regexp_replace(number, '\\D', '', "
            "'g'), 18), '')::BIGINT "
            "WHERE company = %s AND number IS NOT NULL", (company,))
        sequence = Configuration(1).get_multivalue(
            'reconciliation_sequence', company=company)
        number, params = self._number_sql(sequence)
        cursor.execute(
            f"UPDATE account_move_reconciliation c SET number = {number} "
            "FROM (SELECT id, row_number() OVER (ORDER BY date, id) AS n "
            "FROM account_move_reconciliation) r WHERE c.id = r.id", params)
        self._set_next(sequence, cursor.rowcount)
        for table in ['account_move', 'account_invoice',
                'account_move_reconciliation']:
            cursor.execute(f"ANALYZE {table}")

    def _set_next(self, sequence, count):
        sequence.__class__.write([sequence], {'number_next': count + 1})
