"""Finding the article in a page: its metadata and the element that holds its text.

Own rules on lxml (see the README, "Importing a web page", for why these and not trafilatura or
readability-lxml: measured on the pages in tests/sources/web/).  In order:

1. the metadata, from what publishers write for search engines and social networks: JSON-LD
   (schema.org `Article`, `NewsArticle`, `BlogPosting`), microdata (`itemprop`), Open Graph
   (`og:*`, `article:*`), `<meta name>`, `<time datetime>`, `<html lang>`;
2. the container: schema.org `articleBody`; else the `<article>` with the most text; else
   `<main>` / `role=main`; else the element whose paragraphs score highest (the readability
   idea: text length and commas, less link text), for pages without semantic markup;
3. junk out of the container: scripts and forms, headers and footers, and anything whose class or
   id names a share, reaction, author, comment, related, newsletter, cookie or ad box;
4. the structure put right: the title heading and byline leave the text (they are metadata),
   paragraphs that are only a bold line become headings, bold run-in labels of a listicle
   (`<p><strong>Muscle Spasm Reduction:</strong> …`) become headings when there are three or more.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from lxml import etree

HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
# Removed with their content wherever they are: they run code, take input, or are not text.
ALWAYS_JUNK = ("script", "style", "template", "iframe", "frame", "frameset", "object", "embed", "applet",
               "form", "input", "button", "select", "textarea", "label", "fieldset", "svg", "canvas", "map",
               "link", "meta", "nav", "dialog", "audio", "video", "head", "title", "base", "param", "ins")
# Words in a class or id that mark a box around the article, not the article (matched as whole
# words of the class/id, split on - and _ and camelCase: "g1-socials-top-bar" → g1 socials top bar).
JUNK_WORDS = frozenset("""
share sharing shares sharedaddy socials social sharer mashsb addtoany a2a jp sd
reaction reactions voting vote votes rating ratings snax upvote downvote likes
author avatar byline bio badges badge profile gravatar
comment comments respond reply disqus utterances giscus discussion
related more recommended recommendations relatedposts also popular trending readmore read
newsletter subscribe subscription signup mc4wp mailchimp optin
cookie cookies consent gdpr cli
ad ads adsbygoogle advert advertisement advertising sponsor sponsored promo promoted gpt dfp outbrain taboola
widget widgets sidebar secondary breadcrumb breadcrumbs pagination pager nav navbar navigation menu
header footer masthead topbar banner toolbar skip
tags tag categories category cat meta stats views
print modal popup overlay toast
""".split())
# Words that keep an element even when another word of its class is junk ("entry-content")…
KEEP_WORDS = frozenset("content body text article story post entry main prose footnotes footnote notes "
                       "endnotes caption figcaption".split())
# …unless that other word is one of the junk words that are never part of an article's text
# ("like-post-wrapper": Jetpack's likes box; "post-tags", "entry-meta").
WEAK_JUNK = frozenset("more read also popular trending recommended print stats views bio profile banner skip "
                      "masthead secondary category categories cat tag block badge badges rating ratings vote "
                      "votes toolbar".split())
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_SITE_SEPARATORS = re.compile(r"\s+[|–—·•:»-]\s+")


@dataclass
class Meta:
    title: str | None = None
    lang: str | None = None
    lang_line: int | None = None
    lang_from: str | None = None  # where the language came from when <html lang> does not say it
    authors: list[str] = field(default_factory=list)
    date: str | None = None
    description: str | None = None
    subjects: list[str] = field(default_factory=list)
    publisher: str | None = None
    url: str | None = None


def text_of(el) -> str:
    return re.sub(r"\s+", " ", "".join(el.itertext()) if isinstance(el.tag, str) else "").strip()


def _words(el) -> set[str]:
    raw = " ".join(filter(None, [el.get("class"), el.get("id"), el.get("role"), el.get("aria-label")
                                 if el.tag in ("div", "section", "aside") else None]))
    return {w.lower() for w in _WORD.findall(raw)}


def is_junk_box(el) -> bool:
    """True for a box around the article (share, author, comments, related, ads, …)."""
    if el.tag in ("img", "figcaption", "caption", "blockquote", "table", "tr", "td", "th", "li", "p",
                  "h1", "h2", "h3", "h4", "h5", "h6", "sup", "a", "strong", "em", "b", "i"):
        return False
    words = _words(el)
    if not words:
        return False
    if "articleBody" in (el.get("itemprop") or "").split():
        return False
    junk = words & JUNK_WORDS
    if words & KEEP_WORDS and not junk - WEAK_JUNK:
        return False
    return bool(junk)


# ---------------------------------------------------------------------------------------------
# Metadata


def _json_ld(tree) -> list[dict]:
    """schema.org objects from every JSON-LD script, flattened (@graph, lists)."""
    out: list[dict] = []

    def walk(value):
        if isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, dict):
            out.append(value)
            if "@graph" in value:
                walk(value["@graph"])

    for script in tree.iter("script"):
        if (script.get("type") or "").lower().strip() == "application/ld+json" and script.text:
            try:
                walk(json.loads(script.text))
            except ValueError:
                continue
    return out


ARTICLE_TYPES = {"Article", "NewsArticle", "BlogPosting", "Report", "ScholarlyArticle", "TechArticle",
                 "MedicalWebPage", "AnalysisNewsArticle", "OpinionNewsArticle", "ReportageNewsArticle",
                 "SocialMediaPosting", "LiveBlogPosting", "HowTo", "Recipe"}


def _types(obj: dict) -> set[str]:
    t = obj.get("@type")
    return set(t if isinstance(t, list) else [t]) if t else set()


def _names(value) -> list[str]:
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    if isinstance(value, dict):
        return _names(value.get("name"))
    if isinstance(value, list):
        return [n for v in value for n in _names(v)]
    return []


def _meta_tags(tree) -> dict[str, list[str]]:
    tags: dict[str, list[str]] = {}
    for m in tree.iter("meta"):
        key = (m.get("property") or m.get("name") or m.get("itemprop") or "").strip().lower()
        value = (m.get("content") or "").strip()
        if key and value:
            tags.setdefault(key, []).append(value)
    return tags


def _day(value: str | None) -> str | None:
    m = re.match(r"^\s*(\d{4}-\d{2}-\d{2})", value or "")
    return m.group(1) if m else None


def _clean_title(title: str, site: str | None) -> str:
    """"Headline – Site Name" → "Headline": the site's name is cut when the page names it, else
    the last part after a separator when it is short and the first is not."""
    title = re.sub(r"\s+", " ", title).strip()
    if site and title.lower().startswith(site.strip().lower() + ":"):  # Blogger: "Blog Name: Post"
        return title[len(site.strip()) + 1:].strip() or title
    if site:
        for sep in _SITE_SEPARATORS.finditer(title):
            if title[sep.end():].strip().lower() == site.strip().lower():
                return title[: sep.start()].strip()
            if title[: sep.start()].strip().lower() == site.strip().lower():
                return title[sep.end():].strip()
    return title


def metadata(tree, url: str | None) -> Meta:
    meta = Meta()
    tags = _meta_tags(tree)
    ld = _json_ld(tree)
    articles = [o for o in ld if _types(o) & ARTICLE_TYPES]
    art = articles[0] if articles else {}
    site = None
    for o in ld:
        if "WebSite" in _types(o) and _names(o):
            site = _names(o)[0]
    publisher = _names(art.get("publisher")) if art else []
    site = (tags.get("og:site_name") or [None])[0] or site or (publisher[0] if publisher else None)
    meta.publisher = site

    html = tree if tree.tag == "html" else tree.getroottree().getroot()
    lang = (html.get("lang") or html.get("{http://www.w3.org/XML/1998/namespace}lang") or "").strip()
    if lang:
        meta.lang = lang.replace("_", "-")
        meta.lang_line = html.sourceline
    else:
        # Second-best declarations of the language: schema.org inLanguage, Content-Language,
        # og:locale ("en_US").
        http_equiv = [m.get("content") for m in tree.iter("meta")
                      if (m.get("http-equiv") or "").lower() == "content-language" and m.get("content")]
        for value, where in ((art.get("inLanguage") if isinstance(art.get("inLanguage"), str) else None,
                              "its schema.org inLanguage"),
                             (http_equiv[0].split(",")[0] if http_equiv else None, "its Content-Language"),
                             ((tags.get("og:locale") or [None])[0], "its og:locale")):
            if value and value.strip():
                meta.lang, meta.lang_from = value.strip().replace("_", "-"), where
                break

    h1s = [h for h in tree.iter("h1") if text_of(h)]
    candidates = [art.get("headline") if isinstance(art.get("headline"), str) else None]
    microdata = [e for e in tree.iter() if isinstance(e.tag, str) and e.get("itemprop") == "headline"]
    candidates += [text_of(e) for e in microdata]
    candidates += (tags.get("og:title") or [])[:1] + (tags.get("twitter:title") or [])[:1]
    titles = [t for t in tree.iter("title")]
    candidates += [text_of(titles[0])] if titles else []
    candidates = [_clean_title(c, site) for c in candidates if c and c.strip()]
    # The page's own <h1> wins when another source agrees with it (a site often has a logo <h1>).
    h1_texts = [text_of(h) for h in h1s]
    meta.title = next((c for c in candidates if c in h1_texts), None) or (candidates[0] if candidates else None)
    if meta.title is None and h1_texts:
        meta.title = h1_texts[0]
    if meta.title and not h1_texts and _SITE_SEPARATORS.search(meta.title):
        # No site name and no <h1>: the part of "Headline - Site" that the page shows in big type.
        shown = {text_of(e).lower() for e in tree.iter("b", "strong", "font", "h2", "h3", "p", "center", "div")}
        for part in _SITE_SEPARATORS.split(meta.title):
            if part.strip().lower() in shown:
                meta.title = part.strip()
                break

    authors = _names(art.get("author")) if art else []
    if not authors:
        authors = [text_of(e) for e in tree.iter() if isinstance(e.tag, str) and e.get("itemprop") == "author"
                   and not len(e.xpath(".//*[@itemprop='name']"))]
        authors += [text_of(e) for e in tree.xpath("//*[@itemprop='author']//*[@itemprop='name']")]
    if not authors:
        authors = tags.get("author", []) + tags.get("article:author", [])
        authors = [a for a in authors if not a.lower().startswith("http")]
    seen = set()
    meta.authors = [a for a in authors if a and not (a in seen or seen.add(a))]

    date = _day(art.get("datePublished") if art else None) or _day((tags.get("article:published_time") or [None])[0])
    if not date:
        date = _day((tags.get("datepublished") or [None])[0])
    if not date:
        times = [t.get("datetime") for t in tree.iter("time") if t.get("datetime")]
        date = _day(times[0]) if times else None
    meta.date = date

    desc = (art.get("description") if isinstance(art.get("description"), str) else None) or \
        (tags.get("og:description") or tags.get("description") or [None])[0]
    meta.description = re.sub(r"\s+", " ", desc).strip() if desc else None

    subjects: list[str] = []
    kw = art.get("keywords") if art else None
    if isinstance(kw, str):
        subjects += [k.strip() for k in kw.split(",")]
    elif isinstance(kw, list):
        subjects += [str(k).strip() for k in kw]
    subjects += tags.get("article:tag", [])
    if not subjects and tags.get("keywords"):
        subjects += [k.strip() for k in tags["keywords"][0].split(",")]
    seen = set()
    meta.subjects = [s for s in subjects if s and not (s.lower() in seen or seen.add(s.lower()))]

    canonical = [lk.get("href") for lk in tree.iter("link")
                 if "canonical" in (lk.get("rel") or "").lower().split() and lk.get("href")]
    meta.url = url or (tags.get("og:url") or [None])[0] or (canonical[0] if canonical else None)
    if meta.url and not re.match(r"^https?://", meta.url, re.I):
        meta.url = url
    return meta


# ---------------------------------------------------------------------------------------------
# The container


def _paragraph_score(tree) -> dict:
    """Readability's idea (Arc90, 2009), small: each paragraph-like block gives its parent points
    for its length and commas, and its grandparent half as many."""
    scores: dict = {}
    for p in tree.iter("p", "td", "pre", "blockquote"):
        if p.tag == "td" and p.find(".//p") is not None:
            continue  # a layout cell: its paragraphs score for it
        text = text_of(p)
        if len(text) < 25:
            continue
        points = 1 + text.count(",") + text.count("،") + min(len(text) // 100, 3)
        parent = p.getparent()
        for el, share in ((parent, 1.0), (parent.getparent() if parent is not None else None, 0.5)):
            if el is not None:
                scores[el] = scores.get(el, 0.0) + points * share
    for el in list(scores):
        total = len(text_of(el)) or 1
        links = sum(len(text_of(a)) for a in el.iter("a"))
        scores[el] *= 1 - min(links / total, 0.9)
    return scores


def _text_size(el) -> int:
    return sum(len(text_of(p)) for p in el.iter("p", "li", "h2", "h3", "h4", "td", "blockquote", "pre"))


def find_container(tree):
    """The element holding the article's text, and how it was found."""
    body = [e for e in tree.xpath("//*[contains(concat(' ', normalize-space(@itemprop), ' '), ' articleBody ')]")
            if _text_size(e) > 0 or len(text_of(e)) > 200]
    if body:
        return max(body, key=_text_size), "schema.org articleBody"
    articles = [a for a in tree.iter("article") if not any(x.tag == "article" for x in a.iterancestors())]
    articles = [a for a in articles if _text_size(a) > 200]
    if articles:
        return max(articles, key=_text_size), "<article>"
    mains = tree.xpath("//main | //*[@role='main']")
    mains = [m for m in mains if _text_size(m) > 200]
    if mains:
        # The innermost main with the text (a theme may nest role=main in <main>).
        return min(mains, key=lambda m: len(list(m.iterancestors()))) if len(mains) == 1 else \
            max(mains, key=lambda m: (_text_size(m), len(list(m.iterancestors())))), "<main>"
    scores = _paragraph_score(tree)
    if not scores:
        return None, ""
    return max(scores, key=scores.get), "paragraph density"


def lead_media(tree, container, title_el) -> list:
    """A featured picture between the headline and the body (themes put it outside the body,
    e.g. WordPress's `.entry-featured-media`, a news site's `figure.lead-image`), when the body
    sits inside an <article> or a schema.org Article."""
    scope = next((a for a in container.iterancestors() if a.tag == "article" or
                  "Article" in (a.get("itemtype") or "")), None)
    if scope is None or title_el is None:
        return []
    out = []
    started = False
    for el in scope.iter():
        if el is title_el:
            started = True
            continue
        if el is container:
            break
        if started and el.tag in ("figure", "img", "picture") and not any(
                x in out or x.tag in ("figure", "picture") for x in el.iterancestors()):
            if not any(is_junk_box(a) or a.tag == "a" for a in el.iterancestors() if a is not scope):
                out.append(el)
    return out


# ---------------------------------------------------------------------------------------------
# Junk out, structure in


def drop(el) -> None:
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail
    prev = el.getprevious()
    parent.remove(el)
    if tail and tail.strip():
        if prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail


def unwrap(el) -> None:
    parent = el.getparent()
    if parent is None:
        return
    idx = parent.index(el)
    prev = el.getprevious()
    if el.text:
        if prev is not None:
            prev.tail = (prev.tail or "") + el.text
        else:
            parent.text = (parent.text or "") + el.text
    children = list(el)
    if el.tail:
        if children:
            children[-1].tail = (children[-1].tail or "") + el.tail
        elif idx > 0:
            parent[idx - 1].tail = (parent[idx - 1].tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent[idx:idx + 1] = children


def remove_junk(container, title: str | None, report) -> None:
    """Junk out of the container, in place.  `report(kind, element)` hears what went."""
    for el in list(container.iter(*ALWAYS_JUNK)):
        if el.getparent() is not None and el is not container:
            drop(el)
    for el in list(container.iter("header", "footer", "aside")):
        if el.getparent() is None or any(a.tag in ("blockquote", "figure") for a in el.iterancestors()):
            continue
        report(el.tag, el)
        drop(el)
    for el in list(container.iter()):
        if el is container or not isinstance(el.tag, str) or el.getparent() is None:
            continue
        if is_junk_box(el):
            report("box", el)
            drop(el)
    # The headline inside the text: it is the book's (or the chapter's) title.
    if title:
        for h in list(container.iter(*HEADINGS)):
            if _same(text_of(h), title):
                drop(h)
                break
        else:
            # A page without headings shows its title in big bold type.
            for el in list(container.iter("p", "center", "font", "b", "strong", "div")):
                if _same(text_of(el), title) and el.getparent() is not None:
                    drop(el)
                    break
    _drop_byline(container)
    # Link lists (a list or block that is nearly all links) are navigation, wherever they are.
    for el in list(container.iter("ul", "ol", "p", "div", "center", "table")):
        if el.getparent() is None or el is container:
            continue
        text = text_of(el)
        if not text:
            continue
        links = sum(len(text_of(a)) for a in el.iter("a"))
        # Words outside the links: "Home | About | Contact" has none, a sentence has several.
        own_words = len(re.findall(r"\w+", text)) - sum(len(re.findall(r"\w+", text_of(a))) for a in el.iter("a"))
        if len(el.xpath(".//a")) >= 2 and links / len(text) > 0.6 and own_words <= 2 and not el.xpath(".//img") \
                and not any(a.tag in ("li",) for a in el.iterancestors()):
            report("links", el)
            drop(el)
    # Copyright and "last updated" lines of the site, not of the article.
    for el in list(container.iter("p", "div", "font", "small")):
        if el.getparent() is not None and len(text_of(el)) < 160 and \
                re.search(r"©|\(c\)\s*\d{4}|all rights reserved|best viewed", text_of(el), re.I):
            report("copyright", el)
            drop(el)


def _same(a: str, b: str) -> bool:
    norm = lambda s: re.sub(r"\W+", " ", s).strip().lower()  # noqa: E731
    return bool(a) and norm(a) == norm(b)


_BYLINE = re.compile(r"^\s*(by|von|par|por|di|door|بقلم)\s+\S", re.I)


def _drop_byline(container) -> None:
    """A short "by Name, date" line before the first real paragraph is metadata, not text."""
    for el in container.iter("p", "div", "i", "em", "span", "center"):
        text = text_of(el)
        if not text:
            continue
        if len(text) > 120:
            return
        if _BYLINE.match(text) and el.getparent() is not None:
            drop(el)
            return


def byline_author(container) -> str | None:
    for el in container.iter("p", "div", "i", "em", "span", "center"):
        text = text_of(el)
        if len(text) > 120:
            return None
        m = re.match(r"^\s*(?:by|von|par|por|di|door|بقلم)\s+([^,|·•\d]+)", text, re.I)
        if m:
            return m.group(1).strip()
    return None


def _only_bold(p) -> str | None:
    """The text of a paragraph that is nothing but one bold line, else None."""
    if (p.text or "").strip() or len(p) != 1:
        return None
    child = p[0]
    while child.tag in ("font", "span", "b", "strong", "big") and len(child) == 1 and not (child.text or "").strip() \
            and not (child[0].tail or "").strip():
        if child.tag in ("b", "strong"):
            break
        child = child[0]
    if child.tag not in ("b", "strong") and not (child.tag == "font" and child.get("size")):
        return None
    if (child.tail or "").strip():
        return None
    text = text_of(child)
    if not text or len(text) > 90 or text.endswith((".", ",", ";", "!")):
        return None  # a sentence in bold, not a heading (a question may be one)
    return text


def restructure(container) -> list[str]:
    """Headings where the page only looked like it had them.  Returns notes for the report."""
    notes = []
    real = [int(h.tag[1]) for h in container.iter(*HEADINGS)]
    top = min(real) if real else 2
    # A paragraph that is only a short bold line is a heading (pages without semantic markup).
    fake = [p for p in container.iter("p") if _only_bold(p)]
    if len(fake) >= 2:
        for p in fake:
            text = _only_bold(p)
            p.clear()
            p.tag = f"h{max(top, 2) if real else 2}"
            p.text = text
        notes.append(f"{len(fake)} bold lines became headings")
    # Bold run-in labels "<p><strong>Label:</strong> text" in a listicle: headings.
    runins = []
    for p in container.iter("p"):
        if (p.text or "").strip() or not len(p) or p[0].tag not in ("strong", "b"):
            continue
        label = text_of(p[0])
        if len(p[0]) or not label.endswith(":") or len(label.split()) > 8 or len(label) < 4:
            continue
        rest = (p[0].tail or "").strip()
        if not rest and len(p) == 1:
            continue
        runins.append(p)
    if len(runins) >= 3:
        real_now = [h for h in container.iter(*HEADINGS)]
        first_real = real_now[0] if real_now else None
        order = {el: i for i, el in enumerate(container.iter())}
        parent_level = top - 1 if first_real is not None and order[runins[0]] < order[first_real] else top
        level = max(parent_level, 1)
        for p in runins:
            lead = p[0]
            h = etree.Element(f"h{level}")
            h.text = text_of(lead).rstrip(":").strip()
            p.addprevious(h)
            rest = (lead.tail or "").lstrip(" \u00a0")
            p.remove(lead)
            p.text = rest + (p.text or "")
        notes.append(f"{len(runins)} bold run-in labels became headings")
    return notes
