# This file is part of the customer_invoicing_run module.  The COPYRIGHT file
# at the top level of this repository contains the full copyright notices and
# license terms.
from trytond.i18n import gettext
from trytond.modules.party.exceptions import EraseError
from trytond.pool import Pool, PoolMeta


class Replace(metaclass=PoolMeta):
    __name__ = 'party.replace'

    @classmethod
    def fields_to_replace(cls):
        return super().fields_to_replace() + [
            ('customer.invoicing.run-party.party', 'party'),
            ('customer.invoicing.run.item', 'party'),
            ('customer.invoicing.run.item', 'invoice_party'),
            ('customer.invoicing.run.preview', 'invoice_party'),
            ('customer.invoicing.manual_item', 'party'),
            ('customer.invoicing.manual_item', 'third_party'),
            ]


class Erase(metaclass=PoolMeta):
    __name__ = 'party.erase'

    def check_erase_company(self, party, company):
        pool = Pool()
        Item = pool.get('customer.invoicing.run.item')
        ManualItem = pool.get('customer.invoicing.manual_item')
        super().check_erase_company(party, company)
        pending = Item.search([
                ('company', '=', company.id),
                ['OR',
                    ('party', '=', party.id),
                    ('invoice_party', '=', party.id),
                    ],
                ('state', '=', 'pending'),
                ], limit=1)
        unbilled = ManualItem.search([
                ('company', '=', company.id),
                ['OR',
                    ('party', '=', party.id),
                    ('third_party', '=', party.id),
                    ],
                ('billed', '=', False),
                ], limit=1)
        if pending or unbilled:
            raise EraseError(gettext(
                    'customer_invoicing_run.msg_erase_party_pending_item',
                    party=party.rec_name, company=company.rec_name))
