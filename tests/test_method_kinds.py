"""Every override of the suite keeps the kind and signature of stock's method.

Stock code calls a method the way it declares it: ``account.move.post`` is a
``dualmethod`` that three stock wizards call on an instance
(``move.post()``), so an override written as a ``classmethod`` crashes them.
With the five modules of the suite activated together, this walks every
class registered in the Pool (models, wizards, reports); for each method a
class of the suite defines, it finds the next class in the MRO that defines
the same name and checks that both have:

* the same kind: ``dualmethod``, ``classmethod``, ``staticmethod`` or
  instance method;
* the same Tryton decorators: ``ModelView.button``,
  ``ModelView.button_action`` (same action) and ``Workflow.transition``
  (same state); and
* the same signature (parameter names, kinds and defaults), unless the
  override accepts anything (``*args, **kwargs``).
"""
import inspect
import unittest

from trytond.model import ModelView, Workflow, dualmethod
from trytond.pool import Pool
from trytond.tests.test_tryton import (
    activate_module, drop_db, with_transaction)

from .test_suite_together import SUITE

SUITE_PACKAGES = tuple(f'trytond.modules.{n}.' for n in SUITE)


def _sample(cls, records):
    pass


_BUTTON = ModelView.button(_sample).__code__
_BUTTON_ACTION = ModelView.button_action('ir.act_window')(_sample).__code__
_TRANSITION = Workflow.transition('done')(_sample).__code__


def kind(value):
    "Return the kind of a class attribute and its function, or None"
    if isinstance(value, staticmethod):
        return 'staticmethod', value.__func__
    if isinstance(value, classmethod):
        return 'classmethod', value.__func__
    if isinstance(value, dualmethod):
        return 'dualmethod', value.func
    if inspect.isfunction(value):
        return 'instance method', value
    return None


def decorators(func):
    "Return the Tryton decorators wrapping func and the innermost function"
    found = []
    while True:
        code = getattr(func, '__code__', None)
        nonlocals = (inspect.getclosurevars(func).nonlocals
            if code in {_BUTTON_ACTION, _TRANSITION} else {})
        if code is _BUTTON:
            found.append('button')
        elif code is _BUTTON_ACTION:
            found.append(f"button_action({nonlocals.get('action')})")
        elif code is _TRANSITION:
            found.append(f"transition({nonlocals.get('state')})")
        if not hasattr(func, '__wrapped__'):
            return found, func
        func = func.__wrapped__


def _required(signature):
    return [p.kind for p in signature.parameters.values()
        if p.default is p.empty
        and p.kind not in {p.VAR_POSITIONAL, p.VAR_KEYWORD}]


def compatible(mine, stock):
    """Tell whether an override's signature accepts every call of stock's

    The same shape, or the same required parameters with ``**kwargs``
    standing for stock's optional ones (and ``*args`` for stock's)."""
    if shape(mine) == shape(stock):
        return True
    kinds = {p.kind for p in mine.parameters.values()}
    stock_kinds = {p.kind for p in stock.parameters.values()}
    return (inspect.Parameter.VAR_KEYWORD in kinds
        and (inspect.Parameter.VAR_POSITIONAL in kinds
            or inspect.Parameter.VAR_POSITIONAL not in stock_kinds)
        and (inspect.Parameter.VAR_POSITIONAL in kinds
            or _required(mine) == _required(stock)))


def shape(signature):
    """Return what a caller relies on in a signature

    Positional parameters may be renamed (stock's own overrides call
    ``records`` ``invoices``), those with a default are passed by keyword."""
    return [(p.kind, p.default,
            p.name if p.default is not p.empty
            or p.kind is p.KEYWORD_ONLY else None)
        for p in signature.parameters.values()]


def describe(value):
    "Return (kind, decorators, signature) of a method, or None"
    found = kind(value)
    if not found:
        return None
    name, func = found
    wrappers, inner = decorators(func)
    return name, sorted(wrappers), inspect.signature(inner)


def differences(cls):
    "Yield the overrides of the suite's classes in cls that differ"
    mro = cls.__mro__
    for i, klass in enumerate(mro):
        if not klass.__module__.startswith(SUITE_PACKAGES):
            continue
        for name, value in vars(klass).items():
            mine = describe(value)
            if mine is None:
                continue
            parent = next(
                (k for k in mro[i + 1:] if name in vars(k)), None)
            if parent is None:
                continue
            stock = describe(vars(parent)[name])
            if stock is None:
                continue
            if (mine[:2] != stock[:2]
                    or not compatible(mine[2], stock[2])):
                yield (f'{klass.__module__}.{klass.__qualname__}.{name}',
                    mine, f'{parent.__module__}.{parent.__qualname__}',
                    stock)


def _text(description):
    name, wrappers, signature = description
    return ' '.join([name] + wrappers + [str(signature)])


class MethodKindsTestCase(unittest.TestCase):
    "Overrides keep stock's method kind, decorators and signature"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        drop_db()
        activate_module(SUITE)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        drop_db()

    @with_transaction()
    def test_overrides_keep_stock_kind(self):
        "Every method a suite class overrides keeps stock's kind"
        pool = Pool()
        found = []
        checked = 0
        for type_ in ['model', 'wizard', 'report']:
            for _, cls in pool.iterobject(type=type_):
                checked += 1
                found.extend(differences(cls))
        self.assertGreater(checked, 100)
        self.maxDiff = None
        self.assertEqual([], sorted({
                    f'{name} is {_text(mine)} but {parent} has '
                    f'{_text(stock)}'
                    for name, mine, parent, stock in found}))

    def test_detects_classmethod_over_dualmethod(self):
        "A classmethod over a dualmethod button is reported"
        class Stock:
            __module__ = 'trytond.modules.account.move'

            @dualmethod
            @ModelView.button
            def post(cls, moves):
                pass

        class Override(Stock):
            __module__ = f'trytond.modules.{SUITE[0]}.move'

            @classmethod
            def post(cls, moves):
                super().post(moves)

        class Fixed(Stock):
            __module__ = f'trytond.modules.{SUITE[0]}.move'

            @dualmethod
            @ModelView.button
            def post(cls, moves):
                super().post(moves)

        (name, mine, _, stock), = differences(Override)
        self.assertEqual(name.rsplit('.', 1)[1], 'post')
        self.assertEqual(mine[:2], ('classmethod', []))
        self.assertEqual(stock[:2], ('dualmethod', ['button']))
        self.assertEqual(list(differences(Fixed)), [])

    def test_detects_signature_and_transition(self):
        "A changed signature or a lost transition is reported"
        class Stock:
            __module__ = 'trytond.modules.sale.sale'

            @classmethod
            @ModelView.button
            @Workflow.transition('confirmed')
            def confirm(cls, sales):
                pass

            def get_rec_name(self, name):
                pass

        class Override(Stock):
            __module__ = f'trytond.modules.{SUITE[0]}.sale'

            @classmethod
            @ModelView.button
            def confirm(cls, sales):
                pass

            def get_rec_name(self):
                pass

        self.assertEqual(
            sorted(n.rsplit('.', 1)[1] for n, *_ in differences(Override)),
            ['confirm', 'get_rec_name'])
