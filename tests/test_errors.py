"""Issue 5: every input problem comes back as `file:line: what — how to fix`, a documented exit
code, no traceback and no output file (an earlier one left untouched)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from conftest import ROOT
from PIL import Image

from book.cli import main

GOOD_FRONT = "---\ntitle: T\nlang: en\n---\n"


def run(tmp_path, capsys, files: dict[str, str | bytes], *args, source="a.md", out="out.epub"):
    """Write `files` into tmp_path, run `book build`, return (exit code, stderr, output path)."""
    for name, content in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    target = tmp_path / out
    code = main(["build", str(tmp_path / source), "-o", str(target), *args])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err, target


def png(color=(200, 0, 0)) -> bytes:
    import io

    buf = io.BytesIO()
    Image.new("RGB", (20, 20), color).save(buf, format="PNG")
    return buf.getvalue()


CASES = [
    # name, files, expected message (regex), expected line
    ("yaml", {"a.md": "---\ntitle: T\nlang: en\nauthor: [unclosed\n---\n# H\n"}, r"not valid YAML", None),
    ("no-title", {"a.md": "---\nlang: en\n---\n# H\n"}, r"a\.md:\d*:? ?.*no 'title'.*add a line like", None),
    ("no-lang", {"a.md": "---\ntitle: T\n---\n# H\n"}, r"no 'lang'.*BCP 47", None),
    ("bad-lang", {"a.md": "---\ntitle: T\nlang: english_US\n---\n# H\n"}, r"a\.md:3: 'english_US' is not a BCP 47", 3),
    ("empty", {"a.md": ""}, r"a\.md: the source is empty", None),
    ("no-front-matter", {"a.md": "# Just text\n"}, r"a\.md:1: the file has no front matter", 1),
    ("body-empty", {"a.md": GOOD_FRONT + "\n\n"}, r"a\.md:5: the article has no text", 5),
    ("not-utf8", {"a.md": GOOD_FRONT.encode() + b"# H\n\ncaf\xe9\n"}, r"a\.md:7: the file is not UTF-8.*save it as UTF-8", 7),
    ("missing-image", {"a.md": GOOD_FRONT + "# H\n\n![A cat.](cat.png)\n"}, r"a\.md:7: image 'cat\.png' does not exist", 7),
    ("fake-image", {"a.md": GOOD_FRONT + "# H\n\n![A cat.](cat.png)\n", "cat.png": "<html>not a picture</html>"},
     r"a\.md:7: 'cat\.png' is not an image", 7),
    ("bmp-image", {"a.md": GOOD_FRONT + "# H\n\n![A cat.](cat.bmp)\n"}, r"is BMP, which EPUB does not allow.*convert it", 7),
    ("remote-image", {"a.md": GOOD_FRONT + "# H\n\n![A cat.](https://example.org/cat.png)\n"},
     r"a\.md:7: image 'https://example\.org/cat\.png' is not a file in the book.*download it", 7),
    ("escape", {"a.md": GOOD_FRONT + "# H\n\n![A cat.](../cat.png)\n"}, r"a\.md:7: image '\.\./cat\.png' is outside the book's folder", 7),
    ("absolute", {"a.md": GOOD_FRONT + "# H\n\n![A cat.](/etc/passwd)\n"}, r"a\.md:7: image '/etc/passwd' is an absolute path", 7),
    ("svg-xxe", {"a.md": GOOD_FRONT + "# H\n\n![A cat.](x.svg)\n",
                 "x.svg": '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                          '<svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>'},
     r"SVG 'x\.svg' declares XML entities", 7),
    ("svg-script", {"a.md": GOOD_FRONT + "# H\n\n![A cat.](x.svg)\n",
                    "x.svg": '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'},
     r"SVG 'x\.svg' contains <script>", 7),
    ("cover-no-alt", {"a.md": "---\ntitle: T\nlang: en\ncover-image: c.png\n---\n# H\n\nx\n"},
     r"a\.md:4: the cover image has no text alternative.*cover-alt", 4),
    ("bad-date", {"a.md": "---\ntitle: T\nlang: en\ndate: 14/03/2024\n---\n# H\n"}, r"a\.md:4: date '14/03/2024' is not YYYY-MM-DD", 4),
]


@pytest.mark.parametrize("name,files,pattern,line", CASES, ids=[c[0] for c in CASES])
def test_input_problem(tmp_path, capsys, name, files, pattern, line):
    if name == "bmp-image":
        Image.new("RGB", (10, 10)).save(tmp_path / "cat.bmp")
    code, err, out = run(tmp_path, capsys, files)
    assert code == 1, err
    assert re.search(pattern, err, re.S), err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp.epub")]


def test_every_problem_in_front_matter_reported_at_once(tmp_path, capsys):
    code, err, _ = run(tmp_path, capsys, {"a.md": "---\nlang: xx_!\ndate: soon\n---\n# H\n"})
    assert code == 1
    assert "no 'title'" in err and "BCP 47" in err and "YYYY-MM-DD" in err
    assert len(err.strip().split("\n")) == 3


def test_unknown_key_warns_with_suggestion(tmp_path, capsys):
    code, err, out = run(tmp_path, capsys, {"a.md": "---\ntitle: T\nlang: en\nauthour: Me\n---\n# H\n\nx\n"})
    assert code == 0 and out.exists()
    assert re.search(r"a\.md:4: warning: unknown front-matter key 'authour' is ignored — did you mean 'author'\?", err), err


def test_book_folder_problems(tmp_path, capsys):
    code, err, out = run(tmp_path, capsys, {"b/book.yaml": "title: T\nlang: en\nchapters: [one.md, two.md]\n",
                                            "b/one.md": "# One\n"}, source="b")
    assert code == 1 and re.search(r"book\.yaml:3: chapter file 'two\.md' does not exist", err), err
    code, err, out = run(tmp_path, capsys, {"c/book.yaml": "title: T\nlang: en\nchapters: [../a.md]\n",
                                            "a.md": "# Outside\n"}, source="c")
    assert code == 1 and "outside the book's folder" in err
    code, err, out = run(tmp_path, capsys, {"d/book.yaml": "title: T\nlang: en\n"}, source="d")
    assert code == 1 and re.search(r"book\.yaml:1: book\.yaml lists no chapter files", err), err


def test_symlink_pointing_outside_is_refused(tmp_path, capsys):
    outside = tmp_path / "secret.png"
    outside.write_bytes(png())
    book = tmp_path / "book"
    book.mkdir()
    os.symlink(outside, book / "pic.png")
    (book / "a.md").write_text(GOOD_FRONT + "# H\n\n![A red square.](pic.png)\n", "utf-8")
    code = main(["build", str(book / "a.md"), "-o", str(tmp_path / "o.epub")])
    err = capsys.readouterr().err
    assert code == 1 and "outside the book's folder" in err


def test_output_is_a_folder(tmp_path, capsys):
    (tmp_path / "out.epub").mkdir()
    code, err, _ = run(tmp_path, capsys, {"a.md": GOOD_FRONT + "# H\n\nx\n"})
    assert code == 5 and "is a folder" in err


def test_output_not_writable(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    code, err, _ = run(tmp_path, capsys, {"a.md": GOOD_FRONT + "# H\n\nx\n"}, out="file/out.epub")
    assert code == 5 and "is not a folder" in err


def test_failed_build_keeps_the_previous_book(tmp_path, capsys):
    code, err, out = run(tmp_path, capsys, {"a.md": GOOD_FRONT + "# H\n\nx\n"})
    assert code == 0
    before = out.read_bytes()
    code, err, out = run(tmp_path, capsys, {"a.md": GOOD_FRONT + "# H\n\n![](missing.png)\n"})
    assert code == 1 and out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_unsafe_html_is_removed_with_warnings(tmp_path, capsys):
    body = ("# H\n\n<script>alert(1)</script>\n\n<p onclick=\"steal()\">Click text</p>\n\n"
            "[link](javascript:alert(1))\n\n<iframe src=\"https://evil.example\"></iframe>\n\n"
            "<object data=\"x.swf\"></object>\n\n<embed src=\"x.swf\">\n\n<form><input name=q></form>\n\n"
            "## <Myths> & facts\n\nText <Unknown> tag.\n")
    code, err, out = run(tmp_path, capsys, {"a.md": GOOD_FRONT + body})
    assert code == 0, err
    import zipfile

    with zipfile.ZipFile(out) as z:
        html = "".join(z.read(n).decode() for n in z.namelist() if n.endswith(".xhtml"))
    for bad in ("<script", "onclick", "javascript:", "<iframe", "<object", "<embed", "<form", "<input"):
        assert bad not in html, bad
    assert "&lt;Myths&gt; &amp; facts" in html and "Text &lt;Unknown&gt; tag." in html
    for tag, line in (("script", 7), ("iframe", 13), ("object", 15), ("embed", 17), ("form", 19)):
        assert re.search(rf"a\.md:{line}: warning: \[html-removed\] <{tag}> was removed", err), (tag, err)
    assert re.search(r"a\.md:9: warning: \[html-removed\] event handler 'onclick'", err), err
    assert re.search(r"a\.md:11: warning: \[html-removed\] unsafe link 'javascript:alert\(1\)'", err), err


def test_no_traceback_and_exit_code_from_the_command_line(tmp_path):
    (tmp_path / "a.md").write_text("---\ntitle: T\n---\n# H\n", "utf-8")
    r = subprocess.run([sys.executable, "-m", "book", "build", str(tmp_path / "a.md"), "-o", str(tmp_path / "o.epub")],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert re.search(r"a\.md:\d?:? ?the front matter has no 'lang'", r.stderr) or "no 'lang'" in r.stderr
    assert not (tmp_path / "o.epub").exists()


def test_missing_source(tmp_path, capsys):
    code = main(["build", str(tmp_path / "nope.md")])
    err = capsys.readouterr().err
    assert code == 1 and "no such file or folder" in err


def test_huge_single_file_fails_clearly(tmp_path, capsys):
    big = tmp_path / "a.md"
    with big.open("w", encoding="utf-8") as f:
        f.write(GOOD_FRONT)
        line = "Back pain is common and usually gets better on its own within a few weeks. " * 10 + "\n\n"
        while f.tell() < 50 * 1024 * 1024:
            f.write(line)
    code = main(["build", str(big), "-o", str(tmp_path / "o.epub")])
    err = capsys.readouterr().err
    assert code == 1 and re.search(r"a\.md: the file is 50 MB, more than book reads from one file", err), err
    assert "split it into chapter files" in err and not (tmp_path / "o.epub").exists()


@pytest.mark.slow
def test_50_mb_book_folder_builds(tmp_path):
    """50 MB of Markdown in chapter files builds (chapter by chapter) into a valid-sized EPUB."""
    from book import build

    folder = tmp_path / "big"
    folder.mkdir()
    para = "Back pain is common and usually gets better on its own within a few weeks. " * 12
    names = []
    for i in range(50):
        names.append(f"c{i:02d}.md")
        body = [f"# Chapter {i}\n"]
        for j in range(40):
            body.append(f"## Section {i}.{j}\n\n" + "\n\n".join([para] * 30) + "\n")
        (folder / names[-1]).write_text("\n".join(body), "utf-8")
    (folder / "book.yaml").write_text("title: Big\nlang: en\nchapters: [" + ", ".join(names) + "]\n", "utf-8")
    assert sum(p.stat().st_size for p in folder.glob("*.md")) > 50 * 1024 * 1024
    out = build(folder, tmp_path / "big.epub").output
    import zipfile

    with zipfile.ZipFile(out) as z:
        docs = [i for i in z.infolist() if i.filename.startswith("EPUB/text/ch")]
        # all 52 MB of text is there, in documents small enough for e-readers
        assert sum(i.file_size for i in docs) > 50 * 1024 * 1024
        assert all(i.file_size < 300_000 for i in docs)


def test_remote_image_downloaded_only_when_allowed(tmp_path, capsys):
    """--allow-remote-images fetches the picture (here from a server on 127.0.0.1), checks its
    bytes and packages it; an address that fails is a clear error."""
    import functools
    import http.server
    import threading
    import zipfile

    served = tmp_path / "served"
    served.mkdir()
    (served / "cat.png").write_bytes(png((10, 200, 10)))
    (served / "fake.png").write_text("<html>not a picture</html>")
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        book = tmp_path / "book"
        files = {"book/a.md": GOOD_FRONT + f"# H\n\n![A green square.]({base}/cat.png)\n"}
        code, err, out = run(tmp_path, capsys, files, source="book/a.md")
        assert code == 1 and "--allow-remote-images" in err
        # 127.0.0.1 is this machine: refused unless the user allows private addresses too.
        code, err, out = run(tmp_path, capsys, files, "--allow-remote-images", source="book/a.md")
        assert code == 1 and "an address on this machine or a private network" in err, err
        code, err, out = run(tmp_path, capsys, files, "--allow-remote-images", "--allow-private-network",
                             source="book/a.md")
        assert code == 0, err
        with zipfile.ZipFile(out) as z:
            assert z.read("EPUB/images/cat.png") == (served / "cat.png").read_bytes()
            assert b'src="../images/cat.png"' in z.read("EPUB/text/ch001.xhtml")
        assert list(book.glob(".cache/book/remote/*/cat.png"))
        files = {"book/a.md": GOOD_FRONT + f"# H\n\n![A cat.]({base}/fake.png)\n"}
        code, err, out = run(tmp_path, capsys, files, "--allow-remote-images", "--allow-private-network",
                             source="book/a.md", out="b.epub")
        assert code == 1 and re.search(r"a\.md:7: 'fake\.png' is not an image|is not an image", err), err
        files = {"book/a.md": GOOD_FRONT + f"# H\n\n![A cat.]({base}/missing.png)\n"}
        code, err, out = run(tmp_path, capsys, files, "--allow-remote-images", "--allow-private-network",
                             source="book/a.md", out="c.epub")
        assert code == 1 and re.search(r"a\.md:7: could not download image .*missing\.png.*404", err), err
    finally:
        server.shutdown()


def test_language_name_instead_of_tag(tmp_path, capsys):
    code, err, out = run(tmp_path, capsys, {"a.md": "---\ntitle: T\nlang: English\n---\n# H\n\nx\n"})
    assert code == 1 and "a.md:3: 'English' is not a BCP 47 language tag — 'English' is the language's name; its tag is en" in err
    code, err, out = run(tmp_path, capsys, {"a.md": "---\ntitle: T\nlang: xx\n---\n# H\n\nx\n"})
    assert code == 1 and "'xx' is not a BCP 47 language tag" in err


def test_missing_key_points_at_the_front_matter(tmp_path, capsys):
    code, err, _ = run(tmp_path, capsys, {"a.md": "---\ntitle: T\n---\n# H\n"})
    assert code == 1 and re.search(r"a\.md:1: the front matter has no 'lang'", err), err


def test_strict_says_why_a_warning_failed(tmp_path, capsys):
    code, err, out = run(tmp_path, capsys, {"a.md": GOOD_FRONT + "# H\n\nSee [click here](https://example.org/).\n"},
                         "--strict")
    assert code == 1 and "warning: [link-vague]" in err and "(an error because of --strict)" in err
    assert not out.exists()


def test_read_aloud_without_the_encoder(tmp_path, capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_lameenc(name, *args, **kwargs):
        if name == "lameenc":
            raise ImportError("no lameenc")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_lameenc)
    code, err, out = run(tmp_path, capsys, {"a.md": GOOD_FRONT + "# H\n\nx\n"}, "--read-aloud")
    assert code == 4 and "the MP3 encoder for --read-aloud (PyPI lameenc) is not installed" in err
    assert "pip install" in err and "internal error" not in err and not out.exists()


def test_preview_arguments(tmp_path, capsys):
    assert main(["preview", "--port", "80000", "--no-open"]) == 2
    assert "is not a port number" in capsys.readouterr().err


def test_inline_styles_removed_but_column_alignment_kept(tmp_path, capsys):
    body = "# H\n\n<p style=\"color: red; position: fixed\">Styled</p>\n\n| A | B |\n|---|--:|\n| 1 | 2 |\n"
    code, err, out = run(tmp_path, capsys, {"a.md": GOOD_FRONT + body})
    assert code == 0, err
    import zipfile

    with zipfile.ZipFile(out) as z:
        html = z.read("EPUB/text/ch001.xhtml").decode()
    assert "<p>Styled</p>" in html and "color" not in html
    assert '<td style="text-align: right;">2</td>' in html


# ---------------------------------------------------------------------------------------------
# Lines and order of messages: an author fixes them from the top down, at the line named.


def test_a_heading_skip_names_the_heading_line_not_an_earlier_line_with_the_same_word(tmp_path, capsys):
    code, err, _ = run(tmp_path, capsys, {"a.md": GOOD_FRONT + "# Why Pain Happens\n\nText.\n\n### Pain\n\nMore.\n"})
    assert code == 1
    assert re.search(r"a\.md:9: error: \[heading-skip\] heading 'Pain'", err), err


def test_an_image_without_a_description_names_its_own_line(tmp_path, capsys):
    code, err, _ = run(tmp_path, capsys, {"a.md": GOOD_FRONT + "# H\n\nSee ![A red square.](p.png)\n\nAgain:\n\n![](p.png)\n",
                                          "p.png": png()})
    assert code == 1
    assert re.search(r"a\.md:11: error: \[img-alt-missing\] image 'p\.png' has no description", err), err


def test_a_missing_chapter_names_its_line_in_book_yaml(tmp_path, capsys):
    files = {"book.yaml": "title: T\nlang: en\nchapters:\n  - one.md\n  - two.md\n  - three.md\n",
             "one.md": "# One\n", "two.md": "# Two\n"}
    code, err, _ = run(tmp_path, capsys, files, source=".")
    assert code == 1
    assert re.search(r"book\.yaml:6: chapter file 'three\.md' does not exist", err), err


def test_errors_of_several_chapters_come_in_reading_order(tmp_path, capsys):
    """A skip across chapters (found book-wide) in two.md comes before an error in three.md
    (found in the chapter): by chapter, then line, whichever check found them."""
    files = {"book.yaml": "title: T\nlang: en\nchapters: [one.md, two.md, three.md]\n",
             "one.md": "# One\n\nText.\n", "two.md": "Text first.\n\n### Too deep\n", "three.md": "# Three\n\n![](p.png)\n",
             "p.png": png()}
    code, err, _ = run(tmp_path, capsys, files, source=".")
    assert code == 1
    lines = [ln for ln in err.splitlines() if "error:" in ln]
    assert [re.search(r"(\w+\.md):\d+:", ln).group(1) for ln in lines] == ["two.md", "three.md"], err


def test_watch_of_a_source_that_does_not_exist_fails_at_once(tmp_path, capsys):
    assert main(["build", str(tmp_path / "nope.md"), "--watch"]) == 1
    assert "no such file or folder" in capsys.readouterr().err
