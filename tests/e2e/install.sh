#!/usr/bin/env bash
# Install what the end-to-end tests (tests/e2e/) and `book preview` need:
#   - Debian's Chromium, and Noto fonts so Arabic and Japanese pages render as text, not boxes;
#   - Playwright for Python, which drives that Chromium (never `playwright install`: no browser
#     download — the tests launch /usr/bin/chromium);
#   - the epub.js reading engine (npm epubjs + jszip) into the project-local .tools/reader/
#     (git-ignored; no third-party JavaScript is kept in the repository);
#   - calibre (ebook-convert, ebook-meta), the second reading system.  It is large (~600 MB with
#     its dependencies); pass --no-calibre to leave it out (its tests then skip);
#   - PyMuPDF (PyPI `pymupdf`, AGPL, a test-only dependency never imported by book): MuPDF, the
#     third reading engine, which lays the book out into pages as e-ink-class engines do.
#
# Run from anywhere: `bash tests/e2e/install.sh`.  Idempotent: each step checks first and says
# what it skips, so a second run takes a second or two.  Needs root for apt-get.
set -euo pipefail

EPUBJS_VERSION="${EPUBJS_VERSION:-0.3.93}"
JSZIP_VERSION="${JSZIP_VERSION:-3.10.1}"
PLAYWRIGHT_SPEC="${PLAYWRIGHT_SPEC:-playwright>=1.45}"
PYTHON="${PYTHON:-python3}"
WITH_CALIBRE=1
[[ "${1:-}" == "--no-calibre" ]] && WITH_CALIBRE=0

say() { printf 'e2e-install: %s\n' "$*"; }
cd "$(dirname "${BASH_SOURCE[0]}")/../.."   # the repository root
READER_DIR=.tools/reader

# --- Debian packages -------------------------------------------------------------------------
is_installed() { [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]; }
wanted=(chromium fonts-noto-core fonts-noto-cjk)
command -v npm >/dev/null 2>&1 || wanted+=(nodejs npm)
[[ $WITH_CALIBRE -eq 1 ]] && wanted+=(calibre)
missing=()
for pkg in "${wanted[@]}"; do is_installed "$pkg" || missing+=("$pkg"); done
if [[ ${#missing[@]} -gt 0 ]]; then
    say "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    say "apt-get install -y ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
else
    say "apt packages already installed: ${wanted[*]}"
fi

# --- Playwright for Python (the library only; it drives Debian's Chromium) ----------------------
if "$PYTHON" -c "import playwright.sync_api" 2>/dev/null; then
    say "playwright already installed for $PYTHON ($("$PYTHON" -m pip show playwright 2>/dev/null | sed -n 's/^Version: //p'))"
else
    say "$PYTHON -m pip install '$PLAYWRIGHT_SPEC'"
    "$PYTHON" -m pip install -q "$PLAYWRIGHT_SPEC"
fi

# --- PyMuPDF: the MuPDF reading engine (test_mupdf.py) --------------------------------------------
PYMUPDF_SPEC="${PYMUPDF_SPEC:-pymupdf>=1.24}"
if "$PYTHON" -c "import pymupdf" 2>/dev/null; then
    say "pymupdf already installed for $PYTHON ($("$PYTHON" -m pip show pymupdf 2>/dev/null | sed -n 's/^Version: //p'))"
else
    say "$PYTHON -m pip install '$PYMUPDF_SPEC'"
    "$PYTHON" -m pip install -q "$PYMUPDF_SPEC"
fi

# --- epub.js + jszip into .tools/reader/ ---------------------------------------------------------
have() { node -p "require('./$READER_DIR/node_modules/$1/package.json').version" 2>/dev/null || true; }
if [[ "$(have epubjs)" == "$EPUBJS_VERSION" && "$(have jszip)" == "$JSZIP_VERSION" \
      && -f "$READER_DIR/node_modules/epubjs/dist/epub.min.js" && -f "$READER_DIR/node_modules/jszip/dist/jszip.min.js" ]]; then
    say "epubjs@$EPUBJS_VERSION and jszip@$JSZIP_VERSION already in $READER_DIR/"
else
    mkdir -p "$READER_DIR"
    say "npm install --prefix $READER_DIR epubjs@$EPUBJS_VERSION jszip@$JSZIP_VERSION"
    # --ignore-scripts: nothing in this tree needs an install script, and none may download.
    npm install --prefix "$READER_DIR" --save-exact --ignore-scripts --no-audit --no-fund --loglevel=error \
        "epubjs@$EPUBJS_VERSION" "jszip@$JSZIP_VERSION"
fi

# --- foliate-js into .tools/reader/: the engine that plays Media Overlays (test_media_overlay.py) --
FOLIATE_VERSION="${FOLIATE_VERSION:-1.0.1}"
if [[ "$(have foliate-js)" == "$FOLIATE_VERSION" && -f "$READER_DIR/node_modules/foliate-js/view.js" ]]; then
    say "foliate-js@$FOLIATE_VERSION already in $READER_DIR/"
else
    mkdir -p "$READER_DIR"
    say "npm install --prefix $READER_DIR foliate-js@$FOLIATE_VERSION"
    npm install --prefix "$READER_DIR" --save-exact --ignore-scripts --no-audit --no-fund --loglevel=error \
        "foliate-js@$FOLIATE_VERSION"
fi
say "foliate-js: $(have foliate-js) in $READER_DIR/"

# --- Summary --------------------------------------------------------------------------------------
say "chromium:   $(chromium --version 2>/dev/null | head -n1)"
say "playwright: $("$PYTHON" -m pip show playwright 2>/dev/null | sed -n 's/^Version: //p')"
say "epub.js:    $(have epubjs) (jszip $(have jszip)) in $READER_DIR/"
say "pymupdf:    $("$PYTHON" -c 'import pymupdf; print(pymupdf.VersionBind, "(MuPDF", pymupdf.VersionFitz + ")")' 2>/dev/null)"
if command -v ebook-convert >/dev/null 2>&1; then
    say "calibre:    $(ebook-convert --version 2>/dev/null | head -n1)"
else
    say "calibre:    not installed (its tests will skip)"
fi
say "done — run the tests with: $PYTHON -m pytest -m e2e tests/e2e"
