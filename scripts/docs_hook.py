"""MkDocs glue for the documentation site (`mkdocs.yml` names it under `hooks:`).

The site is made from the repository's own sources, each with one copy:
- the home page is README.md and the benchmarks page is BENCHMARKS.md; docs/*.md are the other prose pages;
- every notebook of nbs/ is a page, rendered by mkdocs-jupyter from a copy that reads as documentation: nbdev's
  directive lines (`#| export`, ...) removed, `#| hide` cells left out, and before each cell that exports a function
  or class, its signature and docstring (what nbdev's `show_doc` gives);
- api/<module>.md is one page per module of u2pl/, rendered by mkdocstrings from the source (griffe reads it without
  importing the package, so the site builds without torch);
- config.md lists every config key with its default, its choices and its comment, read from u2pl/config.py.

Links are written as they work on GitHub (relative to the file that holds them) and are rewritten here to the page
of the target, or to the file in the repository when it has no page; a link that leads nowhere is a warning, which
`mkdocs build --strict` turns into a failed build.
"""
from __future__ import annotations
import ast, atexit, io, json, logging, posixpath, re, shutil, tempfile, tokenize
from pathlib import Path

log = logging.getLogger("mkdocs.plugins.u2pl_docs")   # under "mkdocs.": strict mode counts its warnings
ROOT = Path(__file__).resolve().parents[1]

# ---------------------------------------------------------------- notebooks as documentation
DIRECTIVE = re.compile(r"^\s*#\|\s*([\w-]+)")

def directives(src: str) -> list[str]:
    "The nbdev directives (`#| name ...`) of a code cell's source, by name."
    return [m.group(1) for line in src.splitlines() if (m := DIRECTIVE.match(line))]

def strip_directives(src: str) -> str:
    "The cell's source without its directive lines."
    return "\n".join(line for line in src.splitlines() if not DIRECTIVE.match(line)).strip("\n")

def _patched_class(fn: ast.FunctionDef) -> str | None:
    "The class a fastcore `@patch` function joins (the annotation of its first argument), else None."
    if not any(isinstance(d, ast.Name) and d.id == "patch" for d in fn.decorator_list): return None
    first = (fn.args.posonlyargs + fn.args.args)[:1]
    return ast.unparse(first[0].annotation) if first and first[0].annotation is not None else None

def _signature(node) -> str:
    "`name(args) -> returns` of a function; a class's constructor arguments (a dataclass's fields)."
    if isinstance(node, ast.ClassDef):
        init = next((b for b in node.body if isinstance(b, ast.FunctionDef) and b.name == "__init__"), None)
        if init is not None:
            args = ast.unparse(init.args)
            args = re.sub(r"^self(, )?", "", args)
        else:   # a dataclass: its annotated fields, with their defaults
            args = ", ".join(ast.unparse(b.target) + ": " + ast.unparse(b.annotation) + (f" = {ast.unparse(b.value)}" if b.value else "")
                             for b in node.body if isinstance(b, ast.AnnAssign))
        bases = ", ".join(ast.unparse(b) for b in node.bases)
        return f"class {node.name}({args})" + (f"  # ({bases})" if bases else "")
    ret = f" -> {ast.unparse(node.returns)}" if node.returns is not None else ""
    return f"{node.name}({ast.unparse(node.args)}){ret}"

def doc_blocks(src: str) -> list[tuple[str, str, str]]:
    "(shown name, signature, docstring) of each public function or class a cell defines, in order."
    try: tree = ast.parse(src)
    except SyntaxError: return []
    out = []
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) or node.name.startswith("_"): continue
        cls = _patched_class(node) if isinstance(node, ast.FunctionDef) else None
        name = f"{cls}.{node.name}" if cls else node.name
        sig = _signature(node)
        if cls: sig = f"{cls}." + re.sub(r"^(\w+)\(self: [^,)]+(, )?", r"\1(", sig)
        out.append((name, sig, ast.get_docstring(node) or ""))
    return out

def wrap_signature(sig: str, width: int = 88) -> str:
    "A long signature with one argument per line (split at the commas outside brackets and strings)."
    head, paren, rest = sig.partition("(")
    if len(sig) <= width or not paren: return sig
    depth, quote, parts, cur = 0, None, [], ""
    for i, ch in enumerate(rest):
        if quote: quote = None if ch == quote and rest[i - 1] != "\\" else quote
        elif ch in "'\"": quote = ch
        elif ch in "([{": depth += 1
        elif ch in ")]}":
            if depth == 0: return head + "(\n" + "".join(f"    {p.strip()},\n" for p in parts + [cur] if p.strip()) + rest[i:]
            depth -= 1
        elif ch == "," and depth == 0: parts.append(cur); cur = ""; continue
        cur += ch
    return sig

def doc_markdown(name: str, sig: str, doc: str, anchor: str) -> str:
    """The block a notebook page shows for one exported object: a heading anchored at its dotted path (as the API
    pages anchor it; a heading in markdown would take the id of a section of the same name), the signature, the
    docstring."""
    head = f'<h4 id="{anchor}"><code>{name}</code><a class="anchor-link" href="#{anchor}">¶</a></h4>'
    return f"{head}\n\n```python\n{wrap_signature(sig)}\n```\n\n{doc}".rstrip() + "\n"

def _source(cell: dict) -> str: return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]

def default_exp(nb: dict) -> str | None:
    "The module a notebook exports to (its `#| default_exp`), or None."
    return next((m.group(1) for c in nb["cells"] if c["cell_type"] == "code"
                 and (m := re.search(r"^\s*#\|\s*default_exp\s+(\S+)", _source(c), re.M))), None)

def doc_cells(nb: dict) -> dict:
    "The notebook as its page shows it: no directive lines, no `#| hide` cells, a doc block before each export."
    cells, module, seen = [], default_exp(nb), set()
    for cell in nb["cells"]:
        src = _source(cell)
        if cell["cell_type"] != "code":
            cells.append({**cell, "source": src}); continue
        flags = directives(src)
        if "hide" in flags: continue
        code = strip_directives(src)
        if not code.strip() and not cell.get("outputs"): continue
        if any(f in ("export", "exports") for f in flags):
            for name, sig, doc in doc_blocks(code):
                anchor = f"u2pl.{module}.{name}" if module else name
                while anchor in seen: anchor += "_"          # a name defined twice keeps each block reachable
                seen.add(anchor)
                cells.append({"cell_type": "markdown", "id": f"doc-{len(cells)}", "metadata": {},
                              "source": doc_markdown(name, sig, doc, anchor)})
        cells.append({**cell, "source": code})
    return {**nb, "cells": cells}

def notebook_title(nb: dict) -> str | None:
    "The text of the notebook's first heading (its page's title)."
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown" and (m := re.search(r"^#{1,6}\s+(.+?)\s*$", _source(cell), re.M)): return m.group(1)
    return None

# ---------------------------------------------------------------- links
LINK = re.compile(r"(\]\(|<img src=\")([^)\s\"]+)")

def resolve_link(target: str, holder: str, pages: dict[str, str], repo_url: str) -> tuple[str | None, str | None]:
    """Where a relative link of repository file `holder` leads: (site path of its page, None), (None, repository URL)
    for a file with no page, or (None, None) when it leads to no file. `pages` maps repository paths to site paths."""
    path, _, anchor = target.partition("#")
    repo_path = posixpath.normpath(posixpath.join(posixpath.dirname(holder), path))
    if repo_path in pages: return pages[repo_path] + (f"#{anchor}" if anchor else ""), None
    if (ROOT / repo_path).exists() and not repo_path.startswith(".."):
        kind = "tree" if (ROOT / repo_path).is_dir() else "blob"
        return None, f"{repo_url.rstrip('/')}/{kind}/main/{repo_path}" + (f"#{anchor}" if anchor else "")
    return None, None

def is_relative(target: str) -> bool:
    return not re.match(r"^([a-z][a-z0-9+.-]*:|#|/)", target)

def rewrite_links(text: str, holder: str, site_path: str, pages: dict[str, str], repo_url: str, to_url=None) -> str:
    """Every relative link in `text` (held by repository file `holder`, shown at `site_path`) rewritten to the target's
    page (relative to `site_path`, or through `to_url` for pages whose links MkDocs does not see), else to the file in
    the repository; a link to nothing is logged as a warning and left as it is."""
    def one(m):
        head, target = m.groups()
        if not is_relative(target): return m.group(0)
        page, url = resolve_link(target, holder, pages, repo_url)
        if page is not None:
            if to_url: return head + to_url(page)
            return head + posixpath.relpath(page, posixpath.dirname(site_path) or ".")
        if url is not None: return head + url
        log.warning(f"{holder}: the link '{target}' leads to no file of the repository")
        return m.group(0)
    return LINK.sub(one, text)

# ---------------------------------------------------------------- the config-key page
def config_keys(source: str) -> list[dict]:
    """Every key of the run config, from the source of u2pl/config.py: section, key, type, default, comment and
    choices, in the order of the dataclasses (a comment line right under a field continues its comment)."""
    tree = ast.parse(source)
    lines = source.splitlines()
    comments = {tok.start[0]: tok.string.lstrip("# ").rstrip() for tok in tokenize.generate_tokens(io.StringIO(source).readline)
                if tok.type == tokenize.COMMENT}
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    choices = next((ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == "CHOICES" for t in n.targets)), {})
    def default(v):
        if v is None: return ""
        if isinstance(v, ast.Call) and any(k.arg == "default_factory" for k in v.keywords):
            f = next(k.value for k in v.keywords if k.arg == "default_factory")
            return ast.unparse(f.body) if isinstance(f, ast.Lambda) else f"{ast.unparse(f)}()"
        return ast.unparse(v)
    def comment(node):
        text, line = comments.get(node.lineno, ""), node.lineno + 1
        while line in comments and lines[line - 1].strip().startswith("#"):
            text, line = f"{text} {comments[line]}".strip(), line + 1
        return text
    rows = []
    def walk(cls, section):
        for node in cls.body:
            if not isinstance(node, ast.AnnAssign): continue
            name, ann = node.target.id, ast.unparse(node.annotation)
            if ann in classes: walk(classes[ann], name); continue
            key = f"{section}.{name}" if section else name
            rows.append(dict(section=section, key=key, type=ann, default=default(node.value), comment=comment(node),
                             choices=choices.get(key), section_comment=comments.get(cls.lineno, "")))
    walk(classes["Config"], "")
    return rows

def _cell(s) -> str: return str(s).replace("|", "\\|").replace("\n", " ").replace("<", "&lt;").replace(">", "&gt;")

def config_markdown(rows: list[dict]) -> str:
    "The config-key page: a table per section (a key without a comment is a warning: every setting says what it is)."
    for r in rows:
        if not r["comment"]: log.warning(f"u2pl/config.py: the key {r['key']} has no comment saying what it is")
    out = ["# Configuration keys", "",
           "Every key of a run's configuration (`config.yaml`, `--set key=value`, the driver's `-p overrides`), with its "
           "default and what it does, generated from `u2pl/config.py` (notebook [01_config](nbs/01_config.ipynb)). "
           "Presets and recipes change some defaults: `python -m u2pl.train --preset NAME --print-config` prints a "
           "run's resolved values.", ""]
    for section in dict.fromkeys(r["section"] for r in rows):
        rs = [r for r in rows if r["section"] == section]
        out += [f"## `{section}`" if section else "## top level", ""]
        if rs[0]["section_comment"]: out += [rs[0]["section_comment"][:1].upper() + rs[0]["section_comment"][1:], ""]
        out += ["| key | type | default | what it is |", "|---|---|---|---|"]
        for r in rs:
            listed = r["choices"] and all(str(c) in r["comment"] for c in r["choices"] if c not in (None, ""))
            what = _cell(r["comment"]) + ("" if not r["choices"] or listed else
                                          " (one of " + ", ".join(f"`{c!r}`" if c in (None, "") else f"`{c}`" for c in r["choices"]) + ")")
            out.append(f"| `{r['key']}` | `{_cell(r['type'])}` | `{_cell(r['default'])}` | {what} |")
        out.append("")
    return "\n".join(out)

# ---------------------------------------------------------------- API pages
def api_markdown(module: str, notebook: str | None, title: str | None) -> str:
    "The API page of one module: its notebook, then mkdocstrings' rendering of the module's public members."
    src = f"Defined, explained and tested in [{Path(notebook).stem}: {title}](../{notebook})." if notebook else ""
    return f"# `u2pl.{module}`\n\n{src}\n\n::: u2pl.{module}\n"

# ---------------------------------------------------------------- MkDocs events
_stage: Path | None = None             # the notebooks' copies, made at each build
_pages: dict[str, str] = {}            # repository path -> site path of every page
_holders: dict[str, str] = {}          # site path -> the markdown file of the repository it shows (README.md, docs/*.md, ...)

def on_config(config):
    config.watch.extend(str(ROOT / p) for p in ("nbs", "u2pl", "README.md", "BENCHMARKS.md") if str(ROOT / p) not in config.watch)
    return config

def _page(files, config, src_uri: str, content: str | None = None, abs_src: Path | None = None):
    from mkdocs.structure.files import File
    if files.get_file_from_path(src_uri) is not None: files.remove(files.get_file_from_path(src_uri))
    if content is not None:
        f = File.generated(config, src_uri, content=content)
    else:   # a real file under a folder of its own (mkdocs-jupyter's wrapper finds the path only this way)
        f = File(src_uri, src_dir=str(abs_src), dest_dir=config.site_dir, use_directory_urls=config.use_directory_urls)
    files.append(f)
    return f

from mkdocs.plugins import event_priority

@event_priority(100)   # before mkdocs-jupyter, which turns the notebook files it finds into pages
def on_files(files, config):
    global _stage
    if _stage is not None: shutil.rmtree(_stage, ignore_errors=True)
    _stage = Path(tempfile.mkdtemp(prefix="u2pl-docs-"))
    atexit.register(shutil.rmtree, _stage, True)   # also when `mkdocs serve` ends on Ctrl-C
    repo_url = config.repo_url or ""
    notebooks = {p.name: json.loads(p.read_text()) for p in sorted((ROOT / "nbs").glob("*.ipynb"))}
    modules = {m: name for name, nb in notebooks.items() if (m := default_exp(nb))}
    # which repository file is which page
    pages = {"README.md": "index.md", "BENCHMARKS.md": "BENCHMARKS.md"}
    pages |= {f"docs/{f.src_uri}": f.src_uri for f in files}              # docs/*.md, images, ...
    pages |= {f"nbs/{name}": f"nbs/{name}" for name in notebooks}
    pages |= {f"u2pl/{m}.py": f"api/{m}.md" for m in modules}
    pages |= {"docs/config.md": "config.md"} | {f"docs/api/{m}.md": f"api/{m}.md" for m in modules}   # generated: docs/ pages link them by site path
    _pages.clear(); _pages.update(pages)
    _holders.clear(); _holders.update({site: repo for repo, site in pages.items() if repo.endswith(".md") and (ROOT / repo).is_file()})
    # markdown pages from outside docs/
    for repo_path in ("README.md", "BENCHMARKS.md"):
        _page(files, config, pages[repo_path], content=(ROOT / repo_path).read_text())
    _page(files, config, "config.md", content=config_markdown(config_keys((ROOT / "u2pl/config.py").read_text())))
    nb_files = {name: _page(files, config, f"nbs/{name}", abs_src=_stage) for name in notebooks}
    for m, name in modules.items():
        _page(files, config, f"api/{m}.md", content=api_markdown(m, f"nbs/{name}", notebook_title(notebooks[name])))
    # the notebooks' copies, their links resolved now that every page exists (MkDocs never sees these links)
    (_stage / "nbs").mkdir(parents=True)
    module_of = {nb: m for m, nb in modules.items()}
    for name, f in nb_files.items():
        nb = doc_cells(notebooks[name])
        def to_url(site_path, f=f):
            target = files.get_file_from_path(site_path.partition("#")[0])
            anchor = site_path.partition("#")[2]
            return target.url_relative_to(f) + (f"#{anchor}" if anchor else "")
        for cell in nb["cells"]:
            if cell["cell_type"] == "markdown":
                cell["source"] = rewrite_links(cell["source"], f"nbs/{name}", f"nbs/{name}", pages, repo_url, to_url)
        # under the title: the notebook itself on GitHub (to download or open), and the module's API page
        note = f"The notebook: [nbs/{name}]({repo_url.rstrip('/')}/blob/main/nbs/{name})."
        if name in module_of:
            api = files.get_file_from_path(f"api/{module_of[name]}.md").url_relative_to(f)
            note = f"Exports [`u2pl.{module_of[name]}`]({api}) (API reference). " + note
        at = next((i + 1 for i, c in enumerate(nb["cells"]) if c["cell_type"] == "markdown"), 0)
        nb["cells"].insert(at, {"cell_type": "markdown", "id": "source-note", "metadata": {}, "source": note})
        (_stage / "nbs" / name).write_text(json.dumps(nb))
    return files

def _text(html: str) -> str: return re.sub(r"<[^>]+>", "", html).replace("¶", "").strip()

HEADING = re.compile(r'<h([1-6]) id="([^"]+)"[^>]*>(.*?)</h\1>', re.S)

def toc_from_html(html: str) -> tuple[str | None, list[dict]]:
    """(title, table-of-contents tokens) of a rendered notebook page, from its headings as they are in the HTML:
    the first h1 is the title, h2-h4 nest into the tokens MkDocs builds a table of contents from."""
    title, root = None, {"level": 1, "children": []}
    stack = [root]
    for level, id_, inner in HEADING.findall(html):
        level, name = int(level), re.sub(r'<a class="anchor-link"[^>]*>.*?</a>', "", inner, flags=re.S).strip()
        if level == 1:
            title = title or _text(name); continue
        if level > 4: continue
        while stack[-1]["level"] >= level: stack.pop()
        tok = {"level": level, "id": id_, "name": name, "children": []}
        stack[-1]["children"].append(tok); stack.append(tok)
    return title, root["children"]

@event_priority(-100)   # after mkdocs-jupyter has rendered the page
def on_page_content(html, page, config, files):
    """A notebook page's title and table of contents from its headings as rendered: mkdocs-jupyter's own drop code
    spans (`cli: the \\`u2pl-splits\\` command` became "cli: the command") and link a heading that is all code
    (each export's block) to an anchor that does not exist."""
    if not page.file.src_uri.endswith(".ipynb"): return html
    from mkdocs.structure.toc import get_toc
    title, tokens = toc_from_html(html)
    if title: page.title = title
    page.toc = get_toc(tokens)
    return html

def on_page_markdown(markdown, page, config, files):
    "Links of the markdown pages, written for GitHub, rewritten to the site's pages."
    holder = _holders.get(page.file.src_uri)
    if holder is None: return markdown   # notebooks: done in on_files; generated pages (api/, config.md) hold site links already
    return rewrite_links(markdown, holder, page.file.src_uri, _pages, config.repo_url or "")

def on_shutdown():
    if _stage is not None: shutil.rmtree(_stage, ignore_errors=True)
