# This file is part of the customer_status module.
import shutil

from trytond.config import config
from trytond.i18n import gettext
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
        Party = pool.get('party.party')
        Status = pool.get('customer.status')
        StatusContext = pool.get('customer.status.context')
        context = super().get_context(records, header, data)
        # the values of the status tab's context form, else those of data
        # (the print of the party form)
        values = StatusContext.get_context_values()
        given = {k: data[k] for k in [
                'companies', 'from_date', 'to_date', 'second_currency']
            if k in data}
        StatusContext.check_client_values(given)
        values.update(given)
        companies = Company.browse(values['companies']
            or [Transaction().context.get('company')])
        second_currency = (Currency(values['second_currency'])
            if values['second_currency'] else None)
        parties = Party.browse([
                r.party.id if isinstance(r, Status) else r.id
                for r in records])
        context['records'] = parties
        context['companies'] = companies
        figures = {
            p.id: Status.get_status(
                p, companies, values['from_date'], values['to_date'],
                second_currency)
            for p in parties}
        context['statuses'] = {i: Status(**v) for i, v in figures.items()}
        context['ageing_labels'] = cls._ageing_labels()

        def amounts(party_id, name, lang):
            return cls.format_amounts(figures[party_id], name, lang)
        context['amounts'] = amounts
        return context

    @classmethod
    def _ageing_labels(cls):
        "Return the label of each ageing bucket with the configured days"
        pool = Pool()
        Configuration = pool.get('account.configuration')
        first, second, third = Configuration.get_ageing_days()
        return [
            gettext('customer_status.msg_ageing_not_due'),
            gettext('customer_status.msg_ageing_period', start=1, end=first),
            gettext('customer_status.msg_ageing_period',
                start=first + 1, end=second),
            gettext('customer_status.msg_ageing_period',
                start=second + 1, end=third),
            gettext('customer_status.msg_ageing_older', days=third),
            ]

    @classmethod
    def format_amounts(cls, values, name, lang):
        """Return the amount of the figure name and, with a second currency,
        its amount in it, as the tab shows them; empty when absent"""
        pool = Pool()
        Currency = pool.get('currency.currency')
        amounts = []
        for prefix, currency in [
                ('', 'currency'), ('second_', 'second_currency')]:
            value = values.get(prefix + name)
            if value is not None and values.get(currency):
                amounts.append(cls.format_currency(
                        value, lang, Currency(values[currency])))
        return ' / '.join(amounts)
