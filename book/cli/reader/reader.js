// The preview reader.  epub.js (global `ePub`, with `JSZip`) opens the EPUB as a zip, the way a
// browser-based e-reader does, and renders it page by page in a sandboxed iframe.
//
// URL parameters: book (URL of the EPUB, default /book.epub), flow (paginated | scrolled-doc),
// spread (none | auto), at (an href or CFI to open at).  Tests drive the page through
// `window.reader` = {book, rendition, ready, resolveHref, direction}.
//
// Under `book preview --watch` the server marks the page (meta book-watch) and answers /version
// with a token that changes with each rebuild; the page asks once a second and, when it
// changes, reloads and reopens the book at the place it showed (kept in sessionStorage).
(function () {
  "use strict";
  const params = new URLSearchParams(location.search);
  const $ = (id) => document.getElementById(id);
  const KEPT_PLACE = "book-preview-place";  // where the page was, across a live reload

  function fail(err) {
    const box = $("error");
    box.textContent = "Could not open the book: " + (err && err.message ? err.message : err);
    box.hidden = false;
    throw err;
  }

  if (typeof ePub !== "function" || typeof JSZip !== "function") {
    fail(new Error("the reading engine (epub.js, jszip) did not load"));
  }

  const book = ePub(params.get("book") || "/book.epub", { openAs: "epub" });
  const rendition = book.renderTo("viewer", {
    width: "100%", height: "100%",
    flow: params.get("flow") || "paginated",
    spread: params.get("spread") || "none",
    allowScriptedContent: false,  // the book's own scripts never run in the preview
  });

  // TOC hrefs are relative to the nav document (or NCX); the spine's are relative to the OPF.
  // A reading system resolves one against the other, so do we (epub.js leaves it to the app).
  function resolveHref(href) {
    const base = book.packaging.navPath || book.packaging.ncxPath || "";
    const url = new URL(href, "http://book.invalid/" + base);
    // URL() percent-encodes non-ASCII ids (Arabic, Japanese); element ids are raw text.
    return decodeURIComponent(url.pathname.slice(1) + url.hash);
  }

  let direction = "ltr";
  const go = (forward) => (forward ? rendition.next() : rendition.prev());
  // Arrow keys turn pages the way the book reads: in a right-to-left book, left is forward.
  function onKey(e) {
    if (e.key === "ArrowRight") go(direction !== "rtl");
    else if (e.key === "ArrowLeft") go(direction === "rtl");
    else if (e.key === "PageDown" || e.key === " ") go(true);
    else if (e.key === "PageUp") go(false);
    else return;
    e.preventDefault && e.preventDefault();
  }
  document.addEventListener("keydown", onKey);
  rendition.on("keydown", onKey);  // keys pressed while the focus is inside the book's iframe
  $("next").addEventListener("click", () => go(true));
  $("prev").addEventListener("click", () => go(false));
  $("toggle-toc").addEventListener("click", (e) => {
    const toc = $("toc");
    toc.hidden = !toc.hidden;
    e.currentTarget.setAttribute("aria-expanded", String(!toc.hidden));
    rendition.resize();
  });

  function buildToc(items, list) {
    for (const item of items) {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.textContent = item.label.trim();
      a.href = "#" + resolveHref(item.href);
      a.dataset.href = resolveHref(item.href);
      a.addEventListener("click", (e) => {
        e.preventDefault();
        rendition.display(a.dataset.href);
      });
      li.appendChild(a);
      if (item.subitems && item.subitems.length) {
        const ol = document.createElement("ol");
        buildToc(item.subitems, ol);
        li.appendChild(ol);
      }
      list.appendChild(li);
    }
  }

  rendition.on("relocated", (loc) => {
    const page = loc.start.displayed;
    $("position").textContent = `${loc.start.href} · page ${page.page} of ${page.total}`;
    for (const a of document.querySelectorAll("#toc a")) {
      a.setAttribute("aria-current", String(a.dataset.href.split("#")[0] === loc.start.href));
    }
  });

  const ready = book.ready.then(async () => {
    const meta = book.packaging.metadata;
    direction = meta.direction === "rtl" ? "rtl" : "ltr";
    // The chrome follows the book: in an RTL book "next" sits on the left (and the arrow
    // characters, being bidi-mirrored, turn round by themselves).
    document.querySelector(".main").dir = direction;
    $("book-title").textContent = meta.title;
    $("book-title").lang = meta.language;
    $("book-author").textContent = meta.creator ? "— " + meta.creator : "";
    document.title = meta.title + " — book preview";
    buildToc(book.navigation.toc, $("toc-list"));
    const kept = sessionStorage.getItem(KEPT_PLACE);
    sessionStorage.removeItem(KEPT_PLACE);
    await rendition.display(params.get("at") || kept || undefined);
  }).catch(fail);

  // Live reload for `book preview --watch`, whose server marks the page with
  // <meta name="book-watch" content="/version">.
  const watched = document.querySelector('meta[name="book-watch"]');
  let shown = null;
  async function poll() {
    let token;
    try {
      const r = await fetch(watched.content, { cache: "no-store" });
      if (!r.ok || r.status === 204) return;  // 204: nothing rebuilds this book, stop asking
      token = await r.text();
    } catch (e) {
      setTimeout(poll, 2000);  // the server is restarting or gone: ask again later
      return;
    }
    if (shown === null) shown = token;
    if (token !== shown) {
      const loc = rendition.currentLocation();
      const place = loc && loc.start ? loc.start.cfi : null;
      if (place) sessionStorage.setItem(KEPT_PLACE, place);
      location.reload();
      return;
    }
    setTimeout(poll, 1000);
  }
  if (watched) poll();

  window.reader = { book, rendition, ready, resolveHref, get direction() { return direction; } };
})();
