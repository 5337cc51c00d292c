"""No workflow state of the suite is written outside a declared transition.

Tryton records a state change in ``ir.model.log`` and checks it against the
model's ``_transitions`` only when it goes through a method decorated with
``Workflow.transition``.  This parses the Python files of the five modules
and finds, in every function that is not such a transition, a write of the
workflow field (``_transition_state``: ``state``, ``stage`` ...) of a
workflow model (of the suite or of the official modules it extends) that
the function works on (its own class or a model it gets from the pool):

* a dictionary with the field as key (``write``, ``write(*to_write)``
  arguments ...), except in the values of a ``create`` (an initial state);
* a dictionary comprehension that names the field or iterates over a list
  of field names of its class that contains it (``{f: ... for f in
  cls._fields_to_copy}``);
* an assignment ``record.<field> = ...`` or ``setattr(record, '<field>',
  ...)``;
* an SQL ``update`` of the field's column.

Migrations (``__register__`` and the ``_upgrade_*`` methods it calls) are
not state changes and are left out.  The tests that write states on purpose
(the attacks over RPC) are not parsed.
"""
import ast
import configparser
import glob
import os
import unittest

from trytond.modules import get_module_info

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADDONS = os.path.join(ROOT, 'addons')
SUITE = sorted(
    n for n in os.listdir(ADDONS)
    if os.path.isfile(os.path.join(ADDONS, n, 'tryton.cfg')))


def _official_dir(module):
    import trytond.modules
    return os.path.join(trytond.modules.__path__[0], module)


def _module_files(module):
    directory = (os.path.join(ADDONS, module) if module in SUITE
        else _official_dir(module))
    return sorted(glob.glob(os.path.join(directory, '*.py')))


def _depends(modules):
    "Return modules and their dependencies (official modules included)"
    result, todo = set(), list(modules)
    while todo:
        module = todo.pop()
        if module in result:
            continue
        result.add(module)
        if module in SUITE:
            info = _read_cfg(os.path.join(ADDONS, module, 'tryton.cfg'))
        elif os.path.isdir(_official_dir(module)):
            info = get_module_info(module)
        else:  # an optional dependency not installed
            result.discard(module)
            continue
        todo.extend(info.get('depends', []))
        todo.extend(info.get('extras_depend', []))
    return result


def _read_cfg(path):
    config = configparser.ConfigParser()
    config.read(path)
    info = {}
    for key in ['depends', 'extras_depend']:
        value = config.get('tryton', key, fallback='')
        info[key] = [v.strip() for v in value.splitlines() if v.strip()]
    return info


def _constant(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value


def _model_name(klass):
    "Return the __name__ of a model class definition or None"
    for node in klass.body:
        if (isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == '__name__'
                    for t in node.targets)):
            return _constant(node.value)


def _is_transition(function):
    "Tell whether function is decorated with Workflow.transition"
    for decorator in function.decorator_list:
        if (isinstance(decorator, ast.Call)
                and isinstance(decorator.func, ast.Attribute)
                and decorator.func.attr == 'transition'):
            return True
    return False


def _workflow_field(klass):
    """Return the workflow field of a class definition (None when it is not
    a workflow): a Workflow base or a transition method"""
    bases = {b.id if isinstance(b, ast.Name) else getattr(b, 'attr', None)
        for b in klass.bases}
    is_workflow = 'Workflow' in bases or any(
        isinstance(n, ast.FunctionDef) and _is_transition(n)
        for n in klass.body)
    field = None
    for node in ast.walk(klass):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                name = (target.id if isinstance(target, ast.Name)
                    else target.attr if isinstance(target, ast.Attribute)
                    else None)
                if name == '_transition_state':
                    field = _constant(node.value)
    if is_workflow or field:
        return field or 'state'


def workflow_fields(modules):
    "Return {model: workflow field} of the workflow classes of modules"
    result = {}
    for module in sorted(modules):
        for path in _module_files(module):
            with open(path, encoding='utf-8') as fd:
                tree = ast.parse(fd.read(), path)
            for klass in ast.walk(tree):
                if not isinstance(klass, ast.ClassDef):
                    continue
                name, field = _model_name(klass), _workflow_field(klass)
                if name and field:
                    # an extension may set another field (customer_project)
                    if result.get(name, 'state') == 'state':
                        result[name] = field
    return result


class _FunctionChecker(ast.NodeVisitor):
    "Find the writes of workflow fields in one function"

    def __init__(self, function, fields, model, workflows, lists=None):
        self.function = function
        self.fields = fields
        self.model = model
        self.workflows = workflows
        # {class attribute: the strings of its list literal}
        self.lists = lists or {}
        self.found = []
        self.creates = set()

    def check(self):
        for node in ast.walk(self.function):
            if (isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == 'create'):
                for child in ast.walk(node):
                    if isinstance(child, ast.Dict):
                        self.creates.add(id(child))
        self.visit(self.function)
        return self.found

    def report(self, node, what):
        self.found.append((node.lineno, what))

    def visit_FunctionDef(self, node):
        if node is self.function:
            self.generic_visit(node)
        # nested functions are checked on their own

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Dict(self, node):
        if id(node) not in self.creates:
            for key in node.keys:
                if key is not None and _constant(key) in self.fields:
                    self.report(node, f"dictionary with {key.value!r}")
        self.generic_visit(node)

    def visit_DictComp(self, node):
        if id(node) not in self.creates:
            # the key, or a comparison in the key or value
            names = {_constant(node.key)}
            for part in [node.key, node.value]:
                for compare in ast.walk(part):
                    if isinstance(compare, ast.Compare):
                        names |= {_constant(n) for n in ast.walk(compare)}
            for generator in node.generators:
                iter_ = generator.iter
                if (isinstance(iter_, ast.Attribute)
                        and isinstance(iter_.value, ast.Name)
                        and iter_.value.id in {'self', 'cls'}):
                    names |= self.lists.get(iter_.attr, set())
            for name in sorted((names - {None}) & self.fields):
                self.report(node, f"dictionary comprehension with {name!r}")
        self.generic_visit(node)

    def _target(self, target, node):
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._target(element, node)
        elif (isinstance(target, ast.Attribute)
                and target.attr in self.fields):
            self.report(node, f"assignment of .{target.attr}")

    def visit_Assign(self, node):
        for target in node.targets:
            self._target(target, node)
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self._target(node.target, node)
        self.generic_visit(node)

    def visit_Call(self, node):
        func = node.func
        if (isinstance(func, ast.Name) and func.id == 'setattr'
                and len(node.args) >= 2
                and _constant(node.args[1]) in self.fields):
            self.report(node, f"setattr of {node.args[1].value!r}")
        if (isinstance(func, ast.Attribute) and func.attr == 'update'
                and node.args
                and isinstance(node.args[0], (ast.List, ast.Tuple))):
            for column in node.args[0].elts:
                name = (column.attr if isinstance(column, ast.Attribute)
                    else _constant(column.args[1])
                    if isinstance(column, ast.Call) and len(column.args) > 1
                    else None)
                if name in self.fields:
                    self.report(node, f"SQL update of {name!r}")
        self.generic_visit(node)


def _pool_models(function):
    "Return the model names function gets from the pool"
    models = set()
    for node in ast.walk(function):
        if (isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == 'get' and node.args):
            name = _constant(node.args[0])
            if name and '.' in name:
                models.add(name)
    return models


def _class_lists(klass):
    "Return {attribute: strings} of the list literals of a class body"
    lists = {}
    for node in klass.body:
        if (isinstance(node, ast.Assign)
                and isinstance(node.value, (ast.List, ast.Tuple, ast.Set))):
            strings = {_constant(e) for e in node.value.elts} - {None}
            for target in node.targets:
                if isinstance(target, ast.Name):
                    lists[target.id] = strings
    return lists


def _is_migration(function):
    return (function.name == '__register__'
        or function.name.startswith('_upgrade'))


def check_source(source, workflows, path='<source>'):
    """Return the writes of workflow fields outside transitions in source
    as (path, line, class, function, what)"""
    tree = ast.parse(source, path)
    found = []
    for klass in ast.walk(tree):
        if not isinstance(klass, ast.ClassDef):
            continue
        model = _model_name(klass)
        lists = _class_lists(klass)
        for function in klass.body:
            if (not isinstance(function, ast.FunctionDef)
                    or _is_transition(function) or _is_migration(function)):
                continue
            models = _pool_models(function) | {model}
            fields = {workflows[m] for m in models if m in workflows}
            if not fields:
                continue
            checker = _FunctionChecker(
                function, fields, model, workflows, lists)
            for line, what in checker.check():
                found.append((path, line, klass.name, function.name, what))
    return found


def suite_violations(workflows):
    found = []
    for module in SUITE:
        for path in _module_files(module):
            with open(path, encoding='utf-8') as fd:
                found.extend(check_source(
                        fd.read(), workflows, os.path.relpath(path, ROOT)))
    return found


# What the suite wrote before its items became a workflow: each is found
BAD = '''
class Run:
    __name__ = 'customer.invoicing.run'

    @classmethod
    def retry_failed(cls, runs):
        for run in runs:
            run.state = 'running'
        cls.save(runs)

    @classmethod
    def run_scheduled(cls, runs):
        table = cls.__table__()
        cursor.execute(*table.update([table.state], ['running']))


class RunItem:
    __name__ = 'customer.invoicing.run.item'

    @classmethod
    def claim_units(cls, items):
        to_write = []
        for item in items:
            to_write.extend(([item], {'state': 'cancelled'}))
        cls.write(*to_write)

    def fail(self):
        setattr(self, 'state', 'failed')


class Request:
    __name__ = 'project.billing.request'

    @classmethod
    def release(cls, requests):
        pool = Pool()
        Work = pool.get('project.work')
        Work.write([r.project for r in requests], {'stage': 'contracted'})


class Party:
    __name__ = 'party.party'

    @classmethod
    def _css_set_status(cls, parties, status):
        cls.write(parties, {'css_status': status})


class Replace:
    __name__ = 'party.replace'
    _css_fields = ['css_login', 'css_status']

    def transition_replace(self):
        pool = Pool()
        Party = pool.get('party.party')
        Party.write([self.ask.destination], {
                f: getattr(self.ask.source, f) for f in self._css_fields})
        Party.write([self.ask.source], {
                f: 'not_requested' if f == 'css_status' else None
                for f in ['css_login']})
'''

# The same through transitions, creations and migrations: nothing is found
GOOD = '''
class RunItem:
    __name__ = 'customer.invoicing.run.item'

    @classmethod
    def __register__(cls, module):
        cursor.execute(*table.update([table.state], ['done']))

    @classmethod
    def create_failed(cls, values):
        cls.create([{'state': 'failed'}])

    @classmethod
    @Workflow.transition('cancelled')
    def cancel(cls, items):
        cls.write(items, {'active_source': None})

    @classmethod
    def release(cls, items):
        cls.cancel([i for i in items if i.state == 'done'])


class Replace:
    __name__ = 'party.replace'
    _css_fields = ['css_login', 'css_email']

    def transition_replace(self):
        pool = Pool()
        Party = pool.get('party.party')
        status = self.ask.source.css_status
        Party.css_reset([self.ask.source])
        Party.write([self.ask.source], {f: None for f in self._css_fields})
        Party.css_take_over([self.ask.destination], status)
'''


class StateTransitionsTestCase(unittest.TestCase):
    "No workflow state is written outside a declared transition"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.workflows = workflow_fields(_depends(SUITE))

    def test_workflow_models(self):
        "The workflow models of the suite and of stock are found"
        expected = {
            'customer.invoicing.run': 'state',
            'customer.invoicing.run.item': 'state',
            'project.billing.request': 'state',
            'party.change.request': 'state',
            'customer.protest': 'state',
            'project.work': 'stage',
            'party.party': 'css_status',
            'account.invoice': 'state',
            'sale.sale': 'state',
            }
        self.assertEqual(
            {m: self.workflows.get(m) for m in expected}, expected)

    def test_checker_finds_writes(self):
        "The check finds each write of a state outside a transition"
        found = [(c, f, w) for _, _, c, f, w
            in check_source(BAD, self.workflows)]
        self.assertEqual(found, [
                ('Run', 'retry_failed', "assignment of .state"),
                ('Run', 'run_scheduled', "SQL update of 'state'"),
                ('RunItem', 'claim_units', "dictionary with 'state'"),
                ('RunItem', 'fail', "setattr of 'state'"),
                ('Request', 'release', "dictionary with 'stage'"),
                ('Party', '_css_set_status', "dictionary with 'css_status'"),
                ('Replace', 'transition_replace',
                    "dictionary comprehension with 'css_status'"),
                ('Replace', 'transition_replace',
                    "dictionary comprehension with 'css_status'"),
                ])
        self.assertEqual(check_source(GOOD, self.workflows), [])

    def test_suite(self):
        "The suite writes its workflow states only in transitions"
        self.assertEqual(suite_violations(self.workflows), [])


if __name__ == '__main__':
    unittest.main()
