"""Read the QR codes printed on a PDF page, as a phone camera would see them: the page is
rendered to pixels by PDFium (pypdfium2) and decoded by ZXing (zxing-cpp)."""

from __future__ import annotations


def qr_texts(pdf: bytes, page: int = 0, scale: float = 2.0) -> list[str]:
    """The text of every QR code on `page` of `pdf`, top to bottom."""
    import pypdfium2 as pdfium
    import zxingcpp

    doc = pdfium.PdfDocument(pdf)
    try:
        image = doc[page].render(scale=scale).to_pil()
    finally:
        doc.close()
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return [b.text for b in sorted(found, key=lambda b: b.position.top_left.y)]
