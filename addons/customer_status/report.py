# This file is part of the customer_status module.
import datetime as dt
import shutil

from dateutil.relativedelta import relativedelta

from trytond.config import config
from trytond.pool import Pool
from trytond.report import Report
from trytond.transaction import Transaction


class StatusReport(Report):
    __name__ = 'customer_status.report'

    @classmethod
    def convert(cls, report, data, **kwargs):
        "Keep the OpenDocument when LibreOffice is not there to make a PDF"
        if (report.extension != report.template_extension
                and not config.get('report', 'convert_command')
                and not shutil.which('soffice')):
            return report.template_extension, data
        return super().convert(report, data, **kwargs)

    @classmethod
    def get_context(cls, records, header, data):
        pool = Pool()
        Company = pool.get('company.company')
        Currency = pool.get('currency.currency')
        Date = pool.get('ir.date')
        Status = pool.get('customer.status')
        context = super().get_context(records, header, data)
        pool.get('customer.status.start').check_client_values({
                k: data[k] for k in [
                    'companies', 'from_date', 'to_date', 'second_currency']
                if k in data})
        company_ids = (data.get('companies')
            or [Transaction().context.get('company')])
        companies = Company.browse(company_ids)
        to_date = data.get('to_date') or Date.today()
        from_date = data.get('from_date') or (
            to_date - relativedelta(years=1) + dt.timedelta(days=1))
        second_currency = (Currency(data['second_currency'])
            if data.get('second_currency') else None)
        context['companies'] = companies
        context['statuses'] = {
            r.id: Status(**Status.get_status(
                    r, companies, from_date, to_date, second_currency))
            for r in records}
        return context
