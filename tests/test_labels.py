"""QR codes and label sheets: every code on a rasterised sheet decodes to its asset's address,
Devanagari is shaped, text stays on its label, and the print form selects the right assets."""

from __future__ import annotations

import io
import re
import zlib
from collections import Counter
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import uharfbuzz as hb
import zxingcpp
from fontTools.pens.recordingPen import DecomposingRecordingPen
from fontTools.ttLib import TTFont
from fpdf import FPDF
from PIL import Image
from support import RAW_MARKERS, escaped, payload

from inventory.labels import sheets
from inventory.labels.qr import public_asset_url, qr_matrix
from inventory.labels.sheets import LAYOUTS, LabelData, Margins, SheetError, render_labels

FONTS = Path(sheets.__file__).parent / "fonts"
SOCIETY = {"society_en": "District e-Governance Society, Gonda", "society_hi": "डीईजीएस गोण्डा"}
SITES_HI = ("जनसेवा केन्द्र क्षितिज", "तहसील मनकापुर", "विकास खण्ड झंझरी कार्यालय", "गोण्डा मुख्यालय")
CATEGORIES_HI = ("डेस्कटॉप", "प्रोजेक्टर", "बायोमेट्रिक डिवाइस", "राउटर")


# --- helpers ------------------------------------------------------------------------------


def decoded(pdf: bytes, dpi: int = 200) -> list[list[zxingcpp.Barcode]]:
    """Every page rasterised (pdfium) and read (zxing-cpp): the codes found, page by page."""
    document = pdfium.PdfDocument(pdf)
    try:
        pages = []
        for page in document:
            image = page.render(scale=dpi / 72, grayscale=True).to_pil()
            pages.append(zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode))
        return pages
    finally:
        document.close()


def urls_in(pdf: bytes, dpi: int = 200) -> list[str]:
    return [code.text for page in decoded(pdf, dpi) for code in page]


def page_count(pdf: bytes) -> int:
    document = pdfium.PdfDocument(pdf)
    try:
        return len(document)
    finally:
        document.close()


def sample_labels(n: int, base: str = "http://127.0.0.1:5000") -> list[LabelData]:
    labels = []
    for i in range(n):
        # Tags may hold / and _ (TAG_RE): the URL quotes them.
        tag = f"GON/PRJ_{i:04d}" if i % 10 == 7 else f"GON-DSK-{i:04d}"
        labels.append(
            LabelData(
                tag=tag,
                url=public_asset_url(tag, base),
                category_en=("Desktop", "Projector", "Biometric device", "Router")[i % 4],
                category_hi=CATEGORIES_HI[i % 4],
                site_en=f"Site number {i % 13}",
                site_hi=f"{SITES_HI[i % 4]} {i % 13}",
            )
        )
    return labels


def label_boxes(layout, margins, pages: int) -> dict[int, list[tuple[float, float, float, float]]]:
    """Each page's label rectangles in PDF points (left, bottom, right, top)."""
    mm = 72 / 25.4
    boxes: dict[int, list] = {}
    for index in range(pages * layout.per_page):
        page, x, y = layout.position(index, margins)
        boxes.setdefault(page, []).append(
            (
                x * mm,
                (layout.page_h - y - layout.label_h) * mm,
                (x + layout.label_w) * mm,
                (layout.page_h - y) * mm,
            )
        )
    return boxes


# --- PDF internals for the shaping test (only what fpdf2 writes) -----------------------------


def pdf_objects(data: bytes) -> dict[int, tuple[bytes, bytes | None]]:
    """Object number -> (dictionary text, decompressed stream or None)."""
    objects = {}
    for match in re.finditer(rb"(?m)^(\d+) 0 obj\s*", data):
        number, start = int(match.group(1)), match.end()
        end = data.find(b"endobj", start)
        stream = data.find(b"stream\n", start)
        if stream != -1 and stream < end:
            head = data[start:stream]
            length = int(re.search(rb"/Length (\d+)", head).group(1))
            raw = data[stream + 7 : stream + 7 + length]
            objects[number] = (head, zlib.decompress(raw) if b"/FlateDecode" in head else raw)
        else:
            objects[number] = (data[start:end], None)
    return objects


TOKEN = re.compile(
    rb"\s*(?:(\()|(<[0-9A-Fa-f\s]*>)|(/[^\s/\[\]()<>]+)|(\[)|(\])|([-+]?\d*\.?\d+)|([A-Za-z'\"*]+))"
)
ESCAPES = {b"n": 10, b"r": 13, b"t": 9, b"b": 8, b"f": 12, b"(": 40, b")": 41, b"\\": 92}


def _literal(data: bytes, i: int) -> tuple[bytes, int]:
    out, depth = bytearray(), 1
    while True:
        c = data[i : i + 1]
        i += 1
        if c == b"\\":
            n = data[i : i + 1]
            octal = re.match(rb"[0-7]{1,3}", data[i : i + 3])
            if n in ESCAPES:
                out.append(ESCAPES[n])
                i += 1
            elif octal:
                out.append(int(octal.group(), 8))
                i += len(octal.group())
            else:
                i += 1  # a line continuation or an unknown escape
        elif c == b"(":
            depth += 1
            out += c
        elif c == b")":
            depth -= 1
            if depth == 0:
                return bytes(out), i
            out += c
        else:
            out += c


def shown_codes(content: bytes) -> list[tuple[str, list[int]]]:
    """(font resource, 2-byte character codes) of every Tj and TJ, in drawing order."""
    i, font, stack, runs = 0, None, [], []
    while i < len(content):
        match = TOKEN.match(content, i)
        if not match:
            i += 1
            continue
        i = match.end()
        if match.group(1):
            text, i = _literal(content, i)
            stack.append(text)
        elif match.group(2):
            stack.append(bytes.fromhex(re.sub(rb"\s", b"", match.group(2)[1:-1]).decode()))
        elif match.group(3):
            stack.append(match.group(3)[1:].decode())
        elif match.group(4):
            stack.append("[")
        elif match.group(5):
            array = []
            while stack and stack[-1] != "[":
                array.insert(0, stack.pop())
            stack.pop()
            stack.append(array)
        elif match.group(6):
            stack.append(float(match.group(6)))
        else:
            op = match.group(7)
            if op == b"Tf":
                font = stack[-2]
            elif op == b"Tj":
                runs.append((font, stack[-1]))
            elif op == b"TJ":
                runs.append((font, b"".join(x for x in stack[-1] if isinstance(x, bytes))))
            stack = []
    return [
        (f, [int.from_bytes(s[j : j + 2], "big") for j in range(0, len(s), 2)]) for f, s in runs
    ]


def outline(font: TTFont, gid: int) -> tuple:
    """A glyph as drawn: its advance and its outline with components resolved."""
    glyphs = font.getGlyphSet()
    name = font.getGlyphName(gid)
    pen = DecomposingRecordingPen(glyphs)
    glyphs[name].draw(pen)
    return font["hmtx"][name][0], tuple(pen.value)


def drawn_glyphs(pdf: bytes) -> dict[str, list[tuple]]:
    """Per embedded font (by its name without the subset prefix), the glyphs drawn in the
    PDF in order, each as its outline read back from the embedded font file."""
    objects = pdf_objects(pdf)
    resources = {}
    for head, _stream in objects.values():
        for name, ref in re.findall(rb"/(F\d+) (\d+) 0 R", head):
            resources[name.decode()] = int(ref)

    def parts(ref: int):
        descendant = objects[int(re.search(rb"/DescendantFonts \[(\d+) 0 R\]", objects[ref][0])[1])]
        cid_to_gid = objects[int(re.search(rb"/CIDToGIDMap (\d+) 0 R", descendant[0])[1])][1]
        descriptor = objects[int(re.search(rb"/FontDescriptor (\d+) 0 R", descendant[0])[1])][0]
        file = objects[int(re.search(rb"/FontFile2 (\d+) 0 R", descriptor)[1])][1]
        name = re.search(rb"/FontName /\w+\+(\w+)", descriptor)[1].decode()
        return name, cid_to_gid, TTFont(io.BytesIO(file))

    fonts = {key: parts(ref) for key, ref in resources.items()}
    drawn: dict[str, list[tuple]] = {}
    contents = [
        int(r) for head, _s in objects.values() for r in re.findall(rb"/Contents (\d+) 0 R", head)
    ]
    for ref in contents:
        for resource, codes in shown_codes(objects[ref][1]):
            name, cid_to_gid, font = fonts[resource]
            drawn.setdefault(name, []).extend(
                outline(font, int.from_bytes(cid_to_gid[2 * c : 2 * c + 2], "big")) for c in codes
            )
    return drawn


def harfbuzz_glyphs(text: str, font_file: Path) -> tuple[list[tuple], list[tuple]]:
    """The glyphs HarfBuzz chooses for `text`, and the glyphs of its characters one by one
    (what an unshaped renderer draws), as outlines of the original font."""
    face = hb.Face(hb.Blob.from_file_path(str(font_file)))
    buffer = hb.Buffer()
    buffer.add_str(text)
    buffer.guess_segment_properties()
    hb.shape(hb.Font(face), buffer)
    font = TTFont(str(font_file))
    cmap = font.getBestCmap()
    shaped = [outline(font, info.codepoint) for info in buffer.glyph_infos]
    plain = [outline(font, font.getGlyphID(cmap[ord(ch)])) for ch in text]
    return shaped, plain


def contains(sequence: list, part: list) -> bool:
    return any(sequence[i : i + len(part)] == part for i in range(len(sequence) - len(part) + 1))


@pytest.fixture
def as_role(make_user, login):
    """A client signed in with a new user of the role, who reads the pages in English."""

    def do(role):
        return login(make_user(role, locale="en"))

    return do


# --- the address ----------------------------------------------------------------------------


def test_public_asset_url_uses_the_configured_base(app):
    assert public_asset_url("GON-DSK-0001") == "http://127.0.0.1:5000/a/GON-DSK-0001"
    app.config["PUBLIC_BASE_URL"] = "https://sampada.gonda.example.in/inv/"
    assert public_asset_url("GON/PRJ_01") == "https://sampada.gonda.example.in/inv/a/GON%2FPRJ_01"
    assert public_asset_url("X-1", "https://a.example/") == "https://a.example/a/X-1"


# --- sheets: every code decodes -------------------------------------------------------------


def test_a_3x7_sheet_of_105_assets_decodes_to_every_address(app, as_role, district, make_asset):
    """End to end: 105 registered assets at Hindi-named sites, printed through the form as
    five A4 pages of 21, rasterised at 200 dpi: each code reads as its asset's address."""
    app.config["PUBLIC_BASE_URL"] = "https://sampada.gonda.example.in/"
    sites = list(district.values())
    categories = ("DSK", "PRJ", "BIO", "RTR", "UPS")
    assets = [make_asset(sites[i % 4], categories[i % 5]) for i in range(105)]
    client = as_role("engineer")
    response = client.post(
        f"/labels/?site={district['hq'].id}", data={"layout": "a4-3x7", "start": "1"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    assert response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="labels-GON-HQ-a4-3x7-')
    pdf = response.data
    assert page_count(pdf) == 5
    pages = decoded(pdf)
    assert [len(codes) for codes in pages] == [21, 21, 21, 21, 21]
    found = Counter(code.text for codes in pages for code in codes)
    expected = Counter(f"https://sampada.gonda.example.in/a/{a.tag}" for a in assets)
    assert found == expected  # every asset exactly once, nothing else
    assert sum(found.values()) == 105


@pytest.mark.parametrize(
    ("key", "count", "pages", "dpi"),
    [("a4-2x5", 25, 3, 200), ("thermal-50x25", 12, 12, 300)],
)
def test_other_stocks_decode_to_every_address(key, count, pages, dpi):
    labels = sample_labels(count)
    pdf = render_labels(labels, LAYOUTS[key], **SOCIETY)
    assert page_count(pdf) == pages
    found = urls_in(pdf, dpi)
    assert Counter(found) == Counter(label.url for label in labels)
    assert "http://127.0.0.1:5000/a/GON%2FPRJ_0007" in found


def test_thermal_pages_are_the_label_size():
    pdf = render_labels(sample_labels(2), LAYOUTS["thermal-50x25"], **SOCIETY)
    document = pdfium.PdfDocument(pdf)
    try:
        width, height = document[0].get_size()
    finally:
        document.close()
    assert (round(width / 72 * 25.4, 1), round(height / 72 * 25.4, 1)) == (50.0, 25.0)


def test_start_position_skips_used_labels_and_margins_move_the_grid():
    layout = LAYOUTS["a4-3x7"]
    margins = Margins(top=20, left=10, gap_x=3, gap_y=1)
    labels = sample_labels(4)
    pdf = render_labels(labels, layout, margins, start=20, **SOCIETY)
    pages = decoded(pdf, 150)
    assert [len(codes) for codes in pages] == [2, 2]
    boxes = label_boxes(layout, margins, 2)
    scale = 150 / 72
    page_h = layout.page_h * 72 / 25.4

    def slot(page: int, code) -> int:
        pos = code.position
        x = (pos.top_left.x + pos.bottom_right.x) / 2 / scale
        y = page_h - (pos.top_left.y + pos.bottom_right.y) / 2 / scale
        return next(
            i + 1
            for i, (x0, y0, x1, y1) in enumerate(boxes[page])
            if x0 <= x <= x1 and y0 <= y <= y1
        )

    placed = {
        code.text: (page, slot(page, code)) for page, codes in enumerate(pages) for code in codes
    }
    assert placed == {
        labels[0].url: (0, 20),
        labels[1].url: (0, 21),
        labels[2].url: (1, 1),
        labels[3].url: (1, 2),
    }


def test_impossible_grids_are_refused():
    layout = LAYOUTS["a4-3x7"]
    with pytest.raises(SheetError, match="grid needs"):
        render_labels(sample_labels(1), layout, Margins(15, 20, 2.5, 0))
    with pytest.raises(SheetError, match="from 1 to 21"):
        render_labels(sample_labels(1), layout, start=22)
    with pytest.raises(SheetError, match="negative"):
        render_labels(sample_labels(1), layout, Margins(-1, 7, 2.5, 0))
    assert layout.fits(layout.margins) == (True, True)
    assert layout.pages(22) == 2 and layout.pages(21, start=2) == 2 and layout.pages(0) == 0


# --- text -----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(LAYOUTS))
def test_text_never_leaves_its_label(key):
    """Names far too long for any label, with and without spaces: every character pdfium
    finds lies inside its own label, and the tag and the start of the site are printed."""
    layout = LAYOUTS[key]
    long_hi = "विकास खण्ड झंझरी कार्यालय परिसर प्रथम तल कक्ष संख्या बारह " * 4
    long_en = "Block development office Jhanjhari first floor room twelve " * 4
    labels = [
        LabelData("GON-DSK-0001", "http://x/a/1", "Desktop", "डेस्कटॉप", long_en, long_hi),
        LabelData("GON-DSK-0002", "http://x/a/2", "W" * 120, "क्षि" * 60, "S" * 150, "ण्ड" * 80),
        LabelData("GON-DSK-0003", "http://x/a/3", payload("c"), payload("क"), "CSC", "केन्द्र"),
        # The longest tags TAG_RE allows: printed whole (on two lines), never cut.
        LabelData("GON-WWWWWWWWWW/MMMMMMMMMMMMMM_0042", "http://x/a/4", "Desktop", "", "CSC", ""),
        LabelData("W" * 32, "http://x/a/5", "Desktop", "", "CSC", ""),
    ]
    pdf = render_labels(labels, layout, society_en=long_en, society_hi=long_hi)
    document = pdfium.PdfDocument(pdf)
    try:
        boxes = label_boxes(layout, layout.margins, len(document))
        for number, page in enumerate(document):
            text = page.get_textpage()
            everything = text.get_text_range()
            assert text.count_chars() > 0
            for i in range(text.count_chars()):
                left, bottom, right, top = text.get_charbox(i)
                if right - left <= 0 and top - bottom <= 0:
                    continue  # a character with no box (a space or a joiner)
                cx, cy = (left + right) / 2, (bottom + top) / 2
                home = [b for b in boxes[number] if b[0] <= cx <= b[2] and b[1] <= cy <= b[3]]
                assert home, (key, number, i, everything[i : i + 10])
                x0, y0, x1, y1 = home[0]
                assert x0 - 0.3 <= left and right <= x1 + 0.3, (key, everything[i : i + 10])
                assert y0 - 0.3 <= bottom and top <= y1 + 0.3, (key, everything[i : i + 10])
            per_page = labels if layout.per_page > 1 else [labels[number]]
            joined = re.sub(r"\s", "", everything)
            for label in per_page:
                assert label.tag in joined, (key, label.tag, everything)
            if layout.per_page > 1:
                assert "Block development" in everything and "CSC" in everything
            text.close()
    finally:
        document.close()


def test_devanagari_is_shaped_with_harfbuzz_glyphs():
    """The glyphs embedded and drawn for conjuncts (क्ष, ण्ड, श्र, न्द्र), a reph (र्म) and
    matras (ि before its consonant cluster, ी, ो) are exactly those HarfBuzz chooses, read
    back from the PDF's own font subsets, and not the characters' glyphs one by one."""
    site_hi, category_hi = "क्षितिज गोण्डा", "कर्मचारी श्री केन्द्र"
    label = LabelData("GON-DSK-0001", "http://x/a/1", "Desktop", category_hi, "Kshitij", site_hi)
    pdf = render_labels([label], LAYOUTS["a4-2x5"], **SOCIETY)
    drawn = drawn_glyphs(pdf)
    for text, file, font in (
        (site_hi, "NotoSansDevanagari-Bold.ttf", "NotoSansDevanagariBold"),
        (category_hi, "NotoSansDevanagari-Regular.ttf", "NotoSansDevanagari"),
    ):
        shaped, plain = harfbuzz_glyphs(text, FONTS / file)
        assert len(shaped) < len(plain)  # conjuncts: fewer glyphs than characters
        assert contains(drawn[font], shaped), text
        assert not contains(drawn[font], plain), text
        # The tag and English names come from the Latin font, not as missing glyphs.
        assert drawn["NotoSansBold"] and drawn["NotoSans"]

    # The check can fail: fpdf2 without shaping draws the characters' own glyphs.
    unshaped = FPDF(unit="mm")
    unshaped.add_font("deva", "B", str(FONTS / "NotoSansDevanagari-Bold.ttf"))
    unshaped.add_page()
    unshaped.set_font("deva", "B", 12)
    unshaped.cell(100, 10, site_hi)
    drawn = drawn_glyphs(bytes(unshaped.output()))
    shaped, plain = harfbuzz_glyphs(site_hi, FONTS / "NotoSansDevanagari-Bold.ttf")
    assert contains(drawn["NotoSansDevanagariBold"], plain)
    assert not contains(drawn["NotoSansDevanagariBold"], shaped)


def test_hindi_names_that_repeat_the_english_are_printed_once():
    label = LabelData("GON-DSK-0001", "http://x/a/1", "Desktop", "Desktop", "HQ", "")
    pdf = render_labels([label], LAYOUTS["a4-2x5"])
    document = pdfium.PdfDocument(pdf)
    try:
        text = document[0].get_textpage().get_text_range()
    finally:
        document.close()
    assert text.count("Desktop") == 1 and "HQ" in text


# --- QR images ------------------------------------------------------------------------------


def _svg_codes(svg: bytes) -> list[str]:
    """The SVG drawn by fpdf2's SVG renderer into a PDF, rasterised and read."""
    pdf = FPDF(unit="mm", format=(80, 80))
    pdf.add_page()
    pdf.image(io.BytesIO(svg), x=10, y=10, w=60, h=60)
    return urls_in(bytes(pdf.output()), 200)


def test_qr_png_and_svg_decode_to_the_public_address(app, as_role, district, make_asset):
    asset = make_asset(district["csc"], "PRJ")
    client = as_role("viewer")
    png = client.get(f"/assets/{asset.id}/qr.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    image = Image.open(io.BytesIO(png.data))
    assert [c.text for c in zxingcpp.read_barcodes(image)] == [public_asset_url(asset.tag)]
    assert zxingcpp.read_barcodes(image)[0].text == f"http://127.0.0.1:5000/a/{asset.tag}"
    assert "Content-Disposition" not in png.headers

    svg = client.get(f"/assets/{asset.id}/qr.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert _svg_codes(svg.data) == [public_asset_url(asset.tag)]

    # The browser revalidates: an unchanged code is a 304, a new base URL a new code.
    etag = png.headers["ETag"]
    again = client.get(f"/assets/{asset.id}/qr.png", headers={"If-None-Match": etag})
    assert again.status_code == 304 and not again.data
    app.config["PUBLIC_BASE_URL"] = "https://inv.example.gov.in/gonda/"
    moved = client.get(f"/assets/{asset.id}/qr.png", headers={"If-None-Match": etag})
    assert moved.status_code == 200 and moved.headers["ETag"] != etag
    image = Image.open(io.BytesIO(moved.data))
    assert (
        zxingcpp.read_barcodes(image)[0].text == f"https://inv.example.gov.in/gonda/a/{asset.tag}"
    )
    svg = client.get(f"/assets/{asset.id}/qr.svg")
    assert _svg_codes(svg.data) == [f"https://inv.example.gov.in/gonda/a/{asset.tag}"]

    download = client.get(f"/assets/{asset.id}/qr.svg?download=1")
    assert download.headers["Content-Disposition"] == f'attachment; filename="{asset.tag}-qr.svg"'
    assert client.get(f"/assets/{asset.id}/qr.gif").status_code == 404
    assert client.get("/assets/999999/qr.png").status_code == 404


def test_asset_page_shows_the_code_and_its_downloads(
    app, as_role, login, make_user, district, make_asset
):
    asset = make_asset(district["csc"], "PRJ")
    html = as_role("viewer").get(f"/assets/{asset.id}").get_data(as_text=True)
    assert f'src="/assets/{asset.id}/qr.svg"' in html
    assert f'href="/assets/{asset.id}/qr.png?download=1"' in html
    assert f'href="/assets/{asset.id}/qr.svg?download=1"' in html
    assert f"http://127.0.0.1:5000/a/{asset.tag}" in html
    assert "/labels/?ids=" not in html  # viewers do not print
    engineer = app.test_client()
    login(make_user("engineer", locale="en"), target_client=engineer)
    html = engineer.get(f"/assets/{asset.id}").get_data(as_text=True)
    assert f'href="/labels/?ids={asset.id}"' in html


def test_qr_matrix_is_cached(app):
    url = public_asset_url("GON-DSK-0042")
    first = qr_matrix(url)
    assert qr_matrix(url) is first
    assert len(first) == len(first[0]) and len(first) >= 21


# --- the print form -------------------------------------------------------------------------


@pytest.fixture
def register(district, make_asset):
    """Assets across the tree: two at HQ, one each at tehsil, block and CSC, one in store."""
    return {
        "hq_dsk": make_asset(district["hq"], "DSK"),
        "hq_prj": make_asset(district["hq"], "PRJ"),
        "tehsil": make_asset(district["tehsil"], "DSK"),
        "block": make_asset(district["block"], "RTR"),
        "csc": make_asset(district["csc"], "BIO"),
        "store": make_asset(district["csc"], "DSK", status="in_store"),
    }


def _print(client, query: str, **form) -> list[str]:
    response = client.post(f"/labels/{query}", data={"layout": "a4-3x7", **form})
    assert response.status_code == 200, response.get_data(as_text=True)[:3000]
    assert response.mimetype == "application/pdf"
    return urls_in(response.data, 150)


def _urls(*assets) -> Counter:
    return Counter(public_asset_url(a.tag) for a in assets)


def test_selected_rows_print_exactly_those(app, as_role, register):
    client = as_role("engineer")
    chosen = [register["hq_prj"], register["block"], register["store"]]
    ids = "&".join(f"ids={a.id}" for a in chosen)
    page = client.get(f"/labels/?{ids}").get_data(as_text=True)
    assert '<div class="stat" id="label-count">3</div>' in page
    assert "The rows selected in the asset list." in page
    assert Counter(_print(client, f"?{ids}")) == _urls(*chosen)
    # One asset: the file is named after its tag.
    one = client.post(f"/labels/?ids={chosen[0].id}", data={"layout": "thermal-50x25"})
    assert f'filename="labels-{chosen[0].tag}-thermal-50x25-' in one.headers["Content-Disposition"]


def test_the_asset_lists_filters_select(app, as_role, register, district):
    client = as_role("engineer")
    from inventory.catalog.services import get_category_by_code

    dsk = get_category_by_code("DSK")
    found = _print(client, f"?category={dsk.id}&status=deployed")
    assert Counter(found) == _urls(register["hq_dsk"], register["tehsil"])
    page = client.get(f"/labels/?category={dsk.id}&status=deployed&q=GON").get_data(as_text=True)
    assert '<div class="stat" id="label-count">2</div>' in page
    assert "Desktop" in page and "Deployed" in page and "GON" in page
    # The list's own sort order is the print order (one thermal label per page).
    response = client.post("/labels/?sort=tag&dir=desc", data={"layout": "thermal-50x25"})
    in_order = [codes[0].text for codes in decoded(response.data, 300)]
    expected = [
        public_asset_url(t) for t in sorted((a.tag for a in register.values()), reverse=True)
    ]
    assert in_order == expected


def test_a_site_selects_its_whole_subtree(app, as_role, register, district):
    client = as_role("engineer")
    below = _urls(register["tehsil"], register["block"], register["csc"], register["store"])
    assert Counter(_print(client, f"?site={district['tehsil'].id}")) == below
    assert Counter(_print(client, f"?site_id={district['tehsil'].id}")) == below
    page = client.get(f"/labels/?site={district['tehsil'].id}").get_data(as_text=True)
    assert "Mankapur and the sites below it" in page
    assert '<div class="stat" id="label-count">4</div>' in page
    assert Counter(_print(client, f"?site={district['csc'].id}")) == _urls(
        register["csc"], register["store"]
    )


def test_rows_ticked_in_the_list_are_handed_to_the_form(app, as_role, register):
    client = as_role("engineer")
    listing = client.get("/assets/").get_data(as_text=True)
    assert 'name="ids"' in listing and 'formaction="/labels/selected"' in listing
    assert 'href="/labels/?' in listing or 'href="/labels/"' in listing
    ids = [register["csc"].id, register["hq_dsk"].id]
    response = client.post(
        "/labels/selected", data={"ids": [str(i) for i in ids], "back": "/assets/"}
    )
    assert response.status_code == 303
    assert response.location == "/labels/?" + "&".join(f"ids={i}" for i in sorted(ids))
    empty = client.post("/labels/selected", data={"back": "https://evil.example/"})
    assert empty.status_code == 302 and empty.location == "/assets/"
    assert "Select at least one asset." in client.get("/assets/").get_data(as_text=True)


def test_viewers_get_no_print_controls(app, as_role, register, district):
    client = as_role("viewer")
    listing = client.get("/assets/").get_data(as_text=True)
    assert 'name="ids"' not in listing and "/labels/" not in listing
    site = client.get(f"/sites/{district['hq'].id}").get_data(as_text=True)
    assert "/labels/" not in site
    assert client.get("/labels/").status_code == 403


def test_site_page_links_to_its_labels(app, as_role, district):
    page = as_role("engineer").get(f"/sites/{district['block'].id}").get_data(as_text=True)
    assert f'href="/labels/?site={district["block"].id}"' in page


def test_over_the_limit_is_refused_with_a_message(app, as_role, register):
    app.config["LABELS_MAX"] = 5
    client = as_role("engineer")
    page = client.get("/labels/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "6 labels are more than the 5 that can be made at once." in html
    assert "Make the PDF" not in html
    refused = client.post("/labels/", data={"layout": "a4-3x7"})
    assert refused.status_code == 400 and refused.mimetype == "text/html"
    assert "6 labels are more than the 5" in refused.get_data(as_text=True)
    assert _print(client, f"?site={register['csc'].site_id}")  # 2 is under the limit


def test_nothing_selected_says_so(app, as_role, categories):
    client = as_role("engineer")
    html = client.get("/labels/?ids=999999").get_data(as_text=True)
    assert "No assets match this selection, so there is nothing to print." in html
    assert client.post("/labels/?ids=999999", data={"layout": "a4-3x7"}).status_code == 400


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"margin_left": "50"}, "margin_left", "need 245.5 mm across; the page is 210 mm wide"),
        (
            {"margin_top": "20", "gap_y": "3"},
            "margin_top",
            "need 304.7 mm down; the page is 297 mm high",
        ),
        ({"margin_top": "-1"}, "margin_top", "Number must be between 0 and 100."),
        ({"gap_x": "abc"}, "gap_x", "Not a valid decimal value."),
        ({"start": "22"}, "start", "This stock has 21 labels per page: start at 1 to 21."),
        ({"start": "0"}, "start", "Number must be at least 1."),
        ({"layout": "thermal-50x25", "margin_top": "1"}, "margin_top", "the page is 25 mm high"),
        ({"layout": "letter-4x5"}, "layout", "Not a valid choice."),
    ],
)
def test_bad_margins_show_the_form_again(app, as_role, register, form, field, message):
    client = as_role("engineer")
    response = client.post("/labels/", data={"layout": "a4-3x7", **form})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html
    assert f'id="{field}"' in html and 'aria-invalid="true"' in html
    for key, value in form.items():
        if key != "layout":
            assert f'value="{value}"' in html  # what was typed is kept


def test_blank_margins_take_the_stocks_own(app, as_role, register):
    client = as_role("engineer")
    page = client.get("/labels/").get_data(as_text=True)
    assert 'placeholder="15.15"' in page and 'placeholder="7.25"' in page
    assert "data-label-defaults" in page
    response = client.post(
        "/labels/", data={"layout": "a4-2x5", "margin_top": "", "margin_left": "", "start": ""}
    )
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert Counter(urls_in(response.data, 150)) == _urls(*register.values())


def test_hostile_names_are_escaped_on_the_form(app, as_role, make_site, make_asset):
    site = make_site(name_en=payload("site-en"), name_hi=payload("site-hi"))
    make_asset(site, "DSK")
    client = as_role("engineer")
    html = client.get(f"/labels/?site={site.id}&q={payload('q')}").get_data(as_text=True)
    for marker in RAW_MARKERS:
        assert marker not in html
    assert escaped("site-en") in html or escaped("site-hi") in html
    assert escaped("q") in html
    # The PDF has them as plain text, and the QR still reads.
    found = _print(client, f"?site={site.id}")
    assert len(found) == 1


def test_layouts_listed_with_their_sheet_counts(app, as_role, register):
    html = as_role("engineer").get("/labels/").get_data(as_text=True)
    for key in LAYOUTS:
        assert f'value="{key}"' in html
    assert "Avery L7160" in html and "50 x 25 mm" in html
    # 6 assets: one A4 sheet of either kind, six thermal labels.
    pages = re.findall(r'<td class="num">(\d+)</td><td class="num">(\d+)</td>', html)
    assert pages == [("21", "1"), ("10", "1"), ("1", "6")]
