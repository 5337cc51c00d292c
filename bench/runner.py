"""Command line of the benchmarks: ``scripts/bench`` (see bench/README.md).

Creates (or reuses) the PostgreSQL database ``bench_<scale>`` with the suite's
modules activated and the generator's data, runs the workloads registered in
bench/workloads/*.py, prints a table and writes bench/results/<timestamp>.json,
latest.json and latest.png.
"""
import argparse
import datetime as dt
import fnmatch
import importlib
import json
import os
import pkgutil
import sys
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, 'bench', 'results')
sys.path.insert(0, os.path.join(ROOT, 'scripts'))
import activate  # noqa: E402
import pg_tool  # noqa: E402
STOCK_MODULES = ['account_invoice', 'sale', 'project_invoice', 'timesheet']


def suite_modules():
    addons = os.path.join(ROOT, 'addons')
    return sorted(n for n in os.listdir(addons)
        if os.path.isfile(os.path.join(addons, n, 'tryton.cfg')))


def discover():
    "Import bench/workloads/*.py and return the registered workloads."
    from bench import harness, workloads
    for info in pkgutil.iter_modules(workloads.__path__):
        try:
            importlib.import_module(f'bench.workloads.{info.name}')
        except Exception:
            print(f"cannot import bench/workloads/{info.name}.py:",
                file=sys.stderr)
            traceback.print_exc()
    return harness.WORKLOADS


def _server_uri():
    from trytond import config
    return config.get('database', 'uri')


def _admin(config, database, *args):
    try:
        activate.admin([config], database, *args, password='admin')
    except activate.AdminError as exception:
        sys.stderr.write(str(exception)[-4000:])
        return False
    return True


def create_database(config, name, scale, seed, modules):
    "Create the database, activate modules and generate the data."
    from bench.generator import Generator
    from trytond.pool import Pool
    uri = _server_uri()
    if pg_tool.exists(uri, name):
        Pool.stop(name)
        pg_tool.drop(uri, name)
    pg_tool.create(uri, name)
    timings = {}
    start = time.perf_counter()
    if not _admin(config, name, '--all'):
        raise SystemExit(f"cannot initialise {name}")
    if not _admin(config, name, '-u', *modules, '--activate-dependencies'):
        print(f"activation of {modules} failed; falling back to stock "
            f"modules {STOCK_MODULES}", file=sys.stderr)
        if not _admin(config, name, '-u', *STOCK_MODULES,
                '--activate-dependencies'):
            raise SystemExit(f"cannot activate modules in {name}")
    timings['activation'] = round(time.perf_counter() - start, 2)
    generator = Generator(name, scale, seed=seed, bulk=scale > 1,
        strict=False, log=lambda m: print(
            f"  generate {m}", file=sys.stderr, flush=True))
    summary = generator.run()
    summary['timings'] = {**timings, **summary['timings']}
    return summary


def run_workloads(database, scale, pattern, repeat):
    from bench.harness import Context, SkipWorkload
    registry = discover()
    results = []
    ctx = None
    for name in sorted(registry):
        if pattern and not (fnmatch.fnmatch(name, pattern)
                or pattern in name):
            continue
        spec = registry[name]
        if ctx is None:
            ctx = Context(database, scale, repeat=repeat)
        ctx.variants = []
        entry = {'workload': name, 'description': spec['description'],
            'modules': spec['modules'], 'variants': ctx.variants}
        missing = [m for m in spec['modules'] if m not in ctx.modules]
        print(f"== {name}", file=sys.stderr, flush=True)
        if missing:
            entry['skipped'] = f"not activated: {', '.join(missing)}"
        else:
            try:
                spec['function'](ctx)
            except SkipWorkload as exception:
                entry['skipped'] = str(exception)
            except Exception as exception:
                traceback.print_exc()
                entry['error'] = f'{type(exception).__name__}: {exception}'
        _ratios(entry)
        results.append(entry)
    return results


def _ratios(entry):
    baselines = {}
    for variant in entry['variants']:
        if variant['baseline']:
            baselines.setdefault(variant['baseline'], variant['seconds'])
    for variant in entry['variants']:
        variant['ratios'] = {
            kind: (variant['seconds'] / seconds if seconds else None)
            for kind, seconds in baselines.items()}


def format_table(results):
    from bench.harness import BASELINES
    kinds = list(BASELINES)
    for entry in results:
        for variant in entry['variants']:
            for kind in variant.get('ratios', {}):
                if kind not in kinds:
                    kinds.append(kind)
    header = ['workload', 'variant', 'time (s)', 'queries'] + [
        f'x {k}' for k in kinds]
    rows = []
    for entry in results:
        if entry.get('skipped') or entry.get('error'):
            rows.append([entry['workload'],
                    'SKIPPED: ' + entry['skipped'] if entry.get('skipped')
                    else 'ERROR: ' + entry['error'][:60]]
                + [''] * (len(header) - 2))
        for variant in entry['variants']:
            name = variant['variant']
            if variant['baseline']:
                name += f" [{variant['baseline']}]"
            row = [entry['workload'], name, f"{variant['seconds']:.3f}",
                str(variant['queries'])]
            for kind in kinds:
                ratio = variant['ratios'].get(kind)
                row.append(f'{ratio:.2f}' if ratio is not None else '')
            rows.append(row)
    widths = [max(len(str(r[i])) for r in [header] + rows)
        for i in range(len(header))]
    lines = ['  '.join(str(c).ljust(w) if i < 2 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(r, widths)))
        for r in [header] + rows]
    lines.insert(1, '  '.join('-' * w for w in widths))
    return '\n'.join(lines)


def plot(results, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    labels, values, colors = [], [], []
    palette = {'naive': '#d62728', 'stock': '#1f77b4', 'floor': '#7f7f7f'}
    for entry in results:
        for variant in entry['variants']:
            labels.append(f"{entry['workload']}: {variant['variant']}")
            values.append(max(variant['seconds'], 1e-4))
            colors.append(palette.get(variant['baseline'], '#2ca02c'))
    if not labels:
        return
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(labels) + 1.2))
    ax.barh(range(len(labels)), values, color=colors)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale('log')
    ax.set_xlabel('seconds (log scale); red naive, blue stock, '
        'grey SQL floor, green suite')
    for i, value in enumerate(values):
        ax.text(value, i, f' {value:.3f}s', va='center', fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Run the benchmarks.")
    parser.add_argument('--scale', type=int, default=1000,
        help="number of customers of the generated database")
    parser.add_argument('--database', default=None,
        help="database name (default bench_<scale>)")
    parser.add_argument('--workload', default=None,
        help="only the workloads whose name matches (glob or substring)")
    parser.add_argument('--reuse', action='store_true',
        help="reuse the database when it exists instead of recreating it")
    parser.add_argument('--repeat', type=int, default=1,
        help="runs per variant, the fastest is kept")
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--config',
        default=os.path.join(ROOT, 'config', 'trytond-postgresql.conf'))
    parser.add_argument('--modules', default=None,
        help="comma separated modules to activate "
        "(default: the stock ones and the suite's)")
    args = parser.parse_args(argv)
    os.environ.setdefault('TRYTOND_LOGGING_LEVEL', '30')
    from trytond import config
    config.update_etc(args.config)
    config.set('queue', 'worker', 'False')
    if not config.get('database', 'uri', default='').startswith('postgres'):
        raise SystemExit("scripts/bench needs a PostgreSQL database URI")
    import logging
    logging.basicConfig(level=logging.WARNING)
    database = args.database or f'bench_{args.scale}'
    modules = (args.modules.split(',') if args.modules
        else STOCK_MODULES + suite_modules())
    generation = None
    if args.reuse and pg_tool.exists(_server_uri(), database):
        print(f"reusing {database}", file=sys.stderr)
    else:
        print(f"creating {database} at scale {args.scale}", file=sys.stderr)
        generation = create_database(
            args.config, database, args.scale, args.seed, modules)
        print(f"generated in {generation['timings']}", file=sys.stderr)
    results = run_workloads(database, args.scale, args.workload, args.repeat)
    print(format_table(results))
    os.makedirs(RESULTS, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime('%Y%m%dT%H%M%SZ')
    document = {'timestamp': stamp, 'database': database,
        'scale': args.scale, 'repeat': args.repeat,
        'generation': generation, 'workloads': results}
    for name in [f'{stamp}.json', 'latest.json']:
        with open(os.path.join(RESULTS, name), 'w') as fp:
            json.dump(document, fp, indent=2, default=str)
    plot(results, os.path.join(RESULTS, 'latest.png'))
    print(f"\nresults: bench/results/{stamp}.json, latest.json, latest.png",
        file=sys.stderr)
    return document


if __name__ == '__main__':
    main()
