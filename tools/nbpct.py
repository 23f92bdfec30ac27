"""Round-trip notebooks through a plain-text "percent" form, for editing notebooks as text.

    python tools/nbpct.py to-py nbs/04_entropy.ipynb  > /tmp/04.py    # notebook -> text
    python tools/nbpct.py to-nb /tmp/04.py nbs/04_entropy.ipynb       # text -> notebook

Text form: a line `# %%` starts a code cell, `# %% [markdown]` a markdown cell whose lines
are prefixed with `# `; `# %% tags=["parameters"]` gives a code cell tags. The notebook is the
source of truth; the text form is only a convenience and is never committed.
"""
import hashlib, json, re, sys

HDR = re.compile(r'^# %%(?P<md> \[markdown\])?(?: tags=(?P<tags>\[.*\]))?\s*$')

def to_py(nb_path):
    nb = json.load(open(nb_path))
    out = []
    for c in nb['cells']:
        src = ''.join(c['source']) if isinstance(c['source'], list) else c['source']
        tags = c.get('metadata', {}).get('tags')
        t = f' tags={json.dumps(tags)}' if tags else ''
        if c['cell_type'] == 'markdown':
            out.append(f'# %% [markdown]{t}')
            out += [('# ' + l) if l else '#' for l in src.split('\n')]
        else:
            out.append(f'# %%{t}')
            out += src.split('\n')
        out.append('')
    return '\n'.join(out)

def to_nb(py_path, nb_path):
    cells, cur = [], None
    for line in open(py_path).read().split('\n'):
        m = HDR.match(line)
        if m:
            if cur: cells.append(cur)
            cur = dict(md=bool(m['md']), tags=json.loads(m['tags']) if m['tags'] else None, lines=[])
            continue
        if cur is None:
            if not line.strip(): continue
            cur = dict(md=False, tags=None, lines=[])
        cur['lines'].append(line)
    if cur: cells.append(cur)
    nb_cells, seen = [], set()
    for c in cells:
        lines = c['lines']
        while lines and not lines[-1].strip(): lines.pop()
        if c['md']: lines = [l[2:] if l.startswith('# ') else l.lstrip('#') for l in lines]
        src = '\n'.join(lines)
        md = {'tags': c['tags']} if c['tags'] else {}
        cid, k = hashlib.sha1(src.encode()).hexdigest()[:8], 0   # stable ids: unchanged cells keep theirs
        while cid in seen: k += 1; cid = hashlib.sha1(f'{src}{k}'.encode()).hexdigest()[:8]
        seen.add(cid)
        if c['md']: nb_cells.append({'cell_type': 'markdown', 'id': cid, 'metadata': md, 'source': src})
        else: nb_cells.append({'cell_type': 'code', 'execution_count': None, 'id': cid, 'metadata': md, 'outputs': [], 'source': src})
    nb = {'cells': nb_cells,
          'metadata': {'kernelspec': {'display_name': 'python3', 'language': 'python', 'name': 'python3'}},
          'nbformat': 4, 'nbformat_minor': 5}
    with open(nb_path, 'w') as f: json.dump(nb, f, indent=1, ensure_ascii=False); f.write('\n')

if __name__ == '__main__':
    cmd, *args = sys.argv[1:]
    if cmd == 'to-py': sys.stdout.write(to_py(args[0]))
    elif cmd == 'to-nb': to_nb(args[0], args[1])
    else: sys.exit('usage: nbpct.py to-py NB | to-nb PY NB')
