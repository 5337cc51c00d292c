# This file is part of the customer_self_service module.  The COPYRIGHT file
# at the top level of this repository contains the full copyright notices and
# license terms.
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction


class PartyChangeRequest(metaclass=PoolMeta):
    __name__ = 'party.change.request'

    @classmethod
    def _get_origin_models(cls):
        return super()._get_origin_models() + ['web.user']

    @classmethod
    def propose_modification(cls, party, values, origin=None):
        "The portal proposes as root: its portal user is the origin"
        if origin is None:
            origin = cls._get_portal_origin(party)
        return super().propose_modification(party, values, origin=origin)

    @classmethod
    def _get_portal_origin(cls, party):
        "Return the portal user proposing for party or None"
        pool = Pool()
        Party = pool.get('party.party')
        if Transaction().user == 0:
            user = Party(party.id).css_user
            if user and user.active:
                return user
