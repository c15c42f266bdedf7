"""A synthetic book of a given size, for the benchmark (and for anyone profiling `book`).

Deterministic: the same arguments give the same files.  Each chapter has headings at three
levels, paragraphs with emphasis, code and links, bullet and numbered lists, a table with a
header row, footnotes, and images with alt text and a caption.  The images are small PNGs
made with Pillow.  The same text is also written as one Markdown file for pandoc.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

WORDS = (
    "the of and to in a is that for it as was with be by on not he this are or his from at which "
    "but have an they you were her she there been one all we their has would when if so no will "
    "more about can out them what some other time into only could new these two may first then do "
    "any like my now over such our man me even most made after also did many before must through "
    "back years where much your way well down should because each just those people how too little "
    "state good very make world still own see men work long get here between both life being under "
    "never day same another know while last might us great old year off come since against go came "
    "right used take three himself few house use during without again place around however home "
    "small found thought went say part once general high upon school every don't does got united "
    "left number course war until always away something fact though water less public put think "
    "almost hand enough far took head yet government system better set told nothing night end why "
    "called didn't eyes find going look asked later knew point next program city business give group "
    "toward young days let room president side social given present several order national possible "
    "rather second face per among form important often things looked early white case john become "
    "large big need four within felt along children saw best church ever least power development "
    "light thing seemed family interest want members mind country area others done turned although "
    "open god service problem certain kind different thus began door help means sense whole matter "
    "perhaps itself york times law human line above name example action company hands local show "
    "whether five history gave today either act feet across taken past quite anything seen having "
    "death experience body word half really field week car words already themselves information tell"
).split()

TITLE_WORDS = ("river", "harbour", "lantern", "orchard", "meridian", "compass", "archive", "winter",
               "signal", "garden", "mountain", "letters", "engine", "market", "island", "harvest")


@dataclass
class Synthetic:
    folder: Path  # book folder: book.yaml, chNNN.md, images/
    book_yaml: Path
    chapters: list[Path]
    images: list[Path]
    pandoc_md: Path  # the same book in one file, for pandoc
    words: int  # words of text actually written (prose, lists, tables, notes, headings)


class _Writer:
    def __init__(self, rng: random.Random, dense: bool = False):
        self.rng = rng
        self.words = 0
        self.dense = dense

    def words_(self, n: int) -> str:
        self.words += n
        return " ".join(self.rng.choice(WORDS) for _ in range(n))

    def sentence(self, chapter: int, notes: list[str]) -> str:
        rng = self.rng
        n = rng.randint(8, 20)
        text = self.words_(n)
        words = text.split(" ")
        roll = rng.random()
        if roll < 0.08:
            i = rng.randrange(len(words))
            words[i] = f"*{words[i]}*"
        elif roll < 0.12:
            i = rng.randrange(len(words))
            words[i] = f"**{words[i]}**"
        elif roll < 0.14:
            i = rng.randrange(len(words))
            words[i] = f"`{words[i]}`"
        elif roll < 0.16:
            i = rng.randrange(max(1, len(words) - 3))
            words[i] = f"[{' '.join(words[i:i + 3])}](https://example.org/{chapter}/{i})"
            del words[i + 1:i + 3]
        text = " ".join(words)
        text = text[0].upper() + text[1:] + "."
        if rng.random() < 0.03:
            label = f"c{chapter}n{len(notes) + 1}"
            notes.append(f"[^{label}]: {self.words_(rng.randint(8, 25)).capitalize()}.")
            text += f"[^{label}]"
        return text

    def paragraph(self, chapter: int, notes: list[str]) -> str:
        text = " ".join(self.sentence(chapter, notes) for _ in range(self.rng.randint(3, 7)))
        if self.dense:
            text += " " + self.dense_sentence(chapter, notes)
        return text

    def dense_sentence(self, chapter: int, notes: list[str]) -> str:
        """The `dense` kind of text: one more sentence in every paragraph, with emphasis,
        strong text, a link and a note reference (the inline markup pandoc and book both pay for)."""
        rng = self.rng
        w = self.words_(rng.randint(12, 18)).split(" ")
        w[1] = f"*{w[1]}*"
        w[4] = f"**{w[4]} {w[5]}**"
        del w[5]
        w[7] = f"[{w[7]} {w[8]}](https://example.org/{chapter}/{len(notes)})"
        del w[8]
        label = f"c{chapter}d{len(notes) + 1}"
        notes.append(f"[^{label}]: {self.words_(rng.randint(6, 14)).capitalize()}.")
        return " ".join(w).capitalize() + f".[^{label}]"

    def bullets(self, numbered: bool) -> str:
        items = []
        for k in range(self.rng.randint(3, 6)):
            mark = f"{k + 1}." if numbered else "-"
            items.append(f"{mark} {self.words_(self.rng.randint(4, 12)).capitalize()}")
        return "\n".join(items)

    def table(self) -> str:
        head = [self.words_(1).capitalize() for _ in range(3)]
        rows = ["| " + " | ".join(head) + " |", "|---|---|---:|"]
        for _ in range(self.rng.randint(3, 6)):
            rows.append(f"| {self.words_(2)} | {self.words_(3)} | {self.rng.randint(1, 999)} |")
        return "\n".join(rows)


def _png(path: Path, k: int) -> None:
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (320, 200), (240 - (k * 37) % 120, 230 - (k * 53) % 110, 220 - (k * 71) % 100))
    d = ImageDraw.Draw(im)
    for b in range(6):
        h = 20 + (k * 31 + b * 47) % 150
        d.rectangle([20 + b * 48, 190 - h, 52 + b * 48, 190], fill=((b * 40) % 255, 80, 160))
    im.save(path, "PNG", optimize=True)


KINDS = ("plain", "dense")  # the generator's two kinds of text (see _Writer.dense_sentence)


def generate(folder: Path, *, words: int = 1_000_000, chapters: int = 200, images: int = 40,
             seed: int = 6, kind: str = "plain") -> Synthetic:
    """Write a book of about `words` words in `chapters` chapter files into `folder`, and the
    same text as one Markdown file (`pandoc_md`, which `book` builds too).  `kind`: "plain"
    (short common words, some inline markup) or "dense" (every paragraph also has emphasis,
    strong text, a link and a note reference)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    folder = Path(folder)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    w = _Writer(rng, dense=kind == "dense")
    image_paths = []
    for k in range(images):
        p = folder / "images" / f"figure-{k + 1:03d}.png"
        _png(p, k)
        image_paths.append(p)

    per_chapter = max(50, words // max(1, chapters))
    chapter_paths, texts = [], []
    for i in range(1, chapters + 1):
        notes: list[str] = []
        start = w.words
        title = " ".join(rng.choice(TITLE_WORDS) for _ in range(2)).title()
        w.words += 3
        blocks = [f"# Chapter {i}: {title}"]
        section = 0
        since_heading = 0
        img_done = images == 0
        while w.words - start < per_chapter:
            if since_heading > 550:
                section += 1
                blocks.append(f"## Section {i}.{section}: {w.words_(3).title()}")
                since_heading = 0
                if section % 3 == 0:
                    blocks.append(w.paragraph(i, notes))
                    blocks.append(f"### Notes on {i}.{section}: {w.words_(2).title()}")
            before = w.words
            roll = rng.random()
            if roll < 0.78:
                blocks.append(w.paragraph(i, notes))
            elif roll < 0.86:
                blocks.append(w.bullets(numbered=False))
            elif roll < 0.92:
                blocks.append(w.bullets(numbered=True))
            elif roll < 0.97 or img_done:
                blocks.append(w.table())
            if not img_done and w.words - start > per_chapter // 3:
                k = (i - 1) % images
                blocks.append(f"![A bar chart with six dark bars of different heights, figure {k + 1} of "
                              f"chapter {i}](images/figure-{k + 1:03d}.png \"Figure {i}.{k + 1}: "
                              f"{w.words_(4)}\")")
                img_done = True
            since_heading += w.words - before
        if notes:
            blocks.append("\n".join(notes))
        text = "\n\n".join(blocks) + "\n"
        path = folder / f"ch{i:03d}.md"
        path.write_text(text, "utf-8")
        chapter_paths.append(path)
        texts.append(text)

    yml = folder / "book.yaml"
    yml.write_text("title: A Synthetic Book\nlang: en\nauthor: Bench Mark\n"
                   "description: A generated book for measuring build speed.\nchapters:\n" +
                   "".join(f"  - {p.name}\n" for p in chapter_paths), "utf-8")
    whole = folder / "pandoc.md"
    whole.write_text("---\ntitle: A Synthetic Book\nlang: en\nauthor: Bench Mark\n---\n\n" +
                     "\n".join(texts), "utf-8")
    return Synthetic(folder, yml, chapter_paths, image_paths, whole, w.words)


def articles(folder: Path, n: int, *, words: int = 800, seed: int = 7) -> list[Path]:
    """`n` short single-file articles (front matter + Markdown) in `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    w = _Writer(rng)
    out = []
    for i in range(1, n + 1):
        notes: list[str] = []
        blocks = [f"---\ntitle: Article {i} about the {' '.join(rng.choice(TITLE_WORDS) for _ in range(2))}\n"
                  f"lang: en\nauthor: Bench Mark\n---", f"# Article {i}"]
        start = w.words
        while w.words - start < words:
            if rng.random() < 0.85:
                blocks.append(w.paragraph(i, notes))
            else:
                blocks.append(w.bullets(numbered=False))
            if w.words - start > words // 2 and len(blocks) % 5 == 0:
                blocks.append(f"## Part {len(blocks)}")
        if notes:
            blocks.append("\n".join(notes))
        p = folder / f"article-{i:04d}.md"
        p.write_text("\n\n".join(blocks) + "\n", "utf-8")
        out.append(p)
    return out


def footnote_article(path: Path, *, notes: int = 10_000, sections: int = 20, seed: int = 13) -> Path:
    """One Markdown file: an article of `sections` sections whose paragraphs refer to `notes`
    footnotes in all, one reference each, the definitions gathered at the end (as pandoc
    and most writers put them)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    w = _Writer(rng)
    blocks = ["---\ntitle: An Article with Many Notes\nlang: en\nauthor: Bench Mark\n---"]
    defs = []
    per_section = max(1, notes // sections)
    n = 0
    for s in range(1, sections + 1):
        blocks.append(f"# Section {s}: {w.words_(3).title()}")
        while n < min(notes, s * per_section) or (s == sections and n < notes):
            n += 1
            blocks.append(f"{w.words_(rng.randint(20, 40)).capitalize()}.[^n{n}] {w.words_(10).capitalize()}.")
            defs.append(f"[^n{n}]: {w.words_(rng.randint(8, 20)).capitalize()}.")
    blocks.append("\n".join(defs))
    path.write_text("\n\n".join(blocks) + "\n", "utf-8")
    return path
