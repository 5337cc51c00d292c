# This file is part of the customer_invoicing_run module.  The COPYRIGHT file
# at the top level of this repository contains the full copyright notices and
# license terms.
from collections import defaultdict

from sql import Null

from trytond.i18n import gettext
from trytond.pool import Pool, PoolMeta


class BillingRequest(metaclass=PoolMeta):
    __name__ = 'project.billing.request'

    @classmethod
    def _invoice_on_release(cls):
        # released requests are invoiced by the invoicing runs
        return False


class Run(metaclass=PoolMeta):
    __name__ = 'customer.invoicing.run'

    @classmethod
    def get_sources(cls):
        return super().get_sources() + [
            ('project', "Project Billing Requests")]

    @classmethod
    def _get_source_models(cls):
        models = super()._get_source_models()
        models['project'] = 'project.billing.request.line'
        return models

    def _candidates_project(self):
        "Yield the billable lines of released project billing requests"
        pool = Pool()
        Request = pool.get('project.billing.request')
        RequestLine = pool.get('project.billing.request.line')
        Work = pool.get('project.work')
        Company = pool.get('company.company')
        request = Request.__table__()
        line = RequestLine.__table__()
        work = Work.__table__()
        company = Company.__table__()
        model = RequestLine.__name__
        query = (line
            .join(request, condition=line.request == request.id)
            .join(work, condition=line.project == work.id)
            .join(company, condition=request.company == company.id)
            .select(
                line.id, work.party, line.customer_account, work.third_party,
                request.date, company.currency, request.id,
                where=(request.company == self.company.id)
                & (request.state == 'released')
                & line.action.in_(['bill', 'adjust'])
                & (line.invoice_line == Null)
                & (request.date <= self.cutoff_date)
                & self._selection_where(work.party, line.customer_account)
                & self._not_billed_where(model, line.id),
                order_by=[request.id, line.id]))
        yield from self._fetch_candidates(
            query, model, 'project', origin=Request.__name__)


class RunItem(metaclass=PoolMeta):
    __name__ = 'customer.invoicing.run.item'

    @classmethod
    def _lock_project(cls, items):
        pool = Pool()
        RequestLine = pool.get('project.billing.request.line')
        RequestLine.lock_units(
            RequestLine.browse([i.source.id for i in items]))

    @classmethod
    def _billed_elsewhere_project(cls, items):
        """Return {item: invoice or message} for the request lines billed
        by another invoice or whose request is cancelled"""
        result = {}
        for item in items:
            line = item.source
            invoice = line.get_billed_elsewhere()
            if invoice:
                result[item] = invoice
            elif line.request.state == 'cancelled':
                result[item] = gettext(
                    'customer_invoicing_run.msg_item_request_cancelled',
                    source=item.rec_name)
        return result

    @classmethod
    def _release_project(cls, items):
        """Unlink the request lines and timesheet lines of the released
        items from their invoice line: a new billing request collects
        them again"""
        pool = Pool()
        RequestLine = pool.get('project.billing.request.line')
        TimesheetLine = pool.get('timesheet.line')
        lines = RequestLine.browse([i.source.id for i in items])
        timesheets = [TimesheetLine(l.origin.id) for l in lines
            if l.kind == 'timesheet' and l.origin
            and l.origin.invoice_line == l.invoice_line]
        if timesheets:
            TimesheetLine.write(timesheets, {'invoice_line': None})
        RequestLine.write(lines, {'invoice_line': None, 'settled': False})

    def _get_invoice_line_project(self):
        line = self.source.get_invoice_line()
        if line is not None:
            line.originating_customer = self.party
        return line

    def _get_third_party(self):
        if str(self.source).startswith('project.billing.request.line,'):
            third_party = self.source.project.third_party
            return third_party.id if third_party else None
        return super()._get_third_party()

    def _get_origin(self):
        if str(self.source).startswith('project.billing.request.line,'):
            return str(self.source.request)
        return super()._get_origin()

    @classmethod
    def _billed_project(cls, pairs):
        "Link the request lines to their invoice line, close the requests"
        pool = Pool()
        RequestLine = pool.get('project.billing.request.line')
        Request = pool.get('project.billing.request')
        lines = RequestLine.browse([i.source.id for i, _ in pairs])
        RequestLine.link_invoice_lines(lines, [l for _, l in pairs])
        requests = {l.request.id for l in lines}
        open_ = defaultdict(int)
        for line in RequestLine.search([
                    ('request', 'in', list(requests)),
                    ('action', 'in', ['bill', 'adjust']),
                    ('invoice_line', '=', None),
                    ]):
            open_[line.request.id] += 1
        done = Request.browse([r for r in requests if not open_[r]])
        if done:
            Request.invoice(done)
