#!/usr/bin/env python3
"""Turns raw `go test -bench` output (several runs) into Markdown tables of
median GB/s, one row per path, one column per size. Usage:
    ci/benchtable.py raw.txt [raw2.txt ...]
Benchmarks are grouped by every name component except path=/lib= and size=."""
import re, sys, statistics
from collections import defaultdict, OrderedDict

rows = defaultdict(lambda: defaultdict(list))
order_groups, order_paths, order_sizes = OrderedDict(), defaultdict(OrderedDict), OrderedDict()
for fn in sys.argv[1:]:
    for line in open(fn):
        m = re.match(r'^(Benchmark\S+?)(-\d+)?\s+\d+\s+([\d.]+) ns/op\s+([\d.]+) MB/s', line)
        if not m:
            continue
        name, mbs = m.group(1), float(m.group(4))
        parts = name.split('/')
        path = next((p.split('=', 1)[1] for p in parts if p.startswith(('path=', 'lib='))), '?')
        size = next((p.split('=', 1)[1] for p in parts if p.startswith('size=')), '?')
        group = '/'.join(p for p in parts if not p.startswith(('path=', 'lib=', 'size=')))
        order_groups[group] = 1
        order_paths[group][path] = 1
        order_sizes[size] = 1
        rows[(group, path)][size].append(mbs / 1000)

for group in order_groups:
    sizes = [s for s in order_sizes if any(rows[(group, p)].get(s) for p in order_paths[group])]
    print(f'\n{group} — GB/s, median of runs\n')
    print('| path | ' + ' | '.join(sizes) + ' |')
    print('|---|' + '---:|' * len(sizes))
    for path in order_paths[group]:
        cells = []
        for s in sizes:
            v = rows[(group, path)].get(s)
            cells.append(f'{statistics.median(v):.1f}' if v else '')
        print(f'| {path} | ' + ' | '.join(cells) + ' |')
