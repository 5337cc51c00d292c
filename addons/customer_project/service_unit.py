# This file is part of the customer_project module.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and license
# terms.
import csv
import datetime
import io
import math

from sql import Literal, Window
from sql.aggregate import Sum
from sql.conditionals import Case
from sql.functions import Extract

from trytond.i18n import gettext
from trytond.model import (
    Check, DeactivableMixin, Index, ModelSQL, ModelView, Unique, fields)
from trytond.model.exceptions import AccessError
from trytond.modules.product import price_digits
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.rpc import RPC
from trytond.tools import grouped_slice
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .common import DATE_RANGE, WizardStartMixin, valid_date, valid_id
from .exceptions import ServiceUnitError, ServiceUnitImportError


class ServiceUnitType(DeactivableMixin, ModelSQL, ModelView):
    "Service unit type"
    __name__ = 'project.service.unit.type'

    name = fields.Char("Name", required=True, translate=True)
    code = fields.Char("Code", required=True,
        help="Identifies the type in imports and in the API.")
    company = fields.Many2One('company.company', "Company", required=True)
    product = fields.Many2One(
        'product.product', "Product", required=True,
        domain=[('type', '=', 'service')],
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    unit_price = fields.Numeric(
        "Unit Price", digits=price_digits, required=True,
        domain=[('unit_price', '>=', 0)])
    base_quantity = fields.Float(
        "Included Quantity", required=True, digits=(16, 4),
        domain=[('base_quantity', '>=', 0)],
        help="The quantity included per period, not billed.")
    period = fields.Selection([
            ('month', "Month"),
            ('year', "Year"),
            ], "Period", required=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.company, t.code),
                'customer_project.msg_service_unit_type_code_unique'),
            ('base_quantity_positive', Check(t, t.base_quantity >= 0),
                'customer_project.msg_service_unit_type_base_positive'),
            ]

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_base_quantity(cls):
        return 0

    @classmethod
    def default_period(cls):
        return 'month'


class ServiceUnit(ModelSQL, ModelView):
    "Service unit usage"
    __name__ = 'project.service.unit'

    project = fields.Many2One(
        'project.work', "Project", required=True, ondelete='RESTRICT',
        domain=[('type', '=', 'project')])
    type = fields.Many2One(
        'project.service.unit.type', "Type", required=True,
        ondelete='RESTRICT')
    date = fields.Date("Date", required=True)
    quantity = fields.Float(
        "Quantity", digits=(16, 4), required=True,
        domain=[('quantity', '>=', 0)])
    billable_quantity = fields.Function(
        fields.Float("Billable Quantity", digits=(16, 4),
            help="The quantity above the included quantity of the period, "
            "in the order of capture."),
        'get_billable_quantity')
    reference = fields.Char("Reference",
        help="An identifier given by the sender.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('quantity_positive', Check(t, t.quantity >= 0),
                'customer_project.msg_service_unit_quantity_positive'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.project, Index.Range()),
                    (t.date, Index.Range())),
                })
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        cls.__rpc__.update({
                'capture': RPC(readonly=False, instantiate=None,
                    result=list),
                })

    @classmethod
    def billable_query(cls, projects, date=None):
        """Return a query of (id, type, date, billable quantity) of the
        units of projects up to date

        The included quantity of a period is consumed in the order of
        capture (id)."""
        pool = Pool()
        Type = pool.get('project.service.unit.type')
        unit = cls.__table__()
        type_ = Type.__table__()
        year = Extract('YEAR', unit.date)
        period = Case(
            (type_.period == 'month',
                year * 100 + Extract('MONTH', unit.date)),
            else_=year * 100)
        cumulative = Sum(unit.quantity, window=Window(
                [unit.project, unit.type, period],
                order_by=[unit.id.asc]))
        where = fields.SQL_OPERATORS['in'](unit.project, projects)
        inner = unit.join(type_, condition=unit.type == type_.id).select(
            unit.id, unit.type, unit.date, unit.quantity,
            type_.base_quantity.as_('base'),
            cumulative.as_('cumulative'),
            where=where)
        excess = inner.cumulative - inner.base
        billable = Case(
            (excess <= 0, Literal(0)),
            (excess >= inner.quantity, inner.quantity),
            else_=excess)
        query = inner.select(
            inner.id, inner.type, inner.date.as_('date'),
            billable.as_('billable'))
        if date:
            query.where = inner.date <= date
        return query, inner, billable

    @classmethod
    def get_billable_quantity(cls, units, name):
        cursor = Transaction().connection.cursor()
        result = {u.id: 0. for u in units}
        projects = list({u.project.id for u in units})
        query, inner, _ = cls.billable_query(projects)
        for sub_ids in grouped_slice(list(result), 1000):
            query.where = fields.SQL_OPERATORS['in'](inner.id, sub_ids)
            cursor.execute(*query)
            for unit_id, _, _, billable in cursor:
                result[unit_id] = float(billable or 0)
        return result

    @classmethod
    def validate_fields(cls, units, field_names):
        super().validate_fields(units, field_names)
        for unit in units:
            if unit.quantity is not None and unit.quantity < 0:
                raise ServiceUnitError(gettext(
                        'customer_project.msg_service_unit_quantity_positive'))
            if unit.project.stage == 'closed':
                raise ServiceUnitError(gettext(
                        'customer_project.msg_service_unit_closed_project',
                        project=unit.project.rec_name))

    @classmethod
    def check_modification(cls, mode, units, values=None, external=False):
        pool = Pool()
        RequestLine = pool.get('project.billing.request.line')
        super().check_modification(
            mode, units, values=values, external=external)
        if mode == 'delete' or (mode == 'write' and values.keys() & {
                    'project', 'type', 'date', 'quantity'}):
            settled = RequestLine.settled_origins(units)
            if settled:
                raise AccessError(gettext(
                        'customer_project.msg_service_unit_billed',
                        unit=cls(settled[0]).rec_name))

    def get_rec_name(self, name):
        "The type, the date and the quantity, formatted by the language"
        lang = Pool().get('ir.lang').get()
        return '%s %s %s' % (self.type.rec_name, lang.strftime(self.date),
            lang.format_number(self.quantity))

    # Capture from outside

    @classmethod
    def capture(cls, records):
        """Create service units from a list of dictionaries with project
        (id, number or name), type (code), date and quantity (and an
        optional reference).
        Raise an error naming the first bad record; nothing is written."""
        values, errors = cls._resolve(list(enumerate(records, 1)))
        if errors:
            number, message = errors[0]
            raise ServiceUnitError(gettext(
                    'customer_project.msg_service_unit_bad_record',
                    number=number, error=message))
        return [u.id for u in cls.create(values)]

    @classmethod
    def _resolve(cls, rows):
        """Return the values to create and the errors [(number, message)]
        for rows [(number, dict)]"""
        pool = Pool()
        Work = pool.get('project.work')
        Type = pool.get('project.service.unit.type')
        project_keys = {str(r.get('project') or '') for _, r in rows}
        projects = {}
        for project in Work.search(['OR',
                    ('number', 'in', list(project_keys)),
                    ('name', 'in', list(project_keys)),
                    ('id', 'in', [int(k) for k in project_keys
                            if k.isascii() and k.isdigit()
                            and valid_id(int(k))]),
                    ], order=[('id', 'DESC')]):
            if project.type != 'project':
                continue
            for key in [project.number, project.name, str(project.id)]:
                projects[key] = project
        types = {t.code: t for t in Type.search([
                    ('code', 'in', [str(r.get('type') or '')
                            for _, r in rows]),
                    ])}
        values, errors = [], []
        for number, row in rows:
            try:
                values.append(cls._resolve_row(row, projects, types))
            except ServiceUnitError as exception:
                errors.append((number, exception.message))
        return values, errors

    @classmethod
    def _resolve_row(cls, row, projects, types):
        project = projects.get(str(row.get('project') or ''))
        if not project:
            raise ServiceUnitError(gettext(
                    'customer_project.msg_service_unit_unknown_project',
                    project=row.get('project')))
        if project.stage == 'closed':
            raise ServiceUnitError(gettext(
                    'customer_project.msg_service_unit_closed_project',
                    project=project.rec_name))
        type_ = types.get(str(row.get('type') or ''))
        if not type_:
            raise ServiceUnitError(gettext(
                    'customer_project.msg_service_unit_unknown_type',
                    type=row.get('type')))
        date = row.get('date')
        try:
            if not isinstance(date, datetime.date):
                date = datetime.date.fromisoformat(str(date).strip())
        except ValueError:
            date = None
        if not isinstance(date, datetime.date):
            raise ServiceUnitError(gettext(
                    'customer_project.msg_service_unit_bad_date',
                    date=row.get('date')))
        if not valid_date(date):
            lang = Pool().get('ir.lang').get()
            raise ServiceUnitError(gettext(
                    'customer_project.msg_service_unit_date_range',
                    date=lang.strftime(date),
                    start=lang.strftime(DATE_RANGE[0]),
                    end=lang.strftime(DATE_RANGE[1])))
        try:
            quantity = float(row.get('quantity'))
        except (TypeError, ValueError, OverflowError):
            quantity = None
        if quantity is None or not math.isfinite(quantity) or quantity < 0:
            raise ServiceUnitError(gettext(
                    'customer_project.msg_service_unit_bad_quantity',
                    quantity=row.get('quantity')))
        return {
            'project': project.id,
            'type': type_.id,
            'date': date,
            'quantity': quantity,
            'reference': row.get('reference') or None,
            }

    @classmethod
    def parse_csv(cls, data):
        """Return values and errors of a CSV file with a header line naming
        the columns project, type, date, quantity (and reference)"""
        if isinstance(data, bytes):
            try:
                data = data.decode('utf-8-sig')
            except UnicodeDecodeError:
                raise ServiceUnitImportError(gettext(
                        'customer_project.msg_service_unit_import_encoding'))
        reader = csv.DictReader(io.StringIO(data))
        missing = {'project', 'type', 'date', 'quantity'} - set(
            reader.fieldnames or [])
        if missing:
            raise ServiceUnitImportError(gettext(
                    'customer_project.msg_service_unit_import_columns',
                    columns=', '.join(sorted(missing))))
        # The header is line 1
        rows = [(reader.line_num, row) for row in reader]
        return cls._resolve(rows)


class ImportStart(ModelView):
    __name__ = 'project.service.unit.import.start'

    file = fields.Binary("File", required=True,
        help="A CSV file with the columns project, type, date, quantity "
        "and optionally reference.")


class ImportConfirm(ModelView):
    __name__ = 'project.service.unit.import.confirm'

    valid = fields.Integer("Valid Rows", readonly=True)
    errors = fields.Text("Errors", readonly=True)


class Import(WizardStartMixin, Wizard):
    "Import service units"
    __name__ = 'project.service.unit.import'

    start = StateView('project.service.unit.import.start',
        'customer_project.service_unit_import_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Import", 'check', 'tryton-ok', default=True),
            ])
    check = StateTransition()
    confirm = StateView('project.service.unit.import.confirm',
        'customer_project.service_unit_import_confirm_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Import Valid Rows", 'import_', 'tryton-ok',
                default=True),
            ])
    import_ = StateTransition()

    def transition_check(self):
        pool = Pool()
        Unit = pool.get('project.service.unit')
        _, errors = Unit.parse_csv(self.start.file)
        if errors:
            return 'confirm'
        return 'import_'

    def default_confirm(self, fields):
        pool = Pool()
        Unit = pool.get('project.service.unit')
        values, errors = Unit.parse_csv(self.start.file)
        return {
            'valid': len(values),
            'errors': '\n'.join(
                gettext('customer_project.msg_service_unit_import_line',
                    number=n, error=e) for n, e in errors),
            }

    def transition_import_(self):
        pool = Pool()
        Unit = pool.get('project.service.unit')
        values, _ = Unit.parse_csv(self.start.file)
        Unit.create(values)
        return 'end'
